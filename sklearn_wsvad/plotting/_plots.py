"""Figures of the core paper (Figures 1 and 2) and of the cluster distribution."""

import numpy as np

from ..metrics._frame import _concat_frames
from ._displays import FrameRocCurveDisplay, _new_axes


def _axes(ax, n=1):
    return _new_axes(n) if ax is None else ax


def plot_frame_roc(frame_labels, scores_by_name, *, frames_per_clip=16, ax=None):
    """Frame-level ROC curves of several scorings of the same videos (Figure 1).

    One :class:`~sklearn_wsvad.plotting.FrameRocCurveDisplay` per
    configuration on one axes: the legend gives each curve's frame AUC and
    EER, and the EER is marked on the curve.

    Parameters
    ----------
    frame_labels : sequence of array-like
        Per-video 0/1 frame ground truth.
    scores_by_name : dict of str to sequence of array-like
        Per-video clip scores of each configuration.
    frames_per_clip : int, default=16
    ax : matplotlib Axes, default=None
        Created with pyplot when None.

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax)
    FrameRocCurveDisplay.from_predictions(frame_labels, dict(scores_by_name),
                                          frames_per_clip=frames_per_clip, ax=ax)
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=1)
    ax.set(xlabel="False positive rate", ylabel="True positive rate",
           title="Frame-level ROC")
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_score_histograms(frame_labels, scores_by_name, *, frames_per_clip=16, axes=None,
                          bins=40):
    """Histograms of frame scores of normal (GT=0) and abnormal (GT=1) frames (Figure 2).

    Parameters
    ----------
    frame_labels : sequence of array-like
    scores_by_name : dict of str to sequence of array-like
    frames_per_clip : int, default=16
    axes : sequence of matplotlib Axes, default=None
        One per configuration; created with pyplot when None.
    bins : int or array-like, default=40
        Number of bins over each configuration's score range, or the bin
        edges shared by all (e.g. for axes with a shared x axis).

    Returns
    -------
    axes : list of matplotlib Axes
    """
    names = list(scores_by_name)
    axes = np.ravel(_axes(axes, len(names))).tolist()
    if len(axes) < len(names):
        raise ValueError(f"Got {len(axes)} axes for {len(names)} configurations.")
    for ax, name in zip(axes, names):
        y, s = _concat_frames(frame_labels, scores_by_name[name], frames_per_clip, False)
        edges = (np.linspace(s.min(), s.max() + 1e-12, bins + 1) if np.ndim(bins) == 0
                 else np.asarray(bins, dtype=np.float64))
        ax.hist(s[y == 0], bins=edges, density=True, alpha=0.6, label="GT = 0")
        ax.hist(s[y == 1], bins=edges, density=True, alpha=0.6, label="GT = 1")
        ax.set(title=name, xlabel="anomaly score", ylabel="density")
        ax.legend(fontsize="small")
    return axes


def plot_cluster_distribution(sampler, y, *, ax=None):
    """Mean clips per cluster rank, normal vs abnormal videos.

    Parameters
    ----------
    sampler : fitted FeatureNormClusterUndersampler
    y : array-like of shape (n_videos,)
        Labels of the videos the sampler was fitted on.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax)
    y = np.asarray(y)
    k = sampler.n_clusters
    width = 0.4
    for offset, (cls, name) in zip((-width / 2, width / 2), ((0, "normal"), (1, "abnormal"))):
        sizes = [np.pad(s, (0, k - s.size)) for s, c in zip(sampler.cluster_sizes_, y) if c == cls]
        if sizes:
            shares = np.mean([s / s.sum() for s in sizes], axis=0)
            ax.bar(np.arange(1, k + 1) + offset, shares, width=width, label=f"{name} videos")
    ax.axvline(sampler.n_top + 0.5, color="0.3", linestyle="--", linewidth=1)
    ax.set(xlabel="cluster rank by size", ylabel="mean share of a video's clips",
           title=f"Feature-norm clusters\n(K={k}, top {sampler.n_top} = majority)")
    ax.set_xticks(np.arange(1, k + 1))
    ax.legend(fontsize="small")
    return ax
