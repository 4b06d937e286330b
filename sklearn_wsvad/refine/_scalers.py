"""Per-clip scaling of ragged videos.

scikit-learn's StandardScaler and Normalizer take one 2-D array; these take a
list of videos and treat every clip of every video as a sample.
"""

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._lazy import map_videos
from ._base import BaseVideoTransformer

__all__ = ["ClipStandardScaler", "ClipNormalizer"]


#: rows converted to float64 at a time by :func:`_pooled_mean_var` (a block of
#: 2048-D rows is 64 MiB), so its memory does not grow with video length
_BLOCK_ROWS = 4096


def _pooled_mean_var(videos):
    """Mean and variance over all clips, merging per-block moments (Chan et al.).

    Float64 moments of blocks of at most ``_BLOCK_ROWS`` rows avoid the
    cancellation of a running sum of squares on features that share a large
    positive offset, and keep the extra memory bounded on long (e.g.
    memory-mapped) videos.
    """
    n_total, mean, m2 = 0, 0.0, 0.0
    for video in videos:
        rows = np.asarray(video)
        rows = rows.reshape(-1, rows.shape[-1])  # a multi-crop video: every (clip, crop) row
        for start in range(0, rows.shape[0], _BLOCK_ROWS):
            v = np.array(rows[start: start + _BLOCK_ROWS], dtype=np.float64)  # a copy
            n = v.shape[0]
            v_mean = v.mean(axis=0)
            v -= v_mean
            v_m2 = np.einsum("ij,ij->j", v, v)
            delta = v_mean - mean
            total = n_total + n
            mean = mean + delta * (n / total)
            m2 = m2 + v_m2 + delta**2 * (n_total * n / total)
            n_total = total
    return mean, m2 / n_total, n_total


class ClipStandardScaler(BaseVideoTransformer):
    """Standardise features with statistics over all clips of all videos.

    Multi-crop videos ``(n_clips, n_crops, n_features)``: the statistics are
    taken over every (clip, crop) row, and every crop is scaled alike.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean clip.
    with_std : bool, default=True
        Divide by the standard deviation (1 where it is 0).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    var_ : ndarray of shape (n_features,)
    scale_ : ndarray of shape (n_features,)
    n_samples_seen_ : int
        Clips seen in ``fit``.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_wsvad.refine import ClipStandardScaler
    >>> videos = [np.array([[0.0], [2.0]]), np.array([[4.0]])]
    >>> scaler = ClipStandardScaler().fit(videos)
    >>> scaler.mean_, [v.ravel().round(3).tolist() for v in scaler.transform(videos)]
    (array([2.]), [[-1.225, 0.0], [1.225]])
    """

    _parameter_constraints = {"with_mean": ["boolean"], "with_std": ["boolean"]}

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        """Compute the mean and scale over every clip.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
        y : ignored

        Returns
        -------
        self : object
        """
        self._validate_params()
        videos = self._check_videos(X, reset=True)
        mean, var, n = _pooled_mean_var(videos)
        self.mean_ = mean if self.with_mean else None
        self.var_ = var if self.with_std else None
        if self.with_std:
            scale = np.sqrt(var)
            scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
            self.scale_ = scale
        else:
            self.scale_ = None
        self.n_samples_seen_ = n
        return self

    def transform(self, X):
        """Scale every clip; the dtype of each video is kept.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        X_scaled : list of ndarray (lazy for a lazy input)
        """
        check_is_fitted(self, "n_samples_seen_")
        return map_videos(self._scale, self._check_videos(X, reset=False))

    def _scale(self, i, v):
        # one new array per video, scaled in place (no second temporary)
        if self.mean_ is not None:
            w = v - self.mean_.astype(v.dtype)
        else:
            w = np.array(v)
        if self.scale_ is not None:
            w /= self.scale_.astype(v.dtype)
        return w


class ClipNormalizer(BaseVideoTransformer):
    """Scale every clip to unit norm (Sultani et al.'s input normalisation).

    Each crop of a multi-crop clip is scaled to unit norm separately.
    Stateless; ``fit`` only records the feature dimension. Clips of norm 0 are
    left as they are.

    Parameters
    ----------
    norm : {"l2", "l1", "max"}, default="l2"

    Attributes
    ----------
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_wsvad.refine import ClipNormalizer
    >>> ClipNormalizer().fit_transform([np.array([[3.0, 4.0], [0.0, 0.0]])])[0]
    array([[0.6, 0.8],
           [0. , 0. ]])
    """

    _parameter_constraints = {"norm": [StrOptions({"l1", "l2", "max"})]}

    def __init__(self, *, norm="l2"):
        self.norm = norm

    def fit(self, X, y=None):
        """Record the feature dimension.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
        y : ignored

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._check_videos(X, reset=True, ensure_all_finite=False)
        return self

    def transform(self, X):
        """Divide every clip by its norm.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        X_normalized : list of ndarray (lazy for a lazy input)
        """
        return map_videos(self._normalize, self._check_videos(X, reset=False))

    def _normalize(self, i, v):
        # rows are the last axis: one norm per clip, or per (clip, crop)
        with np.errstate(over="ignore", under="ignore"):  # detected and redone below
            norms = self._norms(v)
        # the squares of huge values overflow, those of tiny ones underflow
        redo = ~np.isfinite(norms)
        zero = norms == 0
        if zero.any():  # all-zero clips stay zero; others have underflowed
            redo[zero] = np.abs(v[zero]).max(axis=-1) > 0
        norms[zero] = 1
        out = v / norms[..., None]
        if redo.any():
            # those clips are divided by their largest value first, in float64
            rows = v[redo].astype(np.float64)
            rows /= np.abs(rows).max(axis=-1, keepdims=True)
            out[redo] = rows / self._norms(rows)[..., None]
        return out

    def _norms(self, v):
        if self.norm == "l2":
            return np.sqrt(np.einsum("...j,...j->...", v, v))
        if self.norm == "l1":
            return np.abs(v).sum(axis=-1)
        return np.abs(v).max(axis=-1)
