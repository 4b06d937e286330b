import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_wsvad.models import (
    BalancedBatchSampler,
    MagnitudeMILDetector,
    MagnitudeMILLoss,
    MagnitudeMILModule,
    pad_collate,
)

FAST = dict(max_epochs=3, hidden_sizes=(16, 8), batch_size=8, random_state=0)


def test_loss_on_hand_computed_batch():
    # 2 abnormal + 1 normal video, 3 slots, the last slot of video 2 is padding
    logits = torch.tensor([[0.0, 2.0, -1.0], [1.0, 0.5, 0.0], [-1.0, 0.0, 9.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    feats = torch.zeros(3, 3, 2)
    feats[0, 1] = torch.tensor([3.0, 4.0])   # top of video 0: norm 5
    feats[1, 0] = torch.tensor([0.0, 2.0])   # top of video 1: norm 2
    feats[2, 1] = torch.tensor([1.0, 0.0])   # top of video 2 (padding ignored): norm 1
    feats[2, 2] = torch.tensor([50.0, 0.0])  # padding, must not be used
    y = torch.tensor([1.0, 1.0, 0.0])
    loss = MagnitudeMILLoss(margin=5.0, lambda_mag=0.5)(
        {"logits": logits, "features": feats}, y, mask)
    top = np.array([2.0, 1.0, 0.0])
    p = 1 / (1 + np.exp(-top))
    bce = -np.mean([np.log(p[0]), np.log(p[1]), np.log(1 - p[2])])
    mag = np.mean([max(0, 5 - 5 + 1), max(0, 5 - 2 + 1)])  # pairs (0, 2), (1, 2)
    assert loss.item() == pytest.approx(bce + 0.5 * mag, rel=1e-6)
    # one-class batch: the magnitude term vanishes
    only = MagnitudeMILLoss(margin=5.0, lambda_mag=0.5)(
        {"logits": logits[:2], "features": feats[:2]}, y[:2], mask[:2])
    assert only.item() == pytest.approx(-np.mean(np.log(p[:2])), rel=1e-6)


def test_module_output_contract():
    m = MagnitudeMILModule(5, hidden_sizes=(6, 4), dropout=0.0)
    out = m(torch.randn(2, 3, 5), torch.ones(2, 3, dtype=torch.bool))
    assert out["logits"].shape == (2, 3) and out["features"].shape == (2, 3, 6)
    torch.testing.assert_close(out["scores"], torch.sigmoid(out["logits"]))


def test_balanced_sampler():
    labels = np.array([0] * 10 + [1] * 3)
    sampler = BalancedBatchSampler(labels, batch_size=4, random_state=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 5
    for b in batches:
        assert sorted(labels[b].tolist()) == [0, 0, 1, 1]
    assert sorted(i for b in batches for i in b if labels[i] == 0) == list(range(10))


def test_collate_pads_and_masks():
    X, y = pad_collate([(np.ones((2, 3)), 1), (np.ones((4, 3)), 0)])
    assert X["x"].shape == (2, 4, 3) and X["mask"].sum(1).tolist() == [2, 4]
    assert y.tolist() == [1.0, 0.0]


def test_fit_predict_api(small_data):
    est = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    scores = est.score_clips(small_data.videos)
    assert [s.shape for s in scores] == [(len(v),) for v in small_data.videos]
    dec = est.decision_function(small_data.videos)
    np.testing.assert_allclose(dec, [s.max() for s in scores])
    np.testing.assert_array_equal(est.predict(small_data.videos), (dec >= 0.5).astype(int))
    proba = est.predict_proba(small_data.videos)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert 0.0 <= est.score(small_data.videos, small_data.target) <= 1.0
    np.testing.assert_array_equal(est.classes_, [0, 1])
    assert len(est.history) == 3


def test_padding_never_changes_a_video_score(small_data):
    est = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    batched = est.score_clips(small_data.videos)
    for i in (0, 7, 31):
        alone = est.score_clips([small_data.videos[i]])[0]
        np.testing.assert_allclose(alone, batched[i], rtol=1e-5, atol=1e-7)


def test_reproducible_and_leaves_global_rng_alone(small_data):
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    a = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    b = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    assert torch.equal(torch_state, torch.get_rng_state())
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])
    np.testing.assert_array_equal(a.decision_function(small_data.videos),
                                  b.decision_function(small_data.videos))
    c = MagnitudeMILDetector(**{**FAST, "random_state": 1}).fit(small_data.videos,
                                                                 small_data.target)
    assert not np.array_equal(a.decision_function(small_data.videos),
                              c.decision_function(small_data.videos))


def test_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    videos, y = [], []
    for i in range(40):
        v = rng.normal(size=(20, 4))
        if i % 2:
            v[5:9, 0] += 4.0
        videos.append(v)
        y.append(i % 2)
    est = MagnitudeMILDetector(max_epochs=40, hidden_sizes=(32, 16), dropout=0.1,
                               batch_size=16, random_state=0).fit(videos, y)
    assert est.score(videos, y) > 0.95
    s = est.score_clips(videos)[1]
    assert s[5:9].mean() > s[np.r_[0:5, 9:20]].mean()


def test_pickle_and_clone(small_data):
    est = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.decision_function(small_data.videos),
                                  again.decision_function(small_data.videos))
    fresh = clone(est)
    assert not hasattr(fresh, "module_") or not fresh.initialized_
    assert fresh.get_params()["margin"] == est.margin
    refit = fresh.fit(small_data.videos, small_data.target)
    np.testing.assert_array_equal(est.decision_function(small_data.videos),
                                  refit.decision_function(small_data.videos))


@pytest.mark.parametrize(
    "videos, y, match",
    [
        ([np.ones((3, 2))] * 2, [0, 0], "needs both normal and abnormal videos"),
        ([np.ones((3, 2))] * 2, [0, 1, 1], "Got 2 videos but 3 labels"),
        ([np.ones((3, 2))] * 2, [0, 3], r"found values \[0, 3\]"),
        ([np.ones((3, 2)), np.ones((3, 4))], [0, 1], "Video 1 has 4 features but video 0 has 2"),
        ([np.ones((3, 2)), np.full((3, 2), np.nan)], [0, 1], "Video 1 contains NaN"),
        ([np.ones((3, 2)), np.ones((0, 2))], [0, 1], "Video 1 has 0 clips"),
    ],
)
def test_bad_input_raises_before_training(videos, y, match):
    est = MagnitudeMILDetector(**FAST)
    with pytest.raises(ValueError, match=match):
        est.fit(videos, y)
    assert not getattr(est, "initialized_", False)


def test_bad_hyper_parameters_and_device():
    videos, y = [np.ones((3, 2)), np.zeros((3, 2))], [0, 1]
    with pytest.raises(ValueError, match="dropout"):
        MagnitudeMILDetector(dropout=1.5).fit(videos, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' but torch finds no CUDA device"):
            MagnitudeMILDetector(device="cuda").fit(videos, y)


def test_fit_takes_no_extra_arguments(small_data):
    with pytest.raises(TypeError):
        MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target,
                                         frame_labels=small_data.frame_labels)


def test_scoring_checks_feature_dimension(small_data):
    est = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    with pytest.raises(ValueError, match="fitted with 16"):
        est.decision_function([np.ones((3, 5))])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(small_data):
    cpu = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    gpu = MagnitudeMILDetector(**FAST, device="cuda").fit(small_data.videos, small_data.target)
    np.testing.assert_allclose(cpu.decision_function(small_data.videos),
                               gpu.decision_function(small_data.videos), atol=1e-3)
    moved = pickle.loads(pickle.dumps(gpu)).set_params(device="cpu")
    np.testing.assert_allclose(moved.decision_function(small_data.videos),
                               gpu.decision_function(small_data.videos), atol=1e-5)


def test_partial_fit_continues_training_and_validates(small_data):
    est = MagnitudeMILDetector(**FAST).fit(small_data.videos, small_data.target)
    before = est.decision_function(small_data.videos)
    est.partial_fit(small_data.videos, small_data.target)
    assert len(est.history) == 2 * FAST["max_epochs"]
    assert not np.array_equal(before, est.decision_function(small_data.videos))
    with pytest.raises(ValueError, match="fitted with 16"):
        est.partial_fit([np.ones((3, 4)), np.zeros((3, 4))], [0, 1])
    fresh = MagnitudeMILDetector(**FAST).partial_fit(small_data.videos, small_data.target)
    np.testing.assert_array_equal(before, fresh.decision_function(small_data.videos))
