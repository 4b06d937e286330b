"""Frame-level metrics, fine-grained detection metrics, scorers and clip-to-frame
score expansion (numpy and scikit-learn only)."""

from ._detection import class_segment_proposals, detection_map, segment_average_precision
from ._frame import (
    class_frame_roc_auc_score,
    equal_error_rate,
    expand_clip_scores,
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
)
from ._scorer import (
    ClassFrameScorer,
    DetectionScorer,
    FrameScorer,
    make_class_frame_scorer,
    make_detection_scorer,
    make_frame_scorer,
    predict_proba_clips,
    score_clips,
)
from ._topk import top_k_precision_score

__all__ = [
    "expand_clip_scores",
    "frame_roc_auc_score",
    "frame_average_precision_score",
    "frame_equal_error_rate",
    "equal_error_rate",
    "make_frame_scorer",
    "FrameScorer",
    "score_clips",
    "top_k_precision_score",
    "segment_average_precision",
    "detection_map",
    "class_segment_proposals",
    "make_detection_scorer",
    "DetectionScorer",
    "predict_proba_clips",
    "class_frame_roc_auc_score",
    "make_class_frame_scorer",
    "ClassFrameScorer",
]
