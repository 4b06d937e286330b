"""Video MIL models (skorch). The only part of the library that imports torch."""

from ._base import BaseVideoMILNet
from ._bnwvad import (
    BNWVADDetector,
    BNWVADLoss,
    BNWVADModule,
    divergence_from_mean,
    sample_batch_selection,
)
from ._cliptsa import CLIPTSADetector, CLIPTSAModule, perturbed_topk_membership
from ._crossbatch import (
    CrossBatchClusteringDetector,
    CrossBatchClusteringLoss,
    CrossBatchGCNModule,
    GraphConvolution,
    batch_kmeans,
    orient_pseudo_labels,
    video_adjacency,
)
from ._data import BalancedBatchSampler, BalancedVideoLoader, VideoDataset, pad_collate
from ._dsanet import (
    DSANetDetector,
    DSANetLoss,
    DSANetModule,
    NormalityModel,
    decoupled_components,
    fused_class_probabilities,
)
from ._magnitude import MagnitudeMILDetector, MagnitudeMILLoss, MagnitudeMILModule
from ._ngmil import NGMILDetector, NGMILLoss, NGMILModule, prototype_similarity
from ._ranking import MILRankingDetector, MILRankingLoss, MILRankingModule
from ._rtfm import (
    MaskedBatchNorm1d,
    MultiScaleTemporalNetwork,
    NonLocalBlock1d,
    RTFMDetector,
    RTFMLoss,
    RTFMModule,
    official_regularizer,
)
from ._vadclip import VadCLIPDetector, VadCLIPLoss, VadCLIPModule, mil_top_k

__all__ = [
    "BaseVideoMILNet",
    "MagnitudeMILDetector",
    "MagnitudeMILModule",
    "MagnitudeMILLoss",
    "MILRankingDetector",
    "MILRankingModule",
    "MILRankingLoss",
    "RTFMDetector",
    "CLIPTSADetector",
    "VadCLIPDetector",
    "VadCLIPModule",
    "VadCLIPLoss",
    "mil_top_k",
    "DSANetDetector",
    "DSANetModule",
    "DSANetLoss",
    "NormalityModel",
    "decoupled_components",
    "fused_class_probabilities",
    "CLIPTSAModule",
    "perturbed_topk_membership",
    "NGMILDetector",
    "BNWVADDetector",
    "BNWVADModule",
    "BNWVADLoss",
    "divergence_from_mean",
    "sample_batch_selection",
    "CrossBatchClusteringDetector",
    "CrossBatchGCNModule",
    "CrossBatchClusteringLoss",
    "GraphConvolution",
    "video_adjacency",
    "batch_kmeans",
    "orient_pseudo_labels",
    "NGMILModule",
    "NGMILLoss",
    "prototype_similarity",
    "RTFMModule",
    "RTFMLoss",
    "official_regularizer",
    "MultiScaleTemporalNetwork",
    "NonLocalBlock1d",
    "MaskedBatchNorm1d",
    "VideoDataset",
    "pad_collate",
    "BalancedBatchSampler",
    "BalancedVideoLoader",
]
