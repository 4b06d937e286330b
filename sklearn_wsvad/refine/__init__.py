"""Training-data refinement: under-sampling by feature-norm clusters, snippet
reformation, and per-clip scaling of ragged videos."""

from ._base import BaseVideoTransformer
from ._reformer import SnippetReformer, snippet_bounds
from ._scalers import ClipNormalizer, ClipStandardScaler
from ._undersampler import (
    FeatureNormClusterUndersampler,
    clip_norms,
    majority_minority_counts,
)

__all__ = [
    "BaseVideoTransformer",
    "FeatureNormClusterUndersampler",
    "SnippetReformer",
    "ClipStandardScaler",
    "ClipNormalizer",
    "clip_norms",
    "majority_minority_counts",
    "snippet_bounds",
]
