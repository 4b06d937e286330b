"""The Display objects: the data they hold, the artists they draw, their checks."""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.stats  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    DetCurveDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    average_precision_score,
    roc_auc_score,
)
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_wsvad import (  # noqa: E402
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
    score_clips,
)
from sklearn_wsvad.datasets import make_wsvad_videos  # noqa: E402
from sklearn_wsvad.metrics import expand_clip_scores  # noqa: E402
from sklearn_wsvad.plotting import (  # noqa: E402
    ClusterTimelineDisplay,
    FrameDetCurveDisplay,
    FramePrecisionRecallDisplay,
    FrameRocCurveDisplay,
    ScoreTimelineDisplay,
    plot_frame_roc,
)
from sklearn_wsvad.refine import clip_norms  # noqa: E402

CURVES = [FrameRocCurveDisplay, FramePrecisionRecallDisplay, FrameDetCurveDisplay]


def _ax():
    return Figure().add_subplot()


def _lines(ax):
    return [a for a in ax.get_children() if isinstance(a, Line2D)]


@pytest.fixture(scope="module")
def data():
    return make_wsvad_videos(16, n_features=8, min_clips=16, max_clips=40, random_state=0)


@pytest.fixture(scope="module")
def three_models(data):
    rng = np.random.default_rng(0)
    norms = [clip_norms(v) for v in data.videos]
    return {
        "norm": norms,
        "noisy norm": [n + rng.normal(0, 2, n.size) for n in norms],
        "random": [rng.random(n.size) for n in norms],
    }


@pytest.fixture(scope="module")
def fitted_pipeline(data):
    from sklearn_wsvad.models import MagnitudeMILDetector

    pipe = make_pipeline(SnippetReformer(n_snippets=8, inference="snippets"),
                         MagnitudeMILDetector(max_epochs=2, random_state=0))
    return pipe.fit(data.videos, data.target)


# -- frame curves ---------------------------------------------------------------------


def test_frame_curves_reuse_the_scikit_learn_displays():
    assert issubclass(FrameRocCurveDisplay, RocCurveDisplay)
    assert issubclass(FramePrecisionRecallDisplay, PrecisionRecallDisplay)
    assert issubclass(FrameDetCurveDisplay, DetCurveDisplay)


@pytest.mark.parametrize("abnormal_only", [False, True])
def test_roc_auc_and_eer_equal_the_library_metrics(data, three_models, abnormal_only):
    labels = data.frame_labels
    for name, scores in three_models.items():
        display = FrameRocCurveDisplay.from_predictions(
            labels, scores, abnormal_only=abnormal_only, name=name, ax=_ax())
        assert display.roc_auc == frame_roc_auc_score(labels, scores,
                                                      abnormal_only=abnormal_only)
        assert display.eer == frame_equal_error_rate(labels, scores,
                                                     abnormal_only=abnormal_only)
        keep = [i for i, lab in enumerate(labels) if lab.any() or not abnormal_only]
        y = np.concatenate([labels[i] for i in keep])
        s = np.concatenate(expand_clip_scores([scores[i] for i in keep],
                                              [labels[i].size for i in keep]))
        assert display.roc_auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert f"AUC = {display.roc_auc:.3f}" in display.line_.get_label()
        assert f"EER = {display.eer:.3f}" in display.line_.get_label()


def test_eer_marker_is_where_fpr_equals_fnr(data, three_models):
    display = FrameRocCurveDisplay.from_predictions(data.frame_labels, three_models["norm"],
                                                    ax=_ax())
    x, y = display.eer_marker_.get_data()
    assert x[0] == display.eer and y[0] == pytest.approx(1 - display.eer)
    # the marker lies on the ROC curve: interpolate the curve at fpr = EER
    fpr, tpr = display.fpr, display.tpr
    j = int(np.argmax((1 - tpr) - fpr <= 0))
    a, b, p = np.array([fpr[j - 1], tpr[j - 1]]), np.array([fpr[j], tpr[j]]), np.r_[x, y]
    u, v = b - a, p - a
    assert u[0] * v[1] - u[1] * v[0] == pytest.approx(0, abs=1e-12)  # on the segment's line
    assert np.all(np.minimum(a, b) - 1e-12 <= p) and np.all(p <= np.maximum(a, b) + 1e-12)

    det = FrameDetCurveDisplay.from_predictions(data.frame_labels, three_models["norm"],
                                                ax=_ax())
    assert det.eer == display.eer
    x, y = det.eer_marker_.get_data()
    assert x[0] == y[0] == pytest.approx(scipy.stats.norm.ppf(det.eer))


