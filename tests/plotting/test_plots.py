"""The plotting functions: what they draw and that it fits the figure."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from sklearn_wsvad.datasets import make_wsvad_videos  # noqa: E402
from sklearn_wsvad.plotting import plot_cluster_distribution  # noqa: E402
from sklearn_wsvad.refine import FeatureNormClusterUndersampler  # noqa: E402


def test_cluster_distribution_bars_and_a_title_inside_the_figure():
    import matplotlib.pyplot as plt

    data = make_wsvad_videos(20, n_features=8, random_state=0)
    sampler = FeatureNormClusterUndersampler(n_clusters=6, n_top=2).fit(data.videos,
                                                                         data.target)
    ax = plot_cluster_distribution(sampler, data.target)
    try:
        assert len(ax.patches) == 2 * 6  # normal and abnormal bars per cluster rank
        heights = np.array([p.get_height() for p in ax.patches]).reshape(2, 6)
        np.testing.assert_allclose(heights.sum(axis=1), 1.0)  # mean shares of the clips
        fig = ax.figure
        fig.canvas.draw()
        title, box = ax.title.get_window_extent(), fig.bbox
        assert box.x0 <= title.x0 and title.x1 <= box.x1 and title.y1 <= box.y1
    finally:
        plt.close(ax.figure)
