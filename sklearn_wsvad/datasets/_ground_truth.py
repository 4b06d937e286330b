"""Frame-level ground truth of UCF-Crime, ShanghaiTech and XD-Violence."""

from pathlib import Path

import numpy as np

from ._features import video_name

__all__ = [
    "ucf_crime_frame_labels",
    "shanghaitech_frame_labels",
    "xd_violence_frame_labels",
    "fit_to_clips",
]


def fit_to_clips(labels, n_clips, frames_per_clip=16):
    """Cut or pad one video's frame labels to ``frames_per_clip * n_clips``.

    The benchmark protocol scores ``frames_per_clip`` frames per clip, so the
    published evaluations compare ``np.repeat(scores, 16)`` with the labels
    of the first ``16 * n_clips`` frames: trailing frames that no clip covers
    are dropped. When the clips cover more frames than the video has (the
    extractor padded the last clip by repeating the last frame), the last
    label is repeated.

    Examples
    --------
    >>> from sklearn_wsvad.datasets import fit_to_clips
    >>> fit_to_clips([0, 0, 1, 1, 1], n_clips=2, frames_per_clip=2).tolist()
    [0, 0, 1, 1]
    >>> fit_to_clips([0, 1, 1], n_clips=2, frames_per_clip=2).tolist()
    [0, 1, 1, 1]
    """
    labels = np.asarray(labels)
    n = int(n_clips) * int(frames_per_clip)
    if labels.size >= n:
        return labels[:n].copy()
    return np.pad(labels, (0, n - labels.size), mode="edge")


def _per_video_clips(n_clips, n_videos):
    if n_clips is None:
        return [None] * n_videos
    n_clips = list(n_clips)
    if len(n_clips) != n_videos:
        raise ValueError(f"n_clips has {len(n_clips)} entries for {n_videos} videos.")
    return n_clips


def _intervals_to_labels(n_frames, intervals):
    """0/1 labels of ``n_frames`` frames, 1 on each inclusive [start, end]."""
    labels = np.zeros(int(n_frames), dtype=np.int64)
    for start, end in intervals:
        if start < 0 or end < 0:
            continue
        labels[int(start): int(end) + 1] = 1
    return labels


def _read_ucf_annotation(path):
    """name -> (n_frames or None, intervals) from either UCF-Crime annotation file."""
    table = {}
    for line_no, line in enumerate(Path(path).read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) == 7:  # Class/video.mp4 n_frames Class s1 e1 s2 e2
            n_frames, values = int(fields[1]), fields[3:]
        elif len(fields) == 6:  # video.mp4 Class s1 e1 s2 e2
            n_frames, values = None, fields[2:]
        else:
            raise ValueError(
                f"Line {line_no} of {path} has {len(fields)} fields; expected the "
                "UCF-Crime annotation format 'video.mp4 Class s1 e1 s2 e2' (6) or "
                "'Class/video.mp4 n_frames Class s1 e1 s2 e2' (7)."
            )
        s1, e1, s2, e2 = (int(v) for v in values)
        table[video_name(fields[0].replace(".mp4", ""))] = (n_frames, [(s1, e1), (s2, e2)])
    return table


def _lookup(table, names, path, what):
    missing = [n for n in names if n not in table]
    if missing:
        raise ValueError(
            f"{len(missing)} video(s) have no entry in {path}, e.g. {missing[:3]}; "
            f"{what}"
        )


