"""Input validation for video-level data.

A data set is a sequence of videos, each a 2-D array ``(n_clips, n_features)``
whose lengths differ. These helpers validate one video at a time and never
stack the whole set, so that memory follows the longest video, not the set.
"""

import numbers

import numpy as np

from ._lazy import LazyVideos, MappedVideos

__all__ = [
    "check_videos",
    "check_video_labels",
    "check_frame_labels",
    "check_both_classes",
    "check_video_classes",
    "first_nonfinite_clip",
]

_HOW_TO_PASS = (
    "Pass a list of 2-D arrays of shape (n_clips, n_features), one per video."
)


def _as_video_sequence(videos):
    """Turn the accepted containers into a list without touching the arrays."""
    if isinstance(videos, (str, bytes)) or np.isscalar(videos) or videos is None:
        raise TypeError(
            f"Expected a sequence of videos, got {type(videos).__name__}. {_HOW_TO_PASS}"
        )
    if isinstance(videos, np.ndarray):
        if videos.dtype == object:
            return list(videos)
        if videos.ndim == 3:
            return list(videos)
        raise ValueError(
            f"Expected a list of videos or a 3-D array (n_videos, n_clips, "
            f"n_features), got a {videos.ndim}-D array of shape {videos.shape}. "
            "A 2-D array is ambiguous (one video or many single-clip videos?). "
            f"{_HOW_TO_PASS} For a single video use [video]."
        )
    try:
        return list(videos)
    except TypeError:
        raise TypeError(
            f"Expected a sequence of videos, got {type(videos).__name__}. {_HOW_TO_PASS}"
        ) from None


#: clips checked at a time by :func:`_all_finite` (a bounded boolean temporary
#: on long, e.g. memory-mapped, videos)
_CHECK_ROWS = 8192


def _all_finite(video):
    """Whether every value of ``video`` is finite, block of clips by block."""
    return all(np.isfinite(video[start: start + _CHECK_ROWS]).all()
               for start in range(0, len(video), _CHECK_ROWS))


def first_nonfinite_clip(video):
    """Index of the first clip of ``video`` holding NaN or inf, or None."""
    for start in range(0, len(video), _CHECK_ROWS):
        block = video[start: start + _CHECK_ROWS]
        hits = np.flatnonzero(~np.isfinite(block).all(axis=tuple(range(1, block.ndim))))
        if hits.size:
            return start + int(hits[0])
    return None


def _raise_nonfinite(video, index):
    clip = first_nonfinite_clip(video)
    raise ValueError(
        f"Video {index} contains NaN or infinity (first at clip {clip}). "
        "Features must be finite: drop or repair the damaged clips before fitting."
    )


def _check_range(video, index, compute_dtype):
    """Raise if a value of ``video`` is outside the finite range of ``compute_dtype``."""
    if video.dtype.kind not in "f" or np.finfo(video.dtype).max <= np.finfo(compute_dtype).max:
        return
    limit = float(np.finfo(compute_dtype).max)
    if -limit <= video.min() and video.max() <= limit:
        return
    rows = video.reshape(len(video), -1)
    clip = int(np.flatnonzero((np.abs(rows) > limit).any(axis=1))[0])
    value = rows[clip][np.argmax(np.abs(rows[clip]))]
    raise ValueError(
        f"Video {index} holds {value:.3g} at clip {clip}, outside the range of "
        f"{compute_dtype} (+-{limit:.3g}) that this model computes in: it would become "
        "infinity. Rescale the features (e.g. ClipStandardScaler, or divide by a "
        "constant) or drop the damaged clips before fitting or scoring."
    )


