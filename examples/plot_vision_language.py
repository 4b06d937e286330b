"""
=====================================================================
Vision-language WSVAD: VadCLIP and CLIP-TSA on CLIP-like features
=====================================================================

CLIP features come with a second input: the text embeddings of the class
prompts ("a video of fighting", ...), one row per class, row 0 the normal
class. :class:`~sklearn_wsvad.models.VadCLIPDetector` uses them to name the
anomaly of every clip; :class:`~sklearn_wsvad.models.CLIPTSADetector` scores
the clips without text.

This example uses :func:`~sklearn_wsvad.datasets.make_wsvad_clip_videos`
(anomaly clips of class ``c`` lie near class ``c``'s text embedding; normal
clips include activities that resemble anomalies; feature norms carry no
signal) and shows

* the fine-grained contract: ``y`` stays the 0/1 video label, each video's
  class goes to ``fit`` as ``video_classes``, routed through a Pipeline like
  any other metadata;
* coarse frame AUC against the feature norm, the zero-shot text cosine and
  the core paper's magnitude MIL classifier;
* fine-grained detection (mAP@IoU 0.1-0.5, VadCLIP's official evaluation)
  against the same predictions with their classes shuffled, and the
  per-class frame AUC;
* one test video's scores over time.

The data are synthetic: the numbers show how the pieces fit together, not
what the published models reach on UCF-Crime or XD-Violence.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import (
    SnippetReformer,
    class_frame_roc_auc_score,
    detection_map,
    frame_roc_auc_score,
    score_clips,
)
from sklearn_wsvad.datasets import make_wsvad_clip_videos
from sklearn_wsvad.metrics import predict_proba_clips
from sklearn_wsvad.models import CLIPTSADetector, MagnitudeMILDetector, VadCLIPDetector

data = make_wsvad_clip_videos(200, n_classes=6, n_features=128, random_state=0)
print("classes:", data.class_names)
train, test = train_test_split(np.arange(200), test_size=0.4, random_state=0,
                               stratify=data.video_classes.argmax(axis=1))
X_train = [data.videos[i] for i in train]
X_test = [data.videos[i] for i in test]
frames_test = [data.frame_labels[i] for i in test]

# %%
# VadCLIP in a Pipeline, the classes routed to ``fit``
# ----------------------------------------------------
# Training videos are pooled to 32 snippets (VadCLIP refuses training videos
# longer than ``max_length``); test videos are scored clip by clip. With 120
# training videos, the official batch of 128 would leave one step per epoch:
# ``batch_size=32``, as the estimator's docstring advises for small sets.
sklearn.set_config(enable_metadata_routing=True)
vadclip = make_pipeline(
    SnippetReformer(n_snippets=32, boundaries="floor"),
    VadCLIPDetector(text_embeddings=data.text_embeddings, batch_size=32,
                    random_state=0).set_fit_request(video_classes=True),
)
vadclip.fit(X_train, data.target[train], video_classes=data.video_classes[train])
sklearn.set_config(enable_metadata_routing=False)

others = {
    "CLIP-TSA": CLIPTSADetector(random_state=0),
    "magnitude MIL": MagnitudeMILDetector(random_state=0),
}
scores = {"VadCLIP": score_clips(vadclip, X_test)}
for name, model in others.items():
    pipe = make_pipeline(SnippetReformer(n_snippets=32, boundaries="floor"), model)
    scores[name] = score_clips(pipe.fit(X_train, data.target[train]), X_test)

# two references without training: the feature norm and the zero-shot cosine
text = data.text_embeddings / np.linalg.norm(data.text_embeddings, axis=1, keepdims=True)


def zero_shot(video, temperature=0.07):
    z = (video / np.linalg.norm(video, axis=1, keepdims=True)) @ text.T / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


scores["feature norm"] = [np.linalg.norm(v, axis=1) for v in X_test]
scores["zero-shot text"] = [1 - zero_shot(v)[:, 0] for v in X_test]
for name, s in scores.items():
    print(f"{name:>15}: coarse frame AUC {frame_roc_auc_score(frames_test, s):.3f}")

# %%
# The untrained zero-shot cosine is the one to beat here: in this
# ``regime="aligned"`` each class's feature direction lies at cosine 0.7 to
# its text direction, so text alone finds much of the anomalies. The trained models only see the
# 0/1 video labels of 120 videos; ``regime="misaligned"`` (anomalies unrelated
# to the text) takes the zero-shot score to chance while the trained models
# keep theirs.

# %%
# Fine-grained detection
# ----------------------
# :func:`~sklearn_wsvad.metrics.predict_proba_clips` gives every clip's class
# probabilities (column 0 normal). Shuffling the anomaly classes of the same
# probabilities keeps the localisation and loses the naming: the gap is what
# the text alignment contributes.
segments = [data.segments[i] for i in test]
proba = predict_proba_clips(vadclip, X_test)
rng = np.random.default_rng(0)
shuffled = [p[:, np.r_[0, 1 + rng.permutation(p.shape[1] - 1)]] for p in proba]
for name, p in (("VadCLIP", proba), ("classes shuffled", shuffled)):
    maps = detection_map(segments, p)
    print(f"{name:>16}: mAP@IoU 0.1-0.5 {np.round(maps, 3)}, average {maps.mean():.3f}")

per_class = class_frame_roc_auc_score(frames_test, proba, data.video_classes[test])
for name, auc in zip(data.class_names[1:], per_class):
    print(f"{name:>12}: frame AUC of its class probability {auc:.3f}")

# %%
# One abnormal test video over time
# ---------------------------------
# The coarse scores of the three models and VadCLIP's probability of the
# video's own class, with the abnormal frames shaded.
i = next(j for j, f in enumerate(frames_test) if f.any())
c = int(data.video_classes[test[i]].argmax())
fig, ax = plt.subplots(figsize=(8, 3))
frames = np.asarray(frames_test[i])
ax.fill_between(np.arange(frames.size) / 16, 0, 1, where=frames > 0, color="0.85",
                step="post", label="abnormal frames")
for name in ("VadCLIP", "CLIP-TSA", "magnitude MIL"):
    ax.plot(scores[name][i], label=name)
ax.plot(proba[i][:, c], ":", label=f"VadCLIP p({data.class_names[c]})")
ax.set(xlabel="clip", ylabel="score", ylim=(0, 1.02))
ax.legend(loc="upper left", fontsize="small", ncol=2)
plt.tight_layout()
plt.show()
