"""Pre-extracted clip features as released: list files, layouts, crops."""

import re
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
from sklearn.utils import Bunch

from ..utils._lazy import LazyVideos

__all__ = ["load_features", "FeatureVideos", "video_name", "resolve_list_entry"]

_CROP_SUFFIX = re.compile(r"__(\d+)$")
_EXTRACTOR_SUFFIX = re.compile(r"_(i3d|c3d|clip|x3d)$", re.IGNORECASE)
CROPS = ("mean", "stack", "first")
LAYOUTS = ("auto", "rtfm", "per_crop")


def video_name(path):
    """The video a feature file belongs to: the file name without ``.npy``,
    the per-crop suffix ``__k`` and an extractor suffix (``_i3d``, ...).

    Examples
    --------
    >>> from sklearn_wsvad.datasets import video_name
    >>> video_name(r"G:\\UCF_Train_ten_crop_i3d\\Abuse001_x264_i3d.npy")
    'Abuse001_x264'
    >>> video_name("dataset/Abuse/Abuse028_x264__3.npy")
    'Abuse028_x264'
    """
    stem = _CROP_SUFFIX.sub("", _stem(path))
    return _EXTRACTOR_SUFFIX.sub("", stem)


def _stem(path):
    """File name of a Windows or POSIX path, without ``.npy``."""
    name = _parts(path)[-1]
    return name[:-4] if name.lower().endswith(".npy") else name


def _crop_index(path):
    m = _CROP_SUFFIX.search(_stem(path))
    return None if m is None else int(m.group(1))


def _parts(path):
    """Components of a Windows or POSIX path, without a drive or root."""
    text = str(path)
    pure = PureWindowsPath(text) if "\\" in text or re.match(r"^[A-Za-z]:", text) \
        else PurePosixPath(text)
    return [p for p in pure.parts if p not in (pure.anchor, "/", "\\")]


def resolve_list_entry(entry, root, index=None):
    """Find the file a list entry names, re-rooted under ``root``.

    The released lists hold absolute paths of their authors' machines
    (``G:\\UCF_Train_ten_crop_i3d\\x.npy``, ``/home/.../x.npy``) or paths
    relative to another folder (``dataset/Abuse/x.npy``). The entry's
    trailing components are tried under ``root``, longest first
    (``root/UCF_Train_ten_crop_i3d/x.npy``, then ``root/x.npy``); failing
    that, a file of that name anywhere below ``root`` (the one sharing the
    longest trailing path with the entry).

    Parameters
    ----------
    entry : str
    root : path
    index : dict, default=None
        File name -> paths below ``root``, built on first need and reused
        across calls when the caller passes the same dict.

    Returns
    -------
    path : Path or None
        None when nothing matches.
    """
    parts = _parts(entry)
    root = Path(root)
    for k in range(len(parts)):
        candidate = root.joinpath(*parts[k:])
        if candidate.is_file():
            return candidate
    if index is None:
        index = {}
    if not index:
        for path in root.rglob("*.npy"):
            index.setdefault(path.name, []).append(path)
        index.setdefault(None, [])  # marks the index as built
    found = index.get(parts[-1], [])
    if len(found) <= 1:
        return found[0] if found else None

    def shared(path):
        n = 0
        for a, b in zip(reversed(path.parts), reversed(parts)):
            if a != b:
                break
            n += 1
        return n

    return max(found, key=shared)