def check_videos(
    videos,
    *,
    n_features=None,
    ensure_all_finite=True,
    allow_crops=False,
    dtype=(np.float64, np.float32),
    compute_dtype=None,
):
    """Validate a sequence of videos, one at a time.

    Parameters
    ----------
    videos : sequence of array-like of shape (n_clips, n_features)
        A list (canonical), a 3-D array of equal-length videos or an object
        array of videos.
    n_features : int, default=None
        The feature dimension every video must have (the one seen in ``fit``).
        When None, all videos must match the first one.
    ensure_all_finite : bool, default=True
        Raise on NaN or infinity. Callers that read every value anyway (e.g.
        to compute clip norms) may pass False and check themselves.
    allow_crops : bool, default=False
        Also accept 3-D videos ``(n_clips, n_crops, n_features)``.
    dtype : dtype or tuple of dtypes, default=(np.float64, np.float32)
        Floating videos of one of these dtypes are kept as they are (no copy,
        memory maps stay memory maps); integer and boolean videos are
        converted to the first dtype.
    compute_dtype : dtype, default=None
        The dtype the caller computes in (e.g. ``np.float32`` for the torch
        models): values outside its finite range, which would become infinity
        when cast, are rejected with the video and clip that hold them. Checked
        with two passes (max and min), no copy; skipped for videos stored in a
        dtype that fits.

    Returns
    -------
    videos : list of ndarray, or a lazy sequence
        The validated videos. Arrays are the caller's own objects whenever no
        conversion was needed; treat them as read-only. A lazy sequence
        (:class:`~sklearn_wsvad.utils.LazyVideos`, e.g. memory-mapped
        features from :func:`~sklearn_wsvad.datasets.load_features`) is
        checked video by video and returned lazy, never loaded whole.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_wsvad.utils import check_videos
    >>> videos = check_videos([np.ones((3, 4)), np.zeros((5, 4))])
    >>> [v.shape for v in videos]
    [(3, 4), (5, 4)]
    >>> check_videos([np.ones((3, 4)), np.ones((2, 8))])
    Traceback (most recent call last):
    ...
    ValueError: Video 1 has 8 features but video 0 has 4; ...
    """
    lazy = isinstance(videos, LazyVideos)
    seq = videos if lazy else _as_video_sequence(videos)
    if len(seq) == 0:
        raise ValueError(f"Expected at least one video, got an empty sequence. {_HOW_TO_PASS}")
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    expected_ndim = (2, 3) if allow_crops else (2,)
    reference = None if n_features is None else ("fit", int(n_features))
    out, converted = [], False
    for i, video in enumerate(seq):
        if not hasattr(video, "dtype") or not hasattr(video, "shape"):
            try:
                video = np.asarray(video)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"Video {i} could not be read as an array ({exc}). {_HOW_TO_PASS}"
                ) from None
        if video.ndim not in expected_ndim:
            crop_hint = (
                " Multi-crop features (n_clips, n_crops, n_features) are taken by the "
                "refinement steps and by RTFMDetector and BNWVADDetector; for this "
                "step, load them with the loaders' crops='mean' (or 'first') option."
                if video.ndim == 3
                else ""
            )
            raise ValueError(
                f"Video {i} has shape {tuple(video.shape)}; expected a 2-D array "
                f"(n_clips, n_features).{crop_hint} {_HOW_TO_PASS}"
            )
        if video.dtype.kind not in "fiub":
            raise TypeError(
                f"Video {i} has dtype {video.dtype}; expected numeric features "
                "(float32 or float64)."
            )
        if video.shape[0] == 0:
            raise ValueError(
                f"Video {i} has 0 clips. Remove empty videos before fitting or scoring."
            )
        if video.ndim == 3 and video.shape[1] == 0:
            raise ValueError(
                f"Video {i} has shape {tuple(video.shape)}: 0 crops. Each video needs "
                "at least one crop on axis 1."
            )
        if video.dtype not in dtypes:
            converted = True
            video = np.asarray(video, dtype=dtypes[0])
        d = video.shape[-1]
        if reference is None:
            reference = ("0", d)
        elif d != reference[1]:
            if reference[0] == "fit":
                raise ValueError(
                    f"Video {i} has {d} features, but this estimator was fitted "
                    f"with {reference[1]}; score videos from the same extractor "
                    "used in fit."
                )
            raise ValueError(
                f"Video {i} has {d} features but video 0 has {reference[1]}; all "
                "videos must come from the same extractor."
            )
        if ensure_all_finite and not _all_finite(video):
            _raise_nonfinite(video, i)
        if compute_dtype is not None:
            _check_range(video, i, np.dtype(compute_dtype))
        if not lazy:
            out.append(video)
    if not lazy:
        return out
    # a lazy sequence stays lazy: its videos were checked one by one and let go
    if converted:
        return MappedVideos(seq, lambda i, v: v if v.dtype in dtypes else v.astype(dtypes[0]))
    return seq


