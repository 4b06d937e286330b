"""Frame-level metrics of clip scores (micro-averaged over videos)."""

import numbers

import numpy as np
from sklearn.metrics import (
    auc,
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.utils import check_consistent_length, column_or_1d

from ..utils.validation import check_frame_labels, check_video_classes

__all__ = [
    "expand_clip_scores",
    "frame_roc_auc_score",
    "frame_average_precision_score",
    "frame_equal_error_rate",
    "equal_error_rate",
    "class_frame_roc_auc_score",
]


def _check_clip_scores(clip_scores):
    if isinstance(clip_scores, np.ndarray) and clip_scores.dtype != object:
        if clip_scores.ndim != 2:
            raise ValueError(
                "clip_scores must hold one 1-D array of scores per video, got an "
                f"array of shape {clip_scores.shape}."
            )
    out = []
    for i, s in enumerate(clip_scores):
        arr = np.asarray(s, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"Scores of video {i} have shape {arr.shape}; expected a non-empty "
                "1-D array with one score per clip."
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"Scores of video {i} contain NaN or infinity.")
        out.append(arr)
    return out


def _check_frames_per_clip(frames_per_clip):
    if (isinstance(frames_per_clip, (bool, np.bool_))
            or not isinstance(frames_per_clip, (numbers.Integral, np.integer))
            or frames_per_clip < 1):
        raise ValueError(
            f"frames_per_clip must be a positive integer (16 for the benchmarks' "
            f"16-frame clips); got {frames_per_clip!r}."
        )
    return int(frames_per_clip)


def _check_n_frames(n_frames, n_videos):
    counts = np.asarray(n_frames)
    if counts.ndim != 1 or counts.size != n_videos:
        raise ValueError(
            f"n_frames must hold one frame count per video: expected {n_videos} "
            f"counts, got an array of shape {counts.shape}."
        )
    if counts.size and (counts.dtype.kind not in "iu" or counts.min() < 1):
        bad = [c for c in counts.tolist() if not isinstance(c, int) or c < 1]
        raise ValueError(
            f"n_frames must be positive integers (frames of each video); got {bad[:3]}."
        )
    return counts.astype(np.intp)


def expand_clip_scores(clip_scores, n_frames=None, *, frames_per_clip=16):
    """Frame scores from clip scores: each repeated ``frames_per_clip`` times.

    The reference protocols' ``np.repeat(score, 16)``, cut or padded (with
    the last clip's score) to each video's frame count.

    Parameters
    ----------
    clip_scores : sequence of array-like of shape (n_clips_i,)
    n_frames : sequence of int, default=None
        Frames of each video; ``n_clips_i * frames_per_clip`` when None.
    frames_per_clip : int, default=16

    Returns
    -------
    frame_scores : list of ndarray of shape (n_frames_i,)

    Examples
    --------
    >>> from sklearn_wsvad.metrics import expand_clip_scores
    >>> [s.tolist() for s in expand_clip_scores([[0.1, 0.9]], [5], frames_per_clip=2)]
    [[0.1, 0.1, 0.9, 0.9, 0.9]]
    """
    scores = _check_clip_scores(clip_scores)
    frames_per_clip = _check_frames_per_clip(frames_per_clip)
    if n_frames is None:
        n_frames = [s.size * frames_per_clip for s in scores]
    else:
        n_frames = _check_n_frames(n_frames, len(scores))
    out = []
    for s, n in zip(scores, n_frames):
        frames = np.repeat(s, frames_per_clip)[:n]
        if frames.size < n:
            frames = np.pad(frames, (0, n - frames.size), mode="edge")
        out.append(frames)
    return out


def _concat_frames(frame_labels, clip_scores, frames_per_clip, abnormal_only):
    scores = _check_clip_scores(clip_scores)
    labels = check_frame_labels(
        frame_labels, [s.size for s in scores], frames_per_clip=frames_per_clip
    )
    n_frames = [lab.size for lab in labels]
    frames = expand_clip_scores(scores, n_frames, frames_per_clip=frames_per_clip)
    if abnormal_only:
        keep = [i for i, lab in enumerate(labels) if lab.any()]
        if not keep:
            raise ValueError(
                "abnormal_only=True but no video has an abnormal frame; the "
                "abnormal-videos-only metrics need at least one abnormal video."
            )
        labels = [labels[i] for i in keep]
        frames = [frames[i] for i in keep]
    y_true = np.concatenate(labels)
    if y_true.min() == y_true.max():
        raise ValueError(
            f"All {y_true.size} frames are labelled {int(y_true[0])}; frame-level "
            "metrics need both normal and abnormal frames."
        )
    return y_true, np.concatenate(frames)


_PARAMS_DOC = """
    Parameters
    ----------
    frame_labels : sequence of array-like of shape (n_frames_i,)
        Per-video 0/1 frame ground truth, aligned with the clips within one
        clip (see :func:`~sklearn_wsvad.utils.check_frame_labels`).
    clip_scores : sequence of array-like of shape (n_clips_i,)
        Per-video clip scores, higher = more anomalous, e.g. the output of
        :func:`~sklearn_wsvad.score_clips`.
    frames_per_clip : int, default=16
    abnormal_only : bool, default=False
        Restrict to videos with at least one abnormal frame (the core paper's
        AUC_A / EER_A).
"""


def frame_roc_auc_score(frame_labels, clip_scores, *, frames_per_clip=16, abnormal_only=False):
    """Frame-level ROC AUC over all videos' frames (the benchmarks' AUC).

    Clip scores are expanded to frames (:func:`expand_clip_scores`), the
    videos concatenated, and :func:`sklearn.metrics.roc_auc_score` computed.
    {params}
    Returns
    -------
    auc : float

    Examples
    --------
    >>> from sklearn_wsvad.metrics import frame_roc_auc_score
    >>> frame_roc_auc_score([[0, 0, 1, 1], [0, 0, 0, 0]], [[0.2, 0.8], [0.1, 0.3]],
    ...                     frames_per_clip=2)
    1.0
    """
    y, s = _concat_frames(frame_labels, clip_scores, frames_per_clip, abnormal_only)
    return float(roc_auc_score(y, s))


def frame_average_precision_score(
    frame_labels, clip_scores, *, frames_per_clip=16, abnormal_only=False, method="step"
):
    """Frame-level average precision, step-wise or as the published trapezoid.

    ``method="step"`` is scikit-learn's
    :func:`~sklearn.metrics.average_precision_score` (``sum_n (R_n - R_{n-1})
    P_n``, no interpolation). ``method="trapezoid"`` is the area under the
    precision-recall curve by the trapezoidal rule,
    ``sklearn.metrics.auc(recall, precision)`` of
    :func:`~sklearn.metrics.precision_recall_curve`: the form the published
    XD-Violence numbers (and the official RTFM and BN-WVAD evaluation code)
    report. The trapezoid interpolates precision linearly between operating
    points, which is not how precision varies between them (Davis and
    Goadrich, ICML 2006); it can be above or below the step-wise AP, so
    compare a number only with numbers of the same method.
    {params}    method : {"step", "trapezoid"}, default="step"

    Returns
    -------
    ap : float

    Examples
    --------
    >>> from sklearn_wsvad.metrics import frame_average_precision_score
    >>> frame_average_precision_score([[0, 1], [0, 0]], [[0.9, 0.8], [0.1, 0.2]],
    ...                               frames_per_clip=1)
    0.5

    Operating points (recall, precision): (0.5, 1), (0.5, 0.5), (1, 2/3); the
    step-wise AP is ``0.5 * 1 + 0.5 * 2/3``, the trapezoid
    ``0.5 * 1 + 0.5 * (0.5 + 2/3) / 2``:

    >>> labels, scores = [[1, 0, 1, 0]], [[0.9, 0.8, 0.7, 0.1]]
    >>> round(frame_average_precision_score(labels, scores, frames_per_clip=1), 4)
    0.8333
    >>> round(frame_average_precision_score(labels, scores, frames_per_clip=1,
    ...                                     method="trapezoid"), 4)
    0.7917
    """
    if method not in ("step", "trapezoid"):
        raise ValueError(f"method must be 'step' or 'trapezoid'; got {method!r}.")
    y, s = _concat_frames(frame_labels, clip_scores, frames_per_clip, abnormal_only)
    if method == "trapezoid":
        precision, recall, _ = precision_recall_curve(y, s)
        return float(auc(recall, precision))
    return float(average_precision_score(y, s))


def equal_error_rate(y_true, y_score):
    """Equal error rate: the false positive rate where it equals the miss rate.

    Linear interpolation between the two ROC points where ``1 - tpr - fpr``
    changes sign (the usual ``brentq`` on the interpolated ROC curve, without
    its failure on vertical segments). Lower is better.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) of {0, 1}
    y_score : array-like of shape (n_samples,)

    Returns
    -------
    eer : float

    Examples
    --------
    >>> from sklearn_wsvad.metrics import equal_error_rate
    >>> equal_error_rate([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    0.5
    >>> equal_error_rate([0, 1], [0.2, 0.7])
    0.0
    """
    y_true = column_or_1d(y_true)
    y_score = column_or_1d(y_score)
    check_consistent_length(y_true, y_score)
    if y_true.size == 0:
        raise ValueError("equal_error_rate needs at least one sample; got empty arrays.")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(
            "y_true must hold 0 (normal) and 1 (abnormal) labels; got values "
            f"{np.unique(y_true)[:5].tolist()}."
        )
    if y_true.min() == y_true.max():
        raise ValueError(
            f"All {y_true.size} labels are {int(y_true[0])}; the equal error rate "
            "needs both normal (0) and abnormal (1) samples."
        )
    y_score = np.asarray(y_score, dtype=np.float64)
    if not np.isfinite(y_score).all():
        raise ValueError(
            f"y_score contains NaN or infinity (first at index "
            f"{int(np.flatnonzero(~np.isfinite(y_score))[0])}); scores must be finite."
        )
    fpr, tpr, _ = roc_curve(y_true, y_score)
    gap = (1.0 - tpr) - fpr
    i = int(np.argmax(gap <= 0))
    if gap[i] == 0 or i == 0:
        return float(fpr[i])
    t = gap[i - 1] / (gap[i - 1] - gap[i])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def frame_equal_error_rate(
    frame_labels, clip_scores, *, frames_per_clip=16, abnormal_only=False
):
    """Frame-level equal error rate (lower is better).
    {params}
    Returns
    -------
    eer : float

    Examples
    --------
    >>> from sklearn_wsvad.metrics import frame_equal_error_rate
    >>> frame_equal_error_rate([[0, 0, 1, 1]], [[0.1, 0.6, 0.4, 0.9]], frames_per_clip=1)
    0.5
    """
    y, s = _concat_frames(frame_labels, clip_scores, frames_per_clip, abnormal_only)
    return equal_error_rate(y, s)


for _f in (frame_roc_auc_score, frame_average_precision_score, frame_equal_error_rate):
    _f.__doc__ = _f.__doc__.replace("{params}", _PARAMS_DOC.rstrip() + "\n")
del _f


def class_frame_roc_auc_score(frame_labels, clip_scores, video_classes, *, frames_per_clip=16,
                              include_normal_videos=True):
    """Frame-level ROC AUC of each anomaly class.

    For anomaly class ``c``: the frames of the videos of class ``c`` (a
    multi-label video counts for each of its classes) and, with
    ``include_normal_videos=True``, of every normal video, scored by the
    videos' clip scores. With per-class clip scores (2-D: one column per
    class, e.g. :func:`~sklearn_wsvad.predict_proba_clips`) class ``c`` is
    scored by its own column; with 1-D clip scores (a coarse anomaly score)
    every class by the same score. Frame labels are 0/1: the abnormal frames
    of a multi-label video count as positives for each of its classes.

    Parameters
    ----------
    frame_labels : sequence of array-like of shape (n_frames_i,)
        Per-video 0/1 frame ground truth.
    clip_scores : sequence of array-like of shape (n_clips_i,) or (n_clips_i, n_classes)
        Coarse or per-class clip scores, higher = more anomalous (of that class).
    video_classes : array-like of shape (n_videos,) or (n_videos, n_classes)
        Each video's class(es), 0 normal (see
        :func:`~sklearn_wsvad.utils.check_video_classes`).
    frames_per_clip : int, default=16
    include_normal_videos : bool, default=True
        ``False``: only the class's own videos (their normal and abnormal
        frames), the per-class AUC some papers report on UCF-Crime.

    Returns
    -------
    auc : ndarray of shape (n_classes - 1,)
        One AUC per anomaly class (column 1 onwards), NaN for a class without
        videos or whose frames are all of one label.

    Examples
    --------
    >>> from sklearn_wsvad.metrics import class_frame_roc_auc_score
    >>> class_frame_roc_auc_score([[0, 1], [0, 0], [1, 0]],
    ...                           [[0.2, 0.9], [0.1, 0.5], [0.45, 0.6]],
    ...                           [1, 0, 2], frames_per_clip=1)
    array([1.        , 0.33333333])
    """
    raw = [np.asarray(s, dtype=np.float64) for s in clip_scores]
    if raw and all(s.ndim == 2 for s in raw):
        per_class = raw
        n_columns = {s.shape[1] for s in raw}
        if len(n_columns) != 1:
            raise ValueError(
                "Per-class clip scores must have one column per class in every video; got "
                f"{sorted(n_columns)} columns."
            )
        coarse = [s[:, 0] for s in raw]
    else:
        per_class = None
        coarse = raw
    scores = _check_clip_scores(coarse)
    labels = check_frame_labels(frame_labels, [s.size for s in scores],
                                frames_per_clip=frames_per_clip)
    n_classes = per_class[0].shape[1] if per_class is not None else None
    classes = check_video_classes(video_classes, n_videos=len(labels), n_classes=n_classes)
    n_frames = [lab.size for lab in labels]
    normal = classes[:, 0].astype(bool)
    aucs = np.full(classes.shape[1] - 1, np.nan)
    for c in range(1, classes.shape[1]):
        keep = classes[:, c].astype(bool) | (normal & include_normal_videos)
        if not classes[:, c].any():
            continue
        chosen = np.flatnonzero(keep)
        column = scores if per_class is None else [per_class[i][:, c] for i in range(len(raw))]
        frames = expand_clip_scores([column[i] for i in chosen], [n_frames[i] for i in chosen],
                                    frames_per_clip=frames_per_clip)
        y_true = np.concatenate([labels[i] for i in chosen])
        if y_true.min() == y_true.max():
            continue
        aucs[c - 1] = roc_auc_score(y_true, np.concatenate(frames))
    return aucs
