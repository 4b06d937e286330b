"""Synthetic CLIP-like videos with fine-grained classes and class text embeddings."""

import numbers

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._regimes import _smooth_noise, _unit

__all__ = ["make_wsvad_clip_videos"]

_NOISE_RANK = 32  # dimension of the smooth background activity


def _text_embeddings(rng, n_classes, d):
    """CLIP-like class text embeddings: a large shared component (pairwise
    cosines about 0.85, as real CLIP text embeddings of class prompts) and
    norms about 10."""
    common = _unit(rng, d)
    rows = 9.0 * common + 4.0 * _unit(rng, n_classes, d)
    return rows * rng.uniform(0.95, 1.05, size=(n_classes, 1))


@validate_params(
    {
        "n_videos": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_classes": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 2, None, closed="left")],
        "regime": [StrOptions({"aligned", "misaligned"})],
        "text_embeddings": ["array-like", None],
        "abnormal_ratio": [Interval(numbers.Real, 0, 1, closed="neither")],
        "multi_label_share": [Interval(numbers.Real, 0, 1, closed="both")],
        "event_strength": [Interval(numbers.Real, 0, None, closed="left")],
        "confuser_share": [Interval(numbers.Real, 0, 1, closed="both")],
        "activity": [Interval(numbers.Real, 0, None, closed="left")],
        "n_scenes": [Interval(numbers.Integral, 1, None, closed="left")],
        "min_clips": [Interval(numbers.Integral, 8, None, closed="left")],
        "max_clips": [Interval(numbers.Integral, 8, None, closed="left")],
        "frames_per_clip": [Interval(numbers.Integral, 1, None, closed="left")],
        "dtype": "no_validation",
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_wsvad_clip_videos(
    n_videos=200,
    *,
    n_classes=6,
    n_features=512,
    regime="aligned",
    text_embeddings=None,
    abnormal_ratio=0.5,
    multi_label_share=0.0,
    event_strength=0.5,
    confuser_share=0.5,
    activity=0.2,
    n_scenes=8,
    min_clips=32,
    max_clips=256,
    frames_per_clip=16,
    dtype=np.float32,
    random_state=None,
):
    """CLIP-like clip features of videos with fine-grained anomaly classes.

    For the vision-language models: per-clip features as a CLIP image encoder
    gives them, the class of every abnormal video, and a text embedding per
    class (row 0: the normal class) in a shared space.

    * Every clip's feature is a shared image component (the modality gap
      between CLIP's image and text embeddings), the scene's component, smooth
      background activity (``activity`` per dimension of a 32-dimensional
      subspace that contains the class directions, so normal clips vary along
      them too), a little clip-level detail, in half of the videos
      (``confuser_share``) a normal activity that partly resembles an anomaly
      class (cosine 0.6 with its direction) and, in the run of an event,
      ``event_strength`` (times 0.5 to 1.5) along the event's class
      direction; then rescaled to a norm of about 10 (within 3%), so that the
      feature norm carries no information about anomalies (unlike
      :func:`make_wsvad_videos`).
    * ``regime="aligned"``: the direction of class ``c`` has cosine 0.7 with
      that of its text embedding away from the mean text embedding, so
      anomalous clips of class ``c`` are closer (in cosine) to text embedding
      ``c`` than to the others, and normal clips lean (a third as strongly)
      towards the normal text embedding. ``"misaligned"``: the class
      directions are random, unrelated to the text embeddings: the text says
      nothing a model could use, the video labels still do.
    * An abnormal video holds one event (a contiguous run of 10% to 50% of
      its clips) of a random anomaly class, or two of different classes with
      probability ``multi_label_share`` (XD-Violence has such videos).

    Parameters
    ----------
    n_videos : int, default=200
    n_classes : int, default=6
        Anomaly classes (the normal class comes on top).
    n_features : int, default=512
        CLIP ViT-B: 512.
    regime : {"aligned", "misaligned"}, default="aligned"
    text_embeddings : array-like of shape (n_classes + 1, n_features), default=None
        Class text embeddings to build on (row 0 normal), e.g. real CLIP
        embeddings of class prompts; by default CLIP-like random ones.
    abnormal_ratio : float, default=0.5
    multi_label_share : float, default=0.0
    event_strength : float, default=0.5
        Length of an event's component (before the rescaling), relative to
        the shared component (1) and the scene's (0.5).
    confuser_share : float, default=0.5
        Share of videos with a normal activity resembling an anomaly class.
    activity : float, default=0.2
        Standard deviation of the background activity per dimension of its
        subspace. The defaults make a hard but learnable task: with the first
        200 of 300 videos for training and the rest for testing (3 seeds),
        the feature norm scores frame AUC 0.50,
        :class:`~sklearn_wsvad.models.MagnitudeMILDetector` (32 snippets,
        its defaults) 0.77 aligned and 0.76 misaligned, and the cosine to
        the class text embeddings, without training, 0.87-0.89 when aligned
        and 0.41-0.51 when misaligned (2 seeds).
    n_scenes : int, default=8
    min_clips, max_clips : int, default=32, 256
        Range of video lengths in clips (log-uniform).
    frames_per_clip : int, default=16
    dtype : dtype, default=np.float32
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : Bunch
        ``videos`` (list of ``(n_clips_i, n_features)``), ``target`` (0/1 per
        video), ``frame_labels`` and ``clip_labels`` (per video),
        ``video_classes`` (``(n_videos, n_classes + 1)`` 0/1, column 0
        normal), ``segments`` (per video, rows ``(class, start_frame,
        end_frame)`` of its events, for
        :func:`~sklearn_wsvad.detection_map`), ``text_embeddings``
        (``(n_classes + 1, n_features)``), ``class_names`` and
        ``frames_per_clip``.

    Examples
    --------
    >>> from sklearn_wsvad.datasets import make_wsvad_clip_videos
    >>> data = make_wsvad_clip_videos(n_videos=10, random_state=0)
    >>> data.text_embeddings.shape, data.video_classes.shape
    ((7, 512), (10, 7))
    """
    if max_clips < min_clips:
        raise ValueError(f"max_clips={max_clips} is smaller than min_clips={min_clips}.")
    rng = check_random_state(random_state)
    d, k = n_features, n_classes + 1
    if text_embeddings is None:
        text = _text_embeddings(rng, k, d)
    else:
        text = np.asarray(text_embeddings, dtype=np.float64)
        if text.shape != (k, d) or not np.isfinite(text).all():
            raise ValueError(
                f"text_embeddings must be a finite array of shape (n_classes + 1, n_features) "
                f"= ({k}, {d}) (row 0: the normal class); got shape {text.shape}."
            )
    directions = _unit(rng, k, d)
    if regime == "aligned":  # cosine 0.7 with the text embedding's own direction
        from_text = text - text.mean(axis=0)
        from_text /= np.maximum(np.linalg.norm(from_text, axis=1, keepdims=True), 1e-12)
        directions = 0.7 * from_text + np.sqrt(1 - 0.7**2) * directions
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    # normal activities that look partly like each anomaly class (cosine 0.6)
    confusers = 0.6 * directions[1:] + 0.8 * _unit(rng, n_classes, d)
    confusers /= np.linalg.norm(confusers, axis=1, keepdims=True)
    gap = _unit(rng, d)
    scenes = 0.5 * _unit(rng, n_scenes, d)
    # background activity (smooth in time) spans the class directions too, so
    # normal clips vary along them: an anomaly is a matter of degree
    basis = np.vstack([directions, rng.normal(size=(max(_NOISE_RANK - k, 0), d))])
    background = np.linalg.qr(basis.T)[0].T  # orthonormal rows
    n_abnormal = int(round(abnormal_ratio * n_videos))
    n_abnormal = min(max(n_abnormal, 1), n_videos - 1)
    target = np.zeros(n_videos, dtype=np.int64)
    target[rng.permutation(n_videos)[:n_abnormal]] = 1
    lengths = np.exp(rng.uniform(np.log(min_clips), np.log(max_clips) + 1e-9, n_videos))
    lengths = np.clip(np.round(lengths), min_clips, max_clips).astype(int)

    videos, frame_labels, clip_labels, segments = [], [], [], []
    video_classes = np.zeros((n_videos, k), dtype=np.int8)
    for i, (n, abnormal) in enumerate(zip(lengths, target)):
        x = (gap + scenes[rng.randint(n_scenes)]
             + activity * _smooth_noise(rng, n, len(background), 0.9) @ background)
        x += (event_strength / 3.0) * directions[0]  # normal activity leans to its text
        x += 0.15 * rng.normal(size=(n, d)) / np.sqrt(d)  # clip-level detail
        if rng.uniform() < confuser_share:  # a normal activity resembling an anomaly
            length = max(1, int(round(rng.uniform(0.1, 0.5) * n)))
            start = rng.randint(0, n - length + 1)
            x[start:start + length] += (event_strength * rng.uniform(0.5, 1.5)
                                        * confusers[rng.randint(n_classes)])
        labels = np.zeros(n, dtype=np.int8)
        # a partial last clip of random length; an event's annotation starts and
        # ends up to half a clip inside its first and last clips
        frames = np.zeros(n * frames_per_clip + rng.randint(0, frames_per_clip), dtype=np.int8)
        half = max(frames_per_clip // 2, 1)
        rows = []
        if abnormal:
            n_events = 2 if (k > 2 and rng.uniform() < multi_label_share) else 1
            classes = 1 + rng.choice(n_classes, size=n_events, replace=False)
            for c in classes:
                length = max(1, int(round(rng.uniform(0.1, 0.5) * n)))
                start = rng.randint(0, n - length + 1)
                stop = start + length
                x[start:stop] += (event_strength * rng.uniform(0.5, 1.5) * directions[c]
                                  - (event_strength / 3.0) * directions[0])
                labels[start:stop] = 1
                lo = start * frames_per_clip + rng.randint(0, half)
                hi = (frames.size if stop == n
                      else stop * frames_per_clip - rng.randint(0, half))
                hi = max(hi, lo + 1)
                frames[lo:hi] = 1
                rows.append((int(c), lo, hi))
            video_classes[i, classes] = 1
        else:
            video_classes[i, 0] = 1
        # CLIP-like norms: about 10, the same for normal and anomalous clips
        x *= (10.0 * np.exp(rng.normal(0.0, 0.03, size=(n, 1)))
              / np.linalg.norm(x, axis=1, keepdims=True))
        videos.append(x.astype(dtype))
        clip_labels.append(labels)
        frame_labels.append(frames)
        segments.append(np.array(rows, dtype=np.int64).reshape(-1, 3))
    names = ["normal"] + [f"class_{c}" for c in range(1, k)]
    return Bunch(videos=videos, target=target, frame_labels=frame_labels,
                 clip_labels=clip_labels, video_classes=video_classes, segments=segments,
                 text_embeddings=text.astype(dtype), class_names=names,
                 frames_per_clip=frames_per_clip)