def check_video_labels(y, n_videos=None):
    """Validate video-level labels: a 1-D array of {0, 1}.

    Parameters
    ----------
    y : array-like of shape (n_videos,)
        0 for a normal video, 1 for an abnormal one.
    n_videos : int, default=None
        The number of videos the labels must match.

    Returns
    -------
    y : ndarray of shape (n_videos,), dtype int64

    Examples
    --------
    >>> from sklearn_wsvad.utils import check_video_labels
    >>> check_video_labels([0, 1, 1.0], n_videos=3)
    array([0, 1, 1])
    >>> check_video_labels([0, 2], n_videos=2)
    Traceback (most recent call last):
    ...
    ValueError: Video labels must be 0 (normal) or 1 (abnormal); found values [0, 2]...
    """
    if y is None:
        raise ValueError(
            "Video labels y are required: an array of shape (n_videos,) with 0 for "
            "normal and 1 for abnormal videos."
        )
    arr = np.asarray(y)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.ndim == 2 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise ValueError(
            f"Video labels must be 1-D of shape (n_videos,), got shape {arr.shape}."
        )
    if n_videos is not None and arr.shape[0] != n_videos:
        raise ValueError(
            f"Got {n_videos} videos but {arr.shape[0]} labels; y needs one label per video."
        )
    if arr.dtype.kind not in "fiub":
        raise ValueError(
            f"Video labels must be 0 (normal) or 1 (abnormal); got dtype {arr.dtype}."
        )
    values = np.unique(arr)
    if not np.isin(values, (0, 1)).all():
        shown = [v.item() if hasattr(v, "item") else v for v in values[:10]]
        raise ValueError(
            f"Video labels must be 0 (normal) or 1 (abnormal); found values {shown}. "
            "Map your classes to {0, 1} (e.g. y = (labels != 'Normal'))."
        )
    return arr.astype(np.int64)


