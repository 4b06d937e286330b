"""Video MIL models (skorch). The only part of the library that imports torch."""

from ._base import BaseVideoMILNet
from ._data import BalancedBatchSampler, BalancedVideoLoader, VideoDataset, pad_collate
from ._magnitude import MagnitudeMILDetector, MagnitudeMILLoss, MagnitudeMILModule

__all__ = [
    "BaseVideoMILNet",
    "MagnitudeMILDetector",
    "MagnitudeMILModule",
    "MagnitudeMILLoss",
    "VideoDataset",
    "pad_collate",
    "BalancedBatchSampler",
    "BalancedVideoLoader",
]
