"""Fine-grained mAP@IoU (VadCLIP's protocol): hand-built cases, a frame-level
brute force, and the official evaluation on a fixed case."""

import json
from pathlib import Path

import numpy as np
import pytest

from sklearn_wsvad.metrics import (
    class_segment_proposals,
    detection_map,
    segment_average_precision,
)

CASE = Path(__file__).resolve().parents[1] / "data" / "vadclip_detection_case.json"


def _one_event(start_clip, stop_clip, n_clips=10):
    """Two classes (0 normal, 1 anomaly): class 1 is 0.9 on the clips
    start..stop-1 and 0.1 elsewhere."""
    p = np.full(n_clips, 0.1)
    p[start_clip:stop_clip] = 0.9
    return np.column_stack([1 - p, p])


def test_exact_segments_give_one():
    scores = [_one_event(2, 5), _one_event(6, 9)]
    segments = [[(1, 32, 80)], [(1, 96, 144)]]
    ap = segment_average_precision(segments, scores)
    np.testing.assert_array_equal(ap[:, 1], 1.0)
    np.testing.assert_array_equal(detection_map(segments, scores, normal="exclude"), 1.0)


@pytest.mark.parametrize("shift, expected", [
    (1, [1, 1, 1, 1, 1]),  # 48-frame event, 16 frames late: IoU 32 / 64 = 0.5
    (2, [1, 1, 0, 0, 0]),  # 32 frames late: IoU 16 / 80 = 0.2
    (3, [0, 0, 0, 0, 0]),  # no overlap
])
def test_a_shifted_segment_passes_the_thresholds_up_to_its_iou(shift, expected):
    scores = [_one_event(2 + shift, 5 + shift)]
    ap = segment_average_precision([[(1, 32, 80)]], scores)
    np.testing.assert_array_equal(ap[:, 1], expected)


def test_a_higher_ranked_miss_halves_the_precision_and_duplicates_are_false():
    p = np.full(12, 0.1)
    p[1:3] = 0.95  # a proposal far from the event, ranked first
    p[6:9] = 0.9   # the event
    p[10:12] = 0.9  # a second proposal ... not on the event: another false positive
    scores = [np.column_stack([1 - p, p])]
    ap = segment_average_precision([[(1, 96, 144)]], scores, iou_thresholds=[0.5])
    assert ap[0, 1] == pytest.approx(0.5)  # precision 1/2 at its one true positive
    # two proposals on one event: the second is a false positive, the AP stays 1
    q = np.full(12, 0.1)
    q[4:6], q[7:9] = 0.95, 0.9
    ap = segment_average_precision([[(1, 64, 144)], []], [np.column_stack([1 - q, q]),
                                                          _one_event(0, 0, 12)],
                                   iou_thresholds=[0.1])
    assert ap[0, 1] == 1.0


def test_normal_class_ground_truth_and_the_three_ways_to_average():
    scores = [_one_event(2, 5), _one_event(0, 0)]  # an abnormal and a normal video
    segments = [[(1, 32, 80)], []]
    ap = segment_average_precision(segments, scores)
    # the normal video is one normal segment [0, 160): the normal column (0.9
    # everywhere in it, flat) proposes nothing there, so AP 0 for class 0 ...
    # and the abnormal video's normal runs have no normal ground truth
    assert (ap[:, 0] == 0).all() and (ap[:, 1] == 1).all()
    np.testing.assert_allclose(detection_map(segments, scores), ap.mean(axis=1))
    np.testing.assert_allclose(detection_map(segments, scores, normal="exclude"), ap[:, 1])
    np.testing.assert_allclose(detection_map(segments, scores, normal="zero"), ap[:, 1] / 2)
    np.testing.assert_allclose(detection_map(segments, scores, normal_class=None),
                               detection_map(segments, scores))


def test_proposals_by_hand():
    column = np.array([0.2, 1.0, 0.6, 0.0])
    scores = [np.column_stack([1 - column, column, np.full(4, 0.5)])]
    props = class_segment_proposals(scores, frames_per_clip=3)
    # frames 1,1,1 .6,.6,.6 ...: the mean of the 4 largest of 12 frames is 0.9;
    # cut 1 - 0.6 * 1 = 0.4: clips 1-2, frames [3, 9), score 1 + 0.7 * 0.9
    np.testing.assert_allclose(props[1], [[0, 3, 9, 1.0 + 0.7 * 0.9]])
    assert props[2].shape == (0, 4)  # a constant column proposes nothing
    # single-frame runs are dropped (min_frames=2)
    assert class_segment_proposals(scores, frames_per_clip=1)[1].shape == (1, 4)
    assert class_segment_proposals([np.column_stack([1 - column, column])],
                                   frames_per_clip=1, relative_threshold=0.1)[1].shape == (0, 4)


