import numpy as np
import pytest

from sklearn_wsvad import frame_roc_auc_score
from sklearn_wsvad.datasets import REGIMES, make_wsvad_regime
from sklearn_wsvad.refine import clip_norms


@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_splits_look_like_a_benchmark(regime):
    train, test = make_wsvad_regime(regime, n_train=12, n_test=10, n_features=24,
                                    min_clips=20, max_clips=60, random_state=0)
    assert sorted(train.target.tolist()) == [0] * 6 + [1] * 6
    assert sorted(test.target.tolist()) == [0] * 5 + [1] * 5
    for split in (train, test):
        assert split.regime == regime and split.frames_per_clip == 16
        assert len(split.videos) == len(split.frame_labels) == len(split.clip_labels)
        for v, f, c, t in zip(split.videos, split.frame_labels, split.clip_labels,
                              split.target):
            assert v.dtype == np.float32 and v.shape[1] == 24 and (v >= 0).all()
            assert 20 <= len(v) <= 60 and len(c) == len(v)
            assert len(v) * 16 <= len(f) < (len(v) + 1) * 16
            assert bool(c.any()) == bool(t) == bool(f.any())
    expected_unseen = 0 if regime == "paper" else 5
    assert test.unseen.sum() == expected_unseen
    assert set(test.scene[test.unseen]).isdisjoint(train.scene)


def test_deterministic_and_seed_dependent():
    a = make_wsvad_regime("lower_norm", n_train=6, n_test=4, random_state=1)
    b = make_wsvad_regime("lower_norm", n_train=6, n_test=4, random_state=1)
    c = make_wsvad_regime("lower_norm", n_train=6, n_test=4, random_state=2)
    for x, y, z in zip(a[0].videos, b[0].videos, c[0].videos):
        np.testing.assert_array_equal(x, y)
        assert x.shape != z.shape or not np.array_equal(x, z)


def _norm_auc(split):
    return frame_roc_auc_score(split.frame_labels, [clip_norms(v) for v in split.videos])


def test_the_norm_ranks_anomalies_as_each_regime_says():
    auc = {r: _norm_auc(make_wsvad_regime(r, n_train=4, n_test=80, n_features=64,
                                          random_state=0)[1])
           for r in ("higher_norm", "similar_norm", "lower_norm")}
    assert auc["higher_norm"] > 0.7
    assert abs(auc["similar_norm"] - 0.5) < 0.06
    assert auc["lower_norm"] < 0.4


def test_features_share_a_large_positive_component():
    train, _ = make_wsvad_regime("similar_norm", n_train=10, n_test=4, n_features=128,
                                 random_state=0)
    clips = np.concatenate(train.videos).astype(float)
    mean = clips.mean(axis=0)
    # most of each clip's energy lies along the mean clip, as in post-ReLU features
    along = (clips @ mean / np.linalg.norm(mean)) ** 2
    assert np.mean(along / (clips**2).sum(axis=1)) > 0.8


def test_scene_bias_ties_scenes_to_labels():
    def spread(regime):
        train, _ = make_wsvad_regime(regime, n_train=400, n_test=4, n_features=8,
                                     min_clips=4, max_clips=8, random_state=0)
        share = [train.target[train.scene == s].mean() for s in np.unique(train.scene)]
        return np.std(share)

    assert spread("scene_bias") > 2 * spread("similar_norm")


def test_bad_parameters():
    with pytest.raises(ValueError, match="regime"):
        make_wsvad_regime("nope")
    with pytest.raises(ValueError, match="min_clips=9 must not exceed max_clips=8"):
        make_wsvad_regime("paper", min_clips=9, max_clips=8)


def test_tiny_feature_dimension_stays_finite():
    # with 2 features, a clip can have every ReLU unit off: it stays at 0, not NaN
    train, test = make_wsvad_regime("lower_norm", n_train=40, n_test=10, n_features=2,
                                    random_state=0)
    assert all(np.isfinite(v).all() for v in train.videos + test.videos)
