import numpy as np
import pytest
import torch

from sklearn_wsvad.models import (
    BNWVADDetector,
    BNWVADLoss,
    BNWVADModule,
    divergence_from_mean,
    sample_batch_selection,
)
from sklearn_wsvad.models._bnwvad import Enhancer, _normal_selection
from sklearn_wsvad.utils import pad_videos

FAST = dict(dim=16, dim_head=4, head_channels=(8, 4), max_epochs=2, batch_size=8,
            random_state=0)


def test_dfm_is_the_mahalanobis_distance_to_the_running_statistics():
    rng = np.random.default_rng(0)
    f, mean, var = rng.normal(size=(2, 3, 5)), rng.normal(size=3), rng.uniform(0.5, 2, 3)
    dfm = divergence_from_mean(torch.tensor(f), torch.tensor(mean), torch.tensor(var)).numpy()
    for b in range(2):
        for t in range(5):
            d = f[b, :, t] - mean
            np.testing.assert_allclose(dfm[b, t], np.sqrt(d @ np.diag(1 / var) @ d), rtol=1e-6)


def test_module_dfm_reads_running_statistics_after_the_forward_pass():
    torch.manual_seed(0)
    m = BNWVADModule(6, enhancer=False, dim=8, head_channels=(4, 3)).train()
    x, mask = torch.randn(3, 5, 6) + 2.0, torch.ones(3, 5, dtype=torch.bool)
    out = m(x, mask)
    # the running statistics moved (momentum 0.1) in this very forward pass
    assert not torch.allclose(m.bn1.running_mean, torch.zeros(4))
    expected = divergence_from_mean(out["hidden"][0], m.bn1.running_mean, m.bn1.running_var)
    torch.testing.assert_close(out["layer_dfm"][0], expected)
    torch.testing.assert_close(out["scores"], out["dfm"] * out["classifier"])
    torch.testing.assert_close(out["dfm"], out["layer_dfm"][0] + out["layer_dfm"][1])


def test_sample_batch_selection_on_the_papers_figure_4():
    # B = 4 abnormal videos, T = 5 snippets, rho_s = rho_b = 40%
    crit = torch.tensor([
        [0.3, 0.4, 0.1, 0.2, 0.1],   # inconspicuous anomalies: only SLS finds them
        [0.9, 0.95, 0.2, 0.1, 0.0],
        [0.85, 0.6, 0.1, 0.2, 0.1],
        [0.8, 0.7, 0.75, 0.65, 0.1],  # many anomalies: SLS keeps 2, BLS finds 4
    ])
    mask = torch.ones(4, 5, dtype=torch.bool)
    sls = sample_batch_selection(crit, mask, 0.4, 0.4, "sample")
    bls = sample_batch_selection(crit, mask, 0.4, 0.4, "batch")
    sbs = sample_batch_selection(crit, mask, 0.4, 0.4, "sample_batch")
    assert sls.sum(1).tolist() == [2, 2, 2, 2]
    assert bls.sum() == 8 and bls[0].sum() == 0 and bls[3, :4].all()
    assert torch.equal(sbs, sls | bls)
    # union: 2 + 2 + 2 from SLS, and all 4 of the last video from BLS
    assert sbs.sum(1).tolist() == [2, 2, 2, 4] and sbs[0, :2].all() and sbs[3, :4].all()
    # padding is never selected
    mask[3, 2:] = False
    picked = sample_batch_selection(crit, mask, 0.4, 0.4, "sample_batch")
    assert not picked[3, 2:].any()


