import numpy as np
import pytest
import torch
from torch import nn

from sklearn_wsvad.models import (
    MaskedBatchNorm1d,
    MultiScaleTemporalNetwork,
    NonLocalBlock1d,
    RTFMDetector,
    RTFMLoss,
    RTFMModule,
)
from sklearn_wsvad.utils import pad_videos

FAST = dict(n_channels=8, hidden_sizes=(8, 4), max_epochs=2, batch_size=8, random_state=0)


def _hand_batch():
    """1 abnormal video (4 clips) and 2 normal ones (2 and 1 real clips), d = 2."""
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    magnitudes = torch.tensor([[1.0, 5.0, 3.0, 4.0], [2.0, 1.0, 99.0, 99.0],
                               [7.0, 99.0, 99.0, 99.0]])
    scores = torch.tensor([[0.1, 0.8, 0.3, 0.6], [0.2, 0.4, 0.99, 0.99],
                           [0.25, 0.99, 0.99, 0.99]])
    features = torch.full((3, 4, 2), 50.0)  # padded slots: large, must not count
    features[0] = torch.tensor([[9.0, 9.0], [3.0, 4.0], [9.0, 9.0], [3.0, -4.0]])
    features[1, :2] = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    features[2, 0] = torch.tensor([0.0, 2.0])
    y = torch.tensor([1.0, 0.0, 0.0])
    output = {"scores": scores, "features": features, "magnitudes": magnitudes}
    return output, y, mask


def _expected(magnitude_loss):
    # top-2 by magnitude: abnormal clips 1 and 3; normal video 1 both real
    # clips; normal video 2 its only clip
    top_scores = np.array([(0.8 + 0.6) / 2, (0.2 + 0.4) / 2, 0.25])
    bce = -np.mean([np.log(top_scores[0]), np.log(1 - top_scores[1]),
                    np.log(1 - top_scores[2])])
    a = 3.0                      # ||mean([3, 4], [3, -4])||
    normal = [np.sqrt(0.5), 2.0]  # ||mean([1, 0], [0, 1])||, ||[0, 2]||
    if magnitude_loss == "hinge":
        sep = np.mean([max(0.0, 4.0 - a + n) for n in normal])
    else:
        sep = np.mean([(abs(4.0 - a) + n) ** 2 for n in normal])
    smooth = 0.7**2 + 0.5**2 + 0.3**2
    sparse = 0.1 + 0.8 + 0.3 + 0.6
    return bce + 0.5 * sep + 0.1 * smooth + 0.01 * sparse


@pytest.mark.parametrize("magnitude_loss", ["hinge", "squared"])
def test_loss_on_hand_computed_batch(magnitude_loss):
    loss = RTFMLoss(k=2, margin=4.0, lambda_mag=0.5, magnitude_loss=magnitude_loss,
                    selection_dropout=0.0, lambda_smooth=0.1, lambda_sparse=0.01)
    assert loss(*_hand_batch()).item() == pytest.approx(_expected(magnitude_loss), rel=1e-6)


def test_selection_dropout_acts_in_training_only():
    output, y, mask = _hand_batch()
    loss = RTFMLoss(k=2, selection_dropout=0.7).eval()
    index, _ = loss.select(output["magnitudes"], mask)
    assert sorted(index[0].tolist()) == [1, 3]
    loss.train()
    torch.manual_seed(0)
    picks = {tuple(sorted(loss.select(output["magnitudes"], mask)[0][0].tolist()))
             for _ in range(50)}
    assert len(picks) > 1
    assert all(set(p) <= {0, 1, 2, 3} for p in picks)


def test_masked_batchnorm_matches_batchnorm_on_the_real_steps():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 6)  # b x c x t
    mask = torch.tensor([[1] * 6, [1] * 2 + [0] * 4, [1] * 5 + [0]], dtype=torch.bool)
    masked, plain = MaskedBatchNorm1d(4), nn.BatchNorm1d(4)
    out = masked(x, mask)
    rows = x.transpose(1, 2)[mask]
    torch.testing.assert_close(out.transpose(1, 2)[mask], plain(rows))
    torch.testing.assert_close(masked.running_mean, plain.running_mean)
    torch.testing.assert_close(masked.running_var, plain.running_var)
    assert (out.transpose(1, 2)[~mask] == 0).all()


