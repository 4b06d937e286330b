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


def _expected_regularizer(ls, lp):
    smooth = [(2.5 - 0.1) ** 2 + (0.3 - 2.5) ** 2, (0.2 - 0.6) ** 2]
    sparse = [0.1 + 2.5 + 0.3, 0.6 + 0.2]
    return np.mean([ls * s + lp * p for s, p in zip(smooth, sparse)])


@pytest.mark.parametrize(
    "pairing, hinge",
    [
        # tops: abnormal 2.5 and 0.6, normal 0.4
        ("all", np.mean([max(0, 1 - 2.5 + 0.4), max(0, 1 - 0.6 + 0.4)])),
        ("aligned", max(0, 1 - 2.5 + 0.4)),  # first abnormal with first normal
    ],
)
def test_loss_on_hand_computed_batch(pairing, hinge):
    loss = MILRankingLoss(pairing=pairing, lambda_smooth=0.1, lambda_sparse=0.01)(
        {"scores": SCORES}, Y, MASK)
    assert loss.item() == pytest.approx(hinge + _expected_regularizer(0.1, 0.01), rel=1e-6)


def test_loss_without_normal_videos_is_the_regularizer_only():
    abnormal = Y > 0.5
    loss = MILRankingLoss(lambda_smooth=0.1, lambda_sparse=0.01)(
        {"scores": SCORES[abnormal]}, Y[abnormal], MASK[abnormal])
    assert loss.item() == pytest.approx(_expected_regularizer(0.1, 0.01), rel=1e-6)


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
