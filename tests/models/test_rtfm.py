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
    official_regularizer,
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


def _expected(magnitude_loss, pairing="all", regularizer="per_video"):
    # top-2 by magnitude: abnormal clips 1 and 3; normal video 1 both real
    # clips; normal video 2 its only clip
    top_scores = np.array([(0.8 + 0.6) / 2, (0.2 + 0.4) / 2, 0.25])
    bce = -np.mean([np.log(top_scores[0]), np.log(1 - top_scores[1]),
                    np.log(1 - top_scores[2])])
    a = 3.0                      # ||mean([3, 4], [3, -4])||
    normal = [np.sqrt(0.5), 2.0]  # ||mean([1, 0], [0, 1])||, ||[0, 2]||
    if pairing == "aligned":
        normal = normal[:1]  # the first abnormal with the first normal video
    if magnitude_loss == "hinge":
        sep = np.mean([max(0.0, 4.0 - a + n) for n in normal])
    else:
        sep = np.mean([(abs(4.0 - a) + n) ** 2 for n in normal])
    smooth = 0.7**2 + 0.5**2 + 0.3**2
    sparse = 0.1 + 0.8 + 0.3 + 0.6
    if regularizer == "official":  # the L2 norm of the abnormal scores
        sparse = np.sqrt(0.1**2 + 0.8**2 + 0.3**2 + 0.6**2)
    return bce + 0.5 * sep + 0.1 * smooth + 0.01 * sparse


@pytest.mark.parametrize("magnitude_loss", ["hinge", "squared"])
@pytest.mark.parametrize("pairing", ["all", "aligned"])
@pytest.mark.parametrize("regularizer", ["per_video", "official"])
def test_loss_on_hand_computed_batch(magnitude_loss, pairing, regularizer):
    loss = RTFMLoss(k=2, margin=4.0, lambda_mag=0.5, magnitude_loss=magnitude_loss,
                    selection_dropout=0.0, lambda_smooth=0.1, lambda_sparse=0.01,
                    pairing=pairing, regularizer=regularizer)
    expected = _expected(magnitude_loss, pairing, regularizer)
    assert loss(*_hand_batch()).item() == pytest.approx(expected, rel=1e-6)


