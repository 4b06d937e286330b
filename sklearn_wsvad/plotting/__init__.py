"""Matplotlib figures: frame ROC curves, score histograms, cluster distribution."""

from ._plots import plot_cluster_distribution, plot_frame_roc, plot_score_histograms

__all__ = ["plot_frame_roc", "plot_score_histograms", "plot_cluster_distribution"]