def test_eer_threshold_is_an_operating_point_at_the_crossing():
    labels, scores = [[0, 0, 1, 1, 0, 1]], [[0.1, 0.6, 0.4, 0.9, 0.3, 0.7]]
    display = FrameRocCurveDisplay.from_predictions(labels, scores, frames_per_clip=1,
                                                    drop_intermediate=False, ax=_ax())
    flagged = np.asarray(scores[0]) >= display.eer_threshold
    y = np.asarray(labels[0]).astype(bool)
    fpr, fnr = flagged[~y].mean(), (~flagged[y]).mean()
    assert fnr <= fpr  # the first point where misses no longer exceed false alarms
    assert display.eer == frame_equal_error_rate(labels, scores, frames_per_clip=1)


def test_three_models_overlaid_by_a_dict_or_by_repeated_calls(data, three_models):
    labels = data.frame_labels
    ax = _ax()
    displays = FrameRocCurveDisplay.from_predictions(labels, three_models, ax=ax,
                                                     plot_chance_level=True)
    assert list(displays) == list(three_models)
    assert all(d.ax_ is ax for d in displays.values())
    # 3 curves, 3 EER markers and one chance level line
    assert len(_lines(ax)) == 3 + 3 + 1
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == 3 + 1 and texts[0].startswith("norm (AUC = ")

    ax2 = _ax()
    for name, scores in three_models.items():
        display = FrameRocCurveDisplay.from_predictions(labels, scores, name=name, ax=ax2)
        assert display.roc_auc == displays[name].roc_auc
    assert len(_lines(ax2)) == 3 + 3
    np.testing.assert_array_equal(ax2.lines[0].get_xdata(), ax.lines[0].get_xdata())

    for cls, per_model in ((FramePrecisionRecallDisplay, 1), (FrameDetCurveDisplay, 2)):
        ax3 = _ax()
        out = cls.from_predictions(labels, three_models, ax=ax3)
        assert set(out) == set(three_models)
        assert len(_lines(ax3)) == 3 * per_model
        assert len(ax3.get_legend().get_texts()) == 3


def test_precision_recall_average_precision_equals_the_library(data, three_models):
    labels, scores = data.frame_labels, three_models["noisy norm"]
    step = FramePrecisionRecallDisplay.from_predictions(labels, scores, ax=_ax())
    assert step.average_precision == frame_average_precision_score(labels, scores)
    y = np.concatenate(labels)
    s = np.concatenate(expand_clip_scores(scores, [lab.size for lab in labels]))
    assert step.average_precision == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert step.prevalence_pos_label == pytest.approx(y.mean())
    assert step.line_.get_drawstyle() == "steps-post"
    trapezoid = FramePrecisionRecallDisplay.from_predictions(labels, scores, method="trapezoid",
                                                             ax=_ax())
    assert trapezoid.average_precision == frame_average_precision_score(
        labels, scores, method="trapezoid")
    assert trapezoid.line_.get_drawstyle() == "default"
    assert "AP (trapezoid) = " in trapezoid.line_.get_label()
    with pytest.raises(ValueError, match="method must be"):
        FramePrecisionRecallDisplay.from_predictions(labels, scores, method="area", ax=_ax())


def test_from_estimator_equals_from_predictions(data, fitted_pipeline):
    X, labels = data.videos, data.frame_labels
    scores = score_clips(fitted_pipeline, X)
    for cls in CURVES:
        a = cls.from_estimator(fitted_pipeline, X, labels, ax=_ax())
        b = cls.from_predictions(labels, scores, name="MagnitudeMILDetector", ax=_ax())
        assert a.name == b.name == "MagnitudeMILDetector"  # the Pipeline's model
        for key in ("fpr", "tpr", "fnr", "precision", "recall", "thresholds"):
            if hasattr(b, key):
                np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        for key in ("roc_auc", "eer", "eer_threshold", "average_precision"):
            if hasattr(b, key):
                assert getattr(a, key) == getattr(b, key)
        assert a.line_.get_label() == b.line_.get_label()
    video = X[int(np.flatnonzero(data.target == 1)[0])]
    i = int(np.flatnonzero(data.target == 1)[0])
    a = ScoreTimelineDisplay.from_estimator(fitted_pipeline, video, labels[i], ax=_ax())
    b = ScoreTimelineDisplay.from_predictions(scores[i], labels[i], ax=_ax())
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.intervals, b.intervals)
    assert a.name == "MagnitudeMILDetector"


