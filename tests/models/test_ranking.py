import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import SnippetReformer, score_clips
from sklearn_wsvad.models import MILRankingDetector, MILRankingLoss, MILRankingModule

# 2 abnormal videos and 1 normal one; padded slots hold large values that
# must never count
SCORES = torch.tensor([[0.1, 2.5, 0.3], [0.2, 0.4, 5.0], [0.6, 0.2, 9.0]])
MASK = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 1, 0]], dtype=torch.bool)
Y = torch.tensor([1.0, 0.0, 1.0])


def _expected_regularizer(ls, lp, reduction="sum"):
    smooth = [(2.5 - 0.1) ** 2 + (0.3 - 2.5) ** 2, (0.2 - 0.6) ** 2]
    sparse = [0.1 + 2.5 + 0.3, 0.6 + 0.2]
    per_video = [ls * s + lp * p for s, p in zip(smooth, sparse)]
    return np.sum(per_video) if reduction == "sum" else np.mean(per_video)


@pytest.mark.parametrize(
    "pairing, reduction, hinge",
    [
        # tops: abnormal 2.5 and 0.6, normal 0.4; one normal video, so the
        # sum form adds both abnormal hinges, the mean form averages them
        ("all", "sum", max(0, 1 - 2.5 + 0.4) + max(0, 1 - 0.6 + 0.4)),
        ("all", "mean", np.mean([max(0, 1 - 2.5 + 0.4), max(0, 1 - 0.6 + 0.4)])),
        ("aligned", "sum", max(0, 1 - 2.5 + 0.4)),  # first abnormal with first normal
        ("aligned", "mean", max(0, 1 - 2.5 + 0.4)),
    ],
)
def test_loss_on_hand_computed_batch(pairing, reduction, hinge):
    loss = MILRankingLoss(pairing=pairing, lambda_smooth=0.1, lambda_sparse=0.01,
                          reduction=reduction)({"scores": SCORES}, Y, MASK)
    expected = hinge + _expected_regularizer(0.1, 0.01, reduction)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_loss_without_normal_videos_is_the_regularizer_only():
    abnormal = Y > 0.5
    for reduction in ("sum", "mean"):
        loss = MILRankingLoss(lambda_smooth=0.1, lambda_sparse=0.01, reduction=reduction)(
            {"scores": SCORES[abnormal]}, Y[abnormal], MASK[abnormal])
        assert loss.item() == pytest.approx(_expected_regularizer(0.1, 0.01, reduction),
                                            rel=1e-6)


def _keras_custom_objective(scores_abnormal, scores_normal, lam=8e-5):
    """The original's ``custom_objective`` on a 30 + 30 batch, as its loops do it:
    for each normal video the hinge summed over the abnormal ones, then the mean;
    the sums of the abnormal videos' scores and squared differences, summed."""
    top_a, top_n = scores_abnormal.max(1), scores_normal.max(1)
    hinge = np.mean([np.maximum(1 - top_a + t, 0).sum() for t in top_n])
    l1 = scores_abnormal.sum(1).sum()
    l2 = (np.diff(scores_abnormal, axis=1) ** 2).sum(1).sum()
    return hinge + lam * l1 + lam * l2


def test_sum_reduction_is_the_keras_objective_on_a_30_plus_30_batch():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.2, 0.6, size=(60, 32))
    y = np.r_[np.ones(30), np.zeros(30)]  # the original puts abnormal videos first
    expected = _keras_custom_objective(scores[:30], scores[30:])
    t = torch.tensor(scores, dtype=torch.float64)
    mask = torch.ones(60, 32, dtype=torch.bool)
    yt = torch.tensor(y, dtype=torch.float64)
    keras = MILRankingLoss()({"scores": t}, yt, mask).item()
    assert keras == pytest.approx(expected, rel=1e-12)
    # the mean form's ranking term is 30 times smaller
    mean = MILRankingLoss(reduction="mean", lambda_smooth=0.0, lambda_sparse=0.0)
    plain = MILRankingLoss(lambda_smooth=0.0, lambda_sparse=0.0)
    ratio = plain({"scores": t}, yt, mask).item() / mean({"scores": t}, yt, mask).item()
    assert ratio == pytest.approx(30.0, rel=1e-12)


