import numpy as np
import pytest

from sklearn_wsvad.datasets import make_wsvad_videos

from .benchmark_files import write_benchmark_home


@pytest.fixture(scope="session")
def small_data():
    """A small synthetic set shared by the tests (read-only)."""
    return make_wsvad_videos(n_videos=40, n_features=16, min_clips=20, max_clips=80,
                             random_state=0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def benchmark_home(tmp_path_factory):
    """A data_home with the released files and small features of all test splits."""
    return write_benchmark_home(tmp_path_factory.mktemp("wsvad_data"))
