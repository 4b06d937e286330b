"""Fine-grained classes of the benchmark videos, from their file names."""

import re

import numpy as np

__all__ = [
    "UCF_CRIME_CLASSES",
    "XD_VIOLENCE_CLASSES",
    "XD_VIOLENCE_CLASS_NAMES",
    "video_class_indicators",
]

#: UCF-Crime's classes in the row order of the released CLIP prompt
#: embeddings (PEL4VAD's ``ucf-prompt.npy``): normal first, then the 13
#: anomaly classes alphabetically, as named in the video files.
UCF_CRIME_CLASSES = (
    "Normal", "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
)

#: XD-Violence's label codes in the row order of the released CLIP prompt
#: embeddings (PEL4VAD's ``xd-prompt.npy``: the class names alphabetically
#: after the normal class ``A``, so not in code order).
XD_VIOLENCE_CLASSES = ("A", "B5", "B6", "G", "B1", "B4", "B2")

#: What XD-Violence's label codes stand for.
XD_VIOLENCE_CLASS_NAMES = {
    "A": "Normal", "B1": "Fighting", "B2": "Shooting", "B4": "Riot", "B5": "Abuse",
    "B6": "Car accident", "G": "Explosion",
}

_UCF_NAME = re.compile(r"^([A-Za-z]+?)\d+_")
_XD_LABEL = re.compile(r"_label_([A-Za-z0-9-]+)$")


def _ucf_classes(name):
    if "Normal" in name:
        return ["Normal"]
    match = _UCF_NAME.match(name)
    if match is None or match.group(1) not in UCF_CRIME_CLASSES:
        raise ValueError(
            f"Cannot read a UCF-Crime class from the video name {name!r}: expected a "
            f"name such as 'Abuse028_x264' whose prefix is one of {UCF_CRIME_CLASSES[1:]}, "
            "or a normal video's name containing 'Normal'."
        )
    return [match.group(1)]


def _xd_classes(name):
    match = _XD_LABEL.search(name)
    codes = [c for c in match.group(1).split("-") if c != "0"] if match else []
    if not codes or any(c not in XD_VIOLENCE_CLASSES for c in codes):
        raise ValueError(
            f"Cannot read XD-Violence classes from the video name {name!r}: expected it to "
            f"end in '_label_' and '-'-separated codes of {XD_VIOLENCE_CLASSES} (e.g. "
            "'..._label_B2-G-0'; '0' pads the list)."
        )
    if "A" in codes and len(codes) > 1:
        raise ValueError(f"Video {name!r} is labelled both normal (A) and abnormal.")
    return codes


def video_class_indicators(names, dataset):
    """The fine-grained classes of benchmark videos, read from their names.

    Parameters
    ----------
    names : sequence of str
        Video names as :func:`~sklearn_wsvad.datasets.video_name` gives them
        (the loaders' ``names``).
    dataset : {"ucf-crime", "xd-violence"}
        UCF-Crime: the class is the name's prefix (``Abuse028_x264`` is
        Abuse), a name containing ``Normal`` is normal; one class per video.
        XD-Violence: the codes after ``_label_`` (``B2-G-0`` is Shooting and
        Explosion; ``0`` pads), ``A`` is normal; one or several classes.

    Returns
    -------
    indicators : ndarray of shape (n_videos, n_classes), dtype int8
        1 where a video belongs to a class; columns in the order of
        :data:`UCF_CRIME_CLASSES` / :data:`XD_VIOLENCE_CLASSES` (the rows of
        the released prompt embeddings), column 0 the normal class.

    Examples
    --------
    >>> from sklearn_wsvad.datasets import video_class_indicators
    >>> video_class_indicators(["v__#1_label_B2-G-0", "w__#2_label_A"], "xd-violence")
    array([[0, 0, 0, 1, 0, 0, 1],
           [1, 0, 0, 0, 0, 0, 0]], dtype=int8)
    """
    if dataset == "ucf-crime":
        classes, read = UCF_CRIME_CLASSES, _ucf_classes
    elif dataset == "xd-violence":
        classes, read = XD_VIOLENCE_CLASSES, _xd_classes
    else:
        raise ValueError(f"dataset must be 'ucf-crime' or 'xd-violence'; got {dataset!r}.")
    column = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(names), len(classes)), dtype=np.int8)
    for i, name in enumerate(names):
        out[i, [column[c] for c in read(str(name))]] = 1
    return out
