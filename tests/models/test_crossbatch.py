import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans

from sklearn_wsvad.models import (
    CrossBatchClusteringDetector,
    CrossBatchClusteringLoss,
    CrossBatchGCNModule,
    batch_kmeans,
    orient_pseudo_labels,
    video_adjacency,
)
from sklearn_wsvad.models._crossbatch import _CappedBatchSampler

FAST = dict(fc_size=16, gcn_sizes=(8, 4), max_epochs=2, batch_size=8, random_state=0)


def _row_normalise(a):
    return a / a.sum(axis=1, keepdims=True)


def test_adjacency_on_a_hand_example_with_a_padded_row():
    # 4 real snippets (scaled on purpose: cosine ignores the norm) and one padded
    # slot equal to snippet 0, which must not become a neighbour of anything
    x = torch.tensor([[[2.0, 0.0], [0.6, 0.8], [4.0, 3.0], [0.0, 0.5], [1.0, 0.0]]],
                     dtype=torch.float64)
    mask = torch.tensor([[True, True, True, True, False]])
    a = video_adjacency(x, mask, threshold=0.7).numpy()[0]
    # cosines: (0,1) 0.6, (0,2) 0.8, (0,3) 0, (1,2) 0.96, (1,3) 0.8, (2,3) 0.6;
    # those not above 0.7 are cut, the diagonal is 1
    s = np.array([
        [1.0, 0.0, 0.8, 0.0],
        [0.0, 1.0, 0.96, 0.8],
        [0.8, 0.96, 1.0, 0.0],
        [0.0, 0.8, 0.0, 1.0],
    ])
    e1, e2, e3 = np.exp(-1.0), np.exp(-2.0), np.exp(-3.0)
    p = np.array([
        [1.0, e1, e2, e3],
        [e1, 1.0, e1, e2],
        [e2, e1, 1.0, e1],
        [e3, e2, e1, 1.0],
    ])
    expected = (_row_normalise(s) + _row_normalise(p)) / 2
    np.testing.assert_allclose(a[:4, :4], expected, rtol=1e-12)
    assert np.all(a[4] == 0) and np.all(a[:, 4] == 0)
    np.testing.assert_allclose(a[:4].sum(axis=1), 1.0)
    # a wider proximity scale spreads the temporal weights
    wide = video_adjacency(x, mask, threshold=0.7, proximity_scale=2.0).numpy()[0]
    p2 = np.exp(-np.abs(np.subtract.outer(np.arange(4), np.arange(4))) / 2.0)
    np.testing.assert_allclose(wide[:4, :4], (_row_normalise(s) + _row_normalise(p2)) / 2)


def test_padding_never_changes_the_module_output():
    torch.manual_seed(0)
    m = CrossBatchGCNModule(6, fc_size=8, gcn_sizes=(5, 3)).eval()
    x = torch.randn(1, 7, 6)
    alone = m(x, torch.ones(1, 7, dtype=torch.bool))
    padded_x = torch.cat([x, 50 * torch.randn(1, 4, 6)], dim=1)
    padded = m(padded_x, torch.tensor([[True] * 7 + [False] * 4]))
    for key in ("scores", "fc", "gcn1", "gcn2"):
        torch.testing.assert_close(padded[key][:, :7], alone[key])
    assert torch.all(padded["gcn1"][:, 7:] == 0)


