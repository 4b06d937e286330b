"""Evaluation regimes: extractor-like synthetic features that need not follow
the core paper's assumption, split into train and test like the benchmarks."""

import numbers

import numpy as np
from scipy.signal import lfilter
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._synthetic import _frame_labels, make_wsvad_videos

__all__ = ["make_wsvad_regime", "REGIMES"]

#: The named regimes and what sets them apart. ``anomaly_norm``: the ratio of
#: an anomalous clip's feature norm to the norm the clip would have had
#: (1: the norm carries no information); ``scene_bias``: how unevenly
#: abnormal videos are spread over the scenes (0: evenly).
REGIMES = {
    "paper": dict(
        description="make_wsvad_videos: the core paper's hypothesis built in (tight-norm "
                    "majority patterns, anomalies with larger and varied norms), stratified "
                    "split, no unseen scenes"),
    "higher_norm": dict(
        anomaly_norm=1.12, scene_bias=0.3,
        description="anomalous clips have about 12% larger norms than the clips around them"),
    "similar_norm": dict(
        anomaly_norm=1.0, scene_bias=0.3,
        description="anomalous clips have the norms of the clips around them: the norm "
                    "carries no information"),
    "lower_norm": dict(
        anomaly_norm=0.9, scene_bias=0.3,
        description="anomalous clips have about 10% smaller norms: the raw feature norm "
                    "ranks them lowest"),
    "scene_bias": dict(
        anomaly_norm=1.1, scene_bias=0.9,
        description="abnormal training videos come mostly from a few scenes, so the scene "
                    "separates the training videos better than the anomalies do"),
}

_LATENT = 32  # dimension of the latent state behind the features


def _unit(rng, *shape):
    v = rng.normal(size=shape)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _smooth_noise(rng, n, q, rho):
    """AR(1) noise of unit marginal variance along time, n x q."""
    eps = rng.normal(size=(n, q))
    eps[0] /= np.sqrt(1 - rho**2)
    return lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], eps, axis=0)


class _World:
    """The fixed parts of a regime: the extractor, the anomaly types, the scenes."""

    def __init__(self, rng, n_features, n_scenes, anomaly_norm):
        q, d = _LATENT, n_features
        # a random ReLU layer with a large positive bias: non-negative features
        # sharing a large common component, as post-ReLU I3D / C3D features
        self.weights = rng.normal(size=(q, d)) / np.sqrt(q)
        self.bias = 1.0 + 0.5 * np.abs(rng.normal(size=d))
        self.anomaly_types = 3.0 * _unit(rng, 6, q)
        self.rare_normals = 2.2 * _unit(rng, 6, q)
        self.anomaly_norm = anomaly_norm
        self.scenes = [self.new_scene(rng) for _ in range(n_scenes)]

    def new_scene(self, rng):
        return Bunch(
            offset=1.6 * _unit(rng, _LATENT) * rng.uniform(0.7, 1.3),
            activities=1.2 * _unit(rng, 4, _LATENT),
            weights=rng.dirichlet(np.full(4, 2.0)),
            norm_level=np.exp(rng.normal(0.0, 0.1)),
        )

    def video(self, rng, scene, abnormal, n, frames_per_clip):
        """One video of ``n`` clips from ``scene``: features and clip labels."""
        # normal activity: segments of a scene's activities, a few rare events
        lengths = rng.geometric(1 / 12.0, size=n)
        seg = np.repeat(np.arange(n), lengths)[:n]
        n_seg = seg[-1] + 1
        activity = scene.activities[rng.choice(4, size=n_seg, p=scene.weights)]
        rare = rng.random(n_seg) < 0.08
        activity[rare] = self.rare_normals[rng.randint(6, size=rare.sum())]
        h = scene.offset + activity[seg] + 0.35 * _smooth_noise(rng, n, _LATENT, 0.85)
        log_norm = np.log(scene.norm_level) + 0.08 * _smooth_noise(rng, n, 1, 0.9)[:, 0]

        labels = np.zeros(n, dtype=np.int8)
        if abnormal:
            share = np.exp(rng.uniform(np.log(0.05), np.log(0.6)))
            run = max(2, int(round(share * n)))
            start = rng.randint(0, n - run + 1)
            event = self.anomaly_types[rng.randint(len(self.anomaly_types))]
            h[start:start + run] += rng.uniform(0.6, 1.0) * event
            log_norm[start:start + run] += np.log(self.anomaly_norm) + rng.normal(0, 0.03)
            labels[start:start + run] = 1

        u = np.maximum(h @ self.weights + self.bias, 0.0)  # n x d
        # a clip whose every unit is off (possible for tiny n_features) stays at 0
        u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), np.finfo(float).tiny)
        x = u * (20.0 * np.exp(log_norm))[:, None]
        return x, labels, _frame_labels(rng, labels, frames_per_clip)


