"""Multi-crop videos (n_clips, n_crops, n_features) through the whole pipeline:
RTFM's 10-crop files -> load_features(crops="stack") -> undersampler ->
reformer -> scaler -> RTFMDetector, scored per clip."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import (
    ClipStandardScaler,
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_roc_auc_score,
    score_clips,
)
from sklearn_wsvad.datasets import load_features, make_wsvad_videos
from sklearn_wsvad.models import RTFMDetector
from sklearn_wsvad.refine import ClipNormalizer, clip_norms

N_CROPS = 10


def _ten_crop(data, rng):
    """Ten noisy views of every clip, float32 as released."""
    return [(v[:, None, :] * rng.uniform(0.9, 1.1, size=(1, N_CROPS, 1))
             + rng.normal(scale=0.05, size=(len(v), N_CROPS, v.shape[1]))).astype(np.float32)
            for v in data.videos]


@pytest.fixture(scope="module")
def rtfm_layout(tmp_path_factory):
    """A train and a test list of 10-crop files in RTFM's layout."""
    rng = np.random.default_rng(0)
    data = make_wsvad_videos(n_videos=60, n_features=16, min_clips=20, max_clips=60,
                             random_state=0)
    root = tmp_path_factory.mktemp("rtfm")
    videos = _ten_crop(data, rng)
    names = [f"{'Abuse' if y else 'Normal_Videos'}{i:03d}_x264" for i, y in
             enumerate(data.target)]
    for name, v in zip(names, videos):
        np.save(root / f"{name}_i3d.npy", v)
    abnormal, normal = np.flatnonzero(data.target == 1), np.flatnonzero(data.target == 0)
    test = np.sort(np.r_[abnormal[:8], normal[:12]])
    train = np.setdiff1d(np.arange(60), test)
    for split, idx in (("train", train), ("test", test)):
        (root / f"{split}.list").write_text(
            "\n".join(f"/their/machine/features/{names[i]}_i3d.npy" for i in idx))
    return root, data, test


def test_refinement_steps_keep_the_crops_together(rtfm_layout):
    root, _, _ = rtfm_layout
    train = load_features(root / "train.list", crops="stack", labels="ucf-crime")
    assert train.videos[0].shape[1:] == (N_CROPS, 16)
    sampler = FeatureNormClusterUndersampler(n_clusters=4, n_top=1)
    kept = sampler.fit_transform(train.videos, train.target)
    for v, k, idx in zip(train.videos, kept, sampler.kept_indices_):
        # one set of kept clips per video, every crop of a kept clip with it
        np.testing.assert_array_equal(k, np.asarray(v)[idx])
    # the clustered norms are those of the crop-mean features by default
    mean_crop = FeatureNormClusterUndersampler(n_clusters=4, n_top=1).fit(
        [np.asarray(v).mean(axis=1) for v in train.videos], train.target)
    for a, b in zip(sampler.kept_indices_, mean_crop.kept_indices_):
        np.testing.assert_array_equal(a, b)
    v = np.asarray(train.videos[0], dtype=np.float64)
    np.testing.assert_allclose(clip_norms(v), np.linalg.norm(v.mean(axis=1), axis=1))
    np.testing.assert_allclose(clip_norms(v, "mean_norm"),
                               np.linalg.norm(v, axis=2).mean(axis=1))
    # the reformer pools clips, crop by crop
    snippets = SnippetReformer(n_snippets=8).fit_transform(kept)
    for k, s in zip(kept, snippets):
        assert s.shape == (8, N_CROPS, 16)
        for c in (0, 7):
            np.testing.assert_allclose(
                s[:, c], SnippetReformer(n_snippets=8).fit_transform([k[:, c]])[0], rtol=1e-6)
    # the scalers treat every (clip, crop) row as a sample
    scaler = ClipStandardScaler().fit(snippets)
    rows = np.concatenate([s.reshape(-1, 16) for s in snippets]).astype(np.float64)
    np.testing.assert_allclose(scaler.mean_, rows.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(scaler.scale_, rows.std(axis=0), rtol=1e-5)
    unit = ClipNormalizer().fit_transform(snippets[:1])[0]
    np.testing.assert_allclose(np.linalg.norm(unit, axis=-1), 1.0, rtol=1e-5)


def test_ten_crop_files_through_the_whole_pipeline_to_rtfm(rtfm_layout):
    root, data, test_index = rtfm_layout
    train = load_features(root / "train.list", crops="stack", labels="ucf-crime")
    test = load_features(root / "test.list", crops="stack", labels="ucf-crime")
    pipe = make_pipeline(
        FeatureNormClusterUndersampler(n_clusters=4, n_top=1),
        SnippetReformer(n_snippets=16, boundaries="floor"),
        ClipStandardScaler(),
        RTFMDetector(max_epochs=30, batch_size=16, n_channels=32, hidden_sizes=(32, 16),
                     random_state=0),
    )
    pipe.fit(train.videos, train.target)
    scores = score_clips(pipe, test.videos)
    assert [s.shape for s in scores] == [(n,) for n in test.n_clips]
    frame_labels = [data.frame_labels[i] for i in test_index]
    # better than the raw feature norm of the same clips (0.67 here; 0.77 for
    # the pipeline at this seed)
    norm = frame_roc_auc_score(frame_labels, [clip_norms(v) for v in test.videos])
    assert frame_roc_auc_score(frame_labels, scores) > norm + 0.05
    # a clip's score is the mean over its crops' scores
    model, Xt = pipe[-1], pipe[:-1].transform(test.videos[:2])
    for v, s in zip(Xt, scores[:2]):
        per_crop = model.score_clips([v[:, c] for c in range(N_CROPS)])
        np.testing.assert_allclose(s, np.mean(per_crop, axis=0), rtol=1e-5)


def test_validation_split_keeps_a_videos_crops_on_one_side():
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import ValidSplit

    from sklearn_wsvad.models import BNWVADDetector

    data = make_wsvad_videos(24, n_features=8, min_clips=8, max_clips=16, random_state=0)
    rng = np.random.RandomState(0)
    videos = [np.stack([v, v + rng.normal(scale=0.1, size=v.shape)], axis=1).astype(np.float32)
              for v in data.videos]  # two crops per video
    est = BNWVADDetector(max_epochs=30, dim=16, dim_head=4, head_channels=(8, 4), batch_size=8,
                         random_state=0, progress_bar=False,
                         train_split=ValidSplit(4, stratified=True),
                         callbacks=[EarlyStopping(patience=2)])
    train, valid = est.get_split_datasets(videos, data.target)
    owner = est.get_dataset(videos, data.target).owner
    train_videos, valid_videos = set(owner[train.indices]), set(owner[valid.indices])
    assert not train_videos & valid_videos
    assert len(train_videos | valid_videos) == 24 and len(valid_videos) == 6
    assert len(valid) == 2 * len(valid_videos)  # every crop of a validation video
    # stratified over the videos' labels: 3 normal and 3 abnormal validation videos
    assert sorted(data.target[sorted(valid_videos)]) == [0, 0, 0, 1, 1, 1]
    est.fit(videos, data.target)
    assert np.isfinite(est.history_[-1, "valid_loss"])
