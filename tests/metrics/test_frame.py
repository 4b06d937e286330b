import numpy as np
import pytest
from scipy.interpolate import interp1d
from scipy.optimize import brentq
from sklearn.metrics import (
    auc,
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from sklearn_wsvad.metrics import (
    equal_error_rate,
    expand_clip_scores,
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
)


def _case(rng, n_videos=6):
    scores, labels = [], []
    for i in range(n_videos):
        n = int(rng.integers(3, 9))
        scores.append(rng.random(n))
        lab = np.zeros(n * 4 + int(rng.integers(0, 4)), dtype=int)
        if i % 2:
            a = int(rng.integers(0, lab.size - 3))
            lab[a:a + 6] = 1
        labels.append(lab)
    return labels, scores


def test_expand_repeats_then_cuts_or_pads():
    out = expand_clip_scores([[1.0, 2.0], [3.0]], [3, 6], frames_per_clip=2)
    assert out[0].tolist() == [1, 1, 2] and out[1].tolist() == [3] * 6
    assert expand_clip_scores([[1.0, 2.0]], frames_per_clip=3)[0].tolist() == [1, 1, 1, 2, 2, 2]


def test_frame_metrics_match_sklearn_on_concatenated_frames(rng):
    labels, scores = _case(rng)
    frames = expand_clip_scores(scores, [len(lab) for lab in labels], frames_per_clip=4)
    y, s = np.concatenate(labels), np.concatenate(frames)
    auc = frame_roc_auc_score(labels, scores, frames_per_clip=4)
    assert auc == pytest.approx(roc_auc_score(y, s))
    assert frame_average_precision_score(labels, scores, frames_per_clip=4) == pytest.approx(
        average_precision_score(y, s))
    keep = [i for i, lab in enumerate(labels) if lab.any()]
    ya = np.concatenate([labels[i] for i in keep])
    sa = np.concatenate([frames[i] for i in keep])
    assert frame_roc_auc_score(labels, scores, frames_per_clip=4, abnormal_only=True) == (
        pytest.approx(roc_auc_score(ya, sa)))
    assert frame_equal_error_rate(labels, scores, frames_per_clip=4, abnormal_only=True) == (
        pytest.approx(equal_error_rate(ya, sa)))


def test_trapezoid_ap_is_the_published_auc_of_recall_and_precision(rng):
    labels, scores = _case(rng)
    frames = expand_clip_scores(scores, [len(lab) for lab in labels], frames_per_clip=4)
    y, s = np.concatenate(labels), np.concatenate(frames)
    precision, recall, _ = precision_recall_curve(y, s)
    trapezoid = frame_average_precision_score(labels, scores, frames_per_clip=4,
                                              method="trapezoid")
    assert trapezoid == pytest.approx(auc(recall, precision), rel=1e-12)
    step = frame_average_precision_score(labels, scores, frames_per_clip=4, method="step")
    assert step == pytest.approx(average_precision_score(y, s), rel=1e-12)
    assert trapezoid != pytest.approx(step)


def test_trapezoid_and_step_ap_by_hand():
    # operating points (recall, precision): (0.5, 1), (0.5, 1/2), (1, 2/3)
    labels, scores = [[1, 0, 1, 0]], [[0.9, 0.8, 0.7, 0.1]]
    step = frame_average_precision_score(labels, scores, frames_per_clip=1)
    trapezoid = frame_average_precision_score(labels, scores, frames_per_clip=1,
                                              method="trapezoid")
    assert step == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert trapezoid == pytest.approx(0.5 * 1 + 0.5 * (1 / 2 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="'step' or 'trapezoid'"):
        frame_average_precision_score(labels, scores, frames_per_clip=1, method="interp")


def test_eer_matches_brentq_reference(rng):
    y = rng.integers(0, 2, 500)
    s = rng.normal(size=500) + y
    fpr, tpr, _ = roc_curve(y, s)
    ref = brentq(lambda x: 1.0 - x - interp1d(fpr, tpr)(x), 0.0, 1.0)
    assert equal_error_rate(y, s) == pytest.approx(ref, abs=1e-9)


def test_eer_hand_cases():
    assert equal_error_rate([0, 1], [0.1, 0.9]) == 0.0
    assert equal_error_rate([0, 1], [0.9, 0.1]) == 1.0
    # one error of each kind out of two: 0.5
    assert equal_error_rate([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]) == 0.5


def test_misaligned_or_degenerate_ground_truth():
    with pytest.raises(ValueError, match="video 0 have 3 frames but its 2 clips cover 32"):
        frame_roc_auc_score([np.zeros(3)], [[0.1, 0.2]])
    with pytest.raises(ValueError, match="All 32 frames are labelled 0"):
        frame_roc_auc_score([np.zeros(32)], [[0.1, 0.2]])
    with pytest.raises(ValueError, match="no video has an abnormal frame"):
        frame_roc_auc_score([np.zeros(32)], [[0.1, 0.2]], abnormal_only=True)
    with pytest.raises(ValueError, match="Scores of video 0 contain NaN"):
        frame_roc_auc_score([np.zeros(32)], [[np.nan, 0.2]])
