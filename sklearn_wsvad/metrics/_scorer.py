"""Clip scores of a fitted estimator or Pipeline, and frame-level scorers."""

import functools

import numpy as np
from sklearn.utils.metadata_routing import MetadataRequest

from ..utils._runtime import called_by_sklearn_score
from ._detection import IOU_THRESHOLDS, detection_map
from ._frame import (
    class_frame_roc_auc_score,
    frame_average_precision_score,
    frame_equal_error_rate,
    frame_roc_auc_score,
)

__all__ = [
    "score_clips",
    "predict_proba_clips",
    "make_frame_scorer",
    "FrameScorer",
    "make_detection_scorer",
    "DetectionScorer",
    "make_class_frame_scorer",
    "ClassFrameScorer",
]


def score_clips(estimator, X):
    """One score per input clip of every video, through a whole Pipeline.

    For a :class:`~sklearn.pipeline.Pipeline` ending in a model, the videos
    are transformed by the earlier steps as in ``predict``; the model scores
    the rows it receives; and each input clip takes the score of the row it
    landed in (each step's ``transform_index``). Steps without
    ``transform_index`` must keep one row per clip.

    Parameters
    ----------
    estimator : fitted model, Pipeline or search
        A model with a ``score_clips`` method, a Pipeline ending in one, or a
        fitted ``GridSearchCV``-like object with ``best_estimator_``.
    X : sequence of ndarray of shape (n_clips_i, n_features)

    Returns
    -------
    clip_scores : list of ndarray of shape (n_clips_i,)

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_wsvad import SnippetReformer, score_clips
    >>> from sklearn_wsvad.datasets import make_wsvad_videos
    >>> from sklearn_wsvad.models import MagnitudeMILDetector
    >>> data = make_wsvad_videos(n_videos=20, n_features=16, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(inference="snippets"),
    ...                      MagnitudeMILDetector(max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> scores = score_clips(pipe, data.videos)
    >>> [s.shape == (len(v),) for s, v in zip(scores, data.videos)] == [True] * 20
    True
    """
    return _per_clip(estimator, X, "score_clips")


def predict_proba_clips(estimator, X):
    """Per-clip class probabilities of every video, through a whole Pipeline.

    As :func:`score_clips`, for models with a ``predict_proba_clips`` method
    (the vision-language models: one column per class, the normal class
    first): each input clip takes the probabilities of the row it landed in.

    Parameters
    ----------
    estimator : fitted model, Pipeline or search
    X : sequence of ndarray of shape (n_clips_i, n_features)

    Returns
    -------
    probabilities : list of ndarray of shape (n_clips_i, n_classes)
    """
    return _per_clip(estimator, X, "predict_proba_clips")


def _per_clip(estimator, X, method):
    """``method`` of the final model, mapped back to the input clips."""
    if hasattr(estimator, "best_estimator_"):
        estimator = estimator.best_estimator_
    if hasattr(estimator, "steps"):
        Xt = X
        index = None
        for name, step in estimator.steps[:-1]:
            if step is None or step == "passthrough":
                continue
            if hasattr(step, "transform_index"):
                step_index = step.transform_index(Xt)
                index = step_index if index is None else [
                    s[i] for s, i in zip(step_index, index)
                ]
                Xt = step.transform(Xt)
                continue
            lengths = [len(v) for v in Xt]
            Xt = step.transform(Xt)
            if [len(v) for v in Xt] != lengths:
                raise TypeError(
                    f"Pipeline step {name!r} ({type(step).__name__}) changes the number "
                    "of rows of a video at transform and has no transform_index method, "
                    "so its output rows cannot be mapped back to clips."
                )
        final = estimator.steps[-1][1]
        rows = _per_clip(final, Xt, method)
        return rows if index is None else [r[i] for r, i in zip(rows, index)]
    if hasattr(estimator, method):
        return getattr(estimator, method)(X)
    raise TypeError(
        f"{type(estimator).__name__} has no {method} method: expected a model of "
        f"sklearn_wsvad.models with one, or a Pipeline ending in one."
    )


_METRICS = {
    "roc_auc": (frame_roc_auc_score, 1),
    "average_precision": (frame_average_precision_score, 1),
    "average_precision_trapezoid": (
        functools.partial(frame_average_precision_score, method="trapezoid"), 1
    ),
    "eer": (frame_equal_error_rate, -1),
}


class _MissingMetadata:
    """What a scorer returns, in place of a score, when its metadata is missing
    inside scikit-learn's cross-validation (see :func:`_missing_metadata`)."""

    def __init__(self, message):
        self.message = message

    def __str__(self):
        return self.message

    __repr__ = __str__

    def __float__(self):
        raise ValueError(self.message)


