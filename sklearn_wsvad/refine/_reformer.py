"""Snippet reformation with temporal order preserved (the core paper, section 3.4)."""

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from ._base import BaseVideoTransformer

__all__ = ["SnippetReformer", "snippet_bounds"]


def snippet_bounds(n_clips, *, n_snippets=None, snippet_length=None, boundaries="round"):
    """Start index and clip count of each snippet of a video. No validation.

    With ``n_snippets`` (``S``), the edges ``e_0 .. e_S`` follow ``boundaries``:

    * ``"round"`` (this library's rule): ``round(linspace(0, n_clips, S + 1))``
      with numpy's round-half-to-even; snippet ``j`` is clips
      ``e_j .. e_{j+1} - 1``; every clip is in one snippet.
    * ``"floor"`` (the official RTFM and BN-WVAD code, ``process_feat``):
      ``linspace(0, n_clips, S + 1)`` truncated to integers; otherwise as
      ``"round"``.
    * ``"sultani"`` (Sultani et al.'s MATLAB feature script,
      ``round(linspace(1, n_clips, 33))`` in 1-based indices, each segment
      ending one clip before the next one starts): edges
      ``floor(linspace(0, n_clips - 1, S + 1) + 0.5)`` (MATLAB rounds halves
      away from zero), snippet ``j`` is clips ``e_j .. e_{j+1} - 1``, so the
      last clip of the video is in no snippet.

    When a range is empty (a video with fewer clips than snippets) the
    snippet is the single clip at its start (clipped to the last clip), as
    in all three codes, so there are always ``S`` snippets. With
    ``snippet_length``, consecutive groups of that many clips, the last one
    possibly shorter (``boundaries`` is not used).

    Returns
    -------
    starts : ndarray of int
    counts : ndarray of int, all >= 1

    Examples
    --------
    >>> from sklearn_wsvad.refine import snippet_bounds
    >>> snippet_bounds(10, n_snippets=4)
    (array([0, 2, 5, 8]), array([2, 3, 3, 2]))
    >>> snippet_bounds(10, n_snippets=4, boundaries="floor")
    (array([0, 2, 5, 7]), array([2, 3, 2, 3]))
    >>> snippet_bounds(10, n_snippets=4, boundaries="sultani")
    (array([0, 2, 5, 7]), array([2, 3, 2, 2]))
    >>> snippet_bounds(2, n_snippets=4)
    (array([0, 0, 1, 1]), array([1, 1, 1, 1]))
    >>> snippet_bounds(5, snippet_length=2)
    (array([0, 2, 4]), array([2, 2, 1]))
    """
    if snippet_length is not None:
        starts = np.arange(0, n_clips, snippet_length)
        ends = np.minimum(starts + snippet_length, n_clips)
        return starts, ends - starts
    if boundaries == "sultani":
        grid = np.linspace(0, n_clips - 1, n_snippets + 1)
        edges = np.floor(grid + 0.5).astype(np.intp)
    elif boundaries == "floor":
        edges = np.linspace(0, n_clips, n_snippets + 1).astype(np.intp)
    else:
        edges = np.round(np.linspace(0, n_clips, n_snippets + 1)).astype(np.intp)
    starts = np.minimum(edges[:-1], n_clips - 1)
    counts = np.maximum(edges[1:] - edges[:-1], 1)
    return starts, counts


def _pool_video(video, starts, counts):
    """Mean of each snippet's clips, ``video[starts[j]:starts[j] + counts[j]]``.

    Works on axis 0 of a 2-D or multi-crop (3-D) video.

    Equal consecutive groups (``snippet_length``) are pooled by one reshape;
    otherwise one slice mean per snippet (a loop over snippets, never over
    clips). No validation.
    """
    with np.errstate(over="ignore"):  # an overflow is detected and redone below
        out = _pool_means(video, starts, counts, None)
    if video.dtype == np.float32 and not np.isfinite(out).all():
        # a float32 sum overflowed (values near 3.4e38): accumulate in float64,
        # where the mean of finite float32 values is always representable
        out = _pool_means(video, starts, counts, np.float64)
    return out