def test_plot_draws_on_the_given_axes(data, three_models):
    display = FrameRocCurveDisplay.from_predictions(data.frame_labels, three_models["norm"],
                                                    name="norm", ax=_ax())
    other = _ax()
    assert display.plot(ax=other, name="again", plot_eer=False) is display
    assert display.ax_ is other and display.figure_ is other.figure
    assert len(_lines(other)) == 1 and display.eer_marker_ is None
    assert display.line_.get_label().startswith("again (AUC")
    det = FrameDetCurveDisplay(fpr=np.array([0.0, 0.5, 1.0]), fnr=np.array([1.0, 0.5, 0.0]),
                               eer=0.5, name="hand")
    ax = _ax()
    det.plot(ax=ax)
    assert det.ax_ is ax and det.line_.get_label() == "hand (EER = 0.500)"
    assert det.eer_marker_.get_data()[0][0] == pytest.approx(0.0)


def test_plot_frame_roc_still_draws_one_curve_per_configuration(data, three_models):
    ax = plot_frame_roc(data.frame_labels, three_models, ax=_ax())
    # per configuration a curve and its EER marker, plus the diagonal
    assert len(_lines(ax)) == 2 * 3 + 1
    assert len(ax.get_legend().get_texts()) == 3
    assert ax.get_title() == "Frame-level ROC"


def test_frame_curves_raise_the_library_errors(data, three_models):
    labels, scores = data.frame_labels, three_models["norm"]
    for cls in CURVES:
        with pytest.raises(ValueError, match="frame labels for 15 videos but 16 videos"):
            cls.from_predictions(labels[:-1], scores, ax=_ax())
        short = [lab[: lab.size // 2] for lab in labels]
        with pytest.raises(ValueError, match="Frame labels of video 0 have"):
            cls.from_predictions(short, scores, ax=_ax())
        with pytest.raises(ValueError, match="frames_per_clip must be a positive integer"):
            cls.from_predictions(labels, scores, frames_per_clip=0, ax=_ax())
        with pytest.raises(ValueError, match="NaN or infinity"):
            cls.from_predictions(labels, [np.full(s.size, np.nan) for s in scores], ax=_ax())
        normal = [np.zeros_like(lab) for lab in labels]
        with pytest.raises(ValueError, match="both normal and abnormal frames"):
            cls.from_predictions(normal, scores, ax=_ax())
        with pytest.raises(ValueError, match="leave name=None"):
            cls.from_predictions(labels, three_models, name="x", ax=_ax())
        with pytest.raises(ValueError, match="empty dict"):
            cls.from_predictions(labels, {}, ax=_ax())
    # within one clip of n_clips * frames_per_clip is accepted, as by the metrics
    trimmed = [lab[:-3] for lab in labels]
    display = FrameRocCurveDisplay.from_predictions(trimmed, scores, ax=_ax())
    assert display.roc_auc == frame_roc_auc_score(trimmed, scores)
    with pytest.raises(NotImplementedError, match="once per fold"):
        FrameRocCurveDisplay.from_cv_results({}, None, None)


# -- score timeline -------------------------------------------------------------------


def test_timeline_shades_each_ground_truth_interval():
    labels = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0])  # 3 abnormal intervals
    ax = _ax()
    display = ScoreTimelineDisplay.from_predictions([0.1, 0.8, 0.3, 0.9, 0.2, 0.1], labels,
                                                    frames_per_clip=2, threshold=0.5,
                                                    name="m", ax=ax)
    np.testing.assert_array_equal(display.intervals, [[1, 3], [5, 6], [7, 10]])
    assert len(display.gt_patches_) == 3 == len(ax.patches)
    np.testing.assert_array_equal(display.frames, np.arange(12))
    np.testing.assert_array_equal(display.scores, np.repeat([0.1, 0.8, 0.3, 0.9, 0.2, 0.1], 2))
    assert display.threshold_line_.get_ydata()[0] == 0.5
    assert display.line_.get_drawstyle() == "steps-post"
    assert ax.get_xlim() == (0.0, 12.0)
    # a video starting and ending abnormal, and one without anomaly
    edge = ScoreTimelineDisplay.from_predictions([0.5, 0.5], [1, 1, 0, 1], frames_per_clip=2,
                                                 ax=_ax())
    np.testing.assert_array_equal(edge.intervals, [[0, 2], [3, 4]])
    calm = ScoreTimelineDisplay.from_predictions([0.5, 0.5], [0, 0, 0, 0], frames_per_clip=2,
                                                 ax=_ax())
    assert calm.intervals.shape == (0, 2) and calm.gt_patches_ == []


