"""
=====================================================================
Tuning feature-norm under-sampling with a frame-level scorer
=====================================================================

The refinement of Lee & Seo (2026) has two knobs: the number of feature-norm
clusters per video (``n_clusters``, K) and how many of the largest form the
majority (``n_top``). Here a :class:`~sklearn.model_selection.GridSearchCV`
tunes both for a magnitude MIL classifier, scoring each candidate by
**frame-level ROC AUC** on held-out videos.

Training only ever sees video labels. The frame ground truth goes to the
scorer alone, through scikit-learn's metadata routing.
"""

# %%
# Data: ragged videos of clip features, video labels, frame labels
# ------------------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline

from sklearn_wsvad import (
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_roc_auc_score,
    make_frame_scorer,
    score_clips,
)
from sklearn_wsvad.datasets import make_wsvad_videos
from sklearn_wsvad.models import MagnitudeMILDetector

data = make_wsvad_videos(n_videos=160, random_state=0)
X_train, X_test, y_train, y_test, f_train, f_test = train_test_split(
    data.videos, data.target, data.frame_labels, test_size=0.3,
    stratify=data.target, random_state=0)
print(f"{len(X_train)} training videos, lengths {min(map(len, X_train))}"
      f"-{max(map(len, X_train))} clips, {X_train[0].shape[1]} features")

# %%
# The pipeline: under-sample, reform snippets, classify
# ------------------------------------------------------
# At ``fit`` the under-sampler keeps the minority ("Bot") clips of every video
# and the reformer mean-pools them into 32 snippets. At ``predict`` both pass
# every clip through, so every test clip gets a score. The model standardises
# the rows it trains on itself (``input_scaling="standard"``), so the raw
# features need no scaler.
pipe = Pipeline([
    ("undersample", FeatureNormClusterUndersampler(normal_keep="bottom",
                                                   abnormal_keep="bottom")),
    ("snippets", SnippetReformer(n_snippets=32)),
    ("model", MagnitudeMILDetector(max_epochs=15, random_state=0)),
])

# %%
# Grid search over K and Top-n, scored on frames
# ----------------------------------------------
# ``frame_labels`` is passed to ``fit`` of the search; routing sends it to the
# scorer of each validation fold and never to a training step.
sklearn.set_config(enable_metadata_routing=True)
search = GridSearchCV(
    pipe,
    {"undersample__n_clusters": [5, 10], "undersample__n_top": [2, 3]},
    scoring=make_frame_scorer("roc_auc"),
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train, frame_labels=f_train)
print("best parameters:", search.best_params_)
print(f"best cross-validated frame AUC: {search.best_score_:.3f}")

# %%
# Held-out frame AUC of the refitted best pipeline
# ------------------------------------------------
test_scores = score_clips(search, X_test)
print(f"test frame AUC: {frame_roc_auc_score(f_test, test_scores):.3f}")

results = search.cv_results_
labels = [f"K={p['undersample__n_clusters']}, top={p['undersample__n_top']}"
          for p in results["params"]]
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
ax.set_xlim(min(results["mean_test_score"]) - 0.05, 1.0)
ax.set_xlabel("cross-validated frame AUC")
fig.tight_layout()

# %%
# One test video: clip scores against the ground truth
# ----------------------------------------------------
i = int(np.argmax([f.mean() if f.any() else 0 for f in f_test]))
fig, ax = plt.subplots(figsize=(7, 2.5))
ax.plot(np.repeat(test_scores[i], 16), label="score")
ax.fill_between(np.arange(f_test[i].size), f_test[i], alpha=0.3, label="ground truth")
ax.set_xlabel("frame")
ax.legend()
fig.tight_layout()
sklearn.set_config(enable_metadata_routing=False)