def _brute_force_proposals(scores, fpc, rel=0.6, weight=0.7, min_frames=2):
    """The official rule at frame level, one frame at a time."""
    out = [[] for _ in range(scores[0].shape[1])]
    for v, s in enumerate(scores):
        frames = np.repeat(s, fpc, axis=0)
        for c in range(s.shape[1]):
            x = frames[:, c]
            context = np.sort(x)[::-1][: len(x) // fpc].mean()
            cut = x.max() - rel * (x.max() - x.min())
            start = None
            for f in range(len(x) + 1):
                inside = f < len(x) and x[f] > cut
                if inside and start is None:
                    start = f
                elif not inside and start is not None:
                    if f - start >= min_frames:
                        out[c].append([v, start, f, x[start:f].max() + weight * context])
                    start = None
    return [np.array(p).reshape(-1, 4) for p in out]


@pytest.mark.parametrize("fpc", [1, 3, 16])
def test_proposals_match_a_frame_level_brute_force(fpc):
    rng = np.random.default_rng(fpc)
    scores = [rng.dirichlet(np.ones(4), size=n) for n in (1, 5, 17, 40)]
    fast = class_segment_proposals(scores, frames_per_clip=fpc)
    slow = _brute_force_proposals(scores, fpc)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_against_the_official_evaluation():
    case = json.loads(CASE.read_text())
    scores = [np.asarray(v["clip_scores"], dtype=np.float32) for v in case["videos"]]
    segments = [v["segments"] for v in case["videos"]]
    ap = segment_average_precision(segments, scores, iou_thresholds=case["iou_thresholds"])
    np.testing.assert_allclose(ap, case["official"]["per_class_ap"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(100 * detection_map(segments, scores),
                               case["official"]["map_percent"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("segments, scores, match", [
    ([[(0, 0, 16)]], [_one_event(1, 2)], "not an anomaly class"),
    ([[(2, 0, 16)]], [_one_event(1, 2)], "not an anomaly class"),
    ([[(1, 16, 16)]], [_one_event(1, 2)], "start_frame < end_frame"),
    ([[(1, 1.5, 16)]], [_one_event(1, 2)], "must hold integers"),
    ([[]], [_one_event(1, 2), _one_event(1, 2)], "segments has 1 entries"),
    ([[], []], [_one_event(1, 2), np.ones((3, 3))], "have 3 classes"),
    ([[]], [np.full((3, 2), np.nan)], "NaN"),
    ([[]], [np.ones(3)], "expected a non-empty 2-D array"),
])
def test_bad_input_is_named(segments, scores, match):
    with pytest.raises(ValueError, match=match):
        segment_average_precision(segments, scores)


def test_bad_options_are_named():
    scores, segments = [_one_event(1, 2)], [[]]
    with pytest.raises(ValueError, match="normal must be"):
        detection_map(segments, scores, normal="skip")
    with pytest.raises(ValueError, match="normal_class must be"):
        detection_map(segments, scores, normal_class=2)
    with pytest.raises(ValueError, match="iou_thresholds"):
        detection_map(segments, scores, iou_thresholds=[0.0])


def test_inputs_are_not_modified():
    scores = [_one_event(2, 5)]
    segments = [np.array([[1, 32, 80]])]
    before = [scores[0].copy(), segments[0].copy()]
    detection_map(segments, scores)
    np.testing.assert_array_equal(scores[0], before[0])
    np.testing.assert_array_equal(segments[0], before[1])


class _TextCosine:
    """A stand-in vision-language model: class probabilities are the softmax
    of the clips' cosines to fixed class text embeddings."""

    def __init__(self, text=None, temperature=0.1):
        self.text = text
        self.temperature = temperature

    def get_params(self, deep=True):
        return {"text": self.text, "temperature": self.temperature}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict_proba_clips(self, X):
        text = self.text / np.linalg.norm(self.text, axis=1, keepdims=True)
        out = []
        for v in X:
            z = (v / np.linalg.norm(v, axis=1, keepdims=True)) @ text.T / self.temperature
            z = np.exp(z - z.max(axis=1, keepdims=True))
            out.append(z / z.sum(axis=1, keepdims=True))
        return out


def test_detection_scorer_in_a_search_gets_segments_by_routing():
    import sklearn
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline

    from sklearn_wsvad import SnippetReformer, make_detection_scorer
    from sklearn_wsvad.datasets import make_wsvad_clip_videos
    from sklearn_wsvad.metrics import predict_proba_clips

    data = make_wsvad_clip_videos(24, n_classes=3, n_features=32, random_state=0)
    scorer = make_detection_scorer(normal="exclude")
    model = _TextCosine(data.text_embeddings)
    direct = scorer(model, data.videos, segments=data.segments)
    expected = detection_map(data.segments, model.predict_proba_clips(data.videos),
                             normal="exclude").mean()
    assert direct == pytest.approx(expected) and 0 < direct <= 1
    # through a Pipeline: the identity reformer maps every clip back
    pipe = make_pipeline(SnippetReformer(n_snippets=4), _TextCosine(data.text_embeddings))
    pipe.fit(data.videos, data.target)
    for a, b in zip(predict_proba_clips(pipe, data.videos), model.predict_proba_clips(data.videos)):
        np.testing.assert_allclose(a, b)
    search = GridSearchCV(pipe, {"_textcosine__temperature": [0.05, 1.0]}, scoring=scorer,
                          cv=StratifiedKFold(2))
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(data.videos, data.target, segments=data.segments)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(ValueError, match="needs segments"):
        scorer(model, data.videos)
    with pytest.raises(TypeError, match="has no predict_proba_clips"):
        predict_proba_clips(object(), data.videos)


def test_class_frame_auc_equals_sklearn_on_the_chosen_frames():
    from sklearn.metrics import roc_auc_score

    from sklearn_wsvad import class_frame_roc_auc_score

    rng = np.random.default_rng(0)
    classes = np.array([0, 1, 2, 0, 1, 3, 0])  # class 3 only in a video without anomaly frames
    labels = [np.zeros(6, int) if c == 0 else (rng.random(6) < 0.5).astype(int) for c in classes]
    labels[1][:2], labels[4][:2], labels[2][:2] = [0, 1], [1, 0], [0, 1]
    labels[5][:] = 0  # all frames normal: AUC of class 3 is undefined without normal videos
    scores = [rng.random((3, 4)) for _ in classes]  # 3 clips of 2 frames, 4 classes
    with_normal = class_frame_roc_auc_score(labels, scores, classes, frames_per_clip=2)
    own_only = class_frame_roc_auc_score(labels, scores, classes, frames_per_clip=2,
                                         include_normal_videos=False)
    coarse = class_frame_roc_auc_score(labels, [s[:, 1] for s in scores], classes,
                                       frames_per_clip=2)
    for c, videos in ((1, [1, 4]), (2, [2])):
        for chosen, got, column in ((videos + [0, 3, 6], with_normal, c), (videos, own_only, c),
                                    (videos + [0, 3, 6], coarse, 1)):
            y = np.concatenate([labels[i] for i in chosen])
            s = np.concatenate([np.repeat(scores[i][:, column], 2) for i in chosen])
            assert got[c - 1] == pytest.approx(roc_auc_score(y, s))
    assert np.isnan(with_normal[2]) and np.isnan(own_only[2])  # class 3: no abnormal frame
    # multi-label videos count for each of their classes
    multi = np.eye(4, dtype=int)[classes]
    multi[2, 1] = 1
    got = class_frame_roc_auc_score(labels, scores, multi, frames_per_clip=2,
                                    include_normal_videos=False)
    y = np.concatenate([labels[i] for i in (1, 2, 4)])
    s = np.concatenate([np.repeat(scores[i][:, 1], 2) for i in (1, 2, 4)])
    assert got[0] == pytest.approx(roc_auc_score(y, s))
    with pytest.raises(ValueError, match="video_classes has 4 columns but there are 3 classes"):
        class_frame_roc_auc_score(labels, [s[:, :3] for s in scores], multi, frames_per_clip=2)


def test_class_frame_scorer_gets_labels_and_classes_by_routing():
    import sklearn
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from sklearn_wsvad import class_frame_roc_auc_score, make_class_frame_scorer
    from sklearn_wsvad.datasets import make_wsvad_clip_videos

    data = make_wsvad_clip_videos(24, n_classes=3, n_features=32, random_state=0)
    model = _TextCosine(data.text_embeddings)
    scorer = make_class_frame_scorer(scores="class")
    direct = scorer(model, data.videos, frame_labels=data.frame_labels,
                    video_classes=data.video_classes)
    expected = class_frame_roc_auc_score(data.frame_labels, model.predict_proba_clips(data.videos),
                                         data.video_classes)
    assert direct == pytest.approx(np.nanmean(expected)) and 0.5 < direct <= 1
    from sklearn.pipeline import make_pipeline

    from sklearn_wsvad import SnippetReformer
    pipe = make_pipeline(SnippetReformer(n_snippets=4), _TextCosine(data.text_embeddings))
    search = GridSearchCV(pipe, {"_textcosine__temperature": [0.05, 1.0]}, scoring=scorer,
                          cv=StratifiedKFold(2))
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(data.videos, data.target, frame_labels=data.frame_labels,
                   video_classes=data.video_classes)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(ValueError, match="needs video_classes"):
        scorer(model, data.videos, frame_labels=data.frame_labels)