def test_timeline_overlays_models_and_shades_once():
    labels = np.array([0, 0, 1, 1, 1, 0, 0, 0])
    scores = {"a": [0.1, 0.9, 0.4, 0.2], "b": [1.0, 3.0, 2.0, 1.0], "c": [0.5, 0.5, 0.5, 0.5]}
    ax = _ax()
    displays = ScoreTimelineDisplay.from_predictions(
        scores, labels, frames_per_clip=2, threshold={"a": 0.5, "b": 2.5}, ax=ax)
    assert list(displays) == ["a", "b", "c"]
    assert len(ax.patches) == 1  # one interval, shaded once
    assert [d.threshold for d in displays.values()] == [0.5, 2.5, None]
    assert len(_lines(ax)) == 3 + 2  # three score lines, two thresholds
    assert displays["b"].threshold_line_.get_color() == displays["b"].line_.get_color()
    ax2 = _ax()
    for name, s in scores.items():
        ScoreTimelineDisplay.from_predictions(s, labels, frames_per_clip=2, name=name, ax=ax2)
    assert len(ax2.patches) == 1 and len(_lines(ax2)) == 3
    # without ground truth: no shading, n_clips * frames_per_clip frames
    bare = ScoreTimelineDisplay.from_predictions([0.2, 0.4], frames_per_clip=3, ax=_ax())
    assert bare.intervals is None and bare.frames.size == 6 and len(bare.ax_.patches) == 0
    # labels one frame short: padded with the last clip's score, as the metrics do
    short = ScoreTimelineDisplay.from_predictions([0.2, 0.4], [0, 0, 1, 1, 1],
                                                  frames_per_clip=3, ax=_ax())
    np.testing.assert_array_equal(short.scores, [0.2, 0.2, 0.2, 0.4, 0.4])


def test_timeline_plot_draws_on_the_given_axes():
    display = ScoreTimelineDisplay(frames=np.arange(4), scores=np.array([0.0, 1, 1, 0]),
                                   intervals=np.array([[1, 3]]), name="hand")
    ax = _ax()
    # matplotlib aliases replace the defaults they name; a colour sets the span's face
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert display.plot(ax=ax, line_kw={"c": "black", "ls": ":"},
                            gt_kw={"color": "green"}) is display
    assert display.ax_ is ax and display.line_.get_color() == "black"
    assert display.line_.get_linestyle() == ":"
    assert display.gt_patches_[0].get_facecolor()[:3] == pytest.approx((0.0, 0.502, 0.0), abs=1e-3)
    assert len(ax.patches) == 1 and display.threshold_line_ is None


def test_timeline_checks_its_inputs(data):
    labels = np.zeros(32, dtype=int)
    labels[5:9] = 1
    with pytest.raises(ValueError, match="one video"):
        ScoreTimelineDisplay.from_predictions([[0.1, 0.2], [0.3, 0.4]], labels, ax=_ax())
    with pytest.raises(ValueError, match="one video"):
        ScoreTimelineDisplay.from_predictions([0.1, 0.2], [labels, labels], ax=_ax())
    with pytest.raises(ValueError, match="Frame labels of video 0 have 32 frames"):
        ScoreTimelineDisplay.from_predictions([0.1, 0.2, 0.3, 0.4], labels, ax=_ax())
    with pytest.raises(ValueError, match="must be 0/1"):
        ScoreTimelineDisplay.from_predictions([0.1, 0.2], labels * 2, ax=_ax())
    with pytest.raises(ValueError, match="NaN or infinity"):
        ScoreTimelineDisplay.from_predictions([0.1, np.inf], labels, ax=_ax())
    with pytest.raises(ValueError, match="frames_per_clip"):
        ScoreTimelineDisplay.from_predictions([0.1, 0.2], labels, frames_per_clip=1.5,
                                              ax=_ax())
    with pytest.raises(ValueError, match="threshold names models"):
        ScoreTimelineDisplay.from_predictions({"a": [0.1, 0.2]}, labels, threshold={"b": 1},
                                              ax=_ax())
    with pytest.raises(ValueError, match="threshold is a dict"):
        ScoreTimelineDisplay.from_predictions([0.1, 0.2], labels, threshold={"a": 1}, ax=_ax())
    with pytest.raises(ValueError, match="leave name=None"):
        ScoreTimelineDisplay.from_predictions({"a": [0.1, 0.2]}, labels, name="x", ax=_ax())
    with pytest.raises(ValueError, match="empty dict"):
        ScoreTimelineDisplay.from_predictions({}, labels, ax=_ax())
    with pytest.raises(ValueError, match="one video"):
        ScoreTimelineDisplay.from_estimator(None, list(data.videos[:2]), ax=_ax())


