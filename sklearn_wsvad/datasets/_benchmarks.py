"""UCF-Crime, ShanghaiTech and XD-Violence from a local folder (nothing is downloaded)."""

from pathlib import Path

import numpy as np

from ._classes import video_class_indicators
from ._features import load_features
from ._ground_truth import (
    shanghaitech_frame_labels,
    ucf_crime_frame_labels,
    xd_violence_frame_labels,
)

__all__ = ["load_ucf_crime", "load_shanghaitech", "load_xd_violence", "BENCHMARK_FILES"]

#: The released files each loader reads from ``data_home/<folder>``, per layout:
#: (train list, test list, ground truth).
BENCHMARK_FILES = {
    "ucf_crime": {
        "rtfm": ("ucf-i3d.list", "ucf-i3d-test.list", "Test_Annotation_with_frame_counts.txt"),
        "per_crop": ("UCF_Train.list", "UCF_Test.list", "Test_Annotation_with_frame_counts.txt"),
    },
    "shanghaitech": {
        "rtfm": ("shanghai-i3d-train-10crop.list", "shanghai-i3d-test-10crop.list",
                 "test_frame_mask"),
    },
    "xd_violence": {
        "per_crop": ("XD_Train.list", "XD_Test.list", "XD_Annotation.txt"),
    },
}

#: Abnormal videos at the head of the RTFM ShanghaiTech train list.
SHANGHAITECH_TRAIN_ABNORMAL = 63


def _dataset_dir(data_home, folder, layout, title):
    if layout not in BENCHMARK_FILES[folder]:
        raise ValueError(
            f"{title} is available in the layouts {sorted(BENCHMARK_FILES[folder])}, "
            f"not {layout!r}."
        )
    home = Path(data_home).expanduser() / folder
    needed = BENCHMARK_FILES[folder][layout]
    missing = [name for name in needed if not (home / name).exists()]
    if missing:
        raise FileNotFoundError(
            f"{title} ({layout} layout) needs {', '.join(needed)} in {home}; missing: "
            f"{', '.join(missing)}. Nothing is downloaded: put the released list and "
            f"annotation files in {home} and the .npy feature files anywhere below it "
            "(list paths are re-rooted there, e.g. "
            f"{home}/<any sub-folder>/<file name as listed>)."
        )
    return home, needed


def _split(home, list_name, crops, mmap, labels):
    return load_features(home / list_name, root=home, crops=crops, mmap=mmap, labels=labels)


def load_ucf_crime(data_home, *, layout="rtfm", crops="mean", mmap=True):
    """UCF-Crime features (train and test) with the test frame labels.

    Parameters
    ----------
    data_home : path
        Folder holding ``ucf_crime/`` with the released files: ``ucf-i3d.list``,
        ``ucf-i3d-test.list`` (RTFM layout) or ``UCF_Train.list``,
        ``UCF_Test.list`` (per-crop layout), and
        ``Test_Annotation_with_frame_counts.txt``; the feature files anywhere
        below ``ucf_crime/``.
    layout : {"rtfm", "per_crop"}, default="rtfm"
    crops : {"mean", "stack", "first"}, default="mean"
    mmap : bool, default=True

    Returns
    -------
    train, test : Bunch
        As :func:`load_features` (labels: "Normal" in the name is normal);
        ``test.frame_labels`` follows the benchmark protocol (16 frames per
        clip, cut to the clips' frames); ``video_classes`` (both splits) is
        the 0/1 matrix of each video's class, columns in the order of
        :data:`UCF_CRIME_CLASSES` (:func:`video_class_indicators`).
    """
    home, (train_list, test_list, annotation) = _dataset_dir(
        data_home, "ucf_crime", layout, "UCF-Crime")
    train = _split(home, train_list, crops, mmap, "ucf-crime")
    test = _split(home, test_list, crops, mmap, "ucf-crime")
    test.frame_labels = ucf_crime_frame_labels(test.names, home / annotation,
                                               n_clips=test.n_clips)
    for split in (train, test):
        split.video_classes = video_class_indicators(split.names, "ucf-crime")
    return train, test


def load_shanghaitech(data_home, *, crops="mean", mmap=True):
    """ShanghaiTech (Zhong et al.'s weakly supervised split), RTFM layout.

    Train labels by list position (the first 63 videos of the RTFM train list
    are abnormal); a test video is abnormal when ``test_frame_mask`` has its
    mask. On the released files the two rules agree: the 107 masks are those
    of the 63 abnormal train videos and the 44 abnormal test videos.

    Parameters
    ----------
    data_home : path
        Folder holding ``shanghaitech/`` with ``shanghai-i3d-train-10crop.list``,
        ``shanghai-i3d-test-10crop.list``, ``test_frame_mask/`` and the
        feature files below it.
    crops : {"mean", "stack", "first"}, default="mean"
    mmap : bool, default=True

    Returns
    -------
    train, test : Bunch
        ``test.frame_labels`` follows the benchmark protocol.
    """
    home, (train_list, test_list, masks) = _dataset_dir(
        data_home, "shanghaitech", "rtfm", "ShanghaiTech")
    n_train = sum(1 for line in (home / train_list).read_text().splitlines() if line.strip())
    labels = np.r_[np.ones(SHANGHAITECH_TRAIN_ABNORMAL), np.zeros(n_train
                                                                  - SHANGHAITECH_TRAIN_ABNORMAL)]
    train = _split(home, train_list, crops, mmap, labels)
    masked = {p.stem for p in (home / masks).glob("*.npy")}
    test = _split(home, test_list, crops, mmap, lambda name: int(name in masked))
    test.frame_labels = shanghaitech_frame_labels(test.names, home / masks,
                                                  n_clips=test.n_clips)
    return train, test


def load_xd_violence(data_home, *, crops="mean", mmap=True):
    """XD-Violence features (per-crop layout) with the test frame labels.

    Parameters
    ----------
    data_home : path
        Folder holding ``xd_violence/`` with ``XD_Train.list``,
        ``XD_Test.list``, ``XD_Annotation.txt`` and the feature files below it.
    crops : {"mean", "stack", "first"}, default="mean"
    mmap : bool, default=True

    Returns
    -------
    train, test : Bunch
        Labels: ``_label_A`` in the name is normal. ``test.frame_labels``
        spans 16 frames per clip (XD-Violence releases no frame counts);
        ``video_classes`` (both splits) is the 0/1 matrix of each video's
        classes (one or several), columns in the order of
        :data:`XD_VIOLENCE_CLASSES` (:func:`video_class_indicators`).
    """
    home, (train_list, test_list, annotation) = _dataset_dir(
        data_home, "xd_violence", "per_crop", "XD-Violence")
    train = _split(home, train_list, crops, mmap, "xd-violence")
    test = _split(home, test_list, crops, mmap, "xd-violence")
    test.frame_labels = xd_violence_frame_labels(test.names, home / annotation, test.n_clips)
    for split in (train, test):
        split.video_classes = video_class_indicators(split.names, "xd-violence")
    return train, test
