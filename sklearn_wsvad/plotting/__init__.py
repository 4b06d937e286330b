"""Matplotlib figures: scikit-learn style displays of frame-level curves, score
timelines and feature-norm clusters, and the figures of the core paper."""

from ._displays import (
    ClusterTimelineDisplay,
    FrameDetCurveDisplay,
    FramePrecisionRecallDisplay,
    FrameRocCurveDisplay,
    ScoreTimelineDisplay,
)
from ._plots import plot_cluster_distribution, plot_frame_roc, plot_score_histograms

__all__ = [
    "FrameRocCurveDisplay",
    "FramePrecisionRecallDisplay",
    "FrameDetCurveDisplay",
    "ScoreTimelineDisplay",
    "ClusterTimelineDisplay",
    "plot_frame_roc",
    "plot_score_histograms",
    "plot_cluster_distribution",
]
