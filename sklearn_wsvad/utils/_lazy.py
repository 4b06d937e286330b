"""Sequences of videos produced on access (memory-mapped feature sets).

A :class:`LazyVideos` never holds its videos: item ``i`` is built when it is
read (for a feature file, a fresh ``np.load(mmap_mode="r")``) and released
when the caller drops it, so iterating over a feature set far larger than
memory keeps only the current video resident. Validation passes these
sequences through unchanged, per-video steps return lazy results for lazy
inputs, and indexing with an array of positions (what scikit-learn's
splitters and ``GridSearchCV`` do) gives another lazy sequence.
"""

import numbers
from collections.abc import Sequence

import numpy as np

__all__ = ["LazyVideos", "VideoSubset", "MappedVideos", "map_videos"]


class LazyVideos(Sequence):
    """Base class: a read-only sequence of videos built on access.

    Subclasses implement ``__len__`` and ``_get(i)`` (``0 <= i < len``).
    """

    def _get(self, i):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def shape(self):
        """``(n_videos,)``: lets scikit-learn index the sequence as an array
        (``X[indices, ...]``), so cross-validation folds stay lazy."""
        return (len(self),)

    def __getitem__(self, key):
        if isinstance(key, tuple):  # scikit-learn's array[indices, ...]
            key = key[0]
        if isinstance(key, numbers.Integral):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"video index {key} out of range for {n} videos")
            return self._get(int(key) % n)
        if isinstance(key, slice):
            return VideoSubset(self, np.arange(len(self))[key])
        index = np.asarray(key)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return VideoSubset(self, index.astype(np.intp, copy=False))

    def __iter__(self):
        for i in range(len(self)):
            yield self._get(i)

    def __repr__(self):
        return f"<{type(self).__name__} of {len(self)} videos>"


class VideoSubset(LazyVideos):
    """The videos of ``source`` at positions ``index``, still lazy."""

    def __init__(self, source, index):
        self.source = source
        self.index = np.asarray(index, dtype=np.intp)

    def __len__(self):
        return self.index.size

    def _get(self, i):
        return self.source[int(self.index[i])]


class MappedVideos(LazyVideos):
    """``func(i, source[i])`` for every video of ``source``, computed on access."""

    def __init__(self, source, func):
        self.source = source
        self.func = func

    def __len__(self):
        return len(self.source)

    def _get(self, i):
        return self.func(i, self.source[i])


def map_videos(func, videos):
    """Apply ``func(i, video)`` to every video: lazily when ``videos`` is lazy.

    Steps whose output is as large as their input use this, so a
    memory-mapped feature set goes through a pipeline's ``transform`` without
    being loaded whole; ordinary lists give ordinary lists.
    """
    if isinstance(videos, LazyVideos):
        return MappedVideos(videos, func)
    return [func(i, v) for i, v in enumerate(videos)]