def _draw_videos(rng, world, scenes, n_videos, n_abnormal, scene_bias, min_clips,
                 max_clips, frames_per_clip, dtype):
    target = np.r_[np.zeros(n_videos - n_abnormal, int), np.ones(n_abnormal, int)]
    # each scene's share of the abnormal (and, inversely, the normal) videos
    tilt = scene_bias * rng.uniform(-1, 1, size=len(scenes))
    p_abnormal = (1 + tilt) / (1 + tilt).sum()
    p_normal = (1 - tilt) / (1 - tilt).sum()
    scene_of = np.where(target == 1, rng.choice(len(scenes), n_videos, p=p_abnormal),
                        rng.choice(len(scenes), n_videos, p=p_normal))
    lengths = np.exp(rng.uniform(np.log(min_clips), np.log(max_clips + 1), n_videos))
    lengths = np.clip(lengths.astype(int), min_clips, max_clips)
    videos, clip_labels, frame_labels = [], [], []
    for i in range(n_videos):
        x, labels, frames = world.video(rng, scenes[scene_of[i]], target[i], int(lengths[i]),
                                        frames_per_clip)
        videos.append(x.astype(dtype))
        clip_labels.append(labels)
        frame_labels.append(frames)
    return Bunch(videos=videos, target=target, frame_labels=frame_labels,
                 clip_labels=clip_labels, scene=scene_of, frames_per_clip=frames_per_clip)


