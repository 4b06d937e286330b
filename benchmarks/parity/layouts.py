"""One synthetic feature set, written in the on-disk layouts of the official repositories.

The parity runners (``rtfm.py``, ``bnwvad.py``, ``sultani.py``, ``cliptsa.py``)
train an official repository's code on these files and the library on the
same arrays. Three layouts:

* :func:`write_rtfm_layout` (RTFM, MGFN): one ``(n_clips, n_crops, d)``
  float32 ``.npy`` file per video, a train list with the abnormal videos
  first (RTFM splits its list by a count), a test list, and the frame
  ground truth of the test list concatenated in one ``gt.npy`` (16 frames per
  clip), as RTFM's ``list/gt-ucf.npy``;
* :func:`write_per_crop_layout` (BN-WVAD, UR-DMU on XD-Violence): one
  ``(n_clips, d)`` file per crop, ``<video>__<k>.npy``, one list line per
  crop file, normal videos marked ``_label_A`` in their names;
* :func:`write_sultani_layout` (Sultani et al.'s Keras code and its PyTorch
  port): one text file per video of 32 segment features (whitespace
  separated), pooled by the MATLAB rule and scaled to unit norm.

:func:`make_multicrop_split` draws the data: a regime of
:func:`sklearn_wsvad.datasets.make_wsvad_regime` whose clips are turned into
``n_crops`` views (a per-crop gain of a few percent and independent noise).
:func:`split_videos` splits a generated set (``make_wsvad_clip_videos``)
stratified, :func:`ucf_names` names videos as the layouts expect and
:func:`clip_frames` gives the official codes' 16-frames-per-clip ground truth.
"""

from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from sklearn_wsvad.datasets import make_wsvad_regime
from sklearn_wsvad.refine import SnippetReformer

__all__ = [
    "make_multicrop_split",
    "split_videos",
    "ucf_names",
    "clip_frames",
    "write_rtfm_layout",
    "write_per_crop_layout",
    "write_xd_lists",
    "write_sultani_layout",
]


def _views(video, n_crops, rng, gain=0.05, noise=0.1):
    """``n_crops`` views of a 2-D video: ``v * (1 + gain * g_c) + noise * std * e``."""
    v = np.asarray(video, dtype=np.float32)
    scale = float(v.std()) or 1.0
    gains = 1.0 + gain * rng.standard_normal((1, n_crops, 1))
    out = v[:, None, :] * gains + noise * scale * rng.standard_normal((len(v), n_crops, v.shape[1]))
    return out.astype(np.float32)


def ucf_names(target, split):
    """UCF-Crime-like video names: ``Abuse<i>_<split>`` for abnormal videos
    (``target`` 1), ``Normal_Videos<i>_<split>`` for normal ones."""
    return [f"{'Abuse' if y else 'Normal_Videos'}{i:04d}_{split}" for i, y in enumerate(target)]


def split_videos(data, test_size, *, stratify, random_state,
                 fields=("videos", "target", "frame_labels")):
    """Train and test Bunches of the per-video ``fields`` of ``data``.

    The videos are split by ``train_test_split(test_size=test_size,
    stratify=stratify, random_state=random_state)``; array fields are indexed,
    list fields become lists of the chosen videos' entries.
    """
    rows = train_test_split(np.arange(len(data.videos)), test_size=test_size,
                            random_state=random_state, stratify=stratify)

    def take(values, index):
        return values[index] if isinstance(values, np.ndarray) else [values[i] for i in index]

    return tuple(Bunch(**{field: take(data[field], index) for field in fields})
                 for index in rows)


def make_multicrop_split(regime="similar_norm", *, n_crops=10, n_features=256, n_train=100,
                         n_test=100, random_state=0):
    """Train and test Bunches of a regime with ``(n_clips, n_crops, d)`` videos.

    Returns
    -------
    train, test : Bunch
        ``videos`` (multi-crop, float32), ``target``, ``frame_labels``,
        ``names`` (UCF-Crime-like: ``Abuse...`` abnormal, ``Normal_Videos...``
        normal).
    """
    train, test = make_wsvad_regime(regime, n_train=n_train, n_test=n_test,
                                    n_features=n_features, random_state=random_state)
    rng = np.random.default_rng(random_state)
    out = []
    for split, part in (("train", train), ("test", test)):
        out.append(Bunch(videos=[_views(v, n_crops, rng) for v in part.videos],
                         target=np.asarray(part.target), frame_labels=part.frame_labels,
                         names=ucf_names(part.target, split)))
    return out[0], out[1]


def clip_frames(part, frames_per_clip=16):
    """Every video's frame labels of ``part`` cut, or padded with its last
    label, to ``16 * n_clips``, concatenated (the official codes' ``gt``)."""
    out = []
    for video, labels in zip(part.videos, part.frame_labels):
        n = frames_per_clip * len(video)
        labels = np.asarray(labels, dtype=np.float64)[:n]
        out.append(np.pad(labels, (0, n - labels.size), mode="edge"))
    return np.concatenate(out)


