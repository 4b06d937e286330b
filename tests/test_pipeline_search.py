"""The refinement pipeline in GridSearchCV with frame ground truth routed to the scorer."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from sklearn_wsvad import (
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_average_precision_score,
    frame_roc_auc_score,
    make_frame_scorer,
    score_clips,
)
from sklearn_wsvad.models import (
    BNWVADDetector,
    CrossBatchClusteringDetector,
    MagnitudeMILDetector,
    MILRankingDetector,
    NGMILDetector,
    RTFMDetector,
)


def _pipe(**model):
    return Pipeline([
        ("undersample", FeatureNormClusterUndersampler()),
        ("snippets", SnippetReformer(n_snippets=16)),
        ("model", MagnitudeMILDetector(**{"max_epochs": 3, "hidden_sizes": (16, 8),
                                          "batch_size": 8, "random_state": 0, **model})),
    ])


class _RecordingMIL(MagnitudeMILDetector):
    """Records what fit receives, to prove frame labels never reach it."""

    seen = []

    def fit(self, X, y):
        _RecordingMIL.seen.append((len(X), np.asarray(y).tolist()))
        return super().fit(X, y)


def test_grid_search_routes_frame_labels_to_scorer_only(small_data):
    pipe = _pipe()
    pipe.steps[-1] = ("model", _RecordingMIL(max_epochs=2, hidden_sizes=(16, 8), batch_size=8,
                                             random_state=0))
    search = GridSearchCV(
        pipe,
        {"undersample__n_clusters": [5, 10], "undersample__n_top": [2, 3]},
        scoring=make_frame_scorer("roc_auc"),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    _RecordingMIL.seen.clear()
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(small_data.videos, small_data.target, frame_labels=small_data.frame_labels)
    assert set(search.best_params_) == {"undersample__n_clusters", "undersample__n_top"}
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert len(_RecordingMIL.seen) == 4 * 2 + 1
    assert all(n in (20, 40) for n, _ in _RecordingMIL.seen)
    # the scorer got the fold's own ground truth: recompute one split by hand
    best = search.best_estimator_
    direct = make_frame_scorer("roc_auc")(best, small_data.videos,
                                          frame_labels=small_data.frame_labels)
    assert direct == pytest.approx(frame_roc_auc_score(small_data.frame_labels,
                                                       score_clips(best, small_data.videos)))


def test_fitted_search_pickles_and_clones_to_identical_scores(small_data):
    search = GridSearchCV(_pipe(), {"undersample__n_top": [2, 3]},
                          scoring=make_frame_scorer("roc_auc"), cv=2)
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(small_data.videos, small_data.target, frame_labels=small_data.frame_labels)
    scorer = make_frame_scorer("roc_auc")
    before = scorer(search, small_data.videos, frame_labels=small_data.frame_labels)
    again = pickle.loads(pickle.dumps(search))
    assert scorer(again, small_data.videos, frame_labels=small_data.frame_labels) == before
    cloned = clone(search)
    with sklearn.config_context(enable_metadata_routing=True):
        cloned.fit(small_data.videos, small_data.target, frame_labels=small_data.frame_labels)
    assert cloned.best_params_ == search.best_params_
    assert scorer(cloned, small_data.videos, frame_labels=small_data.frame_labels) == before


def test_without_routing_frame_labels_cannot_reach_fit(small_data):
    search = GridSearchCV(_pipe(), {"undersample__n_top": [2]},
                          scoring=make_frame_scorer(), cv=2)
    with pytest.raises((TypeError, ValueError)):
        search.fit(small_data.videos, small_data.target, frame_labels=small_data.frame_labels)


def test_stock_scorers_and_cross_val_predict(small_data):
    pipe = _pipe()
    search = GridSearchCV(pipe, {"undersample__n_top": [2, 3]}, scoring="roc_auc", cv=2)
    search.fit(small_data.videos, small_data.target)
    assert 0 <= search.best_score_ <= 1
    dec = cross_val_predict(pipe, small_data.videos, small_data.target, cv=2,
                            method="decision_function")
    assert dec.shape == (40,)


def test_score_clips_maps_snippet_scores_back_to_clips(small_data):
    pipe = _pipe()
    pipe.set_params(snippets__inference="snippets")
    pipe.fit(small_data.videos, small_data.target)
    clip_scores = score_clips(pipe, small_data.videos)
    model = pipe.named_steps["model"]
    snippets = pipe[:-1].transform(small_data.videos)
    snippet_scores = model.score_clips(snippets)
    index = pipe.named_steps["snippets"].transform_index(small_data.videos)
    for c, s, i, v in zip(clip_scores, snippet_scores, index, small_data.videos):
        assert c.shape == (len(v),)
        np.testing.assert_array_equal(c, s[i])


def test_all_frame_scorers_and_abnormal_only(small_data):
    pipe = _pipe().fit(small_data.videos, small_data.target)
    for metric, sign in [("roc_auc", 1), ("average_precision", 1),
                         ("average_precision_trapezoid", 1), ("eer", -1)]:
        for abnormal_only in (False, True):
            value = make_frame_scorer(metric, abnormal_only=abnormal_only)(
                pipe, small_data.videos, frame_labels=small_data.frame_labels)
            assert -1 <= value <= 1 and np.sign(value) in (0, sign)
    scores = score_clips(pipe, small_data.videos)
    for metric, method in [("average_precision", "step"),
                           ("average_precision_trapezoid", "trapezoid")]:
        value = make_frame_scorer(metric)(pipe, small_data.videos,
                                          frame_labels=small_data.frame_labels)
        assert value == frame_average_precision_score(small_data.frame_labels, scores,
                                                      method=method)
    with pytest.raises(ValueError, match="needs frame_labels"):
        make_frame_scorer()(pipe, small_data.videos)


def test_parallel_search_matches_sequential(small_data):
    grid = {"undersample__n_top": [2, 3]}
    results = []
    for n_jobs in (1, 2):
        search = GridSearchCV(_pipe(), grid, scoring="roc_auc", cv=2, n_jobs=n_jobs)
        search.fit(small_data.videos, small_data.target)
        results.append(search.cv_results_["split0_test_score"])
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("model, grid", [
    (MILRankingDetector(max_epochs=2, hidden_sizes=(16, 8), batch_size=8, random_state=0),
     {"model__pairing": ["all", "aligned"]}),
    (RTFMDetector(max_epochs=2, n_channels=8, hidden_sizes=(16, 8), batch_size=8,
                  random_state=0),
     {"model__k": [1, 3]}),
    (NGMILDetector(max_epochs=2, prototype_dim=8, encoder_channels=(16,), hidden_sizes=(16, 8),
                   batch_size=8, random_state=0),
     {"model__n_prototypes": [4, 8]}),
    (BNWVADDetector(max_epochs=2, dim=16, dim_head=4, head_channels=(8, 4), batch_size=8,
                    random_state=0),
     {"model__rho_s": [0.1, 0.2], "model__rho_b": [0.2]}),
    (CrossBatchClusteringDetector(max_epochs=2, fc_size=16, gcn_sizes=(8, 4), batch_size=8,
                                  random_state=0),
     {"model__alpha": [1.0, 1.3], "model__lambda_1": [0.1]}),
], ids=lambda p: type(p).__name__ if hasattr(p, "fit") else "")
def test_each_model_in_the_refinement_search(model, grid, small_data):
    pipe = _pipe()
    pipe.steps[-1] = ("model", model)
    search = GridSearchCV(
        pipe, {"undersample__n_top": [2, 3], **grid},
        scoring=make_frame_scorer("roc_auc"),
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(small_data.videos, small_data.target, frame_labels=small_data.frame_labels)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert len(search.cv_results_["params"]) == 4
    scores = score_clips(search, small_data.videos)
    assert [len(s) for s in scores] == [len(v) for v in small_data.videos]
    again = pickle.loads(pickle.dumps(search))
    for a, b in zip(scores, score_clips(again, small_data.videos)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("routing", [True, False])
def test_default_score_works_with_routing_on_and_off(routing):
    """``Pipeline.score``, ``cross_val_score`` and a search without ``scoring``
    call the model's ``score`` (video AUC), which takes ``sample_weight`` as
    scikit-learn's signature does (issue: with routing on they raised)."""
    import warnings

    import sklearn
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline

    from sklearn_wsvad import SnippetReformer
    from sklearn_wsvad.datasets import make_wsvad_videos
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = make_wsvad_videos(40, n_features=8, random_state=0)
    with sklearn.config_context(enable_metadata_routing=routing), warnings.catch_warnings():
        warnings.simplefilter("error")  # no nan-score warnings
        pipe = make_pipeline(SnippetReformer(n_snippets=8), MagnitudeMILDetector(
            max_epochs=1, hidden_sizes=(4,), random_state=0))
        pipe.fit(data.videos, data.target)
        scores = pipe.decision_function(data.videos)
        assert pipe.score(data.videos, data.target) == pytest.approx(
            roc_auc_score(data.target, scores))
        folds = cross_val_score(pipe, data.videos, data.target, cv=2)
        assert np.isfinite(folds).all()
        search = GridSearchCV(pipe, {"magnitudemildetector__lr": [1e-3, 1e-2]}, cv=2)
        assert np.isfinite(search.fit(data.videos, data.target).best_score_)
    model = pipe[-1]
    snippets = pipe[0].transform(data.videos)
    weights = np.linspace(0.5, 2.0, len(data.target))
    assert model.score(snippets, data.target, sample_weight=weights) == pytest.approx(
        roc_auc_score(data.target, model.decision_function(snippets), sample_weight=weights))
    with pytest.raises(ValueError, match="one weight per video"):
        model.score(snippets, data.target, sample_weight=weights[:3])