def _missing_metadata(message):
    """Refuse to score without the routed ground truth.

    Called directly, the scorer raises ``ValueError(message)``. Called by
    scikit-learn's cross-validation (``_score`` of a search,
    ``cross_validate``, ...; directly or through its multi-metric scorer), a
    raised error would become a nan score and a warning (``error_score``),
    and a search would pick a "best" candidate from nans; the scorer
    therefore returns a non-number there, which scikit-learn refuses at once
    with a ``ValueError`` ("scoring must return a number, got <message>").
    A scorer wrapped in a user's function raises, as when called directly.
    """
    if called_by_sklearn_score(1):
        return _MissingMetadata(message)
    raise ValueError(message)


class FrameScorer:
    """Scorer ``scorer(estimator, X, y=None, *, frame_labels)`` on frame metrics.

    Made by :func:`make_frame_scorer`. It requests ``frame_labels`` through
    scikit-learn's metadata routing, so the ground truth reaches the scorer
    and never the estimator's ``fit``.
    """

    def __init__(self, metric, *, abnormal_only=False, frames_per_clip=16):
        if metric not in _METRICS:
            raise ValueError(
                f"Unknown frame metric {metric!r}; expected one of {sorted(_METRICS)}."
            )
        self.metric = metric
        self.abnormal_only = abnormal_only
        self.frames_per_clip = frames_per_clip

    def __call__(self, estimator, X, y=None, *, frame_labels=None):
        if frame_labels is None:
            return _missing_metadata(
                "This frame-level scorer needs frame_labels (one 0/1 array per video). "
                "Call scorer(estimator, X, frame_labels=...) or, in a search, enable "
                "routing with sklearn.set_config(enable_metadata_routing=True) and "
                "pass search.fit(X, y, frame_labels=...)."
            )
        func, sign = _METRICS[self.metric]
        value = func(
            frame_labels,
            score_clips(estimator, X),
            frames_per_clip=self.frames_per_clip,
            abnormal_only=self.abnormal_only,
        )
        return sign * value

    def get_metadata_routing(self):
        """Request ``frame_labels`` for scoring (metadata routing protocol)."""
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="frame_labels", alias=True)
        return request

    def __repr__(self):
        extra = ", abnormal_only=True" if self.abnormal_only else ""
        if self.frames_per_clip != 16:
            extra += f", frames_per_clip={self.frames_per_clip}"
        return f"make_frame_scorer({self.metric!r}{extra})"


def make_frame_scorer(metric="roc_auc", *, abnormal_only=False, frames_per_clip=16):
    """Make a frame-level scorer for ``GridSearchCV`` / ``cross_validate``.

    Parameters
    ----------
    metric : {"roc_auc", "average_precision", "average_precision_trapezoid", "eer"}, \
default="roc_auc"
        ``"average_precision"`` is the step-wise AP,
        ``"average_precision_trapezoid"`` the trapezoidal area under the
        precision-recall curve that published XD-Violence numbers report (see
        :func:`frame_average_precision_score`). ``"eer"`` is negated
        (``greater_is_better=False``), as scikit-learn's ``neg_*`` scorers are.
    abnormal_only : bool, default=False
        Score on abnormal videos only (AUC_A, EER_A).
    frames_per_clip : int, default=16

    Returns
    -------
    scorer : FrameScorer
        Requests ``frame_labels`` through metadata routing.

    Examples
    --------
    >>> import sklearn
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_wsvad import SnippetReformer, make_frame_scorer
    >>> from sklearn_wsvad.datasets import make_wsvad_videos
    >>> from sklearn_wsvad.models import MagnitudeMILDetector
    >>> data = make_wsvad_videos(n_videos=24, n_features=16, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(),
    ...                      MagnitudeMILDetector(max_epochs=2, random_state=0))
    >>> search = GridSearchCV(pipe, {"snippetreformer__n_snippets": [8, 16]},
    ...                       scoring=make_frame_scorer("roc_auc"), cv=2)
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     search = search.fit(data.videos, data.target,
    ...                         frame_labels=data.frame_labels)
    >>> sorted(search.best_params_)
    ['snippetreformer__n_snippets']
    """
    return FrameScorer(metric, abnormal_only=abnormal_only, frames_per_clip=frames_per_clip)


class DetectionScorer:
    """Scorer ``scorer(estimator, X, y=None, *, segments)``: the mean over IoU
    thresholds of :func:`~sklearn_wsvad.detection_map`.

    Made by :func:`make_detection_scorer`. It requests ``segments`` (per
    video, rows ``(class, start_frame, end_frame)``) through scikit-learn's
    metadata routing, and reads the class probabilities of every clip with
    :func:`predict_proba_clips`.
    """

    def __init__(self, *, iou_thresholds=IOU_THRESHOLDS, normal="evaluate", normal_class=0,
                 frames_per_clip=16):
        self.iou_thresholds = tuple(iou_thresholds)
        self.normal = normal
        self.normal_class = normal_class
        self.frames_per_clip = frames_per_clip

    def __call__(self, estimator, X, y=None, *, segments=None):
        if segments is None:
            return _missing_metadata(
                "This detection scorer needs segments (per video, rows (class, "
                "start_frame, end_frame); empty for a normal video). Call scorer(estimator, "
                "X, segments=...) or, in a search, enable routing with "
                "sklearn.set_config(enable_metadata_routing=True) and pass "
                "search.fit(X, y, segments=...)."
            )
        values = detection_map(segments, predict_proba_clips(estimator, X),
                               iou_thresholds=self.iou_thresholds, normal=self.normal,
                               normal_class=self.normal_class,
                               frames_per_clip=self.frames_per_clip)
        return float(values.mean())

    def get_metadata_routing(self):
        """Request ``segments`` for scoring (metadata routing protocol)."""
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="segments", alias=True)
        return request

    def __repr__(self):
        return (f"make_detection_scorer(iou_thresholds={self.iou_thresholds}, "
                f"normal={self.normal!r})")