def test_batch_kmeans_matches_scikit_learn():
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.normal(0, 1, (40, 5)), rng.normal(1.5, 1, (25, 5))])
    init = pts[[3, 50]]
    ref = KMeans(2, init=init, n_init=1, algorithm="lloyd", tol=0, max_iter=300).fit(pts)
    labels, centers, counts = batch_kmeans(torch.tensor(pts), torch.tensor(init), max_iter=300)
    np.testing.assert_array_equal(labels.numpy(), ref.labels_)
    np.testing.assert_allclose(centers.numpy(), ref.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(counts.numpy(), np.bincount(ref.labels_))
    # three clusters from the same code
    init3 = pts[[0, 1, 60]]
    ref3 = KMeans(3, init=init3, n_init=1, algorithm="lloyd", tol=0).fit(pts)
    _, c3, _ = batch_kmeans(torch.tensor(pts), torch.tensor(init3))
    np.testing.assert_allclose(c3.numpy(), ref3.cluster_centers_, rtol=1e-10)


def test_batch_kmeans_centres_carry_the_gradient_of_the_points():
    pts = torch.tensor([[0.0, 0.0], [0.0, 1.0], [5.0, 0.0], [5.0, 1.0]], requires_grad=True)
    labels, centers, _ = batch_kmeans(pts, pts.detach()[[0, 2]])
    assert labels.tolist() == [0, 0, 1, 1]
    centers[0, 0].backward()
    np.testing.assert_allclose(pts.grad[:, 0].numpy(), [0.5, 0.5, 0.0, 0.0])


def _two_groups():
    """Normal and abnormal snippets, each in two clear groups (b=2, t=8, p=3)."""
    rng = np.random.default_rng(1)
    normal = np.vstack([[1.0, 0.2, 0.0] + 0.02 * rng.normal(size=(4, 3)),
                        [1.0, 0.6, 0.0] + 0.02 * rng.normal(size=(4, 3))])
    abnormal = np.vstack([[1.0, 0.0, 0.3] + 0.02 * rng.normal(size=(5, 3)),
                          [0.2, 0.0, 1.0] + 0.02 * rng.normal(size=(3, 3))])
    return torch.tensor(np.stack([normal, abnormal]), requires_grad=True)


def _centre_distance(features, rows, labels):
    points = torch.nn.functional.normalize(features[rows], dim=-1)
    c = [points[labels == k].mean(dim=0) for k in (0, 1)]
    return torch.linalg.vector_norm(c[0] - c[1]).item()


def test_clustering_loss_gradient_pulls_normal_and_pushes_abnormal_centres():
    features = _two_groups()
    mask = torch.ones(2, 8, dtype=torch.bool)
    rows = {"normal": torch.tensor([[True], [False]]) & mask,
            "abnormal": torch.tensor([[False], [True]]) & mask}
    loss = CrossBatchClusteringLoss(mu=2.0, cross_batch=False)
    torch.manual_seed(0)
    results = {g: loss.cluster(features, rows[g], g) for g in rows}
    bc = loss.clustering_loss(results["normal"], results["abnormal"])
    bc.backward()
    # each abnormal point's descent direction leads away from the other centre
    points = torch.nn.functional.normalize(features[rows["abnormal"]], dim=-1).detach()
    labels, centers = results["abnormal"][0], results["abnormal"][1].detach()
    grad = features.grad[1]
    for j in range(8):
        away = centers[labels[j]] - centers[1 - labels[j]]
        assert torch.dot(-grad[j], away) > 0
    assert torch.equal(results["abnormal"][0], batch_kmeans(points, centers)[0])
    # a small descent step: abnormal centres apart, normal centres together
    before = {g: _centre_distance(features, rows[g], results[g][0]) for g in rows}
    stepped = (features - 0.05 * features.grad).detach()
    after = {g: _centre_distance(stepped, rows[g], results[g][0]) for g in rows}
    assert after["abnormal"] > before["abnormal"]
    assert after["normal"] < before["normal"]


def test_mu_bounds_the_normal_term():
    features = _two_groups()
    mask = torch.ones(2, 8, dtype=torch.bool)
    normal_rows = torch.tensor([[True], [False]]) & mask
    loss = CrossBatchClusteringLoss(mu=0.01, cross_batch=False)
    result = loss.cluster(features, normal_rows, "normal")
    bc = loss.clustering_loss(result, None)
    assert bc.item() == pytest.approx(0.01)  # d > mu: min(d, mu) = mu, no gradient
    bc.backward()
    assert torch.all(features.grad == 0)


def test_pseudo_labels_follow_the_scores():
    scores = torch.tensor([[0.9, 0.8, 0.1, 0.2, 0.95], [0.9, 0.8, 0.1, 0.2, 0.0]])
    mask = torch.tensor([[True, True, True, True, False], [True] * 5])
    # video 0: cluster 1 is where the scores are high: kept; the padded slot is 0
    # video 1: cluster 1 is where the scores are low: inverted
    clusters = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 1, 1, 1]])
    pseudo = orient_pseudo_labels(scores, clusters, mask)
    assert pseudo.tolist() == [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0]]
    # S1 vs S2 by hand for video 1: cos(s, c) and cos(s, 1 - c)
    s, c = scores[1].numpy(), clusters[1].numpy()
    cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)  # noqa: E731
    assert cos(s, c) < cos(s, 1 - c)
    # one cluster only: its cosine is 0, so the whole video is pseudo-abnormal
    assert orient_pseudo_labels(scores[1:], torch.zeros(1, 5), mask[1:]).tolist() == [[1] * 5]


def _kmax_bce(videos, y, form="snippet_bce"):
    out = []
    for s, label in zip(videos, y):
        k = len(s) // 8 + 1
        top = np.sort(s)[::-1][:k]
        if form == "mean_score":
            top = top.mean()
        out.append(np.mean(-(label * np.log(top) + (1 - label) * np.log(1 - top))))
    return np.mean(out)


