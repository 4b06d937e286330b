"""Padding ragged videos into one dense block (numpy only)."""

import numpy as np


def pad_videos(videos, *, dtype=np.float32, length=None):
    """Stack ragged videos into a zero-padded block and a validity mask.

    Parameters
    ----------
    videos : sequence of ndarray of shape (n_clips_i, n_features)
        or (n_clips_i, n_crops, n_features), all of the same trailing shape
    dtype : dtype, default=np.float32
    length : int, default=None
        Padded length; the longest video when None.

    Returns
    -------
    padded : ndarray of shape (n_videos, length, n_features)
        (``(n_videos, length, n_crops, n_features)`` for multi-crop videos)
    mask : ndarray of bool of shape (n_videos, length)
        True where a row is a real clip.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_wsvad.utils import pad_videos
    >>> x, mask = pad_videos([np.ones((2, 3)), np.ones((1, 3))])
    >>> x.shape, mask.tolist()
    ((2, 2, 3), [[True, True], [True, False]])
    """
    lengths = np.fromiter((len(v) for v in videos), dtype=np.int64, count=len(videos))
    t = int(lengths.max()) if length is None else int(length)
    padded = np.zeros((len(videos), t, *videos[0].shape[1:]), dtype=dtype)
    for i, video in enumerate(videos):
        padded[i, : len(video)] = video
    mask = np.arange(t)[None, :] < lengths[:, None]
    return padded, mask

