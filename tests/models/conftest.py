import pytest
from sklearn.model_selection import train_test_split

from sklearn_wsvad.datasets import make_wsvad_videos


@pytest.fixture(scope="session")
def synthetic_splits():
    """Five seeded 60/40 stratified splits of 300 synthetic videos (d = 32), for the
    tests that compare models on frame AUC."""
    out = []
    for seed in range(5):
        data = make_wsvad_videos(n_videos=300, n_features=32, random_state=seed)
        out.append((seed, train_test_split(data.videos, data.target, data.frame_labels,
                                           test_size=0.4, stratify=data.target,
                                           random_state=seed)))
    return out