def test_kmax_loss_uses_floor_t_over_8_plus_1_per_video():
    rng = np.random.default_rng(0)
    lengths = [7, 8, 17]  # k = 1, 2, 3
    videos = [rng.uniform(0.05, 0.95, n) for n in lengths]
    scores = torch.zeros(3, 17, dtype=torch.float64)
    mask = torch.zeros(3, 17, dtype=torch.bool)
    for i, s in enumerate(videos):
        scores[i, : len(s)] = torch.tensor(s)
        scores[i, len(s):] = 0.99  # padding, never selected
        mask[i, : len(s)] = True
    y = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    loss = CrossBatchClusteringLoss().eval()  # evaluation: the plain k-max loss
    value = loss({"scores": scores}, y, mask).item()
    assert value == pytest.approx(_kmax_bce(videos, [0, 1, 1]), rel=1e-12)
    mean_form = CrossBatchClusteringLoss(kmax_loss="mean_score").eval()
    value = mean_form({"scores": scores}, y, mask).item()
    assert value == pytest.approx(_kmax_bce(videos, [0, 1, 1], "mean_score"), rel=1e-12)


@pytest.mark.parametrize("form, expected", [("snippet_bce", [-1 / (2 * 0.9), -1 / (2 * 0.1)]),
                                            ("mean_score", [-1.0, -1.0])])
def test_kmax_loss_gradients_of_eq_2_and_of_the_mean_form(form, expected):
    # one abnormal video of 8 snippets: k = 2, top-k {0.9, 0.1}; eq. 2 gives
    # d/ds of -(log s1 + log s2) / 2 = -1 / (2 s), the mean form
    # d/ds of -log((s1 + s2) / 2) = -1 / (s1 + s2) = -1 for both
    scores = torch.tensor([[0.9, 0.1, 0.05, 0.05, 0.02, 0.01, 0.01, 0.0]],
                          dtype=torch.float64, requires_grad=True)
    mask = torch.ones(1, 8, dtype=torch.bool)
    loss = CrossBatchClusteringLoss(kmax_loss=form).eval()
    loss({"scores": scores}, torch.ones(1, dtype=torch.float64), mask).backward()
    grad = scores.grad[0].numpy()
    np.testing.assert_allclose(grad[:2], expected, rtol=1e-12)
    assert not grad[2:].any()
    if form == "snippet_bce":
        np.testing.assert_allclose(grad[:2], [-0.5556, -5.0], atol=1e-4)


def test_kmax_loss_rejects_an_unknown_form():
    with pytest.raises(ValueError, match="kmax_loss must be"):
        CrossBatchClusteringLoss(kmax_loss="max")


def test_guidance_expands_pseudo_abnormal_scores_of_abnormal_videos_only():
    # abnormal video: snippets 0-2 form one cluster (high scores), 3-7 another;
    # the normal video's scores are never expanded
    features = torch.zeros(2, 8, 2, dtype=torch.float64)
    features[:, :3] = torch.tensor([1.0, 0.0], dtype=torch.float64)
    features[:, 3:] = torch.tensor([0.0, 1.0], dtype=torch.float64)
    a = np.array([0.6, 0.7, 0.5, 0.1, 0.2, 0.1, 0.3, 0.2])
    n = np.array([0.2, 0.3, 0.25, 0.1, 0.1, 0.1, 0.1, 0.1])
    scores = torch.tensor(np.stack([n, a]))
    mask = torch.ones(2, 8, dtype=torch.bool)
    y = torch.tensor([0.0, 1.0], dtype=torch.float64)
    output = {"scores": scores, "gcn1": features}
    guided = CrossBatchClusteringLoss(lambda_1=0.0, alpha=1.3, cross_batch=False).train()
    expanded = a.copy()
    expanded[:3] = np.minimum(1.3 * a[:3], 1.0)
    expected = _kmax_bce([n, expanded], [0, 1])
    assert guided(output, y, mask).item() == pytest.approx(expected, rel=1e-12)
    plain = CrossBatchClusteringLoss(lambda_1=0.0, guidance=False).train()
    assert plain(output, y, mask).item() == pytest.approx(_kmax_bce([n, a], [0, 1]))


