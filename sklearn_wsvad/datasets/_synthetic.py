"""Synthetic clip features with the structure the core paper relies on."""

import numbers

import numpy as np
from scipy.signal import lfilter
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_wsvad_videos"]

_DESCR = """Synthetic weakly supervised video anomaly detection data
--------------------------------------------------------

Each video belongs to a scene. A scene has a few *normal-majority* patterns
(repetitive, tight feature norms) that fill most of its videos, and rarer
*normal-minority* patterns (varied norms and directions; some lie between a
normal pattern and an anomaly type, the "hard normals"). Abnormal videos carry
one contiguous run of an anomaly type (larger, varied norms) covering a few
percent to most of the video. Features are positive, share a large common
component (like post-ReLU I3D/C3D features), and are temporally smooth
(AR(1) noise within segments, a short moving average across them).

target: video label (0 normal, 1 abnormal). frame_labels: per-frame 0/1
ground truth, n_frames = 16 * n_clips plus a partial last clip. clip_labels:
per-clip 0/1. clip_pattern: per clip, 0 majority, 1 minority, 2 hard
minority, 3 anomaly.
"""


def _unit_rows(rng, n, d):
    v = rng.normal(size=(n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _pattern_means(common, directions, norms, strength):
    """Positive pattern means of prescribed norm around the common component."""
    raw = np.maximum(common + strength * directions, 0.0)
    return raw / np.linalg.norm(raw, axis=1, keepdims=True) * norms[:, None]


def _segments(rng, n_clips, mean_length):
    """Random segment boundaries covering [0, n_clips)."""
    lengths = rng.geometric(1.0 / mean_length, size=n_clips)
    ends = np.cumsum(lengths)
    ends = ends[: np.searchsorted(ends, n_clips) + 1]
    ends[-1] = n_clips
    return np.concatenate(([0], ends))


def _frame_labels(rng, labels, frames_per_clip):
    """Frame ground truth of a video with one anomalous run of clips ``labels``.

    The video has a partial last clip of random length; the annotated run
    starts and ends up to half a clip inside its first and last clips (at the
    video's end when the run reaches the last clip).
    """
    n = labels.size
    extra = int(rng.randint(0, frames_per_clip))
    frames = np.zeros(n * frames_per_clip + extra, dtype=np.int8)
    hits = np.flatnonzero(labels)
    if hits.size:
        half = max(frames_per_clip // 2, 1)
        lo = hits[0] * frames_per_clip + int(rng.randint(0, half))
        hi = (hits[-1] + 1) * frames_per_clip - int(rng.randint(0, half))
        if hits[-1] == n - 1:
            hi = frames.size
        frames[lo:max(hi, lo + 1)] = 1
    return frames


@validate_params(
    {
        "n_videos": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 2, None, closed="left")],
        "abnormal_ratio": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_scenes": [Interval(numbers.Integral, 1, None, closed="left")],
        "min_clips": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_clips": [Interval(numbers.Integral, 1, None, closed="left")],
        "frames_per_clip": [Interval(numbers.Integral, 1, None, closed="left")],
        "dtype": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_wsvad_videos(
    n_videos=200,
    *,
    n_features=64,
    abnormal_ratio=0.5,
    n_scenes=4,
    min_clips=64,
    max_clips=512,
    frames_per_clip=16,
    dtype=np.float32,
    random_state=None,
):
    """Generate ragged videos of clip features with video and frame labels.

    The embedded default data set of the library: small, fast, and shaped like
    the benchmarks where it matters to the feature-norm clustering refinement
    (see ``Bunch.DESCR``).

    Parameters
    ----------
    n_videos : int, default=200
        Number of videos; ``round(abnormal_ratio * n_videos)`` are abnormal
        (at least one of each class).
    n_features : int, default=64
        Feature dimension (real extractors: 512 to 4096).
    abnormal_ratio : float, default=0.5
        Share of abnormal videos.
    n_scenes : int, default=4
        Number of scenes, each with its own normal patterns.
    min_clips, max_clips : int, default=64, 512
        Range of video lengths in clips (log-uniform).
    frames_per_clip : int, default=16
    dtype : dtype, default=np.float32
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``videos`` (list of ``(n_clips_i, n_features)`` arrays), ``target``
        (``(n_videos,)`` of {0, 1}), ``frame_labels`` and ``clip_labels``
        (lists of 0/1 arrays), ``clip_pattern`` (list of per-clip pattern
        kinds), ``scene`` (``(n_videos,)``), ``frames_per_clip`` and ``DESCR``.

    Examples
    --------
    >>> from sklearn_wsvad.datasets import make_wsvad_videos
    >>> data = make_wsvad_videos(n_videos=10, n_features=8, random_state=0)
    >>> len(data.videos), data.videos[0].shape[1], data.target.tolist()
    (10, 8, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    >>> all(len(f) // 16 == len(v) for f, v in zip(data.frame_labels, data.videos))
    True
    """
    if min_clips > max_clips:
        raise ValueError(f"min_clips={min_clips} must not exceed max_clips={max_clips}.")
    rng = check_random_state(random_state)
    d = n_features
    n_abnormal = min(max(int(round(abnormal_ratio * n_videos)), 1), n_videos - 1)
    target = np.r_[np.zeros(n_videos - n_abnormal, int), np.ones(n_abnormal, int)]

    common = 1.0 + np.abs(rng.normal(size=d))
    common *= 1.0 / np.linalg.norm(common)
    n_major, n_minor, n_hard, n_anomaly = 3, 4, 2, 6
    anomaly_means = _pattern_means(
        common, _unit_rows(rng, n_anomaly, d), rng.uniform(12.0, 15.0, n_anomaly), 1.0
    )
    scenes = []
    for _ in range(n_scenes):
        major = _pattern_means(
            common, _unit_rows(rng, n_major, d), rng.uniform(7.5, 10.0, n_major), 0.6
        )
        minor = _pattern_means(
            common, _unit_rows(rng, n_minor, d), rng.uniform(9.5, 13.0, n_minor), 1.0
        )
        # hard normals: minority patterns pulled towards an anomaly type
        pull = rng.uniform(0.3, 0.6, size=(n_hard, 1))
        hard = (1 - pull) * _pattern_means(
            common, _unit_rows(rng, n_hard, d), rng.uniform(11.0, 14.0, n_hard), 1.0
        ) + pull * anomaly_means[rng.randint(n_anomaly, size=n_hard)]
        weights = rng.dirichlet(np.full(n_major, 3.0))
        scenes.append((major, minor, hard, weights))

    # kind: 0 majority, 1 minority, 2 hard minority, 3 anomaly
    noise = np.array([0.15, 0.45, 0.45, 0.45]) * np.sqrt(64.0 / d)
    jitter = np.array([0.015, 0.12, 0.08, 0.12])
    lengths = np.exp(rng.uniform(np.log(min_clips), np.log(max_clips + 1), n_videos))
    lengths = np.clip(lengths.astype(int), min_clips, max_clips)
    scene_of = rng.randint(n_scenes, size=n_videos)

    videos, frame_labels, clip_labels, clip_kinds = [], [], [], []
    for i in range(n_videos):
        n = int(lengths[i])
        major, minor, hard, weights = scenes[scene_of[i]]
        bounds = _segments(rng, n, mean_length=10.0)
        n_seg = bounds.size - 1
        kind = np.where(rng.random(n_seg) < 0.7, 0, 1)
        kind[(kind == 1) & (rng.random(n_seg) < 0.3)] = 2
        which = np.where(
            kind == 0,
            rng.choice(n_major, size=n_seg, p=weights),
            rng.randint(max(n_minor, n_hard), size=n_seg),
        )
        seg_means = np.where(
            (kind == 0)[:, None],
            major[which % n_major],
            np.where((kind == 1)[:, None], minor[which % n_minor], hard[which % n_hard]),
        )
        seg_len = np.diff(bounds)
        clip_kind = np.repeat(kind, seg_len)
        seg_means = seg_means * (1 + jitter[kind] * rng.normal(size=n_seg))[:, None]
        means = np.repeat(seg_means, seg_len, axis=0)

        labels = np.zeros(n, dtype=np.int8)
        if target[i] == 1:
            share = np.exp(rng.uniform(np.log(0.03), np.log(0.8)))
            run = max(1, int(round(share * n)))
            start = rng.randint(0, n - run + 1)
            # the event blends into the ongoing scene with a per-video strength
            strength = rng.uniform(0.35, 0.9)
            event = anomaly_means[rng.randint(n_anomaly)] * (1 + jitter[3] * rng.normal())
            means[start : start + run] = (1 - strength) * means[start : start + run] + (
                strength * event
            )
            clip_kind[start : start + run] = 3
            labels[start : start + run] = 1

        # AR(1) noise: smooth within a video, scaled by each clip's pattern kind
        rho = 0.8
        eps = rng.normal(size=(n, d))
        eps[0] /= np.sqrt(1 - rho**2)
        ar = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], eps, axis=0)
        x = means + noise[clip_kind][:, None] * ar
        kernel = np.array([0.25, 0.5, 0.25])
        padded = np.concatenate([x[:1], x, x[-1:]])
        x = kernel[0] * padded[:-2] + kernel[1] * padded[1:-1] + kernel[2] * padded[2:]
        videos.append(np.maximum(x, 0.0).astype(dtype))

        frame_labels.append(_frame_labels(rng, labels, frames_per_clip))
        clip_labels.append(labels)
        clip_kinds.append(clip_kind.astype(np.int8))

    return Bunch(
        videos=videos,
        target=target,
        frame_labels=frame_labels,
        clip_labels=clip_labels,
        clip_pattern=clip_kinds,
        scene=scene_of,
        frames_per_clip=frames_per_clip,
        DESCR=_DESCR,
    )