def test_module_architecture_and_normalisation():
    m = MILRankingModule(6, hidden_sizes=(5, 3), dropout=0.0).eval()
    kinds = [type(layer).__name__ for layer in m.net]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "Dropout", "Linear"]
    x = torch.rand(2, 4, 6) + 0.1
    out = m(x, torch.ones(2, 4, dtype=torch.bool))
    torch.testing.assert_close(out["scores"], torch.sigmoid(out["logits"]))
    # rows are L2-normalised first: scaling a row leaves its score unchanged
    torch.testing.assert_close(m(3.0 * x, None)["scores"], out["scores"])
    raw = MILRankingModule(6, hidden_sizes=(5, 3), dropout=0.0, normalize=False).eval()
    raw.load_state_dict(m.state_dict())
    assert not torch.allclose(raw(3.0 * x, None)["scores"], out["scores"])
    expected = sum(float((p.detach() ** 2).sum())
                   for n, p in m.named_parameters() if n.endswith("weight"))
    assert m.weight_penalty().item() == pytest.approx(expected, rel=1e-6)
    # the PyTorch port's form: per layer, the unsquared norm of weights and biases
    with torch.no_grad():
        for layer in m.net:
            if isinstance(layer, torch.nn.Linear):
                layer.bias.fill_(0.5)
    port = sum(np.sqrt(float((layer.weight.detach() ** 2).sum()) + 0.25 * layer.bias.numel())
               for layer in m.net if isinstance(layer, torch.nn.Linear))
    assert m.weight_penalty("norm").item() == pytest.approx(port, rel=1e-6)


@pytest.mark.parametrize("optimizer, eps", [(torch.optim.Adagrad, 1e-8),
                                            (torch.optim.Adadelta, 1e-8),
                                            (torch.optim.SGD, None)])
def test_optimizer_epsilon_is_the_originals(small_data, optimizer, eps):
    # torch's defaults are 1e-10 (Adagrad) and 1e-6 (Adadelta); SGD has none
    X, y = small_data.videos, small_data.target
    est = MILRankingDetector(max_epochs=1, hidden_sizes=(8, 4), optimizer=optimizer,
                             random_state=0).fit(X, y)
    assert est.optimizer_.param_groups[0].get("eps") == eps
    custom = MILRankingDetector(max_epochs=1, hidden_sizes=(8, 4), optimizer__eps=1e-3,
                                random_state=0).fit(X, y)
    assert custom.optimizer_.param_groups[0]["eps"] == 1e-3


def test_l2_penalty_is_added_to_the_training_loss_only(small_data):
    est = MILRankingDetector(max_epochs=1, hidden_sizes=(8, 4), batch_size=8, l2_reg=0.5,
                             random_state=0).fit(small_data.videos, small_data.target)
    ds = est.get_dataset(small_data.videos[:4], small_data.target[:4])
    X, y = next(iter(est.get_iterator(ds)))
    est.module_.eval()
    y_pred = est.module_(X["x"], X["mask"])
    train = est.get_loss(y_pred, y, X=X, training=True)
    valid = est.get_loss(y_pred, y, X=X, training=False)
    penalty = est.module_.weight_penalty()
    assert (train - valid).item() == pytest.approx(0.5 * penalty.item(), rel=1e-5)
    est.set_params(weight_penalty="norm")
    train = est.get_loss(y_pred, y, X=X, training=True)
    penalty = est.module_.weight_penalty("norm")
    assert (train - valid).item() == pytest.approx(0.5 * penalty.item(), rel=1e-5)


def test_canonical_pipeline_maps_segment_scores_back_to_clips(small_data):
    pipe = make_pipeline(SnippetReformer(n_snippets=8, inference="snippets"),
                         MILRankingDetector(max_epochs=2, hidden_sizes=(8, 4), random_state=0))
    pipe.fit(small_data.videos, small_data.target)
    scores = score_clips(pipe, small_data.videos)
    assert [len(s) for s in scores] == [len(v) for v in small_data.videos]
    # 8 segments per video: each clip carries its segment's score
    assert all(len(np.unique(s)) <= 8 for s in scores)


@pytest.mark.parametrize("params, match", [
    ({"pairing": "some"}, "pairing"),
    ({"l2_reg": -1.0}, "l2_reg"),
    ({"normalize": "yes"}, "normalize"),
])
def test_bad_hyper_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        MILRankingDetector(**params).fit([np.ones((3, 2)), np.zeros((3, 2))], [0, 1])
