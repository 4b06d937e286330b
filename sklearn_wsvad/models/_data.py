"""Torch data plumbing for ragged videos: dataset, padding collate, balanced batches."""

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from ..utils import pad_videos

__all__ = ["VideoDataset", "pad_collate", "BalancedBatchSampler", "BalancedVideoLoader"]


class VideoDataset(Dataset):
    """A list of videos (and their labels) as a torch ``Dataset``.

    Items are ``(video, label)`` with the video as the caller's numpy array;
    :func:`pad_collate` turns a list of items into one padded batch.
    (skorch's default dataset would read a list of videos as several inputs.)
    """

    def __init__(self, videos, y=None):
        self.videos = videos
        self.y = None if y is None else np.asarray(y)

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, i):
        return self.videos[i], (-1 if self.y is None else self.y[i])


def pad_collate(batch):
    """Pad a list of ``(video, label)`` items into a batch.

    Returns
    -------
    X : dict
        ``{"x": float32 tensor (b, t_max, d), "mask": bool tensor (b, t_max)}``
        (``x`` is ``(b, t_max, c, d)`` for videos of ``c`` crops), which skorch
        passes to ``module.forward(x, mask)``.
    y : float32 tensor of shape (b,)
    """
    videos, labels = zip(*batch)
    video = videos[0]
    if (len(videos) == 1 and isinstance(video, np.ndarray) and video.dtype == np.float32
            and video.flags.c_contiguous and video.flags.writeable):
        # one video (how score_clips batches videos of unequal lengths): no
        # padding, no copy; the library never writes into a batch's input
        x, mask = video[None], np.ones((1, len(video)), dtype=bool)
    else:
        x, mask = pad_videos(videos, dtype=np.float32)
    return (
        {"x": torch.from_numpy(x), "mask": torch.from_numpy(mask)},
        torch.as_tensor(np.asarray(labels, dtype=np.float32)),
    )


class BalancedBatchSampler(Sampler):
    """Batches of half normal, half abnormal videos.

    One epoch passes once over the larger class in random order; the smaller
    class is drawn from fresh permutations as often as needed, so every batch
    has ``batch_size // 2`` videos of each class (fewer only if
    ``batch_size // 2`` exceeds a class's size, then that whole class).

    Parameters
    ----------
    labels : array-like of shape (n_videos,) of {0, 1}
    batch_size : int
        Videos per batch, both classes together.
    random_state : int or numpy Generator, default=None
    """

    def __init__(self, labels, batch_size, random_state=None):
        labels = np.asarray(labels)
        self.groups = [np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)]
        if min(g.size for g in self.groups) == 0:
            raise ValueError("BalancedBatchSampler needs videos of both classes.")
        self.half = max(batch_size // 2, 1)
        self.rng = np.random.default_rng(random_state)

    def __len__(self):
        return int(np.ceil(max(g.size for g in self.groups) / self.half))

    def _stream(self, group, n):
        reps = int(np.ceil(n / group.size))
        return np.concatenate([self.rng.permutation(group) for _ in range(reps)])[:n]

    def __iter__(self):
        n_batches = len(self)
        per_class = [min(self.half, g.size) for g in self.groups]
        streams = [
            self._stream(g, n_batches * k).reshape(n_batches, k)
            for g, k in zip(self.groups, per_class)
        ]
        for b in range(n_batches):
            yield np.concatenate([streams[0][b], streams[1][b]]).tolist()


class BalancedVideoLoader(DataLoader):
    """DataLoader whose batches are balanced between normal and abnormal videos.

    skorch always passes ``batch_size``, which a prebuilt ``batch_sampler``
    forbids; this loader builds its :class:`BalancedBatchSampler` from the
    dataset's labels (the training fold's) instead.

    Parameters
    ----------
    dataset : VideoDataset
    batch_size : int, default=64
    random_state : int or None, default=None
    collate_fn : callable, default=pad_collate
    shuffle : ignored
        Batches are always drawn at random.
    **kwargs
        Passed to :class:`torch.utils.data.DataLoader`.
    """

    def __init__(
        self,
        dataset,
        batch_size=64,
        *,
        random_state=None,
        collate_fn=pad_collate,
        shuffle=None,
        **kwargs,
    ):
        sampler = BalancedBatchSampler(_labels(dataset), batch_size, random_state=random_state)
        super().__init__(dataset, batch_sampler=sampler, collate_fn=collate_fn, **kwargs)


def _labels(dataset):
    """The video labels of a dataset, or of a ``torch.utils.data.Subset`` of
    one (skorch's ``ValidSplit`` gives the training part as a Subset)."""
    if isinstance(dataset, Subset):
        return np.asarray(_labels(dataset.dataset))[np.asarray(dataset.indices, dtype=int)]
    return dataset.y
