import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_wsvad.datasets import make_wsvad_videos
from sklearn_wsvad.refine import (
    FeatureNormClusterUndersampler,
    clip_norms,
    majority_minority_counts,
)
from sklearn_wsvad.refine._undersampler import _cluster_norms, _kept_indices


def _sse(values, labels):
    return sum(((values[labels == k] - values[labels == k].mean()) ** 2).sum()
               for k in np.unique(labels))


def _brute_force_sse(values, k):
    """Optimal 1-D K-means SSE by an O(k n^2) dynamic programme (test oracle)."""
    x = np.sort(values)
    n = x.size
    c1 = np.r_[0, np.cumsum(x)]
    c2 = np.r_[0, np.cumsum(x**2)]

    def cost(i, j):  # clips i..j-1
        m = j - i
        return c2[j] - c2[i] - (c1[j] - c1[i]) ** 2 / m

    best = np.full((k + 1, n + 1), np.inf)
    best[0, 0] = 0
    for kk in range(1, k + 1):
        for j in range(kk, n + 1):
            best[kk, j] = min(best[kk - 1, i] + cost(i, j) for i in range(kk - 1, j))
    return best[k, n]


def test_clip_norms_matches_linalg(rng):
    v = rng.normal(size=(7, 5)).astype(np.float32)
    np.testing.assert_allclose(clip_norms(v), np.linalg.norm(v.astype(float), axis=1), rtol=1e-6)
    big = np.full((2, 3), 1e20, dtype=np.float32)  # squares overflow float32
    np.testing.assert_allclose(clip_norms(big), np.sqrt(3) * 1e20, rtol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_exact_is_optimal_on_small_cases(seed):
    rng = np.random.default_rng(seed)
    norms = rng.gamma(3.0, size=15)
    labels, sizes, centers = _cluster_norms(norms, 4, algorithm="exact")
    assert sizes.sum() == 15 and sizes.size == 4
    np.testing.assert_allclose(_sse(norms, labels), _brute_force_sse(norms, 4))
    # clusters ranked by size, centers are the cluster means
    assert (np.diff(sizes) <= 0).all()
    for r in range(4):
        np.testing.assert_allclose(centers[r], norms[labels == r].mean())


def test_exact_never_worse_than_kmeans_on_500_videos():
    data = make_wsvad_videos(n_videos=500, n_features=8, min_clips=20, max_clips=60,
                             random_state=0)
    worse = 0
    for video in data.videos:
        norms = clip_norms(video)
        labels, _, _ = _cluster_norms(norms, 10, algorithm="exact")
        km = KMeans(n_clusters=10, n_init=10, random_state=0).fit(norms[:, None])
        worse += _sse(norms, labels) > km.inertia_ * (1 + 1e-9) + 1e-12
    assert worse == 0


def test_rank_ties_go_to_smaller_norm():
    norms = np.array([5.0, 5.0, 1.0, 1.0, 9.0])
    labels, sizes, centers = _cluster_norms(norms, 3, algorithm="exact")
    np.testing.assert_array_equal(sizes, [2, 2, 1])
    np.testing.assert_array_equal(centers, [1.0, 5.0, 9.0])
    np.testing.assert_array_equal(labels, [1, 1, 0, 0, 2])


def test_fewer_distinct_norms_than_k():
    norms = np.array([2.0, 2.0, 3.0, 3.0, 3.0, 7.0])
    labels, sizes, _ = _cluster_norms(norms, 10, algorithm="exact")
    np.testing.assert_array_equal(sizes, [3, 2, 1])
    labels_l, sizes_l, _ = _cluster_norms(norms, 10, algorithm="lloyd", random_state=0)
    np.testing.assert_array_equal(sizes_l, [3, 2, 1])
    np.testing.assert_array_equal(labels, labels_l)


def test_kept_indices_rule():
    ranks = np.array([0, 1, 3, 0, 2, 4])
    np.testing.assert_array_equal(_kept_indices(ranks, 5, 2, "top"), [0, 1, 3])
    np.testing.assert_array_equal(_kept_indices(ranks, 5, 2, "bottom"), [2, 4, 5])
    np.testing.assert_array_equal(_kept_indices(ranks, 5, 2, "all"), np.arange(6))
    # at most n_top clusters: no minority, the video is kept whole
    np.testing.assert_array_equal(_kept_indices(np.array([0, 1, 1]), 2, 3, "bottom"), [0, 1, 2])


def _three_level_video(rng, counts=(8, 3, 1)):
    levels = np.repeat([1.0, 4.0, 9.0], counts)
    rng.shuffle(levels)
    return rng.normal(size=(levels.size, 6)) * 0.01 + levels[:, None] / np.sqrt(6)


def test_configurations_select_per_class(rng):
    normal, abnormal = _three_level_video(rng), _three_level_video(rng)
    videos = [normal, abnormal]
    norms = [clip_norms(v) for v in videos]
    for nk, ak in [("top", "top"), ("bottom", "bottom"), ("top", "bottom"), ("bottom", "top")]:
        s = FeatureNormClusterUndersampler(n_clusters=3, n_top=1, normal_keep=nk,
                                           abnormal_keep=ak)
        out = s.fit_transform(videos, [0, 1])
        for i, (v, n, keep) in enumerate(zip(videos, norms, (nk, ak))):
            major = n < 2.5  # the 8 clips of level 1
            expected = np.flatnonzero(major if keep == "top" else ~major)
            np.testing.assert_array_equal(s.kept_indices_[i], expected)
            np.testing.assert_array_equal(out[i], v[expected])  # temporal order kept
    np.testing.assert_array_equal(s.cluster_sizes_[0], [8, 3, 1])


def test_transform_is_identity_and_fit_transform_undersamples(small_data):
    s = FeatureNormClusterUndersampler()
    kept = s.fit_transform(small_data.videos, small_data.target)
    assert sum(len(v) for v in kept) < sum(len(v) for v in small_data.videos)
    out = s.transform(small_data.videos)
    assert all(o is v for o, v in zip(out, small_data.videos))
    assert [len(k) for k in kept] == [i.size for i in s.kept_indices_]


def test_short_video_and_empty_kept_set_rule():
    videos = [np.ones((2, 3)), np.arange(12.0).reshape(4, 3), np.ones((1, 3))]
    s = FeatureNormClusterUndersampler(n_clusters=10, n_top=3)
    out = s.fit_transform(videos, [0, 1, 1])
    # 1 and 1 distinct norms: at most n_top clusters, no minority, kept whole;
    # 4 distinct norms: 4 clusters of one clip, the smallest-norm 3 are "top"
    assert [len(o) for o in out] == [2, 1, 1]
    np.testing.assert_array_equal(s.fallback_, [True, False, True])
    assert [c.size for c in s.cluster_sizes_] == [1, 4, 1]


def test_short_video_top_is_the_lowest_norm_clips():
    # 5 clips with 5 distinct norms and K = 10: five singleton clusters, ranked
    # by the size tie-break (smaller mean norm first), so Top3 = the 3 lowest
    norms = np.array([4.0, 1.0, 5.0, 2.0, 3.0])
    video = norms[:, None] * np.array([[0.6, 0.8]])
    for keep, expected in (("top", [1, 3, 4]), ("bottom", [0, 2])):
        s = FeatureNormClusterUndersampler(n_clusters=10, n_top=3, normal_keep=keep)
        s.fit([video], [0])
        np.testing.assert_array_equal(s.kept_indices_[0], expected)
        assert not s.fallback_[0]


def test_y_needed_only_when_configurations_differ(small_data):
    FeatureNormClusterUndersampler().fit(small_data.videos)
    with pytest.raises(ValueError, match="so fit needs the video labels y"):
        FeatureNormClusterUndersampler(normal_keep="top").fit(small_data.videos)
    # a single-class set is fine for a transformer
    FeatureNormClusterUndersampler(normal_keep="top").fit(small_data.videos[:3], [1, 1, 1])


def test_invalid_parameters():
    v = [np.ones((3, 2))]
    with pytest.raises(InvalidParameterError, match="n_top must be smaller than n_clusters"):
        FeatureNormClusterUndersampler(n_clusters=3, n_top=3).fit(v)
    with pytest.raises(InvalidParameterError, match="n_clusters"):
        FeatureNormClusterUndersampler(n_clusters=1).fit(v)
    with pytest.raises(InvalidParameterError, match="normal_keep"):
        FeatureNormClusterUndersampler(normal_keep="majority").fit(v)


def test_nan_is_reported_with_video_and_clip():
    v = np.ones((4, 3))
    v[2, 0] = np.nan
    with pytest.raises(ValueError, match=r"Video 1 contains NaN or infinity \(first at clip 2\)"):
        FeatureNormClusterUndersampler().fit([np.ones((4, 3)), v])


def test_n_jobs_and_lloyd_agree_with_sequential(small_data):
    a = FeatureNormClusterUndersampler().fit(small_data.videos, small_data.target)
    b = FeatureNormClusterUndersampler(n_jobs=2).fit(small_data.videos, small_data.target)
    for x, y in zip(a.labels_, b.labels_):
        np.testing.assert_array_equal(x, y)
    c = FeatureNormClusterUndersampler(algorithm="lloyd", random_state=0).fit(
        small_data.videos, small_data.target)
    d = FeatureNormClusterUndersampler(algorithm="lloyd", random_state=0).fit(
        small_data.videos, small_data.target)
    for x, y in zip(c.labels_, d.labels_):
        np.testing.assert_array_equal(x, y)


def test_inputs_not_mutated(small_data):
    before = [v.copy() for v in small_data.videos]
    FeatureNormClusterUndersampler().fit_transform(small_data.videos, small_data.target)
    for b, v in zip(before, small_data.videos):
        np.testing.assert_array_equal(b, v)


def test_majority_minority_counts(small_data):
    s = FeatureNormClusterUndersampler().fit(small_data.videos, small_data.target)
    counts = majority_minority_counts(s, small_data.target)
    total_normal = sum(len(v) for v, t in zip(small_data.videos, small_data.target) if t == 0)
    assert counts["normal"]["top"] + counts["normal"]["bottom"] == total_normal
    manual = sum(int((lab < 3).sum()) for lab, t in zip(s.labels_, small_data.target) if t == 1)
    assert counts["abnormal"]["top"] == manual


def test_synthetic_structure_majority_clusters_hold_most_clips():
    data = make_wsvad_videos(n_videos=100, random_state=1)
    s = FeatureNormClusterUndersampler().fit(data.videos, data.target)
    share_top = np.array([(lab < 3).mean() for lab in s.labels_])
    # paper, section 4.1: in many videos the top three clusters hold >= 50% of clips
    assert np.mean(share_top >= 0.5) > 0.6
    # majority patterns sit mostly in the top clusters, minority ones in the rest
    pattern = np.concatenate(data.clip_pattern)
    top = np.concatenate(s.labels_) < 3
    assert top[pattern == 0].mean() > 0.6
    assert top[pattern == 1].mean() < 0.5


def test_scaler_is_fitted_before_refinement_and_norms_stay_raw(small_data):
    from sklearn_wsvad.refine import ClipStandardScaler

    X, y = small_data.videos, small_data.target
    plain = FeatureNormClusterUndersampler()
    kept = plain.fit_transform(X, y)
    scaled = FeatureNormClusterUndersampler(scaler=ClipStandardScaler())
    out = scaled.fit_transform(X, y)
    # the same clips are kept (clustered on the raw norms) ...
    for a, b in zip(plain.kept_indices_, scaled.kept_indices_):
        np.testing.assert_array_equal(a, b)
    # ... and scaled with statistics over every training clip, not the kept ones
    everything = ClipStandardScaler().fit(X)
    np.testing.assert_allclose(scaled.scaler_.mean_, everything.mean_)
    np.testing.assert_allclose(scaled.scaler_.scale_, everything.scale_)
    for k, o in zip(kept, out):
        np.testing.assert_allclose(o, everything.transform([k])[0], rtol=1e-6)
    # inference: every clip, scaled
    for v, t in zip(X, scaled.transform(X)):
        np.testing.assert_allclose(t, everything.transform([v])[0], rtol=1e-6)
    assert scaled.scaler is not scaled.scaler_ and not hasattr(scaled.scaler, "mean_")


def test_scaler_must_be_a_transformer(small_data):
    with pytest.raises(InvalidParameterError, match="scaler"):
        FeatureNormClusterUndersampler(scaler="standard").fit(small_data.videos,
                                                              small_data.target)
