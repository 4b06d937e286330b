import numpy as np
import pytest

from sklearn_wsvad.datasets import make_wsvad_videos


@pytest.fixture(scope="session")
def small_data():
    """A small synthetic set shared by the tests (read-only)."""
    return make_wsvad_videos(n_videos=40, n_features=16, min_clips=20, max_clips=80,
                             random_state=0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
