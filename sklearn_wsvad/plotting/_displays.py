"""scikit-learn style Display objects: frame-level ROC, precision-recall and DET
curves, the scores of one video over time and the feature-norm clusters of one
video.

The frame-level curve displays subclass scikit-learn's
:class:`~sklearn.metrics.RocCurveDisplay`,
:class:`~sklearn.metrics.PrecisionRecallDisplay` and
:class:`~sklearn.metrics.DetCurveDisplay`: they draw the curve with
scikit-learn's code and add what the video anomaly detection benchmarks read
from it (the equal error rate, the frame expansion of clip scores).
"""

import inspect
from collections.abc import Mapping

import numpy as np
from sklearn.base import clone
from sklearn.metrics import (
    DetCurveDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    auc,
    average_precision_score,
    det_curve,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from sklearn.utils.validation import check_is_fitted

from ..metrics._frame import (
    _check_clip_scores,
    _check_frames_per_clip,
    _concat_frames,
    equal_error_rate,
    expand_clip_scores,
)
from ..metrics._scorer import score_clips
from ..refine import FeatureNormClusterUndersampler, clip_norms
from ..utils.validation import check_frame_labels, check_videos

__all__ = [
    "FrameRocCurveDisplay",
    "FramePrecisionRecallDisplay",
    "FrameDetCurveDisplay",
    "ScoreTimelineDisplay",
    "ClusterTimelineDisplay",
]

#: gid of the ground-truth spans, so that overlaid timelines shade them once
_GT_GID = "sklearn_wsvad.ground_truth"


def _new_axes(n=1):
    """New pyplot axes: one, or a row of ``n`` (an array)."""
    import matplotlib.pyplot as plt

    if n == 1:
        return plt.subplots()[1]
    return plt.subplots(1, n, figsize=(4.5 * n, 4), squeeze=False)[1][0]


def _style(defaults, user, artist):
    """``defaults`` updated with the user's keywords, whose matplotlib aliases
    (``c``, ``ls``, ``lw``, ...) are first given their full names, so that
    they replace a default rather than clash with it (a user's ``color``
    replaces default face and edge colours)."""
    from matplotlib import cbook

    user = cbook.normalize_kwargs(user or {}, artist)
    if "color" in user:
        defaults = {k: v for k, v in defaults.items() if k not in ("facecolor", "edgecolor")}
    return {**defaults, **user}


def _line_style(defaults, user):
    from matplotlib.lines import Line2D

    return _style(defaults, user, Line2D)


def _curve_keywords(plot, keywords):
    """``keywords`` for the curve, as scikit-learn's ``plot`` takes them:
    ``curve_kwargs=`` (RocCurveDisplay from 1.7, PrecisionRecallDisplay from
    1.9) or, before, keyword arguments."""
    if "curve_kwargs" in inspect.signature(plot).parameters:
        return {"curve_kwargs": keywords}
    return dict(keywords or {})


class _NamedDisplay:
    """``name`` also readable as ``estimator_name``: the attribute that
    scikit-learn's curve displays read before 1.7 (and DetCurveDisplay still)."""

    @property
    def estimator_name(self):
        """The curve's name, as scikit-learn's displays read it."""
        return self.name


def _estimator_name(estimator):
    """Class name of the model that scores: the final step of a Pipeline."""
    if hasattr(estimator, "best_estimator_"):
        estimator = estimator.best_estimator_
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return type(estimator).__name__


def _label(name, metrics):
    """``"name (AUC = 0.912, EER = 0.153)"``; None without name and metrics."""
    text = ", ".join(f"{key} = {value:.3f}" for key, value in metrics if value is not None)
    if name is None:
        return text or None
    return f"{name} ({text})" if text else str(name)


def _eer_and_threshold(y_true, y_score):
    """The library's EER and the threshold of its operating point.

    The threshold is that of the first ROC point, by decreasing threshold,
    whose miss rate no longer exceeds its false positive rate (the upper end
    of the segment on which :func:`~sklearn_wsvad.equal_error_rate`
    interpolates).
    """
    eer = equal_error_rate(y_true, y_score)
    fpr, tpr, thresholds = roc_curve(y_true, y_score, drop_intermediate=False)
    i = int(np.argmax((1.0 - tpr) - fpr <= 0))
    return eer, float(thresholds[i])


def _check_named_scores(clip_scores, name):
    """A dict name -> clip scores names its curves itself, and is not empty."""
    if name is not None:
        raise ValueError(
            "clip_scores is a dict, whose keys name the curves: leave name=None "
            f"(got name={name!r})."
        )
    if not clip_scores:
        raise ValueError("clip_scores is an empty dict: give at least one model's scores.")


def _frame_curves(cls, frame_labels, clip_scores, *, frames_per_clip, abnormal_only, name,
                  ax, make, plot_kwargs):
    """Shared ``from_predictions`` of the frame curve displays.

    ``make(y_true, y_score, name)`` builds a display from the concatenated
    frames, drawn by its ``plot(ax=ax, **plot_kwargs)``. A mapping of clip
    scores gives a dict of displays on one axes (the chance level drawn once).
    """
    if isinstance(clip_scores, Mapping):
        _check_named_scores(clip_scores, name)
        ax = _new_axes() if ax is None else ax
        displays = {}
        for i, (key, scores) in enumerate(clip_scores.items()):
            once = {"plot_chance_level": False} if i and "plot_chance_level" in plot_kwargs else {}
            displays[key] = _frame_curves(
                cls, frame_labels, scores, frames_per_clip=frames_per_clip,
                abnormal_only=abnormal_only, name=str(key), ax=ax, make=make,
                plot_kwargs={**plot_kwargs, **once})
        return displays
    y_true, y_score = _concat_frames(frame_labels, clip_scores, frames_per_clip, abnormal_only)
    return make(y_true, y_score, name).plot(ax=ax, **plot_kwargs)


def _draw_eer_markers(display, points, eer_kw):
    """One marker per curve at ``points(eer)`` in the curve's colour."""
    if display.eer is None:
        return None
    lines = display.line_ if isinstance(display.line_, list) else [display.line_]
    eers = display.eer if isinstance(display.eer, (list, tuple)) else [display.eer]
    if len(eers) != len(lines):
        raise ValueError(f"Got {len(eers)} EER values for {len(lines)} curves.")
    markers = []
    for line, eer in zip(lines, eers):
        if eer is None:
            continue
        style = _line_style(
            {"marker": "o", "markersize": 7, "linestyle": "", "color": line.get_color(),
             "markeredgecolor": "black", "zorder": 3, "label": "_eer"},
            eer_kw,
        )
        x, y = points(eer)
        markers.extend(display.ax_.plot([x], [y], **style))
    return markers[0] if len(markers) == 1 else (markers or None)


_FROM_DOC = """{what}

    Clip scores are expanded to frames and the videos concatenated exactly as
    the frame metrics of :mod:`sklearn_wsvad.metrics` do (and with their
    checks), so the displayed {numbers} equal{s} them.

    Parameters
    ----------
{first}    frame_labels : sequence of array-like of shape (n_frames_i,)
        Per-video 0/1 frame ground truth, aligned with the clips within one
        clip (see :func:`~sklearn_wsvad.utils.check_frame_labels`).
{second}    frames_per_clip : int, default=16
        Frames per clip of the features (16 for the benchmarks' clips).
    abnormal_only : bool, default=False
        Only the videos with an abnormal frame (the curves behind AUC_A /
        EER_A).
    drop_intermediate : bool, default=True
        Drop the operating points that do not change the drawn curve (fewer
        points to draw on long videos); the {numbers} {are} computed on every
        point.{extra}
    name : str, default=None
        Curve name in the legend. {name_default}
    ax : matplotlib Axes, default=None
        Axes to draw on; created with pyplot when None. Pass the same axes
        again to overlay another model's curve.
    **kwargs
        Passed to :meth:`plot` (e.g. ``curve_kwargs``{plot_kw}).

    Returns
    -------
    display : {cls}
        {returns}
"""

_ESTIMATOR_ARGS = """    estimator : fitted model, Pipeline or search
        A model of :mod:`sklearn_wsvad.models`, a Pipeline ending in one or a
        fitted search; scored with :func:`~sklearn_wsvad.score_clips`.
    X : sequence of ndarray of shape (n_clips_i, n_features)
        The videos to score.
"""

_PREDICTIONS_ARGS = """    clip_scores : sequence of array-like of shape (n_clips_i,), or dict
        Per-video clip scores, higher = more anomalous (e.g. the output of
        :func:`~sklearn_wsvad.score_clips`), or a dict name -> such scores of
        several models.
"""


def _from_doc(cls_name, *, estimator, numbers, are="are", s="", extra="", plot_kw=""):
    if estimator:
        what = "Score the videos with ``estimator`` and plot the curve."
        first, second = _ESTIMATOR_ARGS, ""
        name_default = ("None: the class name of the model (of a\n"
                        "        Pipeline's last step).")
        returns = "The display, drawn."
    else:
        what = "Plot the curve of clip scores (one display per model for a dict)."
        first, second = "", _PREDICTIONS_ARGS
        name_default = ("Must be None when ``clip_scores`` is a dict\n"
                        "        (its keys name the curves).")
        returns = ("The display, drawn; for a dict of ``clip_scores``, a dict with the\n"
                   "        same keys of displays, all drawn on one axes (as repeated\n"
                   "        calls with ``ax=`` would).")
    return _FROM_DOC.format(
        what=what, numbers=numbers, s=s, are=are, first=first, second=second, extra=extra,
        name_default=name_default, plot_kw=plot_kw, returns=returns,
        cls=cls_name if estimator else f"{cls_name} or dict",
    )


def _no_cv_results(cls):
    raise NotImplementedError(
        f"{cls.__name__} draws frame-level curves of videos: call from_predictions (or "
        "from_estimator) once per fold, passing the same ax= to overlay them."
    )


class FrameRocCurveDisplay(_NamedDisplay, RocCurveDisplay):
    """Frame-level ROC curve of clip scores, with its equal error rate marked.

    A :class:`sklearn.metrics.RocCurveDisplay` (which draws the curve) of the
    frames of all videos, as the benchmarks' frame AUC is computed. The
    equal error rate (where the false positive rate equals the miss rate
    ``1 - TPR``) is marked on the curve, at ``(EER, 1 - EER)``, and given in
    the legend with the AUC.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`. Call
    either again with the same ``ax`` to overlay several models, or pass a
    dict name -> clip scores to :meth:`from_predictions`.

    Parameters
    ----------
    fpr, tpr : ndarray
        False and true positive rates of the operating points.
    roc_auc : float, default=None
        Frame-level ROC AUC, shown in the legend.
    thresholds : ndarray, default=None
        Score threshold of each operating point (decreasing).
    eer : float, default=None
        Frame-level equal error rate, marked on the curve and shown in the legend.
    eer_threshold : float, default=None
        Score threshold of the operating point at the EER: the first point,
        by decreasing threshold, whose miss rate no longer exceeds its false
        positive rate.
    name : str, default=None
        Name of the curve in the legend.
    pos_label : int, default=None
        Shown in the axis labels when set (the positive class is 1, abnormal).

    Attributes
    ----------
    line_ : matplotlib Line2D
        The ROC curve.
    eer_marker_ : matplotlib Line2D or None
        The EER marker.
    chance_level_ : matplotlib Line2D or None
        The chance level line.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn_wsvad.frame_roc_auc_score : The frame-level ROC AUC.
    sklearn_wsvad.frame_equal_error_rate : The frame-level EER.
    FrameDetCurveDisplay : The same operating points on normal-deviate axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from matplotlib.figure import Figure
    >>> from sklearn_wsvad.plotting import FrameRocCurveDisplay
    >>> labels = [[0, 0, 1, 1], [0, 0, 0, 0]]
    >>> ax = Figure().add_subplot()
    >>> displays = FrameRocCurveDisplay.from_predictions(
    ...     labels, {"A": [[0.2, 0.8], [0.1, 0.3]], "B": [[0.5, 0.4], [0.1, 0.6]]},
    ...     frames_per_clip=2, ax=ax)
    >>> displays["A"].roc_auc, displays["A"].eer
    (1.0, 0.0)
    """

    def __init__(self, *, fpr, tpr, roc_auc=None, thresholds=None, eer=None,
                 eer_threshold=None, name=None, pos_label=None):
        # set here rather than by RocCurveDisplay.__init__, whose signature
        # changed in scikit-learn 1.7 (estimator_name -> name)
        self.fpr = fpr
        self.tpr = tpr
        self.roc_auc = roc_auc
        self.name = name
        self.pos_label = pos_label
        self.thresholds = thresholds
        self.eer = eer
        self.eer_threshold = eer_threshold

    def plot(self, ax=None, *, name=None, curve_kwargs=None, plot_chance_level=False,
             chance_level_kw=None, plot_eer=True, eer_kw=None, despine=False):
        """Plot the curve and its EER marker.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Created with pyplot when None.
        name : str, default=None
            Legend name; ``self.name`` when None.
        curve_kwargs : dict, default=None
            Passed to matplotlib's ``plot`` for the curve (e.g. ``color``,
            ``label`` to replace the default ``"name (AUC = ..., EER = ...)"``).
        plot_chance_level : bool, default=False
            Draw the diagonal of a random score.
        chance_level_kw : dict, default=None
            Passed to ``plot`` for the chance level line.
        plot_eer : bool, default=True
            Mark the EER on the curve.
        eer_kw : dict, default=None
            Passed to ``plot`` for the EER marker.
        despine : bool, default=False
            Remove the top and right spines.

        Returns
        -------
        display : FrameRocCurveDisplay
        """
        if not isinstance(self.fpr, list):
            label = _label(self.name if name is None else name,
                           [("AUC", self.roc_auc), ("EER", self.eer)])
            curve_kwargs = _line_style({"label": label} if label else {}, curve_kwargs)
        super().plot(ax=ax, name=name, **_curve_keywords(super().plot, curve_kwargs),
                     plot_chance_level=plot_chance_level, chance_level_kw=chance_level_kw,
                     despine=despine)
        self.eer_marker_ = (_draw_eer_markers(self, lambda e: (e, 1.0 - e), eer_kw)
                            if plot_eer else None)
        return self

    @classmethod
    def _from_frames(cls, y_true, y_score, name, drop_intermediate):
        fpr, tpr, thresholds = roc_curve(y_true, y_score, drop_intermediate=drop_intermediate)
        eer, eer_threshold = _eer_and_threshold(y_true, y_score)
        return cls(fpr=fpr, tpr=tpr, roc_auc=float(roc_auc_score(y_true, y_score)),
                   thresholds=thresholds, eer=eer, eer_threshold=eer_threshold, name=name)

    @classmethod
    def from_estimator(cls, estimator, X, frame_labels, *, frames_per_clip=16,
                       abnormal_only=False, drop_intermediate=True, name=None, ax=None,
                       **kwargs):
        clip_scores = score_clips(estimator, X)
        return cls.from_predictions(
            frame_labels, clip_scores, frames_per_clip=frames_per_clip,
            abnormal_only=abnormal_only, drop_intermediate=drop_intermediate,
            name=_estimator_name(estimator) if name is None else name, ax=ax, **kwargs)

    @classmethod
    def from_predictions(cls, frame_labels, clip_scores, *, frames_per_clip=16,
                         abnormal_only=False, drop_intermediate=True, name=None, ax=None,
                         **kwargs):
        return _frame_curves(
            cls, frame_labels, clip_scores, frames_per_clip=frames_per_clip,
            abnormal_only=abnormal_only, name=name, ax=ax,
            make=lambda y, s, n: cls._from_frames(y, s, n, drop_intermediate),
            plot_kwargs=kwargs)

    @classmethod
    def from_cv_results(cls, *args, **kwargs):
        """Not supported: draw one fold at a time with :meth:`from_predictions`."""
        _no_cv_results(cls)

    from_estimator.__func__.__doc__ = _from_doc(
        "FrameRocCurveDisplay", estimator=True, numbers="AUC and EER",
        plot_kw=", ``plot_chance_level``, ``plot_eer``")
    from_predictions.__func__.__doc__ = _from_doc(
        "FrameRocCurveDisplay", estimator=False, numbers="AUC and EER",
        plot_kw=", ``plot_chance_level``, ``plot_eer``")


class FramePrecisionRecallDisplay(_NamedDisplay, PrecisionRecallDisplay):
    """Frame-level precision-recall curve of clip scores.

    A :class:`sklearn.metrics.PrecisionRecallDisplay` (which draws the
    curve) of the frames of all videos, with the average precision of
    :func:`~sklearn_wsvad.frame_average_precision_score` in the legend:
    step-wise (``method="step"``, drawn as steps) or the trapezoid the
    published XD-Violence numbers use (``method="trapezoid"``, drawn with
    straight segments).

    Create it with :meth:`from_estimator` or :meth:`from_predictions`. Call
    either again with the same ``ax`` to overlay several models, or pass a
    dict name -> clip scores to :meth:`from_predictions`.

    Parameters
    ----------
    precision, recall : ndarray
        Precision and recall of the operating points.
    average_precision : float, default=None
        Frame-level average precision, shown in the legend.
    thresholds : ndarray, default=None
        Score threshold of each operating point (increasing, one fewer than
        the points, as :func:`sklearn.metrics.precision_recall_curve`).
    method : {"step", "trapezoid"}, default="step"
        How ``average_precision`` was computed; sets the drawing style.
    name : str, default=None
        Name of the curve in the legend.
    pos_label : int, default=None
        Shown in the axis labels when set.
    prevalence_pos_label : float, default=None
        Share of abnormal frames: the precision of a random score, drawn with
        ``plot_chance_level=True``.

    Attributes
    ----------
    line_ : matplotlib Line2D
    chance_level_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn_wsvad.frame_average_precision_score : The frame-level AP.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from matplotlib.figure import Figure
    >>> from sklearn_wsvad.plotting import FramePrecisionRecallDisplay
    >>> display = FramePrecisionRecallDisplay.from_predictions(
    ...     [[1, 0, 1, 0]], [[0.9, 0.8, 0.7, 0.1]], frames_per_clip=1,
    ...     ax=Figure().add_subplot())
    >>> round(display.average_precision, 4)
    0.8333
    """

    def __init__(self, precision, recall, *, average_precision=None, thresholds=None,
                 method="step", name=None, pos_label=None, prevalence_pos_label=None):
        # set here rather than by PrecisionRecallDisplay.__init__, whose
        # signature changed in scikit-learn 1.8 (estimator_name -> name)
        self.precision = precision
        self.recall = recall
        self.average_precision = average_precision
        self.name = name
        self.pos_label = pos_label
        self.prevalence_pos_label = prevalence_pos_label
        self.thresholds = thresholds
        self.method = method

    def plot(self, ax=None, *, name=None, curve_kwargs=None, plot_chance_level=False,
             chance_level_kw=None, despine=False):
        """Plot the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Created with pyplot when None.
        name : str, default=None
            Legend name; ``self.name`` when None.
        curve_kwargs : dict, default=None
            Passed to matplotlib's ``plot`` for the curve (e.g. ``color``,
            ``label`` to replace the default ``"name (AP = ...)"``).
        plot_chance_level : bool, default=False
            Draw the precision of a random score (the share of abnormal frames).
        chance_level_kw : dict, default=None
            Passed to ``plot`` for the chance level line.
        despine : bool, default=False
            Remove the top and right spines.

        Returns
        -------
        display : FramePrecisionRecallDisplay
        """
        if self.method not in ("step", "trapezoid"):
            raise ValueError(f"method must be 'step' or 'trapezoid'; got {self.method!r}.")
        if not isinstance(self.precision, list):
            key = "AP" if self.method == "step" else "AP (trapezoid)"
            label = _label(self.name if name is None else name,
                           [(key, self.average_precision)])
            style = {"drawstyle": "steps-post" if self.method == "step" else "default"}
            if label:
                style["label"] = label
            curve_kwargs = _line_style(style, curve_kwargs)
        return super().plot(ax=ax, name=name, **_curve_keywords(super().plot, curve_kwargs),
                            plot_chance_level=plot_chance_level,
                            chance_level_kw=chance_level_kw, despine=despine)

    @classmethod
    def _from_frames(cls, y_true, y_score, name, drop_intermediate, method):
        if method not in ("step", "trapezoid"):
            raise ValueError(f"method must be 'step' or 'trapezoid'; got {method!r}.")
        precision, recall, thresholds = precision_recall_curve(
            y_true, y_score, drop_intermediate=drop_intermediate)
        if method == "trapezoid":  # as frame_average_precision_score: on every point
            p_all, r_all, _ = precision_recall_curve(y_true, y_score)
            ap = float(auc(r_all, p_all))
        else:
            ap = float(average_precision_score(y_true, y_score))
        return cls(precision, recall, average_precision=ap, thresholds=thresholds,
                   method=method, name=name, prevalence_pos_label=float(np.mean(y_true)))

    @classmethod
    def from_estimator(cls, estimator, X, frame_labels, *, frames_per_clip=16,
                       abnormal_only=False, drop_intermediate=True, method="step", name=None,
                       ax=None, **kwargs):
        clip_scores = score_clips(estimator, X)
        return cls.from_predictions(
            frame_labels, clip_scores, frames_per_clip=frames_per_clip,
            abnormal_only=abnormal_only, method=method, drop_intermediate=drop_intermediate,
            name=_estimator_name(estimator) if name is None else name, ax=ax, **kwargs)

    @classmethod
    def from_predictions(cls, frame_labels, clip_scores, *, frames_per_clip=16,
                         abnormal_only=False, drop_intermediate=True, method="step",
                         name=None, ax=None, **kwargs):
        return _frame_curves(
            cls, frame_labels, clip_scores, frames_per_clip=frames_per_clip,
            abnormal_only=abnormal_only, name=name, ax=ax,
            make=lambda y, s, n: cls._from_frames(y, s, n, drop_intermediate, method),
            plot_kwargs=kwargs)

    @classmethod
    def from_cv_results(cls, *args, **kwargs):
        """Not supported: draw one fold at a time with :meth:`from_predictions`."""
        _no_cv_results(cls)

    _METHOD_DOC = """
    method : {"step", "trapezoid"}, default="step"
        The average precision in the legend: step-wise, or the trapezoid of
        the published XD-Violence numbers (see
        :func:`~sklearn_wsvad.frame_average_precision_score`)."""
    from_estimator.__func__.__doc__ = _from_doc(
        "FramePrecisionRecallDisplay", estimator=True, numbers="average precision",
        are="is", s="s", extra=_METHOD_DOC, plot_kw=", ``plot_chance_level``")
    from_predictions.__func__.__doc__ = _from_doc(
        "FramePrecisionRecallDisplay", estimator=False, numbers="average precision",
        are="is", s="s", extra=_METHOD_DOC, plot_kw=", ``plot_chance_level``")
    del _METHOD_DOC


class FrameDetCurveDisplay(_NamedDisplay, DetCurveDisplay):
    """Frame-level detection error tradeoff (DET) curve, with the EER marked.

    A :class:`sklearn.metrics.DetCurveDisplay` (which draws the curve) of the
    frames of all videos: false positive rate against miss rate on
    normal-deviate axes. The equal error rate lies on the diagonal; it is
    marked there and given in the legend.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`. Call
    either again with the same ``ax`` to overlay several models, or pass a
    dict name -> clip scores to :meth:`from_predictions`.

    Parameters
    ----------
    fpr, fnr : ndarray
        False positive and false negative (miss) rates of the operating points.
    thresholds : ndarray, default=None
        Score threshold of each operating point (increasing, as
        :func:`sklearn.metrics.det_curve`).
    eer : float, default=None
        Frame-level equal error rate.
    eer_threshold : float, default=None
        Score threshold of the operating point at the EER (as
        :class:`FrameRocCurveDisplay`).
    name : str, default=None
        Name of the curve in the legend.
    pos_label : int, default=None
        Shown in the axis labels when set.

    Attributes
    ----------
    line_ : matplotlib Line2D
    eer_marker_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn_wsvad.frame_equal_error_rate : The frame-level EER.
    FrameRocCurveDisplay : The same operating points on linear axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from matplotlib.figure import Figure
    >>> from sklearn_wsvad.plotting import FrameDetCurveDisplay
    >>> display = FrameDetCurveDisplay.from_predictions(
    ...     [[0, 0, 1, 1]], [[0.1, 0.6, 0.4, 0.9]], frames_per_clip=1, name="model",
    ...     ax=Figure().add_subplot())
    >>> display.eer, display.line_.get_label()
    (0.5, 'model (EER = 0.500)')
    """

    def __init__(self, *, fpr, fnr, thresholds=None, eer=None, eer_threshold=None, name=None,
                 pos_label=None):
        self.fpr = fpr
        self.fnr = fnr
        self.thresholds = thresholds
        self.eer = eer
        self.eer_threshold = eer_threshold
        self.name = name
        self.pos_label = pos_label

    def plot(self, ax=None, *, name=None, curve_kwargs=None, plot_eer=True, eer_kw=None):
        """Plot the curve and its EER marker.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Created with pyplot when None.
        name : str, default=None
            Legend name; ``self.name`` when None.
        curve_kwargs : dict, default=None
            Passed to matplotlib's ``plot`` for the curve (e.g. ``color``,
            ``label`` to replace the default ``"name (EER = ...)"``).
        plot_eer : bool, default=True
            Mark the EER on the diagonal.
        eer_kw : dict, default=None
            Passed to ``plot`` for the EER marker.

        Returns
        -------
        display : FrameDetCurveDisplay
        """
        import scipy.stats

        label = _label(self.name if name is None else name, [("EER", self.eer)])
        curve_kwargs = _line_style({"label": label} if label else {}, curve_kwargs)
        super().plot(ax=ax, name=name, **curve_kwargs)
        eps = np.finfo(np.float64).eps

        def point(eer):
            z = float(scipy.stats.norm.ppf(np.clip(eer, eps, 1 - eps)))
            return z, z

        self.eer_marker_ = _draw_eer_markers(self, point, eer_kw) if plot_eer else None
        return self

    @classmethod
    def _from_frames(cls, y_true, y_score, name, drop_intermediate):
        # drop_intermediate: scikit-learn >= 1.7
        options = ({"drop_intermediate": drop_intermediate}
                   if "drop_intermediate" in inspect.signature(det_curve).parameters else {})
        fpr, fnr, thresholds = det_curve(y_true, y_score, **options)
        eer, eer_threshold = _eer_and_threshold(y_true, y_score)
        return cls(fpr=fpr, fnr=fnr, thresholds=thresholds, eer=eer,
                   eer_threshold=eer_threshold, name=name)

    @classmethod
    def from_estimator(cls, estimator, X, frame_labels, *, frames_per_clip=16,
                       abnormal_only=False, drop_intermediate=True, name=None, ax=None,
                       **kwargs):
        clip_scores = score_clips(estimator, X)
        return cls.from_predictions(
            frame_labels, clip_scores, frames_per_clip=frames_per_clip,
            abnormal_only=abnormal_only, drop_intermediate=drop_intermediate,
            name=_estimator_name(estimator) if name is None else name, ax=ax, **kwargs)

    @classmethod
    def from_predictions(cls, frame_labels, clip_scores, *, frames_per_clip=16,
                         abnormal_only=False, drop_intermediate=True, name=None, ax=None,
                         **kwargs):
        return _frame_curves(
            cls, frame_labels, clip_scores, frames_per_clip=frames_per_clip,
            abnormal_only=abnormal_only, name=name, ax=ax,
            make=lambda y, s, n: cls._from_frames(y, s, n, drop_intermediate),
            plot_kwargs=kwargs)

    from_estimator.__func__.__doc__ = _from_doc(
        "FrameDetCurveDisplay", estimator=True, numbers="EER", are="is", s="s",
        plot_kw=", ``plot_eer``")
    from_predictions.__func__.__doc__ = _from_doc(
        "FrameDetCurveDisplay", estimator=False, numbers="EER", are="is", s="s",
        plot_kw=", ``plot_eer``")


def _one_video_scores(clip_scores):
    try:
        scores = np.asarray(clip_scores, dtype=np.float64)
    except (TypeError, ValueError):
        scores = None
    if scores is None or scores.ndim != 1:
        shape = "ragged" if scores is None else scores.shape
        raise ValueError(
            "A timeline shows one video: clip_scores must be a 1-D array with one score "
            f"per clip of that video, got {shape}. For video i of per-video scores, pass "
            "scores[i]."
        )
    return _check_clip_scores([scores])[0]


def _one_video_labels(frame_labels, n_clips, frames_per_clip):
    try:
        labels = np.asarray(frame_labels)
    except (TypeError, ValueError):
        labels = None
    if labels is None or labels.ndim != 1:
        shape = "ragged" if labels is None else labels.shape
        raise ValueError(
            "A timeline shows one video: frame_labels must be a 1-D 0/1 array with one "
            f"entry per frame of that video, got {shape}. For video i of per-video labels, "
            "pass frame_labels[i]."
        )
    return check_frame_labels([labels], [n_clips], frames_per_clip=frames_per_clip)[0]


def _intervals(labels):
    """``[start, stop)`` frame index of every run of 1s, shape (n_runs, 2)."""
    edges = np.diff(np.concatenate(([0], np.asarray(labels, dtype=np.int8), [0])))
    return np.column_stack((np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


class ScoreTimelineDisplay:
    """The anomaly scores of one video over time, ground truth shaded.

    Clip scores are expanded to frames as the frame metrics do (each clip's
    score repeated ``frames_per_clip`` times, cut or padded to the video's
    frame count) and drawn as steps against the frame index; the abnormal
    intervals of the ground truth are shaded and an optional threshold is
    drawn as a horizontal line in the curve's colour.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`. Call
    either again with the same ``ax`` to overlay other models' scores of the
    same video (the ground truth is shaded once per axes), or pass a dict
    name -> clip scores to :meth:`from_predictions`.

    Parameters
    ----------
    frames : ndarray of shape (n_frames,)
        Frame indices, ``0 .. n_frames - 1``.
    scores : ndarray of shape (n_frames,)
        Frame scores.
    intervals : ndarray of shape (n_intervals, 2), default=None
        ``[start, stop)`` frames of each abnormal interval of the ground
        truth; None when no ground truth is given.
    threshold : float, default=None
        Decision threshold to draw.
    name : str, default=None
        Name of the curve in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The scores.
    gt_patches_ : list of matplotlib Patch
        One shaded span per abnormal interval; empty when the axes already
        showed them (an overlay) or without ground truth.
    threshold_line_ : matplotlib Line2D or None
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from matplotlib.figure import Figure
    >>> from sklearn_wsvad.plotting import ScoreTimelineDisplay
    >>> display = ScoreTimelineDisplay.from_predictions(
    ...     [0.1, 0.9, 0.2], [0, 0, 1, 1, 0, 0], frames_per_clip=2, threshold=0.5,
    ...     ax=Figure().add_subplot())
    >>> display.intervals.tolist(), len(display.gt_patches_)
    ([[2, 4]], 1)
    """

    def __init__(self, *, frames, scores, intervals=None, threshold=None, name=None):
        self.frames = frames
        self.scores = scores
        self.intervals = intervals
        self.threshold = threshold
        self.name = name

    def plot(self, ax=None, *, name=None, line_kw=None, gt_kw=None, threshold_kw=None):
        """Plot the scores, the ground-truth intervals and the threshold.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Created with pyplot when None.
        name : str, default=None
            Legend name; ``self.name`` when None.
        line_kw : dict, default=None
            Passed to matplotlib's ``plot`` for the scores.
        gt_kw : dict, default=None
            Passed to ``axvspan`` for the abnormal intervals.
        threshold_kw : dict, default=None
            Passed to ``axhline`` for the threshold.

        Returns
        -------
        display : ScoreTimelineDisplay
        """
        self.ax_ = _new_axes() if ax is None else ax
        self.figure_ = self.ax_.figure
        name = self.name if name is None else name
        style = {"drawstyle": "steps-post", "linewidth": 1.2}
        if name is not None:
            style["label"] = str(name)
        (self.line_,) = self.ax_.plot(self.frames, self.scores,
                                      **_line_style(style, line_kw))
        self.gt_patches_ = []
        shaded = any(p.get_gid() == _GT_GID for p in self.ax_.patches)
        if self.intervals is not None and not shaded:
            from matplotlib.patches import Patch

            span = _style({"facecolor": "tab:red", "edgecolor": "none", "alpha": 0.15},
                          gt_kw, Patch)
            for i, (start, stop) in enumerate(np.asarray(self.intervals)):
                patch = self.ax_.axvspan(start, stop, **span,
                                         label="abnormal (ground truth)" if i == 0 else None)
                patch.set_gid(_GT_GID)
                self.gt_patches_.append(patch)
        self.threshold_line_ = None
        if self.threshold is not None:
            label = "threshold" if name is None else f"{name} threshold"
            self.threshold_line_ = self.ax_.axhline(
                self.threshold,
                **_line_style(
                    {"color": self.line_.get_color(), "linestyle": "--", "linewidth": 1,
                     "label": f"{label} = {self.threshold:.3g}"},
                    threshold_kw))
        self.ax_.set(xlabel="frame", ylabel="anomaly score", xlim=(0, len(self.frames)))
        if self.ax_.get_legend_handles_labels()[0]:
            self.ax_.legend(loc="upper left", fontsize="small")
        return self

    @classmethod
    def from_predictions(cls, clip_scores, frame_labels=None, *, frames_per_clip=16,
                         threshold=None, name=None, ax=None, **kwargs):
        """Plot one video's clip scores over time (one display per model for a dict).

        Parameters
        ----------
        clip_scores : array-like of shape (n_clips,), or dict
            The clip scores of one video, or a dict name -> clip scores of that
            video by several models.
        frame_labels : array-like of shape (n_frames,), default=None
            The video's 0/1 frame ground truth, aligned with its clips within
            one clip (as the frame metrics check); its abnormal intervals are
            shaded and it sets the frame count. None: no shading,
            ``n_clips * frames_per_clip`` frames.
        frames_per_clip : int, default=16
            Frames per clip of the features (16 for the benchmarks' clips).
        threshold : float or dict, default=None
            Threshold line to draw; for a dict of ``clip_scores``, one value
            for all models or a dict name -> threshold (models' scores need
            not share a scale).
        name : str, default=None
            Name of the curve in the legend. Must be None when ``clip_scores``
            is a dict (its keys name the curves).
        ax : matplotlib Axes, default=None
            Created with pyplot when None. Pass the same axes again to
            overlay another model's scores of the same video.
        **kwargs
            Passed to :meth:`plot` (``line_kw``, ``gt_kw``, ``threshold_kw``).

        Returns
        -------
        display : ScoreTimelineDisplay or dict
            The display, drawn; for a dict of ``clip_scores``, a dict with the
            same keys of displays drawn on one axes.
        """
        if isinstance(clip_scores, Mapping):
            _check_named_scores(clip_scores, name)
            if isinstance(threshold, Mapping):
                unknown = set(threshold) - set(clip_scores)
                if unknown:
                    raise ValueError(
                        f"threshold names models without scores: {sorted(map(str, unknown))}.")
                thresholds = dict(threshold)
            else:  # one threshold (or None) for every model
                thresholds = dict.fromkeys(clip_scores, threshold)
            ax = _new_axes() if ax is None else ax
            return {
                key: cls.from_predictions(
                    scores, frame_labels, frames_per_clip=frames_per_clip,
                    threshold=thresholds.get(key), name=str(key), ax=ax, **kwargs)
                for key, scores in clip_scores.items()
            }
        if isinstance(threshold, Mapping):
            raise ValueError("threshold is a dict but clip_scores are one model's: pass a "
                             "number.")
        frames_per_clip = _check_frames_per_clip(frames_per_clip)
        scores = _one_video_scores(clip_scores)
        n_frames, intervals = scores.size * frames_per_clip, None
        if frame_labels is not None:
            labels = _one_video_labels(frame_labels, scores.size, frames_per_clip)
            n_frames, intervals = labels.size, _intervals(labels)
        frame_scores = expand_clip_scores([scores], [n_frames],
                                          frames_per_clip=frames_per_clip)[0]
        display = cls(frames=np.arange(n_frames), scores=frame_scores, intervals=intervals,
                      threshold=None if threshold is None else float(threshold), name=name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, video, frame_labels=None, *, frames_per_clip=16,
                       threshold=None, name=None, ax=None, **kwargs):
        """Score one video with ``estimator`` and plot its scores over time.

        Parameters
        ----------
        estimator : fitted model, Pipeline or search
            A model of :mod:`sklearn_wsvad.models`, a Pipeline ending in one
            or a fitted search; scored with :func:`~sklearn_wsvad.score_clips`.
        video : ndarray of shape (n_clips, n_features)
            One video (``X[i]``, not ``X``).
        frame_labels : array-like of shape (n_frames,), default=None
            The video's 0/1 frame ground truth (see :meth:`from_predictions`).
        frames_per_clip : int, default=16
            Frames per clip of the features (16 for the benchmarks' clips).
        threshold : float, default=None
            Threshold line to draw, in the estimator's score scale.
        name : str, default=None
            Name of the curve; None: the class name of the model (of a
            Pipeline's last step).
        ax : matplotlib Axes, default=None
            Created with pyplot when None; pass the same axes again to overlay
            another model's scores of the video.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ScoreTimelineDisplay
        """
        if isinstance(video, (list, tuple)) and video and hasattr(video[0], "shape") \
                and np.ndim(video[0]) == 2:
            raise ValueError(
                f"A timeline shows one video: got a sequence of {len(video)} videos. Pass "
                "one video, X[i]."
            )
        clip_scores = score_clips(estimator, [video])[0]
        return cls.from_predictions(
            clip_scores, frame_labels, frames_per_clip=frames_per_clip, threshold=threshold,
            name=_estimator_name(estimator) if name is None else name, ax=ax, **kwargs)


class ClusterTimelineDisplay:
    """The clip feature norms of one video over time, by feature-norm cluster.

    What :class:`~sklearn_wsvad.FeatureNormClusterUndersampler` sees in one
    video: the L2 norm of each clip against the clip index, coloured by the
    size rank of its K-means cluster (rank 1 = the largest cluster). The
    clips of the ``n_top`` largest clusters (the majority, "Top") are filled
    markers, the rest (the minority, "Bot") hollow ones.

    Create it with :meth:`from_estimator`.

    Parameters
    ----------
    norms : ndarray of shape (n_clips,)
        L2 norm of each clip.
    ranks : ndarray of int of shape (n_clips,)
        Size rank of each clip's cluster, 1 = largest (the sampler's
        ``labels_`` plus one).
    n_top : int
        Number of largest clusters forming the majority.
    name : str, default=None
        Shown in the title.

    Attributes
    ----------
    is_top : ndarray of bool of shape (n_clips,)
        Clips of the majority (``ranks <= n_top``).
    line_ : matplotlib Line2D
        The norms in temporal order, a thin grey line.
    scatters_ : list of matplotlib PathCollection
        The clips of each cluster, rank 1 first.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    plot_cluster_distribution : Cluster shares over all videos.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from sklearn_wsvad import FeatureNormClusterUndersampler
    >>> from sklearn_wsvad.plotting import ClusterTimelineDisplay
    >>> video = np.repeat([[1.0], [1.0], [1.0], [2.0], [3.0]], 2, axis=0)
    >>> display = ClusterTimelineDisplay.from_estimator(
    ...     FeatureNormClusterUndersampler(n_clusters=3, n_top=1), video,
    ...     ax=Figure().add_subplot())
    >>> display.ranks.tolist()
    [1, 1, 1, 1, 1, 1, 2, 2, 3, 3]
    >>> int(display.is_top.sum()), len(display.scatters_)
    (6, 3)
    """

    def __init__(self, *, norms, ranks, n_top, name=None):
        self.norms = norms
        self.ranks = ranks
        self.n_top = n_top
        self.name = name

    @property
    def is_top(self):
        """Clips of the majority (``ranks <= n_top``), an ndarray of bool."""
        return np.asarray(self.ranks) <= self.n_top

    def plot(self, ax=None, *, name=None, cmap=None, scatter_kw=None):
        """Plot the norms, coloured by cluster rank, majority filled.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Created with pyplot when None.
        name : str, default=None
            Shown in the title; ``self.name`` when None.
        cmap : str or Colormap, default=None
            Colours of the ranks; ``"tab10"`` for up to 10 clusters, else
            ``"viridis"``.
        scatter_kw : dict, default=None
            Passed to matplotlib's ``scatter`` for every cluster.

        Returns
        -------
        display : ClusterTimelineDisplay
        """
        from matplotlib import colormaps
        from matplotlib.collections import Collection
        from matplotlib.colors import ListedColormap

        self.ax_ = _new_axes() if ax is None else ax
        self.figure_ = self.ax_.figure
        name = self.name if name is None else name
        norms, ranks = np.asarray(self.norms), np.asarray(self.ranks)
        if norms.shape != ranks.shape or norms.ndim != 1:
            raise ValueError(f"norms {norms.shape} and ranks {ranks.shape} must be 1-D arrays "
                             "of one value per clip.")
        k = int(ranks.max())
        if cmap is None:
            cmap = "tab10" if k <= 10 else "viridis"
        colours = colormaps[cmap] if isinstance(cmap, str) else cmap
        if not (isinstance(colours, ListedColormap) and colours.N >= k):
            colours = colours.resampled(k)
        x = np.arange(norms.size)
        (self.line_,) = self.ax_.plot(x, norms, color="0.75", linewidth=0.8, zorder=1)
        self.scatters_ = []
        for rank in np.unique(ranks):
            colour = colours(int(rank) - 1)
            top = rank <= self.n_top
            chosen = ranks == rank
            style = _style(
                {"s": 22, "linewidth": 1.2, "zorder": 2, "edgecolor": [colour],
                 "facecolor": [colour] if top else "none",
                 "label": f"{rank} ({'Top' if top else 'Bot'})"},
                scatter_kw, Collection)
            self.scatters_.append(self.ax_.scatter(x[chosen], norms[chosen], **style))
        n_clusters = np.unique(ranks).size
        split = (f"Top{self.n_top} filled, Bot{n_clusters - self.n_top} hollow"
                 if n_clusters > self.n_top else "no minority: kept whole")
        self.ax_.set(xlabel="clip", ylabel="clip feature L2 norm",
                     title=(f"{name}: feature-norm" if name else "Feature-norm")
                     + f" clusters ({n_clusters} clusters; {split})")
        self.ax_.legend(title="cluster rank", fontsize="small", ncol=2 if k > 5 else 1)
        return self

    @classmethod
    def from_estimator(cls, sampler, video, *, video_index=None, name=None, ax=None,
                       **kwargs):
        """Cluster one video's clip norms with ``sampler``'s settings and plot them.

        The clustering is the sampler's own: a clone of ``sampler`` is fitted
        on ``[video]`` (each video is clustered on its own, so this is the
        clustering ``fit`` gives that video; with ``algorithm="lloyd"`` the
        K-means seed may differ from a fit on many videos). With
        ``video_index``, the fitted ``sampler``'s clustering of its training
        video ``video_index`` is shown instead.

        Parameters
        ----------
        sampler : FeatureNormClusterUndersampler
            Fitted or not (``video_index=None``), or fitted
            (``video_index`` given).
        video : ndarray of shape (n_clips, n_features) or (n_clips, n_crops, n_features)
            One video; with ``video_index``, that training video.
        video_index : int, default=None
            Index of ``video`` among the videos ``sampler`` was fitted on.
        name : str, default=None
            Shown in the title.
        ax : matplotlib Axes, default=None
            Created with pyplot when None.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ClusterTimelineDisplay
        """
        if not isinstance(sampler, FeatureNormClusterUndersampler):
            raise TypeError(
                "sampler must be a FeatureNormClusterUndersampler, got "
                f"{type(sampler).__name__}."
            )
        if isinstance(video, (list, tuple)) and video and hasattr(video[0], "shape") \
                and np.ndim(video[0]) >= 2:
            raise ValueError(
                f"A timeline shows one video: got a sequence of {len(video)} videos. Pass "
                "one video, X[i]."
            )
        video = check_videos([video], allow_crops=True)[0]
        if video_index is None:
            # only the clustering is used: keep everything, no scaler to fit
            fitted = clone(sampler).set_params(normal_keep="all", abnormal_keep="all",
                                               scaler=None, n_jobs=None).fit([video])
            labels = fitted.labels_[0]
        else:
            check_is_fitted(sampler, "labels_")
            n_videos = len(sampler.labels_)
            if not isinstance(video_index, (int, np.integer)) or not (
                    -n_videos <= video_index < n_videos):
                raise ValueError(f"video_index must be an integer index of the sampler's "
                                 f"{n_videos} training videos; got {video_index!r}.")
            labels = sampler.labels_[video_index]
            if labels.size != len(video):
                raise ValueError(
                    f"video has {len(video)} clips but training video {video_index} of the "
                    f"sampler has {labels.size}: pass the video the sampler was fitted on "
                    "at that index."
                )
        norms = clip_norms(video, sampler.crop_norm)
        display = cls(norms=norms, ranks=np.asarray(labels) + 1, n_top=sampler.n_top,
                      name=name)
        return display.plot(ax=ax, **kwargs)