def _pool_means(video, starts, counts, acc):
    n_out = len(starts)
    length = int(counts[0])
    out = np.empty((n_out, *video.shape[1:]), dtype=video.dtype)
    regular = (counts[:-1] == length).all() and (starts == np.arange(n_out) * length).all()
    if regular and len(video) - int(starts[-1]) == int(counts[-1]):
        n_full = n_out if counts[-1] == length else n_out - 1
        head = video[: n_full * length].reshape(n_full, length, *video.shape[1:])
        out[:n_full] = head.mean(axis=1, dtype=acc)
        if n_full < n_out:
            out[n_full] = video[n_full * length:].mean(axis=0, dtype=acc)
        return out
    for j, (s, c) in enumerate(zip(starts, counts)):
        out[j] = video[s: s + c].mean(axis=0, dtype=acc)
    return out


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
    snippets (``linspace`` boundaries, see ``boundaries``) or groups of
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
    boundaries : {"round", "floor", "sultani"}, default="round"
        Where the ``n_snippets`` snippets start and end
        (:func:`snippet_bounds`): ``"round"``, this library's rule (every clip
        in one snippet, edges rounded); ``"floor"``, the official RTFM and
        BN-WVAD code (edges truncated); ``"sultani"``, Sultani et al.'s MATLAB
        script (edges over clips ``0 .. n - 1``, the last clip left out of
        training snippets; at inference it takes the last snippet's score).
        Snippet sizes differ by at most one clip between the rules.
    inference : {"clips", "snippets"}, default="clips"
        What ``transform`` returns. ``"clips"``: every clip unchanged, so the
        model scores each clip (RTFM's test protocol). ``"snippets"``: the same
        pooling as in training (Sultani's test protocol); each clip then takes
        its snippet's score (see :meth:`transform_index`).
    short_videos : {"repeat", "keep"}, default="repeat"
        A video with at most ``n_snippets`` clips: ``"repeat"`` gives
        ``n_snippets`` snippets all the same (some repeat a clip, the rule of
        :func:`snippet_bounds` and of the RTFM / BN-WVAD code); ``"keep"``
        leaves it as it is, one snippet per clip (VadCLIP's official
        ``process_feat``, which pools only videos longer than its length and
        zero-pads the others; the models mask padding). Not used with
        ``snippet_length``.

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
        "boundaries": [StrOptions({"round", "floor", "sultani"})],
        "inference": [StrOptions({"clips", "snippets"})],
        "short_videos": [StrOptions({"repeat", "keep"})],
    }

    def __init__(self, *, n_snippets=32, snippet_length=None, boundaries="round",
                 inference="clips", short_videos="repeat"):
        self.n_snippets = n_snippets
        self.snippet_length = snippet_length
        self.boundaries = boundaries
        self.inference = inference
        self.short_videos = short_videos

    def _validate_all_params(self):
        self._validate_params()
        if (self.n_snippets is None) == (self.snippet_length is None):
            raise InvalidParameterError(
                "Exactly one of n_snippets and snippet_length must be set, got "
                f"n_snippets={self.n_snippets} and snippet_length={self.snippet_length}"
                "; to pool fixed-length groups pass n_snippets=None."
            )

    def _bounds(self, n_clips):
        if (self.short_videos == "keep" and self.n_snippets is not None
                and n_clips <= self.n_snippets):
            return np.arange(n_clips), np.ones(n_clips, dtype=np.intp)
        return snippet_bounds(
            n_clips, n_snippets=self.n_snippets, snippet_length=self.snippet_length,
            boundaries=self.boundaries,
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
        self._check_videos(X, reset=True)
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
        return self._pool(self._check_videos(X, reset=True))

    def transform(self, X):
        """Return every clip (``inference="clips"``) or the snippets.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        X_out : list of ndarray
        """
        videos = self._check_videos(X, reset=False)
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