def test_non_local_block_against_numpy():
    torch.manual_seed(0)
    block = NonLocalBlock1d(4).eval()
    nn.init.normal_(block.bn.weight)  # leave the identity start
    x = torch.randn(1, 4, 5)
    out = block(x, torch.ones(1, 5, dtype=torch.bool))[0].detach().numpy()

    def conv(layer, h):
        return layer.weight.detach().numpy()[:, :, 0] @ h + layer.bias.detach().numpy()[:, None]

    h = x[0].numpy()
    f = conv(block.theta, h).T @ conv(block.phi, h) / 5  # t x t
    y = (f @ conv(block.g, h).T).T  # inter x t
    wy = conv(block.W, y)
    bn = block.bn
    wy = ((wy - bn.running_mean.numpy()[:, None]) / np.sqrt(bn.running_var.numpy()[:, None]
          + bn.eps) * bn.weight.detach().numpy()[:, None] + bn.bias.detach().numpy()[:, None])
    np.testing.assert_allclose(out, wy + h, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("training", [False, True])
def test_mtn_output_does_not_depend_on_padding(training):
    torch.manual_seed(0)
    net = MultiScaleTemporalNetwork(3, n_channels=4).train(training)
    for bn in net.modules():
        if isinstance(bn, MaskedBatchNorm1d):
            nn.init.normal_(bn.weight)
    videos = [np.random.default_rng(i).normal(size=(n, 3)) for i, n in enumerate((5, 8))]
    outs = []
    for length in (8, 13):  # the same batch with more padding
        x, mask = pad_videos(videos, length=length)
        outs.append(net(torch.from_numpy(x), torch.from_numpy(mask)).detach())
    for i, v in enumerate(videos):
        torch.testing.assert_close(outs[0][i, :len(v)], outs[1][i, :len(v)])
    assert (outs[1][0, 5:] == 0).all()


def test_module_output_contract():
    m = RTFMModule(5, n_channels=4, hidden_sizes=(6, 3)).eval()
    out = m(torch.randn(2, 7, 5), torch.ones(2, 7, dtype=torch.bool))
    assert out["features"].shape == (2, 7, 5)
    torch.testing.assert_close(out["magnitudes"], out["features"].norm(dim=-1))
    torch.testing.assert_close(out["scores"], torch.sigmoid(out["logits"]))


def test_multi_crop_videos_train_as_bags_and_average_at_inference(small_data):
    rng = np.random.default_rng(0)
    crops = [np.stack([v, v + rng.normal(scale=0.1, size=v.shape)], axis=1)
             for v in small_data.videos]  # (n_clips, 2 crops, d)
    est = RTFMDetector(**FAST).fit(crops, small_data.target)
    assert est.n_features_in_ == 16
    scores = est.score_clips(crops[:3])
    per_crop = est.score_clips([c[:, j] for c in crops[:3] for j in range(2)])
    for i, s in enumerate(scores):
        assert s.shape == (len(crops[i]),)
        np.testing.assert_allclose(s, (per_crop[2 * i] + per_crop[2 * i + 1]) / 2)
    # a crop is a bag: training on the crops of each video matches training on
    # the bags listed one by one
    bags = [c[:, j] for c in crops for j in range(2)]
    flat = RTFMDetector(**FAST).fit(bags, np.repeat(small_data.target, 2))
    np.testing.assert_allclose(flat.score_clips(bags[:2])[0], per_crop[0], rtol=1e-5)
    with pytest.raises(ValueError, match="0 crops"):
        est.score_clips([np.ones((3, 0, 16))])


@pytest.mark.parametrize("params, match", [
    ({"k": 0}, "'k'"),
    ({"magnitude_loss": "abs"}, "magnitude_loss"),
    ({"selection_dropout": 1.0}, "selection_dropout"),
])
def test_bad_hyper_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        RTFMDetector(**params).fit([np.ones((3, 2)), np.zeros((3, 2))], [0, 1])
