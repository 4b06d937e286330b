"""Data sets: the synthetic generator (embedded default) and loaders for the
released feature sets of UCF-Crime, ShanghaiTech and XD-Violence."""

from ._benchmarks import load_shanghaitech, load_ucf_crime, load_xd_violence
from ._classes import (
    UCF_CRIME_CLASSES,
    XD_VIOLENCE_CLASS_NAMES,
    XD_VIOLENCE_CLASSES,
    video_class_indicators,
)
from ._clip import make_wsvad_clip_videos
from ._features import FeatureVideos, load_features, resolve_list_entry, video_name
from ._ground_truth import (
    fit_to_clips,
    shanghaitech_frame_labels,
    ucf_crime_frame_labels,
    xd_violence_frame_labels,
)
from ._regimes import REGIMES, make_wsvad_regime
from ._synthetic import make_wsvad_videos

__all__ = [
    "make_wsvad_videos",
    "make_wsvad_regime",
    "make_wsvad_clip_videos",
    "REGIMES",
    "load_features",
    "FeatureVideos",
    "video_name",
    "resolve_list_entry",
    "ucf_crime_frame_labels",
    "shanghaitech_frame_labels",
    "xd_violence_frame_labels",
    "fit_to_clips",
    "load_ucf_crime",
    "load_shanghaitech",
    "load_xd_violence",
    "video_class_indicators",
    "UCF_CRIME_CLASSES",
    "XD_VIOLENCE_CLASSES",
    "XD_VIOLENCE_CLASS_NAMES",
]