def ucf_crime_frame_labels(names, annotation_file, *, n_clips=None, frames_per_clip=16):
    """Frame labels of UCF-Crime test videos.

    Parameters
    ----------
    names : sequence of str
        Video names (e.g. ``load_features(...).names``).
    annotation_file : path
        ``Test_Annotation_with_frame_counts.txt`` (gives every video's frame
        count) or the official ``Temporal_Anomaly_Annotation_for_Testing_Videos.txt``
        (no frame counts: ``n_clips`` is then required). Event frames are
        inclusive; ``-1`` means no event.
    n_clips : sequence of int, default=None
        Clips of each video's features. When given, labels follow the
        benchmark protocol (:func:`fit_to_clips`); otherwise each video gets
        its annotated frame count.
    frames_per_clip : int, default=16

    Returns
    -------
    frame_labels : list of ndarray of {0, 1}, one per video, in ``names`` order
    """
    table = _read_ucf_annotation(annotation_file)
    _lookup(table, names, annotation_file,
            "pass the names of UCF-Crime test videos (e.g. 'Abuse028_x264').")
    out = []
    for name, clips in zip(names, _per_video_clips(n_clips, len(names))):
        n_frames, intervals = table[name]
        if n_frames is None:
            if clips is None:
                raise ValueError(
                    f"{annotation_file} has no frame counts; pass n_clips (the clips "
                    "of each video's features) or use Test_Annotation_with_frame_counts.txt."
                )
            n_frames = clips * frames_per_clip
        labels = _intervals_to_labels(n_frames, intervals)
        out.append(labels if clips is None else fit_to_clips(labels, clips, frames_per_clip))
    return out


def shanghaitech_frame_labels(names, mask_dir, *, n_clips=None, frames_per_clip=16):
    """Frame labels of ShanghaiTech videos from the released ``test_frame_mask``.

    A video with a mask file ``<name>.npy`` gets it (one 0/1 value per
    frame); a video without one is normal, all zeros over
    ``frames_per_clip * n_clips`` frames (its frame count is not released).

    Parameters
    ----------
    names : sequence of str
    mask_dir : path
        The ``test_frame_mask`` folder.
    n_clips : sequence of int, default=None
        Clips of each video's features: required when a video has no mask;
        when given, every video follows the benchmark protocol
        (:func:`fit_to_clips`).
    frames_per_clip : int, default=16

    Returns
    -------
    frame_labels : list of ndarray of {0, 1}
    """
    mask_dir = Path(mask_dir)
    if not mask_dir.is_dir():
        raise ValueError(f"mask_dir {mask_dir} is not a folder; pass the released "
                         "test_frame_mask folder.")
    out = []
    for name, clips in zip(names, _per_video_clips(n_clips, len(names))):
        path = mask_dir / f"{name}.npy"
        if path.is_file():
            labels = (np.load(path) > 0).astype(np.int64)
            out.append(labels if clips is None else fit_to_clips(labels, clips, frames_per_clip))
        elif clips is None:
            raise ValueError(
                f"Video {name} has no mask in {mask_dir}, so it is normal, but its "
                "frame count is unknown; pass n_clips (the clips of each video's features)."
            )
        else:
            out.append(np.zeros(clips * frames_per_clip, dtype=np.int64))
    return out


def xd_violence_frame_labels(names, annotation_file, n_clips, *, frames_per_clip=16):
    """Frame labels of XD-Violence test videos from ``XD_Annotation.txt``.

    Each line is ``name start1 end1 [start2 end2 ...]`` (inclusive frame
    intervals); videos without a line are normal. XD-Violence releases no
    frame counts, so every video spans ``frames_per_clip * n_clips`` frames
    (the benchmark protocol).

    Parameters
    ----------
    names : sequence of str
    annotation_file : path
    n_clips : sequence of int
    frames_per_clip : int, default=16

    Returns
    -------
    frame_labels : list of ndarray of {0, 1}
    """
    table = {}
    for line_no, line in enumerate(Path(annotation_file).read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        values = fields[1:]
        if len(values) % 2:
            raise ValueError(
                f"Line {line_no} of {annotation_file} has an odd number of frame values; "
                "expected 'name start1 end1 [start2 end2 ...]'."
            )
        table[video_name(fields[0])] = [
            (int(values[k]), int(values[k + 1])) for k in range(0, len(values), 2)]
    out = []
    for name, clips in zip(names, _per_video_clips(n_clips, len(names))):
        n_frames = clips * frames_per_clip
        out.append(fit_to_clips(_intervals_to_labels(n_frames, table.get(name, [])),
                                clips, frames_per_clip))
    return out
