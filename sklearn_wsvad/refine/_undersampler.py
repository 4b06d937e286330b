"""Feature-norm clustering under-sampling (the core paper, section 3.3)."""

import numbers

import ckmeans
import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
)

from ..utils._lazy import map_videos
from ..utils.validation import _raise_nonfinite, check_video_labels
from ._base import BaseVideoTransformer

__all__ = ["FeatureNormClusterUndersampler", "clip_norms", "majority_minority_counts"]

_KEEP = {"top", "bottom", "all"}


def clip_norms(video, crop_norm="mean_feature"):
    """L2 norm of every clip of one video, as float64.

    No input validation. Uses ``einsum`` to avoid the ``(n_clips, n_features)``
    temporary of ``np.linalg.norm``; a float32 video whose squares overflow is
    redone in float64. Non-finite features give non-finite norms.

    A multi-crop video ``(n_clips, n_crops, n_features)`` gives one norm per
    clip: the norm of the clip's crop-mean feature
    (``crop_norm="mean_feature"``) or the mean over crops of each crop's norm
    (``"mean_norm"``, how RTFM averages its feature magnitudes over crops).
    """
    if video.ndim == 3:
        if crop_norm == "mean_norm":
            return clip_norms(video.reshape(-1, video.shape[-1])).reshape(
                video.shape[:2]).mean(axis=1)
        video = video.mean(axis=1, dtype=np.float64)
    sq = np.einsum("ij,ij->i", video, video)
    if video.dtype != np.float64 and not np.isfinite(sq).all():
        as64 = np.asarray(video, dtype=np.float64)
        sq = np.einsum("ij,ij->i", as64, as64)
    return np.sqrt(sq, dtype=np.float64)


def _cluster_norms(norms, n_clusters, *, algorithm, n_init=10, random_state=None):
    """1-D K-means of one video's clip norms, clusters ranked by size.

    No input validation. The number of clusters is ``min(n_clusters, number of
    distinct norms)``.

    Returns
    -------
    rank_labels : ndarray of int of shape (n_clips,)
        Rank of each clip's cluster: 0 is the largest cluster; ties in size go
        to the cluster of smaller mean norm.
    sizes : ndarray of int, clusters in rank order.
    centers : ndarray of float, mean norm of each cluster in rank order.
    """
    order = np.argsort(norms, kind="stable")
    sorted_norms = norms[order]
    n_distinct = 1 + int(np.count_nonzero(np.diff(sorted_norms)))
    k = min(n_clusters, n_distinct)
    if algorithm == "exact":
        if k == 1:
            sizes = np.array([norms.size])
        else:
            sizes = np.fromiter(
                (len(c) for c in ckmeans.ckmeans(sorted_norms, k)), dtype=np.intp
            )
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        centers = np.add.reduceat(sorted_norms, starts) / sizes
        labels = np.empty(norms.size, dtype=np.intp)
        labels[order] = np.repeat(np.arange(sizes.size), sizes)
    else:
        km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state)
        labels = km.fit_predict(norms[:, None])
        sizes = np.bincount(labels, minlength=k)
        centers = km.cluster_centers_[:, 0]
    by_rank = np.lexsort((centers, -sizes))
    rank_of = np.empty_like(by_rank)
    rank_of[by_rank] = np.arange(by_rank.size)
    return rank_of[labels], sizes[by_rank], centers[by_rank]


def _kept_indices(rank_labels, n_clusters_found, n_top, keep):
    """Clip indices kept for one video, in temporal order. No validation.

    A video with at most ``n_top`` clusters has no minority: it is kept whole.
    """
    if keep == "all" or n_clusters_found <= n_top:
        return np.arange(rank_labels.size)
    if keep == "top":
        return np.flatnonzero(rank_labels < n_top)
    return np.flatnonzero(rank_labels >= n_top)


