import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_wsvad.refine import SnippetReformer, snippet_bounds


def _loop_pool(video, n_snippets):
    """The library's rule: rounded linspace edges, one clip where a range is empty."""
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


def _rtfm_process_feat(feat, length):
    """RTFM's and BN-WVAD's ``process_feat``, written out: truncated edges."""
    r = np.linspace(0, len(feat), length + 1).astype(int)
    out = np.zeros((length, feat.shape[1]))
    for i in range(length):
        out[i] = feat[r[i]:r[i + 1]].mean(0) if r[i] != r[i + 1] else feat[r[i]]
    return out


def _sultani_matlab(feat, n_segments=32):
    """Sultani's MATLAB script in 1-based indices: shots = round(linspace(1, n, 33)),
    segment i is ss = shots(i) .. ee = shots(i + 1) - 1, or clip ss when ee < ss."""
    n = len(feat)
    shots = np.linspace(1, n, n_segments + 1)
    shots = np.where(shots % 1 == 0.5, np.ceil(shots), np.round(shots)).astype(int)
    out = []
    for i in range(n_segments):
        ss, ee = shots[i], shots[i + 1] - 1
        out.append(feat[ss - 1] if ee < ss else feat[ss - 1:ee].mean(0))  # 1-based ss..ee
    return np.array(out)


@pytest.mark.parametrize("n_clips", [1, 2, 5, 31, 32, 33, 65, 100, 257])
def test_official_boundary_rules(n_clips, rng):
    video = rng.normal(size=(n_clips, 3))
    floor = SnippetReformer(n_snippets=32, boundaries="floor").fit_transform([video])[0]
    np.testing.assert_allclose(floor, _rtfm_process_feat(video, 32))
    sultani = SnippetReformer(n_snippets=32, boundaries="sultani").fit_transform([video])[0]
    np.testing.assert_allclose(sultani, _sultani_matlab(video))


def test_boundary_rules_by_hand():
    # 10 clips, 4 snippets: round(0, 2.5, 5, 7.5, 10) = 0, 2, 5, 8, 10 (halves to even);
    # floor: 0, 2, 5, 7, 10; Sultani: round(1, 3.25, 5.5, 7.75, 10) - 1 = 0, 2, 5, 7, 9
    assert [c.tolist() for c in snippet_bounds(10, n_snippets=4)] == [[0, 2, 5, 8], [2, 3, 3, 2]]
    floor = snippet_bounds(10, n_snippets=4, boundaries="floor")
    assert [c.tolist() for c in floor] == [[0, 2, 5, 7], [2, 3, 2, 3]]
    sultani = snippet_bounds(10, n_snippets=4, boundaries="sultani")
    assert [c.tolist() for c in sultani] == [[0, 2, 5, 7], [2, 3, 2, 2]]  # clip 9 left out
    reformer = SnippetReformer(n_snippets=4, boundaries="sultani", inference="snippets")
    video = np.arange(10.0)[:, None]
    assert reformer.fit_transform([video])[0].ravel().tolist() == [0.5, 3.0, 5.5, 7.5]
    # at inference the left-out last clip takes the last snippet's score
    assert reformer.transform_index([video])[0].tolist() == [0, 0, 1, 1, 1, 2, 2, 3, 3, 3]


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


def test_short_videos_kept_as_vadclip_official_process_feat(rng):
    """``short_videos="keep"``: a video with at most ``n_snippets`` clips is
    returned unchanged; longer ones are pooled exactly as with "repeat"."""
    videos = [rng.normal(size=(n, 3)) for n in (3, 8, 20)]
    keep = SnippetReformer(n_snippets=8, boundaries="floor", short_videos="keep")
    repeat = SnippetReformer(n_snippets=8, boundaries="floor")
    kept, repeated = keep.fit_transform(videos), repeat.fit_transform(videos)
    np.testing.assert_array_equal(kept[0], videos[0])
    np.testing.assert_array_equal(kept[1], videos[1])
    assert repeated[0].shape == (8, 3)  # the default stretches a short video
    np.testing.assert_array_equal(kept[2], repeated[2])
    # what the official process_feat does for a long video: mean of linspace(0, n, L+1) ranges
    edges = np.linspace(0, 20, 9).astype(int)
    np.testing.assert_allclose(kept[2], [videos[2][a:b].mean(axis=0)
                                         for a, b in zip(edges[:-1], edges[1:])])
    keep.set_params(inference="snippets")
    np.testing.assert_array_equal(keep.transform_index(videos)[0], np.arange(3))
    assert videos[0] is not kept[0]  # a copy, never the input
