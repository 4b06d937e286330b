"""
=====================================================================
DSANet against VadCLIP: coarse and fine-grained detection
=====================================================================

:class:`~sklearn_wsvad.models.DSANetDetector` is VadCLIP's network
(:class:`~sklearn_wsvad.models.VadCLIPDetector`) with three additions, each a
switch of the estimator (the paper's ablation):

* ``text_adapter``: a lightweight adapter on the class text in place of
  VadCLIP's learnable prompt;
* ``sgnm`` (self-guided normality modelling): the lowest-scored steps of each
  video teach a few normal patterns, a decoder rebuilds every step from them,
  and the reconstruction error is tied to the anomaly score. It only shapes
  training: scoring never goes through it;
* ``dcsa`` (decoupled contrastive semantic alignment): each video is split by
  its scores into an event-centric and a background-centric feature; the
  first is aligned with the video's class text, the second with the normal
  class.

This example trains both models on the same fine-grained synthetic data
(:func:`~sklearn_wsvad.datasets.make_wsvad_clip_videos`), compares the coarse
frame AUC and the mAP@IoU of the class predictions, and shows DCSA's split of
one test video. The data are synthetic: the numbers show how the pieces fit
together, not what the published models reach on UCF-Crime or XD-Violence.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_wsvad import SnippetReformer, detection_map, frame_roc_auc_score
from sklearn_wsvad.datasets import make_wsvad_clip_videos
from sklearn_wsvad.models import DSANetDetector, VadCLIPDetector

data = make_wsvad_clip_videos(200, n_classes=6, n_features=128, random_state=0)
train, test = train_test_split(np.arange(200), test_size=0.4, random_state=0,
                               stratify=data.video_classes.argmax(axis=1))
X_train = SnippetReformer(n_snippets=32, boundaries="floor").fit_transform(
    [data.videos[i] for i in train])
X_test = [data.videos[i] for i in test]
frames_test = [data.frame_labels[i] for i in test]
segments_test = [data.segments[i] for i in test]

# %%
# Three models on the same videos and classes
# -------------------------------------------
# The classes go to ``fit`` as ``video_classes`` (in a Pipeline, route them
# as in the VadCLIP example). With 120 training videos, ``batch_size=32``
# (the estimators' docstrings). DSANet with a 2-block SG-NM decoder (with
# the official 8 blocks an epoch takes about twice as long on a CPU: see
# ``benchmarks/bench_models.py``); the third model is
# DSANet with SG-NM and DCSA off: the adapter alone.
common = dict(text_embeddings=data.text_embeddings, batch_size=32, random_state=0)
models = {
    "VadCLIP": VadCLIPDetector(**common),
    "DSANet, adapter only": DSANetDetector(sgnm=False, dcsa=False, **common),
    "DSANet": DSANetDetector(decoder_depth=2, **common),
}
results = {}
for name, model in models.items():
    model.fit(X_train, data.target[train], video_classes=data.video_classes[train])
    proba = model.predict_proba_clips(X_test)
    results[name] = {
        "AUC": frame_roc_auc_score(frames_test, model.score_clips(X_test)),
        "mAP": detection_map(segments_test, proba),
    }
    print(f"{name:>21}: coarse frame AUC {results[name]['AUC']:.3f}, "
          f"average mAP@IoU {results[name]['mAP'].mean():.3f}")

# %%
# DSANet's class probabilities are by default the official fused form:
# ``[1 - a, a * q]`` with ``a`` the coarse score and ``q`` the alignment's
# distribution over the anomaly classes, both at ``fusion_temperature``.
# VadCLIP's softmax of the alignments is ``class_scores="alignment"``.
dsanet = models["DSANet"]
for form in ("fused", "alignment"):
    dsanet.set_params(class_scores=form)
    maps = detection_map(segments_test, dsanet.predict_proba_clips(X_test))
    print(f"DSANet, class_scores={form!r}: average mAP@IoU {maps.mean():.3f}")
dsanet.set_params(class_scores="fused")

fig, ax = plt.subplots(figsize=(6, 3.5))
thresholds = np.arange(1, 6) / 10
for i, (name, r) in enumerate(results.items()):
    ax.bar(thresholds + (i - 1) * 0.025, r["mAP"], width=0.025, label=name)
ax.set_xlabel("temporal IoU threshold")
ax.set_ylabel("mAP")
ax.set_xticks(thresholds)
ax.set_title("Fine-grained detection on the synthetic test videos")
ax.legend()
fig.tight_layout()

# %%
# DCSA's split of one video
# -------------------------
# The event weights ``exp(10 p) - 1`` and the background weights
# ``exp(10 (1 - p)) - 1`` of the coarse score ``p``, each normalised over
# the video (:func:`~sklearn_wsvad.models.decoupled_components` applies them
# to the adapter's features in training). A score near 1 outweighs a score of
# 0.5 by a factor of about 150, so the event feature is made of the few
# highest-scored steps.
i = next(j for j, t in enumerate(test) if data.target[t] == 1)
p = dsanet.score_clips([X_test[i]])[0]
event, background = np.expm1(10 * p), np.expm1(10 * (1 - p))
fig, ax = plt.subplots(figsize=(7, 3))
ax.fill_between(np.arange(len(p)), 0, frames_test[i][::16][:len(p)], step="mid",
                color="0.85", label="ground truth")
ax.plot(p, color="k", label="DSANet score")
ax.plot(event / event.max(), label="event weight (scaled)")
ax.plot(background / background.max(), label="background weight (scaled)")
ax.set_xlabel("clip")
ax.set_title(f"Test video {test[i]} ({data.class_names[data.video_classes[test[i]].argmax()]})")
ax.legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()
