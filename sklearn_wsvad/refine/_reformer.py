"""Snippet reformation with temporal order preserved (the core paper, section 3.4)."""

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from ._base import BaseVideoTransformer

__all__ = ["SnippetReformer", "snippet_bounds"]


def snippet_bounds(n_clips, *, n_snippets=None, snippet_length=None):
    """Start index and clip count of each snippet of a video. No validation.

    With ``n_snippets``, the boundaries are Sultani et al.'s
    ``round(linspace(0, n_clips, n_snippets + 1))``. When the video has fewer
    clips than snippets some ranges are empty; such a snippet is the single
    clip at its start (clipped to the last clip), so there are always
    ``n_snippets`` snippets. With ``snippet_length``, consecutive groups of
    that many clips, the last one possibly shorter.

    Returns
    -------
    starts : ndarray of int
    counts : ndarray of int, all >= 1

    Examples
    --------
    >>> from sklearn_wsvad.refine import snippet_bounds
    >>> snippet_bounds(10, n_snippets=4)
    (array([0, 2, 5, 8]), array([2, 3, 3, 2]))
    >>> snippet_bounds(2, n_snippets=4)
    (array([0, 0, 1, 1]), array([1, 1, 1, 1]))
    >>> snippet_bounds(5, snippet_length=2)
    (array([0, 2, 4]), array([2, 2, 1]))
    """
    if snippet_length is not None:
        starts = np.arange(0, n_clips, snippet_length)
        ends = np.minimum(starts + snippet_length, n_clips)
        return starts, ends - starts
    edges = np.round(np.linspace(0, n_clips, n_snippets + 1)).astype(np.intp)
    starts = np.minimum(edges[:-1], n_clips - 1)
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    return starts, counts


def _pool_video(video, starts, counts):
    """Mean of each snippet's clips. No validation.

    ``np.add.reduceat`` sums ``video[starts[j]:starts[j+1]]`` and, where
    ``starts`` does not increase, takes the single row ``video[starts[j]]``:
    exactly the short-video rule of :func:`snippet_bounds`.
    """
    sums = np.add.reduceat(video, starts, axis=0)
    return sums / counts[:, None].astype(video.dtype)


def _clip_to_snippet(n_clips, starts):
    """Index of the snippet each clip belongs to. No validation.

    The last snippet starting at or before the clip. In a video shorter than
    ``n_snippets`` every snippet starting at a clip is that clip alone, so any
    of them carries its score.
    """
    return np.searchsorted(starts, np.arange(n_clips), side="right") - 1


class SnippetReformer(BaseVideoTransformer):
    """Mean-pool each video's clips, in temporal order, into snippets.

    At training time (``fit_transform``) every video becomes ``n_snippets``
    snippets (Sultani et al.'s linspace boundaries) or groups of
    ``snippet_length`` clips; each snippet is the mean of its clips (the core
    paper, eq. 2). Placed after :class:`FeatureNormClusterUndersampler`, the
    snippets are made of the kept clips only, which are no longer contiguous
    in time but keep their order.

    Read more in the :ref:`User Guide <refinement>`.

    Parameters
    ----------
    n_snippets : int or None, default=32
        Snippets per video. A video with fewer clips than ``n_snippets`` still
        gives ``n_snippets`` snippets, some repeating a single clip (the rule
        of :func:`snippet_bounds`).
    snippet_length : int or None, default=None
        Clips per snippet instead of a fixed count (the last snippet may be
        shorter). Set ``n_snippets=None`` to use it.
    inference : {"clips", "snippets"}, default="clips"
        What ``transform`` returns. ``"clips"``: every clip unchanged, so the
        model scores each clip (RTFM's test protocol). ``"snippets"``: the same
        pooling as in training (Sultani's test protocol); each clip then takes
        its snippet's score (see :meth:`transform_index`).

    Attributes
    ----------
    n_features_in_ : int

    See Also
    --------
    FeatureNormClusterUndersampler : Chooses which clips are pooled.

    Notes
    -----
    .. note::
        With ``inference="clips"`` (the default), ``fit(X).transform(X)`` does
        **not** equal ``fit_transform(X)``: pooling is a training-time step and
        ``transform`` returns every clip, so that a
        :class:`~sklearn.pipeline.Pipeline` scores each test clip.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_wsvad.refine import SnippetReformer
    >>> video = np.arange(10.0).reshape(10, 1)
    >>> reformer = SnippetReformer(n_snippets=4)
    >>> reformer.fit_transform([video])[0].ravel().tolist()
    [0.5, 3.0, 6.0, 8.5]
    >>> reformer.transform([video])[0].shape
    (10, 1)
    """

    _parameter_constraints = {
        "n_snippets": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "snippet_length": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "inference": [StrOptions({"clips", "snippets"})],
    }

    def __init__(self, *, n_snippets=32, snippet_length=None, inference="clips"):
        self.n_snippets = n_snippets
        self.snippet_length = snippet_length
        self.inference = inference

    def _validate_all_params(self):
        self._validate_params()
        if (self.n_snippets is None) == (self.snippet_length is None):
            raise InvalidParameterError(
                "Exactly one of n_snippets and snippet_length must be set, got "
                f"n_snippets={self.n_snippets} and snippet_length={self.snippet_length}"
                "; to pool fixed-length groups pass n_snippets=None."
            )

    def _bounds(self, n_clips):
        return snippet_bounds(
            n_clips, n_snippets=self.n_snippets, snippet_length=self.snippet_length
        )

    def _pool(self, videos):
        return [_pool_video(v, *self._bounds(len(v))) for v in videos]

    def fit(self, X, y=None):
        """Check the parameters and record the feature dimension.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
        y : ignored

        Returns
        -------
        self : object
        """
        self._validate_all_params()
        self._check_videos(X, reset=True, ensure_all_finite=False)
        return self

    def fit_transform(self, X, y=None):
        """Fit, then mean-pool every video into snippets.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
        y : ignored

        Returns
        -------
        X_snippets : list of ndarray of shape (n_snippets_i, n_features)
        """
        self._validate_all_params()
        return self._pool(self._check_videos(X, reset=True, ensure_all_finite=False))

    def transform(self, X):
        """Return every clip (``inference="clips"``) or the snippets.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        X_out : list of ndarray
        """
        videos = self._check_videos(X, reset=False, ensure_all_finite=False)
        if self.inference == "clips":
            return videos
        return self._pool(videos)

    def transform_index(self, X):
        """Row of ``transform(X)`` that each input clip lands in.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        index : list of ndarray of int
            The identity with ``inference="clips"``; with ``"snippets"``, the
            snippet holding each clip (for a video shorter than
            ``n_snippets``, one of the snippets made of that clip alone).
        """
        videos = self._check_videos(X, reset=False, ensure_all_finite=False)
        if self.inference == "clips":
            return [np.arange(len(v)) for v in videos]
        return [_clip_to_snippet(len(v), self._bounds(len(v))[0]) for v in videos]
