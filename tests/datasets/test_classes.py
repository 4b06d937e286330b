"""Fine-grained classes from the real benchmark lists, and their validation."""

import numpy as np
import pytest

from sklearn_wsvad.datasets import (
    UCF_CRIME_CLASSES,
    XD_VIOLENCE_CLASSES,
    load_ucf_crime,
    load_xd_violence,
    video_class_indicators,
    video_name,
)
from sklearn_wsvad.utils import check_video_classes

from ..benchmark_files import DATA, lines


def test_ucf_crime_test_split_classes():
    names = [video_name(e) for e in lines(DATA / "ucf_crime" / "ucf-i3d-test.list")]
    classes = video_class_indicators(names, "ucf-crime")
    assert classes.shape == (290, 14) and (classes.sum(axis=1) == 1).all()
    counts = dict(zip(UCF_CRIME_CLASSES, classes.sum(axis=0).tolist()))
    # the released test split: 150 normal and 140 abnormal videos of 13 classes
    assert counts["Normal"] == 150 and sum(counts.values()) == 290
    assert counts["RoadAccidents"] == 23 and counts["Abuse"] == 2
    # the class agrees with the name and with the annotation's class column
    table = {}
    for line in lines(DATA / "ucf_crime" / "Test_Annotation_with_frame_counts.txt"):
        fields = line.split()
        table[video_name(fields[0].replace(".mp4", ""))] = fields[2]
    for name, row in zip(names, classes):
        assert UCF_CRIME_CLASSES[int(np.argmax(row))] == table[name]


def test_xd_violence_test_split_classes():
    names = list(dict.fromkeys(video_name(e) for e in lines(DATA / "xd_violence" /
                                                              "XD_Test.list")))
    classes = video_class_indicators(names, "xd-violence")
    assert classes.shape == (800, 7)
    assert classes[:, 0].sum() == 300  # 300 non-violent test videos
    several = classes.sum(axis=1) > 1
    assert several.sum() > 0 and not classes[several, 0].any()
    for name, row in zip(names, classes):
        codes = {c for c in name.split("_label_")[1].split("-") if c != "0"}
        assert {XD_VIOLENCE_CLASSES[i] for i in np.flatnonzero(row)} == codes


def test_loaders_return_the_classes(benchmark_home):
    train, test = load_ucf_crime(benchmark_home, layout="per_crop")
    assert test.video_classes.shape == (290, 14)
    np.testing.assert_array_equal(test.video_classes[:, 0] == 1, test.target == 0)
    check_video_classes(train.video_classes, y=train.target, n_classes=14)
    train, test = load_xd_violence(benchmark_home)
    assert test.video_classes.shape == (800, 7)
    check_video_classes(test.video_classes, y=test.target, n_classes=7)


@pytest.mark.parametrize("name, dataset, match", [
    ("Cooking001_x264", "ucf-crime", "Cannot read a UCF-Crime class"),
    ("video__#1_label_B3-0-0", "xd-violence", "Cannot read XD-Violence classes"),
    ("video__#1", "xd-violence", "Cannot read XD-Violence classes"),
    ("video__#1_label_A-B1-0", "xd-violence", "both normal"),
    ("Abuse001_x264", "shanghaitech", "dataset must be"),
])
def test_unreadable_names_are_named(name, dataset, match):
    with pytest.raises(ValueError, match=match):
        video_class_indicators([name], dataset)


def test_check_video_classes_accepts_indices_and_indicators():
    indicators = check_video_classes([0, 2, 1], y=[0, 1, 1])
    np.testing.assert_array_equal(indicators, np.eye(3, dtype=np.int8)[[0, 2, 1]])
    assert check_video_classes([0, 1], n_classes=4).shape == (2, 4)
    multi = [[0, 1, 1], [1, 0, 0]]
    np.testing.assert_array_equal(check_video_classes(multi, y=[1, 0]), multi)


@pytest.mark.parametrize("classes, kwargs, match", [
    (None, {}, "needs video_classes"),
    ([0, 3], {"n_classes": 3}, "indices must lie in"),
    ([0, -1], {}, "indices must lie in"),
    ([0.5, 1], {}, "must hold integers"),
    ([[0, 2, 0]], {}, "only 0 and 1"),
    ([[0, 0, 0]], {}, "has no class"),
    ([[1, 1, 0]], {}, "both normal"),
    ([[0, 1]], {"n_classes": 3}, "2 columns but there are 3"),
    ([0, 1], {"n_videos": 3}, "Got 3 videos"),
    ([0, 1], {"y": [1, 1]}, "Video 0 is labelled abnormal in y but normal"),
    (np.zeros((2, 2, 2), int), {}, "must have shape"),
])
def test_check_video_classes_errors(classes, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_video_classes(classes, **kwargs)
