"""Validation and array helpers shared by every part of the library."""

from ._lazy import LazyVideos, MappedVideos, VideoSubset, map_videos
from ._padding import pad_videos
from .validation import (
    check_both_classes,
    check_frame_labels,
    check_video_classes,
    check_video_labels,
    check_videos,
)

__all__ = [
    "check_videos",
    "check_video_labels",
    "check_frame_labels",
    "check_both_classes",
    "check_video_classes",
    "pad_videos",
    "LazyVideos",
    "VideoSubset",
    "MappedVideos",
    "map_videos",
]