def test_official_regularizer_on_a_fixed_batch():
    # two abnormal videos (3 and 2 real clips) and a normal one; the code
    # concatenates the abnormal scores, s = [0.2, 0.6, 0.5, 0.9, 0.1], and
    # sums the squared differences across the video boundary too (0.5 -> 0.9)
    scores = torch.tensor([[0.2, 0.6, 0.5], [0.3, 0.3, 0.3], [0.9, 0.1, 0.99]],
                          dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    y = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    smooth = 0.4**2 + 0.1**2 + 0.4**2 + 0.8**2
    sparse = np.sqrt(0.04 + 0.36 + 0.25 + 0.81 + 0.01)
    value = official_regularizer(scores, mask, y, 8e-4, 8e-3).item()
    assert value == pytest.approx(8e-4 * smooth + 8e-3 * sparse, rel=1e-12)
    # against the official code's functions, written out on the same vector
    arr = torch.tensor([0.2, 0.6, 0.5, 0.9, 0.1], dtype=torch.float64)
    arr2 = torch.zeros_like(arr)
    arr2[:-1], arr2[-1] = arr[1:], arr[-1]
    code = 8e-4 * torch.sum((arr2 - arr) ** 2) + 8e-3 * torch.mean(torch.norm(arr, dim=0))
    assert value == pytest.approx(code.item(), rel=1e-12)
    # the per-video form averages per-video sums and has no boundary term
    per_video = np.mean([8e-4 * (0.4**2 + 0.1**2) + 8e-3 * 1.3, 8e-4 * 0.8**2 + 8e-3 * 1.0])
    loss = RTFMLoss(regularizer="per_video", lambda_mag=0.0)
    bce_only = RTFMLoss(lambda_mag=0.0, lambda_smooth=0.0, lambda_sparse=0.0)
    out = {"scores": scores, "magnitudes": scores, "features": scores[..., None]}
    loss.eval(), bce_only.eval()
    assert (loss(out, y, mask) - bce_only(out, y, mask)).item() == pytest.approx(per_video)


def test_multi_crop_loss_averages_crops_before_the_top_k():
    # one abnormal and one normal video, 2 crops, 3 clips, d = 1
    crop_scores = torch.tensor([[[0.9, 0.1, 0.5], [0.1, 0.9, 0.5]],
                                [[0.2, 0.4, 0.1], [0.4, 0.2, 0.1]]], dtype=torch.float64)
    features = torch.tensor([[[1.0, 2.0, 8.0], [3.0, 8.0, 1.0]],
                             [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]], dtype=torch.float64)[..., None]
    output = {"scores": crop_scores.mean(1), "magnitudes": features.norm(dim=-1).mean(1),
              "crop_scores": crop_scores, "features": features}
    y, mask = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.ones(2, 3, dtype=torch.bool)
    loss = RTFMLoss(k=1, margin=10.0, lambda_mag=1.0, lambda_smooth=0.0, lambda_sparse=0.0,
                    selection_dropout=0.0)
    # crop-mean magnitudes: abnormal [2, 5, 4.5] -> top-1 is clip 1 (crop 0
    # alone would pick clip 2); normal [1.5, 1.5, 1.5] -> clip 0. Crop-mean
    # scores at those clips: abnormal 0.5, normal 0.3
    bce = -(np.log(0.5) + np.log(1 - 0.3)) / 2
    # magnitude loss crop by crop at the crop-mean indices: abnormal ||f|| 2 and
    # 8, normal 1 and 2: ((|10 - 2| + 1)^2 + (|10 - 8| + 2)^2) / 2
    separation = ((10 - 2 + 1) ** 2 + (10 - 8 + 2) ** 2) / 2
    assert loss(output, y, mask).item() == pytest.approx(bce + separation, rel=1e-12)


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
    assert out["features"].shape == (2, 1, 7, 5)
    torch.testing.assert_close(out["magnitudes"], out["features"][:, 0].norm(dim=-1))
    torch.testing.assert_close(out["scores"], torch.sigmoid(out["crop_logits"][:, 0]))
    # crops: every crop is its own row; scores and magnitudes are crop means
    x = torch.randn(2, 7, 3, 5)
    out = m(x, torch.ones(2, 7, dtype=torch.bool))
    assert out["features"].shape == (2, 3, 7, 5) and out["crop_scores"].shape == (2, 3, 7)
    for c in range(3):
        alone = m(x[:, :, c], torch.ones(2, 7, dtype=torch.bool))
        torch.testing.assert_close(out["crop_scores"][:, c], alone["scores"])
    torch.testing.assert_close(out["scores"], out["crop_scores"].mean(dim=1))
    torch.testing.assert_close(out["magnitudes"], out["features"].norm(dim=-1).mean(dim=1))


def test_official_initialisation_and_post_dropout_magnitudes():
    torch.manual_seed(0)
    m = RTFMModule(5, n_channels=4, hidden_sizes=(6, 3))
    layers = [lay for lay in m.modules() if isinstance(lay, (nn.Conv1d, nn.Linear))]
    assert all(lay.bias is None or not lay.bias.any() for lay in layers)
    fc = m.head[0]  # Xavier-uniform bound: sqrt(6 / (fan_in + fan_out))
    assert fc.weight.abs().max() <= np.sqrt(6 / (5 + 6))
    torch.manual_seed(0)
    plain = RTFMModule(5, n_channels=4, hidden_sizes=(6, 3), weight_init="torch")
    assert plain.head[0].bias.any()
    # in training the magnitudes carry the dropout on the MTN output (zeros,
    # survivors scaled by 1 / (1 - p)); in evaluation the two settings agree
    x, mask = torch.randn(2, 7, 5), torch.ones(2, 7, dtype=torch.bool)
    torch.manual_seed(1)
    after = m.train()(x, mask)
    assert (after["features"] == 0).any()
    before = RTFMModule(5, n_channels=4, hidden_sizes=(6, 3), magnitude_after_dropout=False)
    before.load_state_dict(m.state_dict())
    torch.manual_seed(1)
    out = before.train()(x, mask)
    assert not (out["features"] == 0).any()
    before.load_state_dict(m.state_dict())  # the same running statistics
    m.eval(), before.eval()
    torch.testing.assert_close(m(x, mask)["magnitudes"], before(x, mask)["magnitudes"])


def test_multi_crop_videos_train_jointly_or_as_bags(small_data):
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
    # joint: batch_size counts videos (40 videos, 20 + 20, batches of 4 + 4)
    assert len(est.history_[-1]["batches"]) == 5
    # bags: a crop is a bag, so training on the crops of each video matches
    # training on the bags listed one by one, in twice as many batches
    bags_est = RTFMDetector(**FAST, crop_training="bags").fit(crops, small_data.target)
    assert len(bags_est.history_[-1]["batches"]) == 10
    bags = [c[:, j] for c in crops for j in range(2)]
    flat = RTFMDetector(**FAST, crop_training="bags").fit(bags, np.repeat(small_data.target, 2))
    np.testing.assert_allclose(flat.score_clips(bags[:2])[0],
                               bags_est.score_clips(bags[:2])[0], rtol=1e-5)
    with pytest.raises(ValueError, match="0 crops"):
        est.score_clips([np.ones((3, 0, 16))])


def test_joint_training_on_identical_crops_is_training_on_the_video(small_data):
    # without dropout, a video of c identical crops trains as the video itself
    params = dict(FAST, dropout=0.0, selection_dropout=0.0)
    twice = [np.stack([v, v], axis=1) for v in small_data.videos]
    joint = RTFMDetector(**params).fit(twice, small_data.target)
    single = RTFMDetector(**params).fit(small_data.videos, small_data.target)
    # equal up to float32 rounding (BatchNorm over twice the rows, Adam)
    np.testing.assert_allclose(joint.score_clips(small_data.videos[:3])[2],
                               single.score_clips(small_data.videos[:3])[2], rtol=5e-3)
    with pytest.raises(ValueError, match="same crops"):
        RTFMDetector(**FAST).fit(twice[:20] + list(small_data.videos[20:]), small_data.target)


@pytest.mark.parametrize("params, match", [
    ({"k": 0}, "'k'"),
    ({"magnitude_loss": "abs"}, "magnitude_loss"),
    ({"selection_dropout": 1.0}, "selection_dropout"),
])
def test_bad_hyper_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        RTFMDetector(**params).fit([np.ones((3, 2)), np.zeros((3, 2))], [0, 1])
