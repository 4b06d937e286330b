"""CLIP-TSA: the perturbed top-k membership, its gradient, long videos."""

import numpy as np
import pytest
import torch

from sklearn_wsvad.models import CLIPTSADetector, CLIPTSAModule, perturbed_topk_membership


def test_membership_sums_to_k_and_ignores_padding():
    torch.manual_seed(0)
    scores = torch.rand(3, 9)
    mask = torch.arange(9)[None, :] < torch.tensor([[9], [6], [2]])
    k = torch.tensor([4, 3, 1])
    p = perturbed_topk_membership(scores, mask, k, n_samples=50, sigma=0.1)
    assert ((p >= 0) & (p <= 1)).all() and (p[~mask] == 0).all()
    torch.testing.assert_close(p.sum(dim=1), k.to(p.dtype))
    # negligible noise: the hard top-k of the scores
    hard = perturbed_topk_membership(scores, mask, k, n_samples=3, sigma=1e-9)
    for row, m, n in zip(range(3), mask, k):
        expected = torch.zeros(9)
        expected[scores[row].masked_fill(~m, -1).topk(int(n)).indices] = 1
        torch.testing.assert_close(hard[row], expected)


def test_gradient_is_the_perturbed_optimiser_estimator():
    """Against the one-hot form of the official code: indicators (b, n, k, T),
    grad_s[b, e] = sum_{n,k,d} onehot[b,n,k,d] Z[b,n,e] grad_ind[b,k,d] / (n sigma)."""
    torch.manual_seed(0)
    b, t, n, sigma = 2, 7, 5, 0.2
    scores = torch.rand(b, t, dtype=torch.float64, requires_grad=True)
    mask = torch.ones(b, t, dtype=torch.bool)
    k = torch.tensor([3, 3])
    generator = torch.Generator().manual_seed(1)
    p = perturbed_topk_membership(scores, mask, k, n_samples=n, sigma=sigma, generator=generator)
    g = torch.randn(b, t, dtype=torch.float64)  # dL/dP
    (p * g).sum().backward()
    z = torch.randn(t, n, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64).T[None].expand(b, n, t)
    idx = (scores.detach()[:, None, :] + sigma * z).topk(3, dim=-1).indices.sort(-1).values
    onehot = torch.nn.functional.one_hot(idx, t).to(torch.float64)  # b n k T
    grad_ind = g[:, None, :].expand(b, 3, t)  # out = sum_k ind[k] * x: dL/dind[k] = g
    expected = torch.einsum("bnkd,bne,bkd->be", onehot, z, grad_ind) / (n * sigma)
    torch.testing.assert_close(scores.grad, expected)


def test_scorer_learns_through_the_estimator():
    module = CLIPTSAModule(4, n_channels=4, hidden_sizes=(4,), scorer_hidden=4)
    x = torch.randn(2, 10, 4)
    mask = torch.ones(2, 10, dtype=torch.bool)
    module.train()
    module(x, mask)["scores"].sum().backward()
    assert module.tsa_scorer[0].weight.grad.abs().sum() > 0


def test_long_videos_stream_with_the_same_scores():
    torch.manual_seed(0)
    module = CLIPTSAModule(5, kappa=0.5, n_channels=4, hidden_sizes=(6,),
                           scorer_hidden=3).double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    x = torch.randn(1, 230, 5, dtype=torch.float64)
    with torch.no_grad():
        whole = module(x, torch.ones(1, 230, dtype=torch.bool))["scores"][0]
        streamed = module.stream_scores(lambda a, b: x[:, a:b], 230, 37)
    np.testing.assert_allclose(streamed.numpy(), whole.numpy(), rtol=1e-10, atol=1e-12)


def test_multi_crop_videos_are_refused():
    videos = [np.ones((5, 2, 3), np.float32), np.zeros((5, 2, 3), np.float32)]
    with pytest.raises(ValueError, match="2-D"):
        CLIPTSADetector(max_epochs=1).fit(videos, [0, 1])
