"""sklearn_wsvad: weakly supervised video anomaly detection for scikit-learn.

The top level re-exports the numpy/scikit-learn parts; it does not import
torch. Models live in :mod:`sklearn_wsvad.models`.
"""

from .metrics import (
    class_frame_roc_auc_score,
    detection_map,
    equal_error_rate,
    expand_clip_scores,
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
    make_class_frame_scorer,
    make_detection_scorer,
    make_frame_scorer,
    score_clips,
    segment_average_precision,
    top_k_precision_score,
)
from .refine import (
    ClipNormalizer,
    ClipStandardScaler,
    FeatureNormClusterUndersampler,
    SnippetReformer,
)

__version__ = "0.1.0"

__all__ = [
    "FeatureNormClusterUndersampler",
    "SnippetReformer",
    "ClipStandardScaler",
    "ClipNormalizer",
    "score_clips",
    "expand_clip_scores",
    "frame_roc_auc_score",
    "frame_average_precision_score",
    "frame_equal_error_rate",
    "equal_error_rate",
    "make_frame_scorer",
    "top_k_precision_score",
    "detection_map",
    "make_detection_scorer",
    "segment_average_precision",
    "class_frame_roc_auc_score",
    "make_class_frame_scorer",
]