def write_rtfm_layout(root, train, test):
    """RTFM's layout under ``root``; returns the paths and the abnormal count.

    ``features/<name>.npy`` per video; ``list/train.list`` (abnormal videos
    first, absolute paths, one per line), ``list/test.list`` and ``list/gt.npy``
    (the test frames' 0/1 labels, list order, 16 per clip as RTFM's
    ``gt-*.npy``: a video's labels cut, or padded with its last label, to
    ``16 * n_clips``).
    """
    root = Path(root)
    (root / "features").mkdir(parents=True, exist_ok=True)
    (root / "list").mkdir(exist_ok=True)

    def save(part, order):
        paths = []
        for i in order:
            path = root / "features" / f"{part.names[i]}.npy"
            np.save(path, np.asarray(part.videos[i], dtype=np.float32))
            paths.append(str(path.resolve()))
        return paths

    order = np.r_[np.flatnonzero(train.target == 1), np.flatnonzero(train.target == 0)]
    train_paths = save(train, order)
    test_paths = save(test, range(len(test.videos)))
    (root / "list" / "train.list").write_text("\n".join(train_paths) + "\n")
    (root / "list" / "test.list").write_text("\n".join(test_paths) + "\n")
    np.save(root / "list" / "gt.npy", clip_frames(test))
    return Bunch(train_list=root / "list" / "train.list", test_list=root / "list" / "test.list",
                 gt=root / "list" / "gt.npy", n_abnormal=int((train.target == 1).sum()),
                 train_order=order)


def write_per_crop_layout(root, train, test):
    """The per-crop layout (BN-WVAD / UR-DMU, XD-Violence style) under ``root``.

    ``<split>/<name>__<k>.npy`` per crop (``(n_clips, d)``), normal videos
    named ``..._label_A``, abnormal ``..._label_B1-0-0``; ``<split>.list``
    with one line per crop file, the crops of a video consecutive; test frame
    labels in ``gt.npy`` (list order, 16 per clip).
    """
    root = Path(root)
    out = {}
    for split, part in (("train", train), ("test", test)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        lines = []
        for name, video, y in zip(part.names, part.videos, part.target):
            stem = f"{name}_label_{'B1-0-0' if y else 'A'}"
            for k in range(video.shape[1]):
                path = folder / f"{stem}__{k}.npy"
                np.save(path, np.ascontiguousarray(video[:, k], dtype=np.float32))
                lines.append(str(path.resolve()))
        (root / f"{split}.list").write_text("\n".join(lines) + "\n")
        out[f"{split}_list"] = root / f"{split}.list"
    np.save(root / "gt.npy", clip_frames(test))
    out["gt"] = root / "gt.npy"
    return Bunch(**out)


def write_xd_lists(workdir, layout):
    """BN-WVAD's list files for a :func:`write_per_crop_layout` under ``workdir``.

    ``list/XD_Train.list`` holds the training crop files abnormal first (the
    code splits the list by a count) and ``list/XD_Test.list`` the test crop
    files in order (the crops of a video consecutive), as the code reads them
    from its working directory. Returns the number of abnormal crop files.
    """
    (Path(workdir) / "list").mkdir(parents=True, exist_ok=True)
    lines = Path(layout.train_list).read_text().split()
    abnormal = [line for line in lines if "_label_A" not in line]
    normal = [line for line in lines if "_label_A" in line]
    (Path(workdir) / "list" / "XD_Train.list").write_text("\n".join(abnormal + normal) + "\n")
    (Path(workdir) / "list" / "XD_Test.list").write_text(Path(layout.test_list).read_text())
    return len(abnormal)


def write_sultani_layout(root, train, test, n_segments=32):
    """Sultani et al.'s text layout under ``root``: ``<split>/<name>.txt``.

    Each file holds ``n_segments`` rows of features, the crop-mean clips pooled
    by the MATLAB rule (``SnippetReformer(boundaries="sultani")``) and each
    segment divided by its L2 norm, as ``Save_C3DFeatures_32Segments.m`` does.
    ``Train_Annotation.txt`` lists the training videos as the PyTorch port's
    file of that name does (``<split>/<name>.mp4 <n_frames>``, 16 frames per
    clip; the port reads ``<features_path>/<split>/<name>.txt`` and calls a
    video normal when its path contains ``Normal``).
    """
    root = Path(root)
    reformer = SnippetReformer(n_snippets=n_segments, boundaries="sultani")
    out = {}
    for split, part in (("train", train), ("test", test)):
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        segments = reformer.fit_transform([np.asarray(v).mean(axis=1) for v in part.videos])
        paths = []
        for name, seg in zip(part.names, segments):
            seg = seg / np.linalg.norm(seg, axis=1, keepdims=True)
            path = folder / f"{name}.txt"
            np.savetxt(path, seg, fmt="%.6f")
            paths.append(path)
        out[split] = paths
    lines = [f"train/{name}.mp4 {16 * len(video)}"
             for name, video in zip(train.names, train.videos)]
    (root / "Train_Annotation.txt").write_text("\n".join(lines) + "\n")
    out["train_annotation"] = root / "Train_Annotation.txt"
    return Bunch(**out)
