"""Top-k precision of the instances a MIL model would select (NG-MIL, eq. 12)."""

import numpy as np

__all__ = ["top_k_precision_score"]


def top_k_precision_score(clip_labels, clip_scores, *, k=3):
    """Share of truly abnormal clips among each abnormal video's top-k clips.

    ``TPI / (TPI + FPI)`` over the top-``k`` scoring clips of every video that
    has at least one abnormal clip (NG-MIL, eq. 12: it measures how well the
    instances a top-k MIL loss trains on are chosen). Counts are pooled over
    videos; a video shorter than ``k`` contributes all its clips.

    Parameters
    ----------
    clip_labels : sequence of array-like of {0, 1}
        One label per clip, one array per video.
    clip_scores : sequence of array-like
        One score per clip, aligned with ``clip_labels``.
    k : int, default=3

    Returns
    -------
    precision : float in [0, 1]

    Examples
    --------
    >>> from sklearn_wsvad.metrics import top_k_precision_score
    >>> labels = [[0, 1, 1, 0], [0, 0, 0], [1, 0]]
    >>> scores = [[0.9, 0.8, 0.7, 0.1], [0.9, 0.9, 0.9], [0.2, 0.3]]
    >>> top_k_precision_score(labels, scores, k=2)  # (1 + 1) / (2 + 2)
    0.5
    """
    if int(k) < 1:
        raise ValueError(f"k must be at least 1, got {k}.")
    if len(clip_labels) != len(clip_scores):
        raise ValueError(
            f"Got {len(clip_labels)} videos of clip labels but {len(clip_scores)} of scores."
        )
    hits = selected = 0
    for i, (labels, scores) in enumerate(zip(clip_labels, clip_scores)):
        labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
        if labels.shape != scores.shape or labels.ndim != 1:
            raise ValueError(
                f"Video {i} has clip labels of shape {labels.shape} but scores of shape "
                f"{scores.shape}; give one score per clip."
            )
        if not np.isin(labels, [0, 1]).all():
            raise ValueError(f"Clip labels of video {i} must be 0 or 1.")
        if not labels.any():
            continue
        top = np.argsort(-scores, kind="stable")[: int(k)]
        hits += int(labels[top].sum())
        selected += top.size
    if selected == 0:
        raise ValueError("No video has an abnormal clip; top-k precision is undefined.")
    return hits / selected
