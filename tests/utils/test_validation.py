import numpy as np
import pytest

from sklearn_wsvad.utils import (
    check_both_classes,
    check_frame_labels,
    check_video_labels,
    check_videos,
    pad_videos,
)


def test_accepts_list_3d_and_object_arrays_without_copy():
    a, b = np.ones((3, 4)), np.zeros((5, 4), dtype=np.float32)
    out = check_videos([a, b])
    assert out[0] is a and out[1] is b
    cube = np.ones((2, 3, 4))
    assert [v.shape for v in check_videos(cube)] == [(3, 4), (3, 4)]
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = a, b
    assert check_videos(obj)[1] is b


def test_integer_videos_are_converted_to_float():
    out = check_videos([np.arange(6).reshape(3, 2)])
    assert out[0].dtype == np.float64


@pytest.mark.parametrize(
    "videos, exc, match",
    [
        (np.ones((3, 4)), ValueError, "2-D array is ambiguous"),
        ("abc", TypeError, "sequence of videos"),
        (5, TypeError, "sequence of videos"),
        ([], ValueError, "at least one video"),
        ([np.ones(4)], ValueError, r"Video 0 has shape \(4,\)"),
        ([np.ones((2, 3, 4))], ValueError, r"Video 0 has shape \(2, 3, 4\).*crops"),
        ([np.ones((3, 4)), np.ones((2, 8))], ValueError,
         "Video 1 has 8 features but video 0 has 4; all videos must come from the same"),
        ([np.array([["a", "b"]])], TypeError, "Video 0 has dtype <U1"),
        ([np.ones((2, 2)), np.zeros((0, 2))], ValueError, "Video 1 has 0 clips"),
    ],
)
def test_bad_videos(videos, exc, match):
    with pytest.raises(exc, match=match):
        check_videos(videos)


def test_nan_names_video_and_first_bad_clip():
    v = np.ones((5, 3))
    v[3, 1] = np.nan
    v[4, 0] = np.inf
    with pytest.raises(ValueError, match=r"Video 1 contains NaN or infinity \(first at clip 3\)"):
        check_videos([np.ones((2, 3)), v])
    # skipping the check is allowed for callers that check themselves
    assert check_videos([v], ensure_all_finite=False)[0] is v


def test_fit_dimension_mismatch_message():
    with pytest.raises(ValueError, match="Video 0 has 5 features, but this estimator was fitted"):
        check_videos([np.ones((2, 5))], n_features=4)


def test_video_labels():
    np.testing.assert_array_equal(check_video_labels([0, 1.0, True], 3), [0, 1, 1])
    with pytest.raises(ValueError, match="Got 3 videos but 2 labels"):
        check_video_labels([0, 1], 3)
    with pytest.raises(ValueError, match=r"found values \[-1, 0, 2\]"):
        check_video_labels([0, 2, -1], 3)
    with pytest.raises(ValueError, match="labels y are required"):
        check_video_labels(None, 3)
    with pytest.raises(ValueError, match="dtype <U"):
        check_video_labels(["Normal", "Abuse"], 2)


def test_both_classes():
    check_both_classes(np.array([0, 1]))
    with pytest.raises(ValueError, match="2 normal and 0 abnormal and no abnormal"):
        check_both_classes(np.array([0, 0]), "MagnitudeMILDetector")


def test_frame_labels():
    out = check_frame_labels([np.zeros(32), np.ones(40)], [2, 3], frames_per_clip=16)
    assert [a.size for a in out] == [32, 40]
    with pytest.raises(ValueError, match="frame labels for 1 videos but 2 videos"):
        check_frame_labels([np.zeros(32)], [2, 3])
    with pytest.raises(ValueError, match=r"video 1 must be 0/1, found \[0.0, 2.0\]"):
        check_frame_labels([np.zeros(32), np.r_[np.zeros(40), 2]], [2, 3])
    with pytest.raises(ValueError, match="video 0 have 10 frames but its 2 clips cover 32"):
        check_frame_labels([np.zeros(10)], [2])
    with pytest.raises(ValueError, match="video 0 have 100 frames but its 2 clips cover 32"):
        check_frame_labels([np.zeros(100)], [2])
    with pytest.raises(ValueError, match=r"video 0 have shape \(2, 16\)"):
        check_frame_labels([np.zeros((2, 16))], [2])


def test_pad_videos():
    x, mask = pad_videos([np.ones((3, 2)), 2 * np.ones((1, 2))])
    assert x.shape == (2, 3, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 0, 0]])
    assert x[1, 0, 0] == 2 and x[1, 1:].sum() == 0