# -- cluster timeline -----------------------------------------------------------------


def test_cluster_timeline_is_the_samplers_clustering(data):
    i = int(np.flatnonzero(data.target == 1)[0])
    sampler = FeatureNormClusterUndersampler(n_clusters=5, n_top=2)
    ax = _ax()
    display = ClusterTimelineDisplay.from_estimator(sampler, data.videos[i], ax=ax)
    assert not hasattr(sampler, "labels_")  # the sampler given is left unfitted
    fitted = FeatureNormClusterUndersampler(n_clusters=5, n_top=2).fit(data.videos,
                                                                       data.target)
    np.testing.assert_array_equal(display.ranks, fitted.labels_[i] + 1)
    np.testing.assert_array_equal(display.norms, clip_norms(data.videos[i]))
    np.testing.assert_array_equal(display.is_top, fitted.labels_[i] < 2)
    same = ClusterTimelineDisplay.from_estimator(fitted, data.videos[i], video_index=i,
                                                 ax=_ax())
    np.testing.assert_array_equal(same.ranks, display.ranks)
    # one scatter per cluster, the majority filled, the minority hollow
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatters) == len(display.scatters_) == 5
    for rank, sc in enumerate(display.scatters_, start=1):
        assert len(sc.get_offsets()) == np.count_nonzero(display.ranks == rank)
        filled = sc.get_facecolors().size > 0 and sc.get_facecolors()[0, 3] > 0
        assert filled == (rank <= 2)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["1 (Top)", "2 (Top)", "3 (Bot)", "4 (Bot)", "5 (Bot)"]
    assert "Top2 filled, Bot3 hollow" in ax.get_title()


def test_cluster_timeline_plot_and_checks(data):
    display = ClusterTimelineDisplay(norms=np.array([1.0, 1.0, 5.0]), ranks=np.array([1, 1, 2]),
                                     n_top=1, name="hand")
    ax = _ax()
    assert display.plot(ax=ax) is display and display.ax_ is ax
    assert len(display.scatters_) == 2 and ax.get_title().startswith("hand: ")
    np.testing.assert_array_equal(display.is_top, [True, True, False])
    sampler = FeatureNormClusterUndersampler(n_clusters=5, n_top=2)
    with pytest.raises(TypeError, match="FeatureNormClusterUndersampler"):
        ClusterTimelineDisplay.from_estimator(SnippetReformer(), data.videos[0], ax=_ax())
    with pytest.raises(ValueError, match="one video"):
        ClusterTimelineDisplay.from_estimator(sampler, list(data.videos[:2]), ax=_ax())
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ClusterTimelineDisplay.from_estimator(sampler, data.videos[0], video_index=0,
                                              ax=_ax())
    fitted = FeatureNormClusterUndersampler(n_clusters=5, n_top=2).fit(data.videos,
                                                                       data.target)
    with pytest.raises(ValueError, match="training video 1 of the sampler has"):
        ClusterTimelineDisplay.from_estimator(fitted, data.videos[0], video_index=1,
                                              ax=_ax())
    with pytest.raises(ValueError, match="video_index must be"):
        ClusterTimelineDisplay.from_estimator(fitted, data.videos[0], video_index=99,
                                              ax=_ax())
    with pytest.raises(ValueError, match="NaN or infinity"):
        bad = data.videos[0].copy()
        bad[3, 0] = np.nan
        ClusterTimelineDisplay.from_estimator(sampler, bad, ax=_ax())
