"""A search over K and Top-n on a two-worker Dask cluster (joblib's Dask backend)."""

import pickle

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sklearn_wsvad import FeatureNormClusterUndersampler, SnippetReformer, make_frame_scorer
from sklearn_wsvad.datasets import load_features, make_wsvad_videos
from sklearn_wsvad.models import MagnitudeMILDetector

distributed = pytest.importorskip("distributed")


def _search(n_jobs=None):
    pipe = Pipeline([
        ("undersample", FeatureNormClusterUndersampler()),
        ("snippets", SnippetReformer(n_snippets=8)),
        # one thread everywhere, so that every process computes the same floats
        ("model", MagnitudeMILDetector(hidden_sizes=(16,), max_epochs=3, batch_size=8,
                                       n_threads=1, random_state=0)),
    ])
    grid = {"undersample__n_clusters": [4, 6], "undersample__n_top": [1, 2]}
    return GridSearchCV(pipe, grid, scoring=make_frame_scorer("roc_auc"), refit=False,
                        cv=StratifiedKFold(2, shuffle=True, random_state=0), n_jobs=n_jobs)


def test_search_on_a_local_cluster_gives_the_sequential_scores(tmp_path):
    data = make_wsvad_videos(24, n_features=16, min_clips=16, max_clips=64, random_state=0)
    for i, video in enumerate(data.videos):
        np.save(tmp_path / f"video{i:03d}.npy", video)
    features = load_features(tmp_path, labels=data.target)
    # the lazy, memory-mapped videos travel to the workers as file paths
    assert len(pickle.dumps(features.videos)) < sum(v.nbytes for v in data.videos) / 10

    with sklearn.config_context(enable_metadata_routing=True):
        sequential = _search().fit(features.videos, features.target,
                                   frame_labels=data.frame_labels)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client, joblib.parallel_backend("dask"):
            on_dask = _search(n_jobs=-1).fit(features.videos, features.target,
                                             frame_labels=data.frame_labels)
            # the fits ran on the workers
            assert client.run(lambda: "sklearn_wsvad" in __import__("sys").modules)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_allclose(on_dask.cv_results_[key], sequential.cv_results_[key],
                                   rtol=1e-12)
    assert np.isfinite(sequential.cv_results_["mean_test_score"]).all()
