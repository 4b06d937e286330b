"""Base class of the steps that map a list of videos to a list of videos."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..utils.validation import check_videos


class BaseVideoTransformer(TransformerMixin, BaseEstimator):
    """Common plumbing of video-to-video steps.

    Every step accepts 2-D videos ``(n_clips, n_features)`` and multi-crop
    videos ``(n_clips, n_crops, n_features)`` (e.g. RTFM's 10-crop I3D
    features, :func:`~sklearn_wsvad.datasets.load_features` with
    ``crops="stack"``): clips are selected and pooled along axis 0, the crops
    of a clip stay together.

    Subclasses validate through :meth:`_check_videos` and, when their
    inference-time ``transform`` does not keep one output row per input clip,
    override :meth:`transform_index` so that scores of the output rows can be
    mapped back to every input clip (see :func:`sklearn_wsvad.score_clips`).
    """

    def _check_videos(self, X, *, reset, ensure_all_finite=True):
        # every refinement step accepts multi-crop videos (n_clips, n_crops,
        # n_features): it acts on axis 0 and keeps the crops together
        if reset:
            videos = check_videos(X, ensure_all_finite=ensure_all_finite, allow_crops=True)
            self.n_features_in_ = videos[0].shape[-1]
            return videos
        check_is_fitted(self, "n_features_in_")
        return check_videos(
            X, n_features=self.n_features_in_, ensure_all_finite=ensure_all_finite,
            allow_crops=True,
        )

    def set_output(self, *, transform=None):
        """scikit-learn's output API: the output is always a list of videos.

        Parameters
        ----------
        transform : {"default"} or None, default=None
            ``"default"`` and ``None`` keep the list of arrays (what every
            step returns); ``"pandas"`` and ``"polars"`` do not apply to
            videos of different lengths and raise.

        Returns
        -------
        self : object
        """
        if transform not in (None, "default"):
            raise ValueError(
                f"{type(self).__name__}.set_output(transform={transform!r}): the output is "
                "a list of videos (one array per video, lengths differing), which has no "
                "pandas or polars form; use transform='default'."
            )
        return self

    def transform_index(self, X):
        """Output row of ``transform(X)`` that each input clip lands in.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        index : list of ndarray of int, one per video, of length n_clips_i
            ``index[i][c]`` is the row of ``transform(X)[i]`` that clip ``c``
            of video ``i`` contributes to. This base version is the identity.
        """
        videos = self._check_videos(X, reset=False, ensure_all_finite=False)
        return [np.arange(len(v)) for v in videos]