def _fit_chunk(videos, start, n_clusters, algorithm, n_init, seeds, crop_norm):
    out = []
    for j, video in enumerate(videos):
        norms = clip_norms(video, crop_norm)
        if not np.isfinite(norms).all():
            if not np.isfinite(video).all():
                _raise_nonfinite(video, start + j)
            raise ValueError(
                f"Video {start + j} has clip norms too large for float64; rescale the "
                "features before fitting."
            )
        seed = None if seeds is None else seeds[start + j]
        out.append(
            _cluster_norms(
                norms, n_clusters, algorithm=algorithm, n_init=n_init, random_state=seed
            )
        )
    return out


class FeatureNormClusterUndersampler(BaseVideoTransformer):
    """Under-sample each training video by K-means on its clip feature norms.

    For every video the L2 norms of its clips are clustered into
    ``n_clusters`` groups; the ``n_top`` largest clusters are its *majority*
    ("Top", repetitive patterns) and the rest its *minority* ("Bot", rare and
    varied patterns). ``fit_transform`` keeps, in temporal order, the majority,
    the minority or all clips, chosen separately for normal and abnormal
    videos. This is the data refinement of Lee & Seo (2026); combined with
    :class:`SnippetReformer` it gives the paper's Top3/Bot7 configurations.

    Read more in the :ref:`User Guide <refinement>`.

    Parameters
    ----------
    n_clusters : int, default=10
        K of the per-video K-means. A video with fewer clips, or fewer
        distinct norms, than ``n_clusters`` gets one cluster per distinct norm.
        Clusters are ranked by size, ties going to the smaller mean norm, so
        in such a video (typically every cluster a single clip) "top" is the
        ``n_top`` *lowest-norm* clips and "bottom" the rest, the highest-norm
        ones: the majority / minority reading no longer holds there. A video
        with at most ``n_top`` clusters is kept whole (``fallback_``).
    n_top : int, default=3
        Number of largest clusters that form the majority; must be smaller than
        ``n_clusters``.
    normal_keep : {"bottom", "top", "all"}, default="bottom"
        Clips kept from normal videos (``y == 0``): the minority clusters, the
        majority clusters or everything.
    abnormal_keep : {"bottom", "top", "all"}, default="bottom"
        Clips kept from abnormal videos (``y == 1``).
    algorithm : {"exact", "lloyd"}, default="exact"
        ``"exact"``: optimal 1-D K-means by dynamic programming on the sorted
        norms (Ckmeans.1d.dp), deterministic and never worse than Lloyd in
        within-cluster sum of squares. ``"lloyd"``: scikit-learn's
        :class:`~sklearn.cluster.KMeans` per video, for parity with the paper.
    n_init : int, default=10
        Restarts of ``KMeans`` (``algorithm="lloyd"`` only).
    random_state : int, RandomState instance or None, default=None
        Seeds ``KMeans`` (``algorithm="lloyd"`` only).
    n_jobs : int, default=None
        Videos are processed in ``n_jobs`` chunks in parallel threads.
        ``None`` means 1; ``-1`` all processors.
    scaler : per-clip video transformer or None, default=None
        Feature scaling done by this step, e.g.
        :class:`ClipStandardScaler`: fitted (a clone) on every clip of the
        training videos *before* refinement, and applied to the clips that
        leave this step (the kept clips in ``fit_transform``, every clip in
        ``transform``). The norms are always clustered on the input
        features. This keeps the scaling statistics identical whatever is
        kept, as the core experiment requires (a scaler placed after this
        step would be fitted on the kept clips only).

    Attributes
    ----------
    labels_ : list of ndarray of int
        Per training video, the size rank of each clip's cluster (0 = largest);
        ``labels_[i] < n_top`` marks the majority clips.
    cluster_sizes_ : list of ndarray of int
        Per training video, the clip count of each cluster, largest first.
    cluster_centers_ : list of ndarray of float
        Per training video, the mean clip norm of each cluster, in rank order.
    kept_indices_ : list of ndarray of int
        Per training video, the clips ``fit_transform`` keeps, in order.
    fallback_ : ndarray of bool of shape (n_videos,)
        Videos kept whole because their norms formed at most ``n_top``
        clusters (no minority exists).
    scaler_ : transformer or None
        The fitted clone of ``scaler``.
    n_features_in_ : int

    See Also
    --------
    SnippetReformer : Mean-pools the kept clips into fixed snippets.
    majority_minority_counts : The paper's Table 1 from a fitted sampler.

    Notes
    -----
    Rules for short videos: the number of clusters of a video is
    ``min(n_clusters, n_distinct_norms)``; clusters of equal size are ranked by
    increasing mean norm; a video with at most ``n_top`` clusters has no
    majority/minority split and is kept whole (recorded in ``fallback_``), so
    no video is ever emptied.

    .. note::
        ``fit(X, y).transform(X)`` does **not** equal ``fit_transform(X, y)``.
        Under-sampling is a training-time refinement: ``fit_transform`` (what a
        :class:`~sklearn.pipeline.Pipeline` calls while fitting) returns the
        kept clips, while ``transform`` (what it calls to predict or score)
        returns every clip (scaled by ``scaler_`` if one is set), so that every
        clip of a test video is scored.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_wsvad.refine import FeatureNormClusterUndersampler
    >>> rng = np.random.default_rng(0)
    >>> video = rng.normal(size=(12, 4)) * np.repeat([1, 1, 5], 4)[:, None]
    >>> sampler = FeatureNormClusterUndersampler(n_clusters=3, n_top=1)
    >>> kept = sampler.fit_transform([video], [0])
    >>> kept[0].shape[0] < video.shape[0]
    True
    >>> sampler.transform([video])[0].shape
    (12, 4)
    """

    _parameter_constraints = {
        "n_clusters": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_top": [Interval(numbers.Integral, 1, None, closed="left")],
        "normal_keep": [StrOptions(_KEEP)],
        "abnormal_keep": [StrOptions(_KEEP)],
        "algorithm": [StrOptions({"exact", "lloyd"})],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
        "scaler": [HasMethods(["fit", "transform"]), None],
        "crop_norm": [StrOptions({"mean_feature", "mean_norm"})],
    }

    def __init__(
        self,
        *,
        n_clusters=10,
        n_top=3,
        normal_keep="bottom",
        abnormal_keep="bottom",
        algorithm="exact",
        n_init=10,
        random_state=None,
        n_jobs=None,
        scaler=None,
        crop_norm="mean_feature",
    ):
        self.n_clusters = n_clusters
        self.n_top = n_top
        self.normal_keep = normal_keep
        self.abnormal_keep = abnormal_keep
        self.algorithm = algorithm
        self.n_init = n_init
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.scaler = scaler
        self.crop_norm = crop_norm

    def _validate_all_params(self):
        self._validate_params()
        if self.n_top >= self.n_clusters:
            raise InvalidParameterError(
                f"n_top must be smaller than n_clusters, got n_top={self.n_top} and "
                f"n_clusters={self.n_clusters}; the majority is the n_top largest of "
                "n_clusters clusters."
            )

    def fit(self, X, y=None):
        """Cluster the clip norms of every video and record what to keep.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
            Training videos.
        y : array-like of shape (n_videos,), default=None
            Video labels (0 normal, 1 abnormal). Required unless
            ``normal_keep == abnormal_keep``.

        Returns
        -------
        self : object
        """
        self._validate_all_params()
        videos = self._check_videos(X, reset=True, ensure_all_finite=False)
        if y is None and self.normal_keep != self.abnormal_keep:
            raise ValueError(
                f"normal_keep={self.normal_keep!r} differs from abnormal_keep="
                f"{self.abnormal_keep!r}, so fit needs the video labels y."
            )
        labels = None if y is None else check_video_labels(y, n_videos=len(videos))

        seeds = None
        if self.algorithm == "lloyd":
            rng = check_random_state(self.random_state)
            seeds = rng.randint(np.iinfo(np.int32).max, size=len(videos))
        n_chunks = min(effective_n_jobs(self.n_jobs), len(videos))
        bounds = np.linspace(0, len(videos), n_chunks + 1).astype(int)
        chunks = Parallel(n_jobs=n_chunks, prefer="threads")(
            delayed(_fit_chunk)(
                videos[lo:hi], lo, self.n_clusters, self.algorithm, self.n_init, seeds,
                self.crop_norm,
            )
            for lo, hi in zip(bounds[:-1], bounds[1:])
        )
        results = [r for chunk in chunks for r in chunk]
        self.labels_ = [r[0] for r in results]
        self.cluster_sizes_ = [r[1] for r in results]
        self.cluster_centers_ = [r[2] for r in results]
        self.fallback_ = np.array([s.size <= self.n_top for s in self.cluster_sizes_])
        keeps = (
            [self.normal_keep] * len(videos)
            if labels is None
            else np.where(labels == 1, self.abnormal_keep, self.normal_keep)
        )
        self.kept_indices_ = [
            _kept_indices(lab, sizes.size, self.n_top, keep)
            for lab, sizes, keep in zip(self.labels_, self.cluster_sizes_, keeps)
        ]
        self.scaler_ = None if self.scaler is None else clone(self.scaler).fit(videos)
        return self

    def _scale(self, videos):
        return videos if self.scaler_ is None else self.scaler_.transform(videos)

    def fit_transform(self, X, y=None):
        """Fit, then return the kept clips of every video, in temporal order.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
        y : array-like of shape (n_videos,), default=None

        Returns
        -------
        X_kept : list of ndarray of shape (n_kept_i, n_features)
            New arrays; without a ``scaler``, a video kept whole is returned
            as the input array itself. For a lazy input (memory-mapped
            features) a lazy sequence that selects the kept clips of a video
            when it is read.
        """
        self.fit(X, y)
        videos = self._check_videos(X, reset=False, ensure_all_finite=False)
        kept = self.kept_indices_
        return self._scale(
            map_videos(lambda i, v: v if kept[i].size == len(v) else v[kept[i]], videos))

    def transform(self, X):
        """Return every clip, unchanged or scaled by ``scaler_`` (inference).

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        X : list of ndarray
            Without a ``scaler``, the input videos, not copied. Only shapes
            are checked here: the values are read (and checked for NaN) by the
            step that consumes them, so memory-mapped videos are not paged in
            twice.
        """
        return self._scale(self._check_videos(X, reset=False, ensure_all_finite=False))