def test_early_stopping_on_a_stratified_validation_split():
    """skorch's ``ValidSplit`` hands the training part to the balanced loader
    as a ``Subset``; ``EarlyStopping`` then ends training quietly."""
    import warnings

    from skorch.callbacks import EarlyStopping
    from skorch.dataset import ValidSplit

    from sklearn_wsvad import SnippetReformer
    from sklearn_wsvad.datasets import make_wsvad_videos
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = make_wsvad_videos(40, n_features=8, random_state=0)
    X = SnippetReformer(n_snippets=8).fit_transform(data.videos)
    model = MagnitudeMILDetector(max_epochs=30, hidden_sizes=(4,), lr=0.05, random_state=0,
                                 train_split=ValidSplit(4, stratified=True),
                                 callbacks=[EarlyStopping(patience=2, sink=lambda *a: None)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, data.target)
    history = model.history
    assert 2 < len(history) < 30  # stopped early
    assert all(np.isfinite(row["valid_loss"]) for row in history)
    # the training batches came from the 30 training videos of the split only
    assert all(row["batches"][0]["train_batch_size"] <= 30 for row in history)


def test_threshold_tuned_by_scikit_learn():
    """The documented threshold route: TunedThresholdClassifierCV around a
    pipeline picks the video threshold by cross-validation."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import TunedThresholdClassifierCV
    from sklearn.pipeline import make_pipeline

    from sklearn_wsvad import SnippetReformer
    from sklearn_wsvad.datasets import make_wsvad_videos
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = make_wsvad_videos(60, n_features=8, random_state=0)
    pipe = make_pipeline(SnippetReformer(n_snippets=8), MagnitudeMILDetector(
        max_epochs=5, hidden_sizes=(4,), random_state=0))
    tuned = TunedThresholdClassifierCV(pipe, scoring="balanced_accuracy", cv=3)
    tuned.fit(data.videos, data.target)
    scores = tuned.estimator_.predict_proba(data.videos)[:, 1]
    np.testing.assert_array_equal(tuned.predict(data.videos),
                                  (scores >= tuned.best_threshold_).astype(int))
    assert 0 < tuned.best_threshold_ < 1
    assert balanced_accuracy_score(data.target, tuned.predict(data.videos)) > 0.5


@pytest.mark.parametrize("scoring", [
    make_frame_scorer("roc_auc"),
    {"auc": make_frame_scorer("roc_auc"), "eer": make_frame_scorer("eer")},
], ids=["one scorer", "several scorers"])
def test_search_without_frame_labels_is_an_error_not_nan(small_data, scoring):
    from sklearn.model_selection import cross_validate

    search = GridSearchCV(_pipe(), {"undersample__n_top": [2, 3]}, scoring=scoring,
                          refit=False, cv=2)
    with sklearn.config_context(enable_metadata_routing=True):
        # error_score=nan (scikit-learn's default) would turn a raised error into nan
        with pytest.raises(ValueError, match="needs frame_labels"):
            search.fit(small_data.videos, small_data.target)
        with pytest.raises(ValueError, match="needs frame_labels"):
            cross_validate(_pipe(), small_data.videos, small_data.target, cv=2,
                           scoring=scoring)
        # with the labels routed, the same search scores every candidate
        search.fit(small_data.videos, small_data.target,
                   frame_labels=small_data.frame_labels)
    key = "mean_test_score" if not isinstance(scoring, dict) else "mean_test_auc"
    assert np.isfinite(search.cv_results_[key]).all()


def test_a_wrapped_frame_scorer_and_other_direct_callers_get_the_error(small_data):
    from sklearn.model_selection import permutation_test_score

    pipe = _pipe().fit(small_data.videos, small_data.target)
    scorer = make_frame_scorer("eer")

    def wrapped(estimator, X, y=None, **kwargs):  # a user's scorer around the library's
        return 1 + scorer(estimator, X, y, **kwargs)

    with pytest.raises(ValueError, match="needs frame_labels"):
        wrapped(pipe, small_data.videos)
    with pytest.raises(ValueError, match="needs frame_labels"):
        permutation_test_score(_pipe(), small_data.videos, small_data.target, cv=2,
                               n_permutations=1, scoring=scorer)
