"""
=======================================================
Three MIL classifiers on the same refined training set
=======================================================

The refinement steps are independent of the classifier trained on them. Here
the paper's magnitude MIL classifier, Sultani et al.'s MIL ranking, RTFM and
NG-MIL are each trained behind the same :class:`~sklearn_wsvad.FeatureNormClusterUndersampler`
(Bot7-Bot7) and compared on frame-level ROC AUC with the raw clip feature
norm, the unsupervised score the refinement starts from.

Each model keeps its published test protocol: Sultani et al. give every clip
its segment's score (``SnippetReformer(inference="snippets")``), the others
score every clip.
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
from sklearn_wsvad.models import (
    MagnitudeMILDetector,
    MILRankingDetector,
    NGMILDetector,
    RTFMDetector,
)
from sklearn_wsvad.plotting import plot_frame_roc

data = make_wsvad_videos(n_videos=300, n_features=32, random_state=2)
X_train, X_test, y_train, y_test, _, frames_test = train_test_split(
    data.videos, data.target, data.frame_labels, test_size=0.4, stratify=data.target,
    random_state=2)

# %%
# One pipeline per model
# ----------------------
# Only the classifier (and the test protocol of the snippets) changes.
models = {
    "magnitude MIL": (MagnitudeMILDetector(max_epochs=20, random_state=0), "clips"),
    "MIL ranking": (MILRankingDetector(max_epochs=30, random_state=0), "snippets"),
    "RTFM": (RTFMDetector(n_channels=64, max_epochs=20, random_state=0), "clips"),
    "NG-MIL": (NGMILDetector(max_epochs=20, random_state=0), "clips"),
}
scores = {"feature norm": [np.linalg.norm(v, axis=1) for v in X_test]}
for name, (model, inference) in models.items():
    pipe = make_pipeline(
        FeatureNormClusterUndersampler(n_clusters=10, n_top=3),
        SnippetReformer(n_snippets=32, inference=inference),
        model,
    )
    pipe.fit(X_train, y_train)
    scores[name] = score_clips(pipe, X_test)

for name, s in scores.items():
    print(f"{name:>14}: frame AUC {frame_roc_auc_score(frames_test, s):.3f}")

# %%
# Frame-level ROC curves
# ----------------------
plot_frame_roc(frames_test, scores)
plt.tight_layout()
plt.show()