def _read_header(path):
    """Shape and dtype of a ``.npy`` file without reading its data."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(f)
            else:
                shape, _, dtype = fmt.read_array_header_2_0(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Feature file {path} is not a readable .npy file ({exc}).") from None
    return shape, dtype


class FeatureVideos(LazyVideos):
    """Videos read from ``.npy`` feature files when accessed.

    Item ``i`` is built from ``files[i]`` (one file in the RTFM layout, one
    file per crop in the per-crop layout) on every access and not kept.

    Parameters
    ----------
    files : list of tuple of Path
        Per video, its file (RTFM layout) or its crop files in crop order.
    layout : {"rtfm", "per_crop"}
    crops : {"mean", "stack", "first"}
    mmap : bool
        Memory-map the files (``np.load(mmap_mode="r")``) instead of reading
        them.
    """

    def __init__(self, files, *, layout, crops, mmap=True):
        self.files = files
        self.layout = layout
        self.crops = crops
        self.mmap = mmap

    def __len__(self):
        return len(self.files)

    def _load(self, path):
        return np.load(path, mmap_mode="r" if self.mmap else None)

    def _get(self, i):
        files = self.files[i]
        if self.layout == "per_crop":
            if self.crops == "first":
                return self._load(files[0])
            arrays = [self._load(f) for f in files]
            if self.crops == "stack":
                return np.stack(arrays, axis=1)
            total = np.zeros(arrays[0].shape, dtype=np.float64)
            for a in arrays:
                total += a
            return (total / len(arrays)).astype(arrays[0].dtype)
        a = self._load(files[0])
        if a.ndim == 2:  # a single-crop file
            return a[:, None, :] if self.crops == "stack" else a
        if self.crops == "first":
            return a[:, 0]
        if self.crops == "stack":
            return a
        return a.mean(axis=1, dtype=np.float64).astype(a.dtype)


def _list_entries(source):
    text = Path(source).read_text()
    return [line.strip() for line in text.splitlines() if line.strip()]


def _group_per_crop(paths, entries):
    """Group per-crop files by video, in first-appearance order."""
    groups, order = {}, []
    for path, entry in zip(paths, entries):
        name = video_name(entry)
        if name not in groups:
            groups[name] = []
            order.append(name)
        groups[name].append((_crop_index(entry), path, entry))
    files = []
    for name in order:
        crops = sorted(groups[name], key=lambda c: c[0])
        files.append(tuple(p for _, p, _ in crops))
    return order, files


def _check_files(files, layout, source):
    """Headers of every file: dimensions, dtype and crops must agree."""
    reference = None
    n_crops = None
    n_clips = []
    for video in files:
        shapes = []
        for path in video:
            shape, dtype = _read_header(path)
            if dtype.kind != "f":
                raise ValueError(
                    f"Feature file {path} holds {dtype}; expected float features "
                    "(float32 or float64)."
                )
            expected = (2,) if layout == "per_crop" else (2, 3)
            if len(shape) not in expected or 0 in shape:
                what = ("(n_clips, n_features)" if layout == "per_crop"
                        else "(n_clips, n_crops, n_features) or (n_clips, n_features)")
                raise ValueError(
                    f"Feature file {path} has shape {shape}; the {layout} layout "
                    f"expects a non-empty {what} array per file. Check layout=."
                )
            if reference is None:
                reference = (path, shape[-1])
            elif shape[-1] != reference[1]:
                raise ValueError(
                    f"Feature file {path} has {shape[-1]} features but {reference[0]} "
                    f"has {reference[1]}; all files of {source} must come from the "
                    "same extractor."
                )
            shapes.append(shape)
        if layout == "per_crop" and len({s[0] for s in shapes}) > 1:
            raise ValueError(
                f"The crop files of video {video_name(video[0])} have different numbers "
                f"of clips {[s[0] for s in shapes]} ({', '.join(map(str, video))})."
            )
        n_clips.append(shapes[0][0])
        crops = len(video) if layout == "per_crop" else (shapes[0][1] if len(shapes[0]) == 3
                                                          else 1)
        if n_crops is None:
            n_crops = crops
        elif crops != n_crops:
            raise ValueError(
                f"Video {video_name(video[0])} ({video[0]}) has {crops} crops but the "
                f"first video has {n_crops}; every video needs the same crops."
            )
    return n_crops, reference[1], np.asarray(n_clips, dtype=np.int64)


def _apply_label_rule(labels, names, source):
    if labels is None:
        return None
    if callable(labels):
        target = np.array([labels(n) for n in names])
    elif isinstance(labels, str):
        if labels == "ucf-crime":
            target = np.array([0 if "normal" in n.lower() else 1 for n in names])
        elif labels == "xd-violence":
            target = np.array([0 if "_label_A" in n else 1 for n in names])
        else:
            raise ValueError(
                f"Unknown label rule {labels!r}; use 'ucf-crime', 'xd-violence', an "
                "array of 0/1 labels in list order, or a callable name -> label."
            )
    else:
        target = np.asarray(labels)
        if target.shape != (len(names),):
            raise ValueError(
                f"labels has shape {target.shape} but {source} lists {len(names)} videos; "
                "give one 0/1 label per video, in list order."
            )
    values = np.unique(target)
    if not np.isin(values, [0, 1]).all():
        raise ValueError(f"Labels must be 0 or 1; found values {values.tolist()}.")
    if values.size < 2:
        rule = labels if isinstance(labels, str) else "the given labels"
        raise ValueError(
            f"Label rule {rule} gives every video of {source} the label {int(values[0])}; "
            "a weakly supervised set needs normal and abnormal videos. Check the list "
            "file and the rule (e.g. RTFM train lists carry no labels: pass labels=)."
        )
    return target.astype(np.int64)


def load_features(source, *, root=None, layout="auto", crops="mean", labels=None,
                  mmap=True):
    """Load a released clip-feature set: a list file or a folder of ``.npy`` files.

    Two layouts are read:

    * ``"rtfm"`` (RTFM, MGFN, ...): one file per video, ``(n_clips, n_crops,
      n_features)`` (10-crop I3D) or ``(n_clips, n_features)``;
    * ``"per_crop"`` (UR-DMU, BN-WVAD, XD-Violence): one ``(n_clips,
      n_features)`` file per crop, named ``<video>__<k>.npy``.

    Nothing is read at load time but the files' headers (shapes and dtypes
    are checked then); ``videos`` is a lazy sequence that opens a video's
    file(s) when it is accessed and lets them go after, memory-mapped by
    default, so a feature set larger than memory goes through a pipeline's
    ``transform`` one video at a time. It can be indexed, split by
    ``train_test_split`` and cross-validated like a list.

    Parameters
    ----------
    source : path
        A list file (one feature path per line, as released) or a folder
        (every ``*.npy`` below it, in sorted order).
    root : path, default=None
        Folder holding the feature files. List entries (absolute Windows or
        POSIX paths of their authors' machines, or relative paths) are
        re-rooted under it, longest matching trailing path first. Default: the
        list file's folder.
    layout : {"auto", "rtfm", "per_crop"}, default="auto"
        ``"auto"`` picks ``"per_crop"`` when file names end in ``__<k>``.
    crops : {"mean", "stack", "first"}, default="mean"
        ``"mean"``: average the crops, giving ``(n_clips, n_features)``
        videos (read into memory, a crop's worth per video). ``"first"``: the
        first (centre) crop, still memory-mapped in the RTFM layout.
        ``"stack"``: ``(n_clips, n_crops, n_features)`` videos, for
        :class:`~sklearn_wsvad.models.RTFMDetector`, which trains on each
        crop as a separate bag and averages scores over crops.
    labels : {"ucf-crime", "xd-violence"}, array-like, callable or None, default=None
        Video labels: a benchmark's naming rule (UCF-Crime: "Normal" in the
        name is normal; XD-Violence: ``_label_A`` is normal), one 0/1 label per
        video in list order (e.g. the RTFM train lists, whose first videos are
        the abnormal ones), or ``label = labels(name)``. None: no ``target``.
    mmap : bool, default=True
        Memory-map the files; False reads each video when accessed.

    Returns
    -------
    data : Bunch
        ``videos`` (:class:`FeatureVideos`), ``target`` (or None), ``names``
        (video names in list order), ``files`` (per video, its file paths),
        ``n_clips`` (per video, from the file headers), ``n_crops``,
        ``n_features`` and ``layout``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn_wsvad.datasets import load_features
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("Abuse001_x264", "Normal_Videos003_x264"):
    ...     np.save(folder / f"{name}_i3d.npy", np.ones((5, 10, 8), dtype=np.float32))
    >>> data = load_features(folder, labels="ucf-crime")
    >>> data.names, data.target.tolist(), data.videos[0].shape
    (['Abuse001_x264', 'Normal_Videos003_x264'], [1, 0], (5, 8))
    """
    if crops not in CROPS:
        raise ValueError(f"crops={crops!r} is not one of {CROPS}.")
    if layout not in LAYOUTS:
        raise ValueError(f"layout={layout!r} is not one of {LAYOUTS}.")
    source = Path(source)
    if source.is_dir():
        paths = sorted(source.rglob("*.npy"))
        if not paths:
            raise ValueError(f"No .npy feature files in the folder {source}.")
        entries = [str(p) for p in paths]
    elif source.is_file():
        entries = _list_entries(source)
        if not entries:
            raise ValueError(f"The list file {source} names no feature files.")
        root = source.parent if root is None else Path(root)
        if not root.is_dir():
            raise ValueError(f"root={str(root)!r} is not a folder; pass the folder that "
                             "holds the feature files.")
        paths, index = [], {}
        for line, entry in enumerate(entries, start=1):
            path = resolve_list_entry(entry, root, index)
            if path is None:
                raise ValueError(
                    f"Line {line} of {source}, {entry!r}, matches no file under {root} "
                    f"(no {_parts(entry)[-1]} below it). Pass root= the folder holding "
                    "the feature files, or check that the file exists."
                )
            paths.append(path)
    else:
        raise ValueError(
            f"{source} is neither a list file nor a folder of .npy feature files."
        )
    if layout == "auto":
        layout = "per_crop" if _crop_index(entries[0]) is not None else "rtfm"
    if layout == "per_crop":
        names, files = _group_per_crop(paths, entries)
    else:
        names = [video_name(e) for e in entries]
        files = [(p,) for p in paths]
    n_crops, n_features, n_clips = _check_files(files, layout, source)
    target = _apply_label_rule(labels, names, source)
    return Bunch(
        videos=FeatureVideos(files, layout=layout, crops=crops, mmap=mmap),
        target=target,
        names=names,
        files=files,
        n_clips=n_clips,
        n_crops=n_crops,
        n_features=n_features,
        layout=layout,
    )