@validate_params(
    {
        "regime": [StrOptions(set(REGIMES))],
        "n_train": [Interval(numbers.Integral, 4, None, closed="left")],
        "n_test": [Interval(numbers.Integral, 4, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_scenes": [Interval(numbers.Integral, 1, None, closed="left")],
        "unseen_share": [Interval(numbers.Real, 0, 1, closed="both")],
        "min_clips": [Interval(numbers.Integral, 2, None, closed="left")],
        "max_clips": [Interval(numbers.Integral, 2, None, closed="left")],
        "frames_per_clip": [Interval(numbers.Integral, 1, None, closed="left")],
        "dtype": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_wsvad_regime(
    regime="similar_norm",
    *,
    n_train=100,
    n_test=100,
    n_features=256,
    n_scenes=6,
    unseen_share=0.5,
    min_clips=48,
    max_clips=384,
    frames_per_clip=16,
    dtype=np.float32,
    random_state=None,
):
    """Train and test videos from an evaluation regime, like a benchmark's splits.

    :func:`make_wsvad_videos` builds the core paper's hypothesis in. The other
    regimes come from an independent construction that looks like real
    extractor features and lets the norm of anomalous clips be larger,
    similar or smaller than that of normal clips, so that a model or a
    refinement can be checked where the hypothesis fails. In every regime
    but ``"paper"``:

    * a clip's feature is a random ReLU layer (large positive bias) applied
      to a latent state, rescaled to a norm around 20: non-negative, with a
      large component shared by all clips, as post-ReLU I3D / C3D features;
    * the latent state is the scene's offset, the scene's current activity
      (segments of a few activities per scene, and rare normal events shared
      by all scenes), smooth AR(1) noise and, in abnormal videos, one
      contiguous run (5% to 60% of the video) of one of 6 anomaly types;
    * the clip norm follows a smooth per-video trend, times the scene's level,
      times ``REGIMES[regime]["anomaly_norm"]`` on anomalous clips;
    * scenes carry unequal shares of abnormal videos (``scene_bias``);
    * ``unseen_share`` of the test videos come from scenes (with their own
      activities) that no training video shows.

    Parameters
    ----------
    regime : str, default="similar_norm"
        A key of :data:`REGIMES`: ``"paper"``, ``"higher_norm"``,
        ``"similar_norm"``, ``"lower_norm"`` or ``"scene_bias"``.
    n_train, n_test : int, default=100
        Videos in each split, half of them abnormal (rounded down).
    n_features : int, default=256
        Feature dimension (real extractors: 512 to 4096).
    n_scenes : int, default=6
        Scenes of the training videos (and of the seen part of the test set);
        as many again are drawn for the unseen part.
    unseen_share : float, default=0.5
        Share of test videos from unseen scenes (``"paper"``: ignored, its
        test videos are a stratified split of one set).
    min_clips, max_clips : int, default=48, 384
        Range of video lengths in clips (log-uniform).
    frames_per_clip : int, default=16
    dtype : dtype, default=np.float32
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    train, test : :class:`~sklearn.utils.Bunch`
        As the benchmark loaders return: ``videos``, ``target``,
        ``frame_labels``, and ``clip_labels``, ``scene``, ``frames_per_clip``
        and ``regime``; ``test.unseen`` marks the videos from unseen scenes.

    See Also
    --------
    make_wsvad_videos : The ``"paper"`` regime.

    Examples
    --------
    >>> from sklearn_wsvad.datasets import make_wsvad_regime
    >>> train, test = make_wsvad_regime("lower_norm", n_train=8, n_test=6,
    ...                                 n_features=16, random_state=0)
    >>> len(train.videos), train.target.tolist(), test.unseen.tolist()
    (8, [0, 0, 0, 0, 1, 1, 1, 1], [False, False, False, True, True, True])
    >>> bool(min(v.min() for v in train.videos) >= 0)
    True
    """
    if min_clips > max_clips:
        raise ValueError(f"min_clips={min_clips} must not exceed max_clips={max_clips}.")
    rng = check_random_state(random_state)
    if regime == "paper":
        data = make_wsvad_videos(
            n_train + n_test, n_features=n_features, n_scenes=n_scenes, min_clips=min_clips,
            max_clips=max_clips, frames_per_clip=frames_per_clip, dtype=dtype,
            random_state=rng)
        fields = ("videos", "target", "frame_labels", "clip_labels", "scene")
        parts = train_test_split(*(data[f] for f in fields), test_size=n_test,
                                 stratify=data.target, random_state=rng)
        train, test = (Bunch(**{f: parts[2 * j + s] for j, f in enumerate(fields)})
                       for s in (0, 1))
        test.unseen = np.zeros(n_test, dtype=bool)
    else:
        spec = REGIMES[regime]
        world = _World(rng, n_features, n_scenes, spec["anomaly_norm"])
        draw = dict(rng=rng, world=world, scene_bias=spec["scene_bias"],
                    min_clips=min_clips, max_clips=max_clips,
                    frames_per_clip=frames_per_clip, dtype=dtype)
        train = _draw_videos(scenes=world.scenes, n_videos=n_train,
                             n_abnormal=n_train // 2, **draw)
        n_unseen = int(round(unseen_share * n_test))
        n_seen = n_test - n_unseen
        parts = []
        if n_seen:
            parts.append(_draw_videos(scenes=world.scenes, n_videos=n_seen,
                                      n_abnormal=n_seen // 2, **draw))
        if n_unseen:
            unseen_scenes = [world.new_scene(rng) for _ in range(n_scenes)]
            part = _draw_videos(scenes=unseen_scenes, n_videos=n_unseen,
                                n_abnormal=n_test // 2 - n_seen // 2, **draw)
            part.scene = part.scene + n_scenes
            parts.append(part)
        test = Bunch(
            **{f: [x for p in parts for x in p[f]]
               for f in ("videos", "frame_labels", "clip_labels")},
            target=np.concatenate([p.target for p in parts]),
            scene=np.concatenate([p.scene for p in parts]),
            unseen=np.r_[np.zeros(n_seen, bool), np.ones(n_unseen, bool)],
        )
    for split in (train, test):
        split.frames_per_clip = frames_per_clip
        split.regime = regime
    return train, test