def make_detection_scorer(*, iou_thresholds=IOU_THRESHOLDS, normal="evaluate", normal_class=0,
                          frames_per_clip=16):
    """Make a fine-grained detection scorer (average mAP@IoU) for ``GridSearchCV``.

    Parameters
    ----------
    iou_thresholds : sequence of float, default=(0.1, 0.2, 0.3, 0.4, 0.5)
    normal : {"evaluate", "exclude", "zero"}, default="evaluate"
        See :func:`~sklearn_wsvad.detection_map`.
    normal_class : int or None, default=0
    frames_per_clip : int, default=16

    Returns
    -------
    scorer : DetectionScorer
        The mean over the thresholds of the mAP, in [0, 1]; requests
        ``segments`` through metadata routing.
    """
    if normal not in ("evaluate", "exclude", "zero"):
        raise ValueError(f"normal must be 'evaluate', 'exclude' or 'zero'; got {normal!r}.")
    return DetectionScorer(iou_thresholds=iou_thresholds, normal=normal,
                           normal_class=normal_class, frames_per_clip=frames_per_clip)


class ClassFrameScorer:
    """Scorer ``scorer(estimator, X, y=None, *, frame_labels, video_classes)``:
    the mean over anomaly classes of :func:`~sklearn_wsvad.class_frame_roc_auc_score`.

    Made by :func:`make_class_frame_scorer`; requests ``frame_labels`` and
    ``video_classes`` through metadata routing.
    """

    def __init__(self, *, scores="coarse", include_normal_videos=True, frames_per_clip=16):
        if scores not in ("coarse", "class"):
            raise ValueError(f"scores must be 'coarse' or 'class'; got {scores!r}.")
        self.scores = scores
        self.include_normal_videos = include_normal_videos
        self.frames_per_clip = frames_per_clip

    def __call__(self, estimator, X, y=None, *, frame_labels=None, video_classes=None):
        missing = [name for name, value in (("frame_labels", frame_labels),
                                            ("video_classes", video_classes)) if value is None]
        if missing:
            return _missing_metadata(
                f"This per-class frame scorer needs {' and '.join(missing)}. Call "
                "scorer(estimator, X, frame_labels=..., video_classes=...) or, in a search, "
                "enable routing with sklearn.set_config(enable_metadata_routing=True) and "
                "pass search.fit(X, y, frame_labels=..., video_classes=...)."
            )
        clip = (score_clips if self.scores == "coarse" else predict_proba_clips)(estimator, X)
        aucs = class_frame_roc_auc_score(frame_labels, clip, video_classes,
                                         frames_per_clip=self.frames_per_clip,
                                         include_normal_videos=self.include_normal_videos)
        if np.isnan(aucs).all():
            raise ValueError(
                "No anomaly class has both normal and abnormal frames among these videos; "
                "the per-class AUC is undefined."
            )
        return float(np.nanmean(aucs))

    def get_metadata_routing(self):
        """Request ``frame_labels`` and ``video_classes`` for scoring."""
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="frame_labels", alias=True)
        request.score.add_request(param="video_classes", alias=True)
        return request

    def __repr__(self):
        return (f"make_class_frame_scorer(scores={self.scores!r}, "
                f"include_normal_videos={self.include_normal_videos})")


def make_class_frame_scorer(*, scores="coarse", include_normal_videos=True, frames_per_clip=16):
    """Make a per-class frame AUC scorer (mean over anomaly classes) for ``GridSearchCV``.

    Parameters
    ----------
    scores : {"coarse", "class"}, default="coarse"
        Score each class's frames by the coarse anomaly score
        (:func:`score_clips`) or by the class's own probability
        (:func:`predict_proba_clips`, models with class outputs).
    include_normal_videos : bool, default=True
        See :func:`~sklearn_wsvad.class_frame_roc_auc_score`.
    frames_per_clip : int, default=16

    Returns
    -------
    scorer : ClassFrameScorer
        The mean of the classes' AUCs (classes without videos left out);
        requests ``frame_labels`` and ``video_classes`` through metadata
        routing.
    """
    return ClassFrameScorer(scores=scores, include_normal_videos=include_normal_videos,
                            frames_per_clip=frames_per_clip)
