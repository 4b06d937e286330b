"""The ``wsvad`` command line."""

from ._reproduce import MODELS, configurations, reproduce

__all__ = ["reproduce", "configurations", "MODELS"]
