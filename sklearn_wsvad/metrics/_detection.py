"""Fine-grained detection metrics: mAP at temporal IoU thresholds (VadCLIP's protocol)."""

import numbers

import numpy as np

from ._frame import _check_frames_per_clip

__all__ = ["segment_average_precision", "detection_map", "class_segment_proposals"]

#: The IoU thresholds of the fine-grained benchmarks (VadCLIP, DSANet).
IOU_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


def _check_class_scores(class_scores):
    out, n_classes = [], None
    for i, s in enumerate(class_scores):
        arr = np.asarray(s, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise ValueError(
                f"Class scores of video {i} have shape {arr.shape}; expected a non-empty "
                "2-D array (n_clips, n_classes), e.g. from predict_proba_clips."
            )
        if n_classes is None:
            n_classes = arr.shape[1]
        elif arr.shape[1] != n_classes:
            raise ValueError(
                f"Class scores of video {i} have {arr.shape[1]} classes, those of video 0 "
                f"have {n_classes}; every video needs one column per class, in the same order."
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"Class scores of video {i} contain NaN or infinity.")
        out.append(arr)
    if not out:
        raise ValueError(
            "class_scores is empty: expected one (n_clips, n_classes) array per video."
        )
    return out, n_classes


def _check_segments(segments, n_videos, n_classes, normal_class):
    if len(segments) != n_videos:
        raise ValueError(
            f"segments has {len(segments)} entries but class_scores {n_videos} videos; give "
            "one (possibly empty) list of (class, start_frame, end_frame) per video, in the "
            "same order."
        )
    out = []
    for i, video in enumerate(segments):
        arr = np.asarray(video if len(video) else np.empty((0, 3)), dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(
                f"Segments of video {i} have shape {arr.shape}; expected rows of "
                "(class, start_frame, end_frame)."
            )
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"Segments of video {i} must hold integers; got {arr.tolist()}.")
        arr = arr.astype(np.int64)
        bad = (arr[:, 0] < 0) | (arr[:, 0] >= n_classes) | (arr[:, 0] == normal_class)
        if bad.any():
            raise ValueError(
                f"Segment class {int(arr[bad, 0][0])} of video {i} is not an anomaly class: "
                f"expected an integer in [0, {n_classes}) other than normal_class="
                f"{normal_class} (the columns of class_scores)."
            )
        if (arr[:, 1] < 0).any() or (arr[:, 2] <= arr[:, 1]).any():
            raise ValueError(
                f"Segments of video {i} must have 0 <= start_frame < end_frame (frames, end "
                f"exclusive); got {arr[:, 1:].tolist()}."
            )
        out.append(arr)
    return out


def class_segment_proposals(class_scores, *, frames_per_clip=16, relative_threshold=0.6,
                            context_weight=0.7, min_frames=2):
    """Scored class segments proposed from per-clip class scores (VadCLIP's rule).

    For each video and each class column ``x`` (clip scores repeated
    ``frames_per_clip`` times to frames): the frames with
    ``x > max(x) - relative_threshold * (max(x) - min(x))`` form runs; every
    run of at least ``min_frames`` frames is a proposal, scored
    ``max(x over the run) + context_weight * context``, where ``context`` is
    the mean of the video's ``n_clips`` largest frame scores of that class
    (the official code's ``floor(n_frames / 16)`` with 16-frame clips). A
    constant column proposes nothing. Every video proposes for every class
    (the official code's per-video class filter keeps every class with a
    positive score, i.e. all of them for probabilities).

    Parameters
    ----------
    class_scores : sequence of array-like of shape (n_clips_i, n_classes)
    frames_per_clip : int, default=16
    relative_threshold : float, default=0.6
    context_weight : float, default=0.7
    min_frames : int, default=2

    Returns
    -------
    proposals : list of ndarray of shape (n_proposals_c, 4), one per class
        Rows ``(video, start_frame, end_frame, score)`` (end exclusive), in
        video then time order.
    """
    scores, n_classes = _check_class_scores(class_scores)
    fpc = _check_frames_per_clip(frames_per_clip)
    per_class = [[] for _ in range(n_classes)]
    for v, x in enumerate(scores):
        n = x.shape[0]
        # context: the mean of the n largest of the n * fpc frame scores, i.e.
        # of the top q clips (fpc copies each) and r copies of the next one
        top = -np.sort(-x, axis=0)
        q, r = divmod(n, fpc)
        context = (fpc * top[:q].sum(axis=0) + r * (top[q] if r else 0.0)) / n
        high, low = x.max(axis=0), x.min(axis=0)
        above = x > high - relative_threshold * (high - low)  # n x C
        edges = np.diff(np.vstack([np.zeros((1, n_classes), bool), above,
                                   np.zeros((1, n_classes), bool)]).astype(np.int8), axis=0)
        for c in range(n_classes):
            starts = np.flatnonzero(edges[:, c] == 1)
            stops = np.flatnonzero(edges[:, c] == -1)
            if starts.size == 0:
                continue
            # each reduceat range runs from a run's start to the next one's: the
            # clips between runs are below the cut, every clip of a run above
            # it, so the range's maximum is the run's
            peak = np.maximum.reduceat(x[:, c], starts)
            keep = (stops - starts) * fpc >= min_frames
            starts, stops, peak = starts[keep], stops[keep], peak[keep]
            if starts.size == 0:
                continue
            per_class[c].append(np.column_stack([
                np.full(starts.size, v), starts * fpc, stops * fpc,
                peak + context_weight * context[c]]))
    return [np.vstack(p) if p else np.empty((0, 4)) for p in per_class]


def _check_normal_class(normal_class, n_classes):
    if normal_class is None:
        return None
    if (isinstance(normal_class, (bool, np.bool_))
            or not isinstance(normal_class, (numbers.Integral, np.integer))
            or not 0 <= normal_class < n_classes):
        raise ValueError(
            f"normal_class must be the column of the normal class, an integer in [0, "
            f"{n_classes}), or None when the scores have no normal column; got "
            f"{normal_class!r}."
        )
    return int(normal_class)


def _check_thresholds(iou_thresholds):
    thresholds = np.atleast_1d(np.asarray(iou_thresholds, dtype=np.float64))
    if thresholds.ndim != 1 or thresholds.size == 0 or not (
            (thresholds > 0) & (thresholds <= 1)).all():
        raise ValueError(
            f"iou_thresholds must be values in (0, 1]; got {iou_thresholds!r}."
        )
    return thresholds


def segment_average_precision(segments, class_scores, *, iou_thresholds=IOU_THRESHOLDS,
                              frames_per_clip=16, normal_class=0, relative_threshold=0.6,
                              context_weight=0.7, min_frames=2):
    """Average precision of each class's proposed segments at temporal IoU thresholds.

    The fine-grained evaluation of VadCLIP (and DSANet): segments are proposed
    from the per-clip class scores by :func:`class_segment_proposals`; for
    each class, the proposals of all videos are ranked by score, and each, in
    turn, is a true positive when a not yet matched ground-truth segment of
    that class in the same video overlaps it with IoU >= the threshold (the
    segment of largest IoU is then matched; IoU over frames, ends exclusive),
    a false positive otherwise (so are duplicates). AP is the sum of the
    precisions at the true positives divided by the number of ground-truth
    segments of the class (not interpolated); 0 for a class without ground
    truth or without proposals.

    Ground truth of the normal class: a video with no anomaly segment is
    normal, one segment over its ``frames_per_clip x n_clips`` frames (as
    the official ground truth files hold).

    Differences from the official code, each only where it would be
    ambiguous or degenerate: ties of proposal scores keep video order (the
    official ``argsort`` is not stable), and a class without any proposal
    has AP 0 where the official ``getLocMAP`` returns 0 for the whole
    threshold (all classes).

    Parameters
    ----------
    segments : sequence of array-like of shape (n_segments_i, 3)
        Per video, its anomaly segments as rows ``(class, start_frame,
        end_frame)`` (class: a column of ``class_scores`` other than
        ``normal_class``; frames: ``start <= f < end``); empty for a normal
        video. A segment belonging to several classes is one row per class.
    class_scores : sequence of array-like of shape (n_clips_i, n_classes)
        Per video, a score per clip and class (e.g. class probabilities).
    iou_thresholds : array-like of float, default=(0.1, 0.2, 0.3, 0.4, 0.5)
    frames_per_clip : int, default=16
    normal_class : int or None, default=0
        Column of the normal class (row 0 of the released UCF-Crime and
        XD-Violence prompt embeddings); None when there is none.
    relative_threshold, context_weight, min_frames
        See :func:`class_segment_proposals`.

    Returns
    -------
    ap : ndarray of shape (n_thresholds, n_classes)
        In [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> scores = [np.array([[.9, .1], [.2, .8], [.1, .9], [.9, .1]])]
    >>> segment_average_precision([[(1, 16, 48)]], scores, frames_per_clip=16)[:, 1]
    array([1., 1., 1., 1., 1.])
    """
    scores, n_classes = _check_class_scores(class_scores)
    fpc = _check_frames_per_clip(frames_per_clip)
    normal_class = _check_normal_class(normal_class, n_classes)
    thresholds = _check_thresholds(iou_thresholds)
    truth = _check_segments(segments, len(scores), n_classes, normal_class)
    if normal_class is not None:
        truth = [t if len(t) else np.array([[normal_class, 0, fpc * len(s)]])
                 for t, s in zip(truth, scores)]
    truth = np.vstack([np.column_stack([np.full(len(t), v), t]) for v, t in enumerate(truth)
                       if len(t)] or [np.empty((0, 4), np.int64)])  # video, class, start, stop
    proposals = class_segment_proposals(
        scores, frames_per_clip=fpc, relative_threshold=relative_threshold,
        context_weight=context_weight, min_frames=min_frames)
    ap = np.zeros((thresholds.size, n_classes))
    for c in range(n_classes):
        gt = truth[truth[:, 1] == c]
        props = proposals[c][np.argsort(-proposals[c][:, 3], kind="stable")]
        if len(gt) == 0 or len(props) == 0:
            continue
        by_video = {int(v): np.flatnonzero(gt[:, 0] == v) for v in np.unique(gt[:, 0])}
        ranks = np.arange(1, len(props) + 1)
        for t, threshold in enumerate(thresholds):
            matched = np.zeros(len(gt), dtype=bool)
            hit = np.zeros(len(props), dtype=bool)
            for i, (v, start, stop, _) in enumerate(props):
                rows = by_video.get(int(v))
                if rows is None:
                    continue
                rows = rows[~matched[rows]]
                if rows.size == 0:
                    continue
                inter = np.clip(np.minimum(stop, gt[rows, 3]) - np.maximum(start, gt[rows, 2]),
                                0, None)
                iou = inter / ((stop - start) + (gt[rows, 3] - gt[rows, 2]) - inter)
                best = int(np.argmax(iou))
                if iou[best] >= threshold:
                    hit[i], matched[rows[best]] = True, True
            precision = np.cumsum(hit) / ranks
            ap[t, c] = precision[hit].sum() / len(gt)
    return ap


def detection_map(segments, class_scores, *, iou_thresholds=IOU_THRESHOLDS, frames_per_clip=16,
                  normal_class=0, normal="evaluate", **proposal_params):
    """Fine-grained mAP@IoU: the mean over classes of :func:`segment_average_precision`.

    VadCLIP and DSANet report ``100 x`` these values at IoU 0.1 to 0.5 and
    their average (``detection_map(...).mean()``).

    Parameters
    ----------
    segments, class_scores, iou_thresholds, frames_per_clip, normal_class
        See :func:`segment_average_precision`.
    normal : {"evaluate", "exclude", "zero"}, default="evaluate"
        The normal class's place in the mean: evaluated like any class
        (the official XD-Violence evaluation), left out of the mean
        (anomaly classes only), or counted with AP 0 (what the official
        UCF-Crime evaluation computes: its normal ground truth is labelled
        ``'A'`` while its class list says ``'Normal'``, so the class never
        has ground truth; use it to compare with published UCF-Crime
        numbers).
    **proposal_params
        ``relative_threshold``, ``context_weight``, ``min_frames`` of
        :func:`class_segment_proposals`.

    Returns
    -------
    map : ndarray of shape (n_thresholds,)
        In [0, 1].
    """
    if normal not in ("evaluate", "exclude", "zero"):
        raise ValueError(f"normal must be 'evaluate', 'exclude' or 'zero'; got {normal!r}.")
    ap = segment_average_precision(segments, class_scores, iou_thresholds=iou_thresholds,
                                   frames_per_clip=frames_per_clip, normal_class=normal_class,
                                   **proposal_params)
    if normal_class is None or normal == "evaluate":
        return ap.mean(axis=1)
    if normal == "zero":
        ap[:, normal_class] = 0.0
        return ap.mean(axis=1)
    return np.delete(ap, normal_class, axis=1).mean(axis=1)
