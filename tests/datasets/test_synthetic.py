import numpy as np

from sklearn_wsvad.datasets import make_wsvad_videos


def test_shapes_and_labels():
    d = make_wsvad_videos(n_videos=30, n_features=12, random_state=0)
    assert len(d.videos) == 30 and d.target.sum() == 15
    for v, f, c, p, t in zip(d.videos, d.frame_labels, d.clip_labels, d.clip_pattern, d.target):
        assert v.ndim == 2 and v.shape[1] == 12 and v.dtype == np.float32
        assert (v >= 0).all()
        assert len(v) * 16 <= len(f) < (len(v) + 1) * 16
        assert len(c) == len(v) == len(p)
        assert bool(c.any()) == bool(t) == bool(f.any())
        if t:  # one contiguous run, whose frames lie within its clips
            run = np.flatnonzero(c)
            assert run.size == run[-1] - run[0] + 1
            frames = np.flatnonzero(f)
            assert frames.size == frames[-1] - frames[0] + 1
            assert run[0] * 16 <= frames[0]
            assert frames[-1] < (run[-1] + 1) * 16 or run[-1] == len(v) - 1
    assert len({len(v) for v in d.videos}) > 10  # ragged


def test_deterministic_and_seed_dependent():
    a = make_wsvad_videos(n_videos=6, random_state=3)
    b = make_wsvad_videos(n_videos=6, random_state=3)
    c = make_wsvad_videos(n_videos=6, random_state=4)
    for x, y in zip(a.videos, b.videos):
        np.testing.assert_array_equal(x, y)
    assert any(len(x) != len(y) or not np.array_equal(x, y) for x, y in zip(a.videos, c.videos))


def test_anomaly_share_varies_and_features_are_smooth():
    d = make_wsvad_videos(n_videos=200, random_state=0)
    shares = [c.mean() for c, t in zip(d.clip_labels, d.target) if t]
    assert min(shares) < 0.08 and max(shares) > 0.5
    v = d.videos[0].astype(float)
    step = np.linalg.norm(np.diff(v, axis=0), axis=1).mean()
    shuffled = np.linalg.norm(np.diff(v[np.random.default_rng(0).permutation(len(v))], axis=0),
                              axis=1).mean()
    assert step < 0.6 * shuffled


def test_majority_norms_are_tighter_than_minority():
    d = make_wsvad_videos(n_videos=50, random_state=0)
    norms = np.concatenate([np.linalg.norm(v, axis=1) for v in d.videos])
    kind = np.concatenate(d.clip_pattern)
    cv = [norms[kind == k].std() / norms[kind == k].mean() for k in (0, 1, 3)]
    assert cv[0] < cv[1] and cv[0] < cv[2]