def test_loss_in_training_ignores_padding():
    torch.manual_seed(0)
    output = {"scores": torch.rand(4, 6, dtype=torch.float64),
              "gcn1": torch.rand(4, 6, 5, dtype=torch.float64)}
    mask = torch.ones(4, 6, dtype=torch.bool)
    y = torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    padded = {k: torch.cat([v, 7 * torch.rand(4, 3, *v.shape[2:], dtype=v.dtype)], dim=1)
              for k, v in output.items()}
    padded_mask = torch.cat([mask, torch.zeros(4, 3, dtype=torch.bool)], dim=1)
    loss = CrossBatchClusteringLoss(lambda_1=0.5, cross_batch=False).train()
    torch.manual_seed(1)
    a = loss(output, y, mask)
    torch.manual_seed(1)
    b = loss(padded, y, padded_mask)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


def test_cross_batch_memory_initialises_the_next_epoch():
    loss = CrossBatchClusteringLoss().train()
    stored = [torch.tensor([[0.0, 0.0], [4.0, 4.0]]), torch.tensor([[0.2, 0.0], [4.2, 4.0]]),
              torch.tensor([[3.8, 4.0], [0.0, 0.4]])]
    loss.memory["abnormal"] = list(stored)
    loss.end_epoch()
    ref = KMeans(2, init=stored[0].numpy(), n_init=1, algorithm="lloyd").fit(torch.cat(stored))
    np.testing.assert_allclose(loss.initial_centers["abnormal"].numpy(), ref.cluster_centers_,
                               rtol=1e-6)
    assert loss.initial_centers["normal"] is None and loss.memory["abnormal"] == []
    # the next batch clustering of that group starts from these centres
    points = torch.tensor([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.1, 0.9]])
    rows = torch.ones(1, 4, dtype=torch.bool)
    labels, centers, _ = loss.cluster(points[None], rows, "abnormal")
    init = loss.initial_centers["abnormal"]
    expected = batch_kmeans(torch.nn.functional.normalize(points, dim=-1), init)
    assert torch.equal(labels, expected[0])
    assert len(loss.memory["abnormal"]) == 1


def test_fit_stores_cross_batch_centres_only_when_asked():
    from sklearn_wsvad.datasets import make_wsvad_videos

    data = make_wsvad_videos(n_videos=24, n_features=6, min_clips=8, max_clips=20,
                             random_state=0)
    net = CrossBatchClusteringDetector(**FAST).fit(data.videos, data.target)
    for group in ("normal", "abnormal"):
        assert net.criterion_.initial_centers[group].shape == (2, 8)  # gcn1 width
        assert net.criterion_.memory[group] == []
    net = CrossBatchClusteringDetector(**{**FAST, "cluster_layer": "fc"})
    assert net.fit(data.videos, data.target).criterion_.initial_centers["normal"].shape == (2, 16)
    off = CrossBatchClusteringDetector(**{**FAST, "cross_batch": False})
    assert off.fit(data.videos, data.target).criterion_.initial_centers["normal"] is None


def test_capped_inference_batches_give_the_same_scores():
    from sklearn_wsvad.datasets import make_wsvad_videos

    data = make_wsvad_videos(n_videos=20, n_features=6, min_clips=8, max_clips=40,
                             random_state=0)
    net = CrossBatchClusteringDetector(**FAST).fit(data.videos, data.target)
    expected = net.score_clips(data.videos)
    net._inference_budget = 3 * 40 * 40  # at most 3 long videos per batch
    for got, want in zip(net.score_clips(data.videos), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_capped_batch_sampler():
    lengths = [2, 3, 3, 5, 10, 10, 30]
    batches = list(_CappedBatchSampler(lengths, batch_size=3, budget=200))
    assert sum(batches, []) == list(range(7))
    for batch in batches:
        assert len(batch) <= 3
        t = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * t * t <= 200
    assert batches[-1] == [6]  # longer than the budget alone: its own batch


@pytest.mark.parametrize("params, match", [
    (dict(cluster_layer="gcn2", gcn_sizes=(8,)), "only 1 hidden GCN layer"),
    (dict(gcn_sizes=()), "gcn_sizes must be"),
    (dict(gcn_sizes=8), "gcn_sizes must be"),
    (dict(cluster_layer="gcn3"), "cluster_layer"),
    (dict(alpha=0.5), "alpha"),
    (dict(mu=0.0), "mu"),
])
def test_bad_parameters(params, match):
    from sklearn_wsvad.datasets import make_wsvad_videos

    data = make_wsvad_videos(n_videos=8, n_features=4, min_clips=8, max_clips=10,
                             random_state=0)
    with pytest.raises(ValueError, match=match):
        CrossBatchClusteringDetector(**{**FAST, **params}).fit(data.videos, data.target)
