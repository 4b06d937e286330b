"""The synthetic CLIP-like videos with classes and text embeddings."""

import numpy as np
import pytest

from sklearn_wsvad import frame_roc_auc_score
from sklearn_wsvad.datasets import make_wsvad_clip_videos
from sklearn_wsvad.utils import check_frame_labels, check_video_classes


def _text_score(data):
    """Zero-shot: best anomaly-class cosine minus the normal-class cosine."""
    text = data.text_embeddings / np.linalg.norm(data.text_embeddings, axis=1, keepdims=True)
    out = []
    for v in data.videos:
        cos = (v / np.linalg.norm(v, axis=1, keepdims=True)) @ text.T
        out.append(cos[:, 1:].max(axis=1) - cos[:, 0])
    return out


def test_shapes_labels_and_segments_agree():
    data = make_wsvad_clip_videos(40, n_classes=4, n_features=64, multi_label_share=0.5,
                                  random_state=0)
    assert len(data.videos) == 40 and data.text_embeddings.shape == (5, 64)
    assert all(v.shape[1] == 64 and v.dtype == np.float32 for v in data.videos)
    check_video_classes(data.video_classes, y=data.target, n_classes=5)
    check_frame_labels(data.frame_labels, [len(v) for v in data.videos])
    assert (data.video_classes[data.target == 1].sum(axis=1) == 2).any()  # multi-label videos
    for frames, segs, classes, y in zip(data.frame_labels, data.segments, data.video_classes,
                                        data.target):
        assert len(segs) == (classes[1:].sum() if y else 0)
        covered = np.zeros_like(frames)
        for c, start, stop in segs:
            assert classes[c] == 1 and 0 <= start < stop <= len(frames)
            covered[start:stop] = 1
        np.testing.assert_array_equal(covered, frames)


def test_norms_carry_no_information_and_text_only_helps_when_aligned():
    aligned = make_wsvad_clip_videos(80, random_state=1)
    norms = [np.linalg.norm(v, axis=1) for v in aligned.videos]
    assert np.allclose(np.concatenate(norms), 10, rtol=0.15)
    assert abs(frame_roc_auc_score(aligned.frame_labels, norms) - 0.5) < 0.06
    assert frame_roc_auc_score(aligned.frame_labels, _text_score(aligned)) > 0.8
    misaligned = make_wsvad_clip_videos(80, regime="misaligned", random_state=1)
    assert frame_roc_auc_score(misaligned.frame_labels, _text_score(misaligned)) < 0.65


def test_given_text_embeddings_are_used_and_not_modified():
    text = np.random.default_rng(0).normal(size=(4, 16)) * 3
    before = text.copy()
    data = make_wsvad_clip_videos(10, n_classes=3, n_features=16, text_embeddings=text,
                                  random_state=0)
    np.testing.assert_allclose(data.text_embeddings, text, rtol=1e-6)
    np.testing.assert_array_equal(text, before)
    with pytest.raises(ValueError, match=r"shape \(n_classes \+ 1, n_features\) = \(4, 16\)"):
        make_wsvad_clip_videos(10, n_classes=3, n_features=16, text_embeddings=text[:3])


def test_reproducible():
    a = make_wsvad_clip_videos(6, n_features=8, random_state=3)
    b = make_wsvad_clip_videos(6, n_features=8, random_state=3)
    for x, y in zip(a.videos, b.videos):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.video_classes, b.video_classes)
