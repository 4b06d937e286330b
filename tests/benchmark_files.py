"""Small feature files named after the real list entries of tests/data."""

import shutil
from pathlib import Path

import numpy as np

from sklearn_wsvad.datasets import video_name

DATA = Path(__file__).parent / "data"
D = 4


def lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def ucf_frames():
    table = {}
    for line in lines(DATA / "ucf_crime" / "Test_Annotation_with_frame_counts.txt"):
        fields = line.split()
        table[video_name(fields[0].replace(".mp4", ""))] = int(fields[1])
    return table


def _features(rng, n_clips, n_crops):
    shape = (n_clips, n_crops, D) if n_crops else (n_clips, D)
    return rng.random(shape, dtype=np.float32) + 0.1


def _write_rtfm(root, list_file, n_clips_of, n_crops=3):
    """One (n_clips, n_crops, D) file per list entry, in a sub-folder."""
    rng = np.random.default_rng(0)
    for entry in lines(list_file):
        name = entry.replace("\\", "/").split("/")[-1]
        path = root / "features" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, _features(rng, n_clips_of(video_name(name)), n_crops))


def _write_per_crop(root, list_file, n_clips_of):
    """One (n_clips, D) file per crop entry, keeping the listed sub-folders."""
    rng = np.random.default_rng(1)
    clips = {}
    for entry in lines(list_file):
        rel = entry.replace("\\", "/").split("/")
        path = root.joinpath(*rel[-2:])
        path.parent.mkdir(parents=True, exist_ok=True)
        name = video_name(entry)
        clips.setdefault(name, n_clips_of(name))
        np.save(path, _features(rng, clips[name], 0))


def _sh_masks():
    return {p.stem: len(np.load(p)) for p in (DATA / "shanghaitech" / "test_frame_mask").glob("*")}


def write_benchmark_home(home):
    """Copy the released files under ``home`` and write features for every
    test split (and small train lists), in each layout."""
    for folder in ("ucf_crime", "shanghaitech", "xd_violence"):
        shutil.copytree(DATA / folder, home / folder)
    frames = ucf_frames()
    ucf = home / "ucf_crime"
    _write_rtfm(ucf, ucf / "ucf-i3d-test.list", lambda n: frames[n] // 16)
    _write_per_crop(ucf, ucf / "UCF_Test.list", lambda n: frames[n] // 16)
    # a small per-crop train list: 5 abnormal and 5 normal videos of the test list
    crops = lines(ucf / "UCF_Test.list")
    (ucf / "UCF_Train.list").write_text("\n".join(crops[:50] + crops[-50:]))
    masks = _sh_masks()
    sh = home / "shanghaitech"
    for split in ("train", "test"):
        _write_rtfm(sh, sh / f"shanghai-i3d-{split}-10crop.list",
                    lambda n: masks[n] // 16 if n in masks else 7 + len(n) % 5)
    xd = home / "xd_violence"
    _write_per_crop(xd, xd / "XD_Test.list", lambda n: 5 + len(n) % 7)
    # a small XD train list: the first and last 4 test videos (5 crops each)
    crops = lines(xd / "XD_Test.list")
    (xd / "XD_Train.list").write_text("\n".join(crops[:20] + crops[-20:]))
    return home