def majority_minority_counts(sampler, y):
    """Clips in the majority (Top-n) and minority clusters, per video class.

    The core paper's Table 1, from a fitted :class:`FeatureNormClusterUndersampler`.

    Parameters
    ----------
    sampler : FeatureNormClusterUndersampler
        Fitted on the videos whose labels are ``y``.
    y : array-like of shape (n_videos,)

    Returns
    -------
    counts : dict
        ``counts[video_class][group]`` with video_class in {"normal",
        "abnormal"} and group in {"top", "bottom"}.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_wsvad.refine import (
    ...     FeatureNormClusterUndersampler, majority_minority_counts)
    >>> videos = [np.repeat([[1.0], [1.0], [1.0], [2.0], [3.0]], 2, axis=0)]
    >>> sampler = FeatureNormClusterUndersampler(n_clusters=3, n_top=1).fit(videos)
    >>> majority_minority_counts(sampler, [0])
    {'normal': {'top': 6, 'bottom': 4}, 'abnormal': {'top': 0, 'bottom': 0}}
    """
    y = check_video_labels(y, n_videos=len(sampler.labels_))
    counts = {}
    for name, cls in (("normal", 0), ("abnormal", 1)):
        labs = [lab for lab, c in zip(sampler.labels_, y) if c == cls]
        top = sum(int(np.count_nonzero(lab < sampler.n_top)) for lab in labs)
        total = sum(lab.size for lab in labs)
        counts[name] = {"top": top, "bottom": total - top}
    return counts
