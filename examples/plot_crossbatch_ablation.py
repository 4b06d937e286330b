"""
=====================================================
Cross-batch clustering guidance: the paper's ablation
=====================================================

:class:`~sklearn_wsvad.models.CrossBatchClusteringDetector` adds three
components to a GCN backbone trained with the k-max loss: the batch
clustering loss (``lambda_1``), cross-batch learning (``cross_batch``) and
the clustering guidance of the scores (``guidance``). Each is a parameter,
so the rows of the paper's Table 2 are four settings of one estimator,
behind the same refinement pipeline.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import (
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_roc_auc_score,
    score_clips,
)
from sklearn_wsvad.datasets import make_wsvad_videos
from sklearn_wsvad.models import CrossBatchClusteringDetector

data = make_wsvad_videos(n_videos=300, n_features=32, random_state=0)
X_train, X_test, y_train, y_test, _, frames_test = train_test_split(
    data.videos, data.target, data.frame_labels, test_size=0.4, stratify=data.target,
    random_state=0)

# %%
# Table 2: the components switched on one by one
# ----------------------------------------------
# Two training seeds per row: on this split the backbone alone sometimes
# learns only part of the anomalies, which one seed would hide.
pipe = make_pipeline(
    FeatureNormClusterUndersampler(n_clusters=10, n_top=3),
    SnippetReformer(n_snippets=32),
    CrossBatchClusteringDetector(max_epochs=50),
)
rows = {
    "backbone": dict(lambda_1=0.0, cross_batch=False, guidance=False),
    "+ L_bc": dict(cross_batch=False, guidance=False),
    "+ cross-batch": dict(guidance=False),
    "+ guidance": dict(),
}
seeds = [0, 1000]
scores = {}
for name, params in rows.items():
    aucs = []
    for seed in seeds:
        model = clone(pipe).set_params(**{f"crossbatchclusteringdetector__{k}": v
                                          for k, v in {**params, "random_state": seed}.items()})
        scores[name, seed] = score_clips(model.fit(X_train, y_train), X_test)
        aucs.append(frame_roc_auc_score(frames_test, scores[name, seed]))
    print(f"{name:>14}: frame AUC " + "  ".join(f"{a:.3f}" for a in aucs)
          + f"  (mean {np.mean(aucs):.3f})")

# %%
# Scores along an abnormal test video
# -----------------------------------
# Training seed 1000, where the backbone alone misses part of the anomalies:
# the abnormal test video whose anomaly the two models score most differently.
abnormal = np.flatnonzero(y_test == 1)
gap = [np.mean(np.abs(scores["+ guidance", 1000][i] - scores["backbone", 1000][i])
               * frames_test[i][:: data.frames_per_clip][: len(X_test[i])]) for i in abnormal]
video = int(abnormal[np.argmax(gap)])
fig, ax = plt.subplots(figsize=(7, 3))
clips = np.arange(len(X_test[video]))
truth = frames_test[video][:: data.frames_per_clip][: len(clips)]
ax.fill_between(clips, 0, truth, color="tab:red", alpha=0.15, step="mid",
                label="ground truth")
for name in ("backbone", "+ guidance"):
    ax.plot(clips, scores[name, 1000][video], label=name)
ax.set_xlabel("clip")
ax.set_ylabel("anomaly score")
ax.legend(loc="upper right")
plt.tight_layout()
plt.show()
