import numpy as np
import pytest
import torch

from sklearn_wsvad.models._functional import (
    abnormal_regularizer,
    masked_max,
    masked_topk,
    pairs,
    sparsity,
    temporal_smoothness,
)

VALUES = torch.tensor([[0.1, 0.9, 0.3, 0.5], [0.7, 0.2, 9.0, 9.0]])
MASK = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)


def test_masked_max_ignores_padding():
    top, arg = masked_max(VALUES, MASK)
    assert top.tolist() == pytest.approx([0.9, 0.7])
    assert arg.tolist() == [1, 0]


def test_masked_topk_weights_average_the_real_top_k():
    index, weight = masked_topk(VALUES, MASK, k=3)
    assert sorted(index[0].tolist()) == [1, 2, 3]
    np.testing.assert_allclose(weight[0], [1 / 3] * 3)
    # the second video has 2 real clips: both selected, the padded slot weighs 0
    picked = VALUES.gather(1, index)
    assert (picked[1] * weight[1]).sum().item() == pytest.approx((0.7 + 0.2) / 2)
    assert weight[1].sum().item() == pytest.approx(1.0)
    # k larger than the padded length
    index, weight = masked_topk(VALUES, MASK, k=10)
    assert index.shape == (2, 4)


def test_masked_topk_with_one_k_per_video():
    index, weight = masked_topk(VALUES, MASK, k=torch.tensor([2, 3]))
    assert index.shape == (2, 3)
    mean = (VALUES.gather(1, index) * weight).sum(dim=1)
    # video 0: top 2 of 4; video 1: k = 3 but only 2 real clips
    np.testing.assert_allclose(mean, [(0.9 + 0.5) / 2, (0.7 + 0.2) / 2], rtol=1e-6)
    np.testing.assert_allclose(weight[0], [0.5, 0.5, 0.0])


def test_smoothness_and_sparsity_per_video():
    np.testing.assert_allclose(temporal_smoothness(VALUES, MASK),
                               [0.8**2 + 0.6**2 + 0.2**2, 0.5**2], rtol=1e-6)
    np.testing.assert_allclose(sparsity(VALUES, MASK), [1.8, 0.9], rtol=1e-6)


def test_pairs_all_and_aligned():
    a, n = pairs(torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0, 30.0]))
    assert sorted(zip(a.tolist(), n.tolist())) == [
        (1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)]
    a, n = pairs(torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0, 30.0]), "aligned")
    assert list(zip(a.tolist(), n.tolist())) == [(1, 10), (2, 20)]
    a, n = pairs(torch.tensor([1.0]), torch.tensor([]))
    assert a.numel() == n.numel() == 0


def test_abnormal_regularizer_averages_over_abnormal_videos_only():
    y = torch.tensor([1.0, 0.0])
    reg = abnormal_regularizer(VALUES, MASK, y, lambda_smooth=2.0, lambda_sparse=0.5)
    assert reg.item() == pytest.approx(2.0 * (0.64 + 0.36 + 0.04) + 0.5 * 1.8, rel=1e-6)
    y = torch.tensor([1.0, 1.0])
    reg = abnormal_regularizer(VALUES, MASK, y, lambda_smooth=2.0, lambda_sparse=0.5)
    assert reg.item() == pytest.approx(
        np.mean([2.0 * 1.04 + 0.5 * 1.8, 2.0 * 0.25 + 0.5 * 0.9]), rel=1e-6)
    assert abnormal_regularizer(VALUES, MASK, torch.zeros(2), 1.0, 1.0).item() == 0.0
