import numpy as np
import pytest

from sklearn_wsvad.utils import LazyVideos, MappedVideos, check_videos, map_videos


class _Counting(LazyVideos):
    """Videos built on access; counts the builds."""

    def __init__(self, videos):
        self.videos = videos
        self.builds = 0

    def __len__(self):
        return len(self.videos)

    def _get(self, i):
        self.builds += 1
        return self.videos[i]


VIDEOS = [np.full((3 + i, 2), float(i)) for i in range(5)]


def test_indexing_gives_videos_or_lazy_subsets():
    lazy = _Counting(VIDEOS)
    assert lazy.shape == (5,)
    np.testing.assert_array_equal(lazy[-1], VIDEOS[4])
    with pytest.raises(IndexError, match="out of range for 5 videos"):
        lazy[5]
    for key in (slice(1, 4), np.array([1, 2, 3]), np.array([0, 1, 1, 1, 0], bool)):
        sub = lazy[key]
        assert isinstance(sub, LazyVideos) and len(sub) == 3
        assert [v[0, 0] for v in sub] == [1.0, 2.0, 3.0]
    assert [v[0, 0] for v in lazy[(np.array([4, 0]), Ellipsis)]] == [4.0, 0.0]


def test_map_videos_is_lazy_for_lazy_input_only():
    lazy = _Counting(VIDEOS)
    mapped = map_videos(lambda i, v: v + i, lazy)
    assert isinstance(mapped, MappedVideos) and lazy.builds == 0
    np.testing.assert_array_equal(mapped[2], VIDEOS[2] + 2)
    assert lazy.builds == 1
    eager = map_videos(lambda i, v: v + i, VIDEOS)
    assert isinstance(eager, list) and eager[3][0, 0] == 6.0


def test_check_videos_keeps_lazy_input_lazy():
    lazy = _Counting(VIDEOS)
    assert check_videos(lazy) is lazy
    assert lazy.builds == 5  # each video was read once, none kept
    ints = _Counting([np.ones((2, 2), dtype=np.int64)] * 2)
    converted = check_videos(ints)
    assert isinstance(converted, LazyVideos) and converted[0].dtype == np.float64
    bad = _Counting(VIDEOS[:2] + [np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match="Video 2 contains NaN"):
        check_videos(bad)
    with pytest.raises(ValueError, match="Video 1 has 3 features but video 0 has 2"):
        check_videos(_Counting([np.ones((2, 2)), np.ones((2, 3))]))
