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


def _pooled_mean_var(videos):
    """Mean and variance over all clips, merging per-video moments (Chan et al.).

    Per-video float64 moments avoid the cancellation of a running sum of
    squares on features that share a large positive offset.
    """
    n_total, mean, m2 = 0, 0.0, 0.0
    for video in videos:
        v = np.asarray(video, dtype=np.float64)
        v = v.reshape(-1, v.shape[-1])  # a multi-crop video: every (clip, crop) row
        n = v.shape[0]
        v_mean = v.mean(axis=0)
        v_m2 = ((v - v_mean) ** 2).sum(axis=0)
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
        w = v
        if self.mean_ is not None:
            w = w - self.mean_.astype(v.dtype)
        if self.scale_ is not None:
            w = w / self.scale_.astype(v.dtype)
        return w if w is not v else v.copy()


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
        if self.norm == "l2":
            norms = np.sqrt(np.einsum("...j,...j->...", v, v))
        elif self.norm == "l1":
            norms = np.abs(v).sum(axis=-1)
        else:
            norms = np.abs(v).max(axis=-1)
        norms[norms == 0] = 1
        return v / norms[..., None]