def check_both_classes(y, what="This model"):
    """Raise if ``y`` holds only one of the two video classes."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=2)
    if counts.min() == 0:
        missing = "abnormal (1)" if counts[1] == 0 else "normal (0)"
        raise ValueError(
            f"{what} needs both normal and abnormal videos, but y has "
            f"{counts[0]} normal and {counts[1]} abnormal and no {missing} video. "
            "MIL learns by contrasting the two: add videos of the missing class, "
            "or use a stratified split (StratifiedKFold) so each fold has both."
        )


def check_video_classes(video_classes, *, n_videos=None, n_classes=None, y=None):
    """Validate the fine-grained classes of videos (column 0: normal).

    Parameters
    ----------
    video_classes : array-like of shape (n_videos,) or (n_videos, n_classes)
        One class index per video (0 for a normal video), or a 0/1 indicator
        matrix (a video may belong to several anomaly classes, as in
        XD-Violence), e.g. from
        :func:`~sklearn_wsvad.datasets.video_class_indicators`.
    n_videos : int, default=None
        The number of videos they must match.
    n_classes : int, default=None
        The number of classes, normal included (the rows of the class text
        embeddings); by default the indicator's width or the largest index
        plus one.
    y : array-like of shape (n_videos,), default=None
        Video labels to check them against: a normal video (0) has class 0
        only, an abnormal one (1) at least one anomaly class and not class 0.

    Returns
    -------
    indicators : ndarray of shape (n_videos, n_classes), dtype int8

    Examples
    --------
    >>> from sklearn_wsvad.utils import check_video_classes
    >>> check_video_classes([0, 2, 1], n_classes=3, y=[0, 1, 1])
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 1, 0]], dtype=int8)
    """
    if video_classes is None:
        raise ValueError(
            "This estimator needs video_classes: the anomaly class of every video (0 for "
            "normal), an array of shape (n_videos,) of class indices or (n_videos, "
            "n_classes) of 0/1. The loaders give it as .video_classes; with metadata "
            "routing, pass fit(X, y, video_classes=...)."
        )
    arr = np.asarray(video_classes)
    if arr.dtype.kind not in "iub" and not (
            arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise ValueError(
            f"video_classes must hold integers (class indices or 0/1 indicators); got "
            f"dtype {arr.dtype}."
        )
    if arr.ndim == 1:
        width = int(arr.max()) + 1 if arr.size else 1
        width = n_classes if n_classes is not None else width
        if arr.size and (arr.min() < 0 or arr.max() >= width):
            raise ValueError(
                f"video_classes holds class indices {int(arr.min())}..{int(arr.max())} but "
                f"there are {width} classes (0 = normal); indices must lie in [0, {width})."
            )
        out = np.zeros((arr.size, width), dtype=np.int8)
        out[np.arange(arr.size), arr.astype(np.int64)] = 1
    elif arr.ndim == 2:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError("An indicator matrix of video_classes must hold only 0 and 1.")
        if n_classes is not None and arr.shape[1] != n_classes:
            raise ValueError(
                f"video_classes has {arr.shape[1]} columns but there are {n_classes} "
                "classes (normal included): one column per class."
            )
        out = arr.astype(np.int8)
    else:
        raise ValueError(
            f"video_classes must have shape (n_videos,) or (n_videos, n_classes); got "
            f"{arr.shape}."
        )
    if n_videos is not None and out.shape[0] != n_videos:
        raise ValueError(
            f"Got {n_videos} videos but video_classes for {out.shape[0]}; give one entry "
            "per video, in the same order."
        )
    empty = np.flatnonzero(out.sum(axis=1) == 0)
    if empty.size:
        raise ValueError(f"Video {int(empty[0])} has no class in video_classes.")
    mixed = np.flatnonzero((out[:, 0] == 1) & (out[:, 1:].sum(axis=1) > 0))
    if mixed.size:
        raise ValueError(
            f"Video {int(mixed[0])} is both normal (class 0) and abnormal in video_classes."
        )
    if y is not None:
        y = check_video_labels(y, n_videos=out.shape[0])
        wrong = np.flatnonzero(out[:, 0] != (y == 0))
        if wrong.size:
            i = int(wrong[0])
            raise ValueError(
                f"Video {i} is labelled {'normal' if y[i] == 0 else 'abnormal'} in y but "
                f"{'normal' if out[i, 0] else 'abnormal'} in video_classes (class 0 is "
                "normal): the two must agree."
            )
    return out


def check_frame_labels(frame_labels, n_clips, *, frames_per_clip=16):
    """Validate per-video frame ground truth against the videos' clip counts.

    A video's labels are aligned with its clips when their length is within one
    clip of ``n_clips * frames_per_clip`` (extractors drop or pad the last
    partial clip); anything further off means the labels belong to another
    video or another frame rate.

    Parameters
    ----------
    frame_labels : sequence of array-like of shape (n_frames_i,)
        One 0/1 array per video.
    n_clips : sequence of int
        The number of clips (or scores) of each video.
    frames_per_clip : int, default=16

    Returns
    -------
    frame_labels : list of ndarray of int8

    Examples
    --------
    >>> from sklearn_wsvad.utils import check_frame_labels
    >>> [a.tolist() for a in check_frame_labels([[0, 0, 1, 1]], [2], frames_per_clip=2)]
    [[0, 0, 1, 1]]
    """
    if not isinstance(frames_per_clip, numbers.Integral) or frames_per_clip < 1:
        raise ValueError(f"frames_per_clip must be a positive integer, got {frames_per_clip!r}.")
    if isinstance(frame_labels, np.ndarray) and frame_labels.dtype != object:
        if frame_labels.ndim != 2:
            raise ValueError(
                "frame_labels must be a sequence with one 1-D 0/1 array per video, got "
                f"an array of shape {frame_labels.shape}."
            )
    labels = _as_video_sequence(frame_labels)
    n_clips = list(n_clips)
    if len(labels) != len(n_clips):
        raise ValueError(
            f"Got frame labels for {len(labels)} videos but {len(n_clips)} videos; "
            "frame_labels needs one array per video, in the same order."
        )
    out = []
    for i, (lab, n) in enumerate(zip(labels, n_clips)):
        arr = np.asarray(lab)
        if arr.ndim != 1:
            raise ValueError(
                f"Frame labels of video {i} have shape {arr.shape}; expected a 1-D 0/1 "
                "array with one entry per frame."
            )
        if arr.dtype.kind not in "fiub" or not np.isin(arr, (0, 1)).all():
            found = np.unique(arr)[:10].tolist() if arr.dtype.kind in "fiub" else arr.dtype
            raise ValueError(
                f"Frame labels of video {i} must be 0/1, found {found}."
            )
        covered = n * frames_per_clip
        if arr.shape[0] <= covered - frames_per_clip or arr.shape[0] >= covered + frames_per_clip:
            raise ValueError(
                f"Frame labels of video {i} have {arr.shape[0]} frames but its {n} clips "
                f"cover {covered} frames (frames_per_clip={frames_per_clip}); they must "
                "agree within one clip. Pass per-frame labels of the same video, "
                f"truncated or padded to n_clips * {frames_per_clip} as the benchmark "
                "protocols do, or set frames_per_clip."
            )
        out.append(arr.astype(np.int8, copy=False))
    return out
