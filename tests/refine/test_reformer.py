import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_wsvad.refine import SnippetReformer, snippet_bounds


def _loop_pool(video, n_snippets):
    """Sultani-style reference: linspace boundaries, one clip where a range is empty."""
    edges = np.round(np.linspace(0, len(video), n_snippets + 1)).astype(int)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        out.append(video[a:b].mean(axis=0) if b > a else video[min(a, len(video) - 1)])
    return np.array(out)


@pytest.mark.parametrize("n_clips", [1, 5, 31, 32, 33, 100, 257])
def test_pooling_matches_reference_loop(n_clips, rng):
    video = rng.normal(size=(n_clips, 3))
    out = SnippetReformer(n_snippets=32).fit_transform([video])[0]
    assert out.shape == (32, 3)
    np.testing.assert_allclose(out, _loop_pool(video, 32))


def test_snippet_length_groups(rng):
    video = rng.normal(size=(7, 2))
    out = SnippetReformer(n_snippets=None, snippet_length=3).fit_transform([video])[0]
    np.testing.assert_allclose(out, [video[0:3].mean(0), video[3:6].mean(0), video[6]])


def test_bounds_partition_long_videos():
    for n in [32, 50, 999]:
        starts, counts = snippet_bounds(n, n_snippets=32)
        assert counts.sum() == n and (counts >= 1).all()
        np.testing.assert_array_equal(np.r_[starts[1:], n], starts + counts)


def test_inference_modes_and_transform_index(rng):
    videos = [rng.normal(size=(n, 2)) for n in (10, 3)]
    clips = SnippetReformer(n_snippets=4).fit(videos)
    assert all(o is v for o, v in zip(clips.transform(videos), videos))
    assert [i.tolist() for i in clips.transform_index(videos)] == [list(range(10)), [0, 1, 2]]
    snip = SnippetReformer(n_snippets=4, inference="snippets").fit(videos)
    out = snip.transform(videos)
    index = snip.transform_index(videos)
    assert index[0].tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3]
    # every clip of a short video maps to a snippet that is that clip alone
    for c, j in enumerate(index[1]):
        np.testing.assert_allclose(out[1][j], videos[1][c])
    # each clip's snippet contains it: the snippet mean equals the mean of its members
    for j in range(4):
        np.testing.assert_allclose(out[0][j], videos[0][index[0] == j].mean(axis=0))


def test_fit_transform_differs_from_transform_by_design(rng):
    videos = [rng.normal(size=(40, 2))]
    r = SnippetReformer(n_snippets=8)
    assert r.fit_transform(videos)[0].shape == (8, 2)
    assert r.transform(videos)[0].shape == (40, 2)


def test_invalid_parameters():
    v = [np.ones((3, 2))]
    with pytest.raises(InvalidParameterError, match="Exactly one of n_snippets and snippet_length"):
        SnippetReformer(snippet_length=4).fit(v)
    with pytest.raises(InvalidParameterError, match="n_snippets"):
        SnippetReformer(n_snippets=0).fit(v)
    with pytest.raises(InvalidParameterError, match="inference"):
        SnippetReformer(inference="frames").fit(v)


def test_feature_dimension_checked_at_transform(rng):
    r = SnippetReformer().fit([rng.normal(size=(5, 3))])
    with pytest.raises(ValueError, match="fitted with 3"):
        r.transform([rng.normal(size=(5, 4))])
