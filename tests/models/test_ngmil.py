import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from sklearn_wsvad.models import NGMILDetector, NGMILLoss, NGMILModule, prototype_similarity
from sklearn_wsvad.models._data import VideoDataset

FAST = dict(n_prototypes=4, prototype_dim=8, encoder_channels=(16,), hidden_sizes=(8, 4),
            max_epochs=2, batch_size=8, random_state=0)


def test_similarity_against_numpy():
    rng = np.random.default_rng(0)
    f, p = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    g = prototype_similarity(torch.tensor(f), torch.tensor(p), temperature=0.5).numpy()
    fn = f / np.linalg.norm(f, axis=1, keepdims=True)
    pn = p / np.linalg.norm(p, axis=1, keepdims=True)
    s = fn @ pn.T
    w = np.exp(s / 0.5) / np.exp(s / 0.5).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, np.maximum((w * s).sum(axis=1), 0), rtol=1e-10)


def test_refined_score_is_the_mean_of_mil_and_inverted_similarity():
    m = NGMILModule(3, encoder_channels=(4,), hidden_sizes=(4,), n_prototypes=2,
                    prototype_dim=2).eval()
    m.prototypes.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    out = m(torch.randn(2, 5, 3), torch.ones(2, 5, dtype=torch.bool))
    torch.testing.assert_close(out["scores"], (out["mil_scores"] + 1 - out["similarity"]) / 2)
    torch.testing.assert_close(out["mil_scores"], torch.sigmoid(out["logits"]))


def test_prototype_update_uses_normal_videos_only():
    m = NGMILModule(2, n_prototypes=2, prototype_dim=2)
    m.prototypes.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    projected = torch.tensor([
        [[2.0, 0.1], [0.1, 3.0], [4.0, 0.0]],      # normal; last slot is padding
        [[100.0, 1.0], [1.0, 100.0], [50.0, 50.0]],  # abnormal: must not count
    ])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    m.update_prototypes(projected, mask, torch.tensor([0.0, 1.0]), momentum=0.1)
    expected = np.array([[0.9 * 1 + 0.1 * 2.0, 0.1 * 0.1], [0.1 * 0.1, 0.9 + 0.1 * 3.0]])
    np.testing.assert_allclose(m.prototypes.numpy(), expected, rtol=1e-6)
    # a prototype nobody is assigned to stays where it is
    m.update_prototypes(projected[:1, :1], mask[:1, :1], torch.tensor([0.0]), momentum=0.5)
    np.testing.assert_allclose(m.prototypes.numpy()[1], expected[1], rtol=1e-6)


def _hand_output():
    pad = 0.99
    return {
        "scores": torch.tensor([[0.9, 0.2, 0.6, 0.1], [0.3, 0.5, 0.4, pad]]),
        "mil_scores": torch.tensor([[0.1, 0.8, 0.3, 0.2], [0.6, 0.1, 0.2, pad]]),
        "similarity": torch.tensor([[0.5, 0.5, 0.1, 0.9], [0.2, 0.9, 0.9, 0.0]]),
        "projected": torch.tensor([[[3.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.5, 1.0]],
                                   [[1.0, 0.0], [0.0, 2.0], [2.0, 2.0], [9.0, 9.0]]]),
        "prototypes": torch.tensor([[0.0, 0.0], [2.0, 0.0]]),
    }


Y = torch.tensor([1.0, 0.0])
MASK = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=torch.bool)


@pytest.mark.parametrize("selection, hinge", [
    ("refined", 1 - 0.9 + 0.5),      # top refined: abnormal clip 0, normal clip 1
    ("mil", 1 - 0.2 + 0.3),          # top MIL score: abnormal clip 1, normal clip 0
    ("similarity", 1 - 0.6 + 0.3),   # top 1 - g: abnormal clip 2, normal clip 0
])
def test_ranking_term_and_selection(selection, hinge):
    loss = NGMILLoss(k=1, selection=selection, lambda_cluster=0, lambda_triplet=0,
                     lambda_reg=0)
    assert loss(_hand_output(), Y, MASK).item() == pytest.approx(hinge, rel=1e-6)


def test_full_loss_on_hand_computed_batch():
    out = _hand_output()
    loss = NGMILLoss(k=1, lambda_cluster=0.1, lambda_triplet=0.1, margin=8.0, lambda_reg=0.5)
    # clustering (normal video, 3 real rows): nearest squared distances 1, 4, 4
    assert loss.cluster_loss(out, Y, MASK).item() == pytest.approx(3.0)
    # triplet (abnormal video): pseudo-normal = clip 3 [1.5, 1] -> anchor p1 [2, 0]
    # at 1.25; pseudo-abnormal clip 0 [3, 0] is at 1 from p1: [1.25 - 1 + 8]_+
    select = out["scores"]
    assert loss.triplet_loss(out, Y, MASK, select).item() == pytest.approx(8.25)
    smooth, sparse = 0.7**2 + 0.4**2 + 0.5**2, 0.9 + 0.2 + 0.6 + 0.1
    expected = 0.6 + 0.1 * 3.0 + 0.1 * 8.25 + 0.5 * (smooth + sparse) / 4
    assert loss(out, Y, MASK).item() == pytest.approx(expected, rel=1e-6)


def test_prototypes_start_from_kmeans_of_normal_instances(small_data):
    est = NGMILDetector(**{**FAST, "max_epochs": 0}).fit(small_data.videos, small_data.target)
    normal = [v for v, t in zip(small_data.videos, small_data.target) if t == 0]
    rows = []
    with torch.no_grad():
        for (X, _) in est.get_iterator(VideoDataset(normal)):
            X = est.scale_batch(X)  # the model's input scaling
            rows.append(est.module_.project(est.module_.encode(X["x"], X["mask"]))[X["mask"]])
    centers = KMeans(4, n_init=1, random_state=est.training_seed_).fit(
        torch.cat(rows).numpy()).cluster_centers_
    np.testing.assert_allclose(est.module_.prototypes.numpy(), centers, rtol=1e-5, atol=1e-6)


def test_prototypes_move_in_training_and_freeze_at_inference(small_data):
    start = NGMILDetector(**{**FAST, "max_epochs": 0}).fit(small_data.videos, small_data.target)
    est = NGMILDetector(**FAST).fit(small_data.videos, small_data.target)
    assert not torch.allclose(start.module_.prototypes, est.module_.prototypes)
    before = est.module_.prototypes.clone()
    scores = est.score_clips(small_data.videos[:5])
    est.score_clips(small_data.videos)  # score more data, normal and abnormal
    est.decision_function(small_data.videos)
    torch.testing.assert_close(est.module_.prototypes, before, rtol=0, atol=0)
    for a, b in zip(scores, est.score_clips(small_data.videos[:5])):
        np.testing.assert_array_equal(a, b)


def test_too_many_prototypes_is_an_error_before_training(small_data):
    est = NGMILDetector(**{**FAST, "n_prototypes": 10_000})
    with pytest.raises(ValueError, match="n_prototypes=10000 but the normal training videos"):
        est.fit(small_data.videos, small_data.target)
    assert not getattr(est, "initialized_", False)


@pytest.mark.parametrize("params, match", [
    ({"selection": "best"}, "selection"),
    ({"momentum": 1.5}, "momentum"),
    ({"temperature": 0.0}, "temperature"),
])
def test_bad_hyper_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        NGMILDetector(**{**FAST, **params}).fit(
            [np.ones((8, 2)), np.zeros((8, 2))], [0, 1])
