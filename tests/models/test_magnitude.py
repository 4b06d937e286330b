import numpy as np
import pytest
import torch

from sklearn_wsvad.models import (
    MagnitudeMILDetector,
    MagnitudeMILLoss,
    MagnitudeMILModule,
)


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


def test_multi_crop_videos_are_rejected_with_a_pointer(small_data):
    crops = [np.stack([v, v], axis=1) for v in small_data.videos]
    with pytest.raises(ValueError, match=r"expected a 2-D array .*RTFMDetector"):
        MagnitudeMILDetector(max_epochs=1).fit(crops, small_data.target)
