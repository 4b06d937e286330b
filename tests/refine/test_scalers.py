import numpy as np
from sklearn.preprocessing import Normalizer, StandardScaler

from sklearn_wsvad.refine import ClipNormalizer, ClipStandardScaler


def test_standard_scaler_matches_sklearn_on_stacked_clips(rng):
    videos = [1e4 + rng.normal(size=(n, 5)) for n in (3, 10, 1, 7)]
    stacked = np.vstack(videos)
    ref = StandardScaler().fit(stacked)
    ours = ClipStandardScaler().fit(videos)
    np.testing.assert_allclose(ours.mean_, ref.mean_)
    np.testing.assert_allclose(ours.var_, ref.var_, rtol=1e-9)
    np.testing.assert_allclose(np.vstack(ours.transform(videos)), ref.transform(stacked),
                               atol=1e-8)
    assert ours.n_samples_seen_ == 21


def test_standard_scaler_keeps_float32_and_does_not_mutate(rng):
    videos = [rng.normal(size=(4, 3)).astype(np.float32)]
    before = videos[0].copy()
    out = ClipStandardScaler().fit_transform(videos)
    assert out[0].dtype == np.float32 and out[0] is not videos[0]
    np.testing.assert_array_equal(videos[0], before)
    out = ClipStandardScaler(with_mean=False, with_std=False).fit_transform(videos)
    assert out[0] is not videos[0]


def test_constant_feature_has_unit_scale():
    s = ClipStandardScaler().fit([np.c_[np.ones(4), np.arange(4.0)]])
    assert s.scale_[0] == 1.0


def test_normalizer_matches_sklearn(rng):
    videos = [rng.normal(size=(n, 4)) for n in (2, 5)]
    for norm in ("l2", "l1", "max"):
        out = ClipNormalizer(norm=norm).fit_transform(videos)
        ref = Normalizer(norm=norm).fit_transform(np.vstack(videos))
        np.testing.assert_allclose(np.vstack(out), ref)
