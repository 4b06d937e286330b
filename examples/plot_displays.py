"""
=====================================================
Frame-level curves and timelines with Display objects
=====================================================

The :mod:`sklearn_wsvad.plotting` displays follow scikit-learn's
:class:`~sklearn.metrics.RocCurveDisplay`: ``from_estimator`` scores the
videos with a fitted model (or a Pipeline ending in one),
``from_predictions`` takes clip scores already computed, and passing the same
``ax`` again overlays another model. The clip scores are expanded to frames as
the frame metrics do, so the AUC, AP and equal error rate (EER) in the legends
are the numbers of :func:`~sklearn_wsvad.frame_roc_auc_score`,
:func:`~sklearn_wsvad.frame_average_precision_score` and
:func:`~sklearn_wsvad.frame_equal_error_rate`.

This example trains two MIL classifiers behind the feature-norm clustering
under-sampler on synthetic videos, compares them with the raw clip feature
norm on frame-level ROC, precision-recall and DET curves, draws their scores
over one abnormal test video, and shows the clusters the under-sampler found
in one training video.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import (
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_roc_auc_score,
    score_clips,
)
from sklearn_wsvad.datasets import make_wsvad_videos
from sklearn_wsvad.models import MagnitudeMILDetector, MILRankingDetector
from sklearn_wsvad.plotting import (
    ClusterTimelineDisplay,
    FrameDetCurveDisplay,
    FramePrecisionRecallDisplay,
    FrameRocCurveDisplay,
    ScoreTimelineDisplay,
)
from sklearn_wsvad.refine import clip_norms

data = make_wsvad_videos(n_videos=160, n_features=32, max_clips=256, random_state=0)
X_train, X_test, y_train, y_test, _, frames_test = train_test_split(
    data.videos, data.target, data.frame_labels, test_size=0.4, stratify=data.target,
    random_state=0)

# %%
# Two models on the same refined training set
# -------------------------------------------
# Each is a Pipeline: the under-sampler (Bot7 clips of every video), the
# snippets of the model's test protocol, the classifier.
models = {
    "magnitude MIL": (MagnitudeMILDetector(max_epochs=15, random_state=0), "clips"),
    "MIL ranking": (MILRankingDetector(max_epochs=20, random_state=0), "snippets"),
}
pipes = {}
for name, (model, inference) in models.items():
    pipes[name] = make_pipeline(
        FeatureNormClusterUndersampler(n_clusters=10, n_top=3),
        SnippetReformer(n_snippets=32, inference=inference),
        model,
    ).fit(X_train, y_train)

# %%
# Frame-level ROC, precision-recall and DET curves
# ------------------------------------------------
# ``from_estimator`` with the same ``ax`` overlays the models; the raw feature
# norm is added with ``from_predictions``. A dict of clip scores draws one
# curve per entry and returns one display per entry. The dots on the ROC and
# DET curves are the equal error rates (where the false positive rate equals
# the miss rate).
scores = {name: score_clips(pipe, X_test) for name, pipe in pipes.items()}
scores["feature norm"] = [clip_norms(v) for v in X_test]

fig, (ax_roc, ax_pr, ax_det) = plt.subplots(1, 3, figsize=(16, 5))
roc = {name: FrameRocCurveDisplay.from_estimator(pipe, X_test, frames_test, name=name,
                                                 ax=ax_roc)
       for name, pipe in pipes.items()}
roc["feature norm"] = FrameRocCurveDisplay.from_predictions(
    frames_test, scores["feature norm"], name="feature norm", ax=ax_roc,
    plot_chance_level=True)
FramePrecisionRecallDisplay.from_predictions(frames_test, scores, ax=ax_pr,
                                             plot_chance_level=True)
FrameDetCurveDisplay.from_predictions(frames_test, scores, ax=ax_det)
for ax, title in zip((ax_roc, ax_pr, ax_det), ("ROC", "Precision-recall", "DET")):
    ax.set_title(f"Frame-level {title}")
    ax.legend(fontsize="small", loc="lower left" if ax is ax_pr else "lower right")
fig.tight_layout()

# %%
# The displays hold the numbers of the library's metrics:
for name, display in roc.items():
    assert display.roc_auc == frame_roc_auc_score(frames_test, scores[name])
    print(f"{name:>14}: AUC {display.roc_auc:.3f}  EER {display.eer:.3f} "
          f"(threshold {display.eer_threshold:.3g})")

# %%
# One abnormal test video over time
# ---------------------------------
# Each model's clip scores, expanded to frames, against the frame index; the
# abnormal frames of the ground truth are shaded. The dashed lines are each
# model's threshold at its EER operating point (the two models' scores do not
# share a scale, so each has its own).
shares = np.array([lab.mean() for lab in frames_test])  # abnormal share of each video
i = int(np.argmin(np.where(shares > 0, np.abs(shares - 0.5), np.inf)))
fig, ax = plt.subplots(figsize=(11, 3.8))
ScoreTimelineDisplay.from_predictions(
    {name: scores[name][i] for name in pipes}, frames_test[i],
    threshold={name: roc[name].eer_threshold for name in pipes}, ax=ax)
ax.set_title(f"Test video {i}: scores over time")
fig.tight_layout()

# %%
# The feature-norm clusters of one training video
# -----------------------------------------------
# What the under-sampler saw in an abnormal training video: its clip norms,
# coloured by the size rank of their K-means cluster. The clips of the three
# largest clusters (Top3, the majority) are filled; the Bot7 clips, the ones
# this Pipeline trained on, are hollow. ``video_index`` reads the clustering
# of the fitted under-sampler; without it a clone clusters the video.
sampler = pipes["magnitude MIL"][0]
j = int(np.flatnonzero(np.asarray(y_train) == 1)[0])
fig, ax = plt.subplots(figsize=(11, 3.8))
ClusterTimelineDisplay.from_estimator(sampler, X_train[j], video_index=j,
                                      name=f"Abnormal training video {j}", ax=ax)
fig.tight_layout()
plt.show()
