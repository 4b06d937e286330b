"""Data sets: the synthetic generator (embedded default)."""

from ._synthetic import make_wsvad_videos

__all__ = ["make_wsvad_videos"]