def test_normal_selection_takes_per_video_tops_truncated():
    crit = torch.tensor([[0.1, 0.9, 0.5, 0.3], [0.8, 0.2, 0.7, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    picked, _ = _normal_selection(crit, mask, n_select=3)  # 3 // 2 + 1 = 2 per video
    # rank-major: 0.9 (video 0), 0.8 (video 1), 0.5 (video 0); 0.7 is cut
    assert picked.tolist() == [[False, True, True, False], [True, False, False, False]]


def test_normal_selection_is_rank_major_on_four_videos():
    # 6 picks from 4 normal videos: 6 // 4 + 1 = 2 per video, listed rank by
    # rank (every video's best, then every video's second) and cut at 6, so
    # the videos give [2, 2, 1, 1] picks (video-major order would give [2, 2, 2, 0])
    crit = torch.tensor([[0.9, 0.1, 0.8, 0.0],
                         [0.2, 0.7, 0.6, 0.1],
                         [0.5, 0.4, 0.3, 0.2],
                         [0.0, 0.1, 0.2, 0.3]])
    mask = torch.ones(4, 4, dtype=torch.bool)
    picked, (videos, steps) = _normal_selection(crit, mask, n_select=6)
    assert picked.sum(dim=1).tolist() == [2, 2, 1, 1]
    assert videos.tolist() == [0, 1, 2, 3, 0, 1]
    assert steps.tolist() == [0, 1, 0, 3, 2, 2]


def _tiny_output():
    # 2 videos (abnormal, normal) x 4 snippets, one BN layer of 1 channel with
    # running mean 0 and variance 4: DFM = |f| / 2
    f = torch.tensor([[[4.0, 0.0, 2.0, 0.0]], [[2.0, 1.0, 0.0, 6.0]]])
    dfm = f.abs()[:, 0] / 2
    return {
        "classifier": torch.tensor([[0.5, 0.5, 0.5, 0.5], [0.3, 0.4, 0.0, 0.9]]),
        "layer_dfm": [dfm, dfm],
        "hidden": (f, f),
    }


def test_normal_and_mpp_losses_on_a_tiny_batch():
    out, y = _tiny_output(), torch.tensor([1.0, 0.0])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)
    loss = BNWVADLoss(rho_s=0.5, rho_b=0.0, selection="sample", margin=1.0,
                      mpp_weights=(2.0, 0.0), lambda_normal=1.0)
    # normal loss: L2 norm of the normal video's real scores
    assert loss.normal_loss(out, y, mask).item() == pytest.approx(np.sqrt(0.09 + 0.16))
    # abnormal: top-2 DFM = clips 0 (2.0) and 2 (1.0); normal: 2 // 1 + 1 = 2 per
    # video -> clips 0 (1.0) and 1 (0.5); pairs in order: [1 + 1 - 2]+, [1 + 0.5 - 1]+
    assert loss.mpp_loss(out, y, mask, 0).item() == pytest.approx((0.0 + 0.5) / 2)
    total = np.sqrt(0.25) + 2.0 * 0.25
    assert loss(out, y, mask).item() == pytest.approx(total, rel=1e-6)
    # the magnitude criterion picks by |f| (same order here) and still measures DFM
    mag = BNWVADLoss(rho_s=0.5, rho_b=0.0, selection="sample", criterion="magnitude")
    assert mag.mpp_loss(out, y, mask, 0).item() == pytest.approx(0.25)


@pytest.mark.parametrize("training", [False, True])
def test_enhancer_and_head_ignore_padding(training):
    torch.manual_seed(0)
    m = BNWVADModule(3, dim=8, dim_head=4, head_channels=(4, 2)).train(training)
    videos = [np.random.default_rng(i).normal(size=(n, 3)) for i, n in enumerate((5, 9))]
    outs = []
    for length in (9, 300):  # far-away padding once underflowed the local kernel
        x, mask = pad_videos(videos, length=length)
        outs.append(m(torch.from_numpy(x), torch.from_numpy(mask)))
        if training:  # same statistics for both calls
            m.bn1.reset_running_stats()
            m.bn2.reset_running_stats()
    for i, v in enumerate(videos):
        torch.testing.assert_close(outs[0]["scores"][i, :len(v)], outs[1]["scores"][i, :len(v)])
    assert torch.isfinite(outs[1]["scores"]).all()


@pytest.mark.parametrize("normalization", ["column", "row"])
def test_enhancer_attention_matches_the_official_formula(normalization):
    # four projections q, k, v, t; softmax(q k^T / sqrt(d)) v next to the kernel
    # on t, normalised as the official ``attn2 / attn2.sum(-1)`` (numpy
    # broadcasting: entry (i, j) over the sum of row j) or per row
    torch.manual_seed(0)
    e = Enhancer(2, dim=4, depth=1, heads=1, dim_head=4, kernel_normalization=normalization)
    attn = e.layers[0][1]
    x = torch.randn(1, 6, 4)
    mask = torch.ones(1, 6, dtype=torch.bool)
    qkvt = attn.to_qkvt(x)[0].detach().numpy()
    q, k, v, t = (qkvt[:, 4 * i: 4 * (i + 1)] for i in range(4))
    steps = np.arange(1, 7, dtype=float)
    attn2 = np.exp(-np.abs(steps * np.ones(6) - steps.reshape(-1, 1)) / np.e)
    if normalization == "column":
        kernel = attn2 / attn2.sum(-1)
        np.testing.assert_allclose(kernel.sum(axis=0), 1.0)
    else:
        kernel = attn2 / attn2.sum(-1, keepdims=True)
    dots = q @ k.T / 2.0
    soft = np.exp(dots - dots.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    expected = np.concatenate([soft @ v, kernel @ t], axis=1) @ \
        attn.to_out[0].weight.detach().numpy().T + attn.to_out[0].bias.detach().numpy()
    np.testing.assert_allclose(attn(x, mask)[0].detach().numpy(), expected, rtol=1e-5,
                               atol=1e-6)


def test_gradient_clipping_bounds_the_update(small_data):
    def change(clip):
        sgd = {**FAST, "optimizer": torch.optim.SGD, "lr": 1.0, "weight_decay": 0.0,
               "clip_grad_norm": clip}
        start = BNWVADDetector(**{**sgd, "max_epochs": 0}).fit(small_data.videos,
                                                               small_data.target)
        moved = BNWVADDetector(**{**sgd, "max_epochs": 1}).fit(small_data.videos,
                                                               small_data.target)
        return max((a - b).abs().max().item() for a, b in
                   zip(start.module_.parameters(), moved.module_.parameters()))

    # SGD with lr 1 moves a parameter by at most the clipped norm per step
    assert change(1e-6) < 1e-5 < 1e-2 < change(None)


def test_multi_crop_videos_average_scores_over_crops(small_data):
    crops = [np.stack([v, 0.9 * v], axis=1) for v in small_data.videos]  # 2 crops
    est = BNWVADDetector(**FAST).fit(crops, small_data.target)
    scores = est.score_clips(crops[:2])
    per_crop = est.score_clips([c[:, j] for c in crops[:2] for j in range(2)])
    np.testing.assert_allclose(scores[1], (per_crop[2] + per_crop[3]) / 2)


@pytest.mark.parametrize("params, match", [
    ({"selection": "both"}, "selection"),
    ({"selection_criterion": "norm"}, "selection_criterion"),
    ({"rho_s": 1.5}, "rho_s"),
    ({"mpp_weights": (1.0,)}, "one entry per BatchNorm layer"),
])
def test_bad_hyper_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        BNWVADDetector(**{**FAST, **params}).fit([np.ones((4, 2)), np.zeros((4, 2))], [0, 1])
