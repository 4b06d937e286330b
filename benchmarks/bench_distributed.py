"""Wall time of one 12-candidate search over K and Top-n: sequential, n_jobs, Dask.

A GridSearchCV over ``undersample__n_clusters`` x ``undersample__n_top``
(3 x 4 = 12 candidates, 3 folds: 36 fits) of the core pipeline with a
MagnitudeMILDetector, on synthetic videos saved as ``.npy`` files and read
back lazily (memory-mapped; they travel to the workers as file paths). The
same search runs

  * sequentially (``n_jobs=None``),
  * with joblib's processes (``n_jobs=2``),
  * on a ``dask.distributed.LocalCluster`` of 2 single-threaded worker
    processes through joblib's Dask backend (``n_jobs=-1``),

and the script prints each wall time (cluster start-up excluded, printed
apart), its ratio to the sequential run, and whether the three give the same
``cv_results_`` scores. Every fit uses one torch thread (``n_threads=1``), so
the processes do not compete for cores.

    python benchmarks/bench_distributed.py [--n-videos 160] [--n-features 512]
"""

import argparse
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline

from sklearn_wsvad import FeatureNormClusterUndersampler, SnippetReformer, make_frame_scorer
from sklearn_wsvad.datasets import load_features, make_wsvad_videos
from sklearn_wsvad.models import MagnitudeMILDetector


def _search(max_epochs, n_jobs=None):
    pipe = Pipeline([
        ("undersample", FeatureNormClusterUndersampler()),
        ("snippets", SnippetReformer()),
        ("model", MagnitudeMILDetector(max_epochs=max_epochs, n_threads=1, random_state=0)),
    ])
    grid = {"undersample__n_clusters": [6, 10, 14], "undersample__n_top": [1, 2, 3, 4]}
    return GridSearchCV(pipe, grid, scoring=make_frame_scorer("roc_auc"), refit=False,
                        cv=StratifiedKFold(3, shuffle=True, random_state=0), n_jobs=n_jobs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-videos", type=int, default=160)
    parser.add_argument("--n-features", type=int, default=512)
    parser.add_argument("--max-epochs", type=int, default=20)
    args = parser.parse_args()

    import distributed

    data = make_wsvad_videos(args.n_videos, n_features=args.n_features, random_state=0)
    with tempfile.TemporaryDirectory() as folder, \
            sklearn.config_context(enable_metadata_routing=True):
        for i, video in enumerate(data.videos):
            np.save(Path(folder) / f"video{i:04d}.npy", video)
        features = load_features(folder, labels=data.target)
        fit = {"X": features.videos, "y": features.target, "frame_labels": data.frame_labels}
        print(f"{args.n_videos} videos, d={args.n_features}, 12 candidates x 3 folds, "
              f"{args.max_epochs} epochs per fit")

        results = {}
        start = time.perf_counter()
        results["sequential"] = _search(args.max_epochs).fit(**fit)
        times = {"sequential": time.perf_counter() - start}

        start = time.perf_counter()
        results["n_jobs=2"] = _search(args.max_epochs, n_jobs=2).fit(**fit)
        times["n_jobs=2"] = time.perf_counter() - start

        start = time.perf_counter()
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            startup = time.perf_counter() - start
            with joblib.parallel_backend("dask"):
                start = time.perf_counter()
                results["Dask LocalCluster(2)"] = _search(args.max_epochs, n_jobs=-1).fit(**fit)
                times["Dask LocalCluster(2)"] = time.perf_counter() - start

    reference = results["sequential"].cv_results_["mean_test_score"]
    for name, seconds in times.items():
        same = np.array_equal(results[name].cv_results_["mean_test_score"], reference)
        ratio = seconds / times["sequential"]
        print(f"{name:<22} {seconds:7.1f} s   ratio to sequential {ratio:.2f}"
              f"   same scores: {same}")
    print(f"(cluster start-up, not included above: {startup:.1f} s)")


if __name__ == "__main__":
    main()
