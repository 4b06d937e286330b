"""Reliability findings of issue 14, each reproduced first and then pinned:
no silent NaN, validated metric helpers, input never mutated."""

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from sklearn_wsvad.metrics import equal_error_rate, expand_clip_scores


# ---- equal_error_rate --------------------------------------------------------
@pytest.mark.parametrize("label", [0, 1])
def test_equal_error_rate_rejects_a_single_class(label):
    # before: 0.0 (a perfect score) for all 0, NaN for all 1
    with pytest.raises(ValueError, match=f"All 4 labels are {label}"):
        equal_error_rate([label] * 4, [0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(
    "y_true, y_score, match",
    [
        ([0, 2, 1], [0.1, 0.2, 0.3], "0 \\(normal\\) and 1"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN or infinity \\(first at index 1\\)"),
        ([0, 1], [0.1, 0.2, 0.3], "inconsistent numbers of samples"),
        ([], [], "at least one sample"),
    ],
)
def test_equal_error_rate_validates(y_true, y_score, match):
    with pytest.raises(ValueError, match=match):
        equal_error_rate(y_true, y_score)


def test_equal_error_rate_is_where_miss_rate_meets_false_positive_rate():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = y + rng.normal(0, 1.0, 500)
    eer = equal_error_rate(y, s)
    fpr, tpr, _ = roc_curve(y, s)
    # the EER lies between the ROC points that straddle fpr == 1 - tpr
    i = np.argmax(fpr >= 1 - tpr)
    assert min(fpr[i - 1], fpr[i]) <= eer <= max(fpr[i - 1], fpr[i])
    assert 0.2 < eer < 0.45


# ---- expand_clip_scores ------------------------------------------------------
@pytest.mark.parametrize(
    "n_frames, match",
    [
        ([-3, 2], "positive integers"),  # before: sliced from the end
        ([0, 2], "positive integers"),
        ([4.5, 2], "positive integers"),
        ([4], "expected 2 counts"),  # before: the second video was dropped
        ([4, 4, 4], "expected 2 counts"),
    ],
)
def test_expand_clip_scores_validates_n_frames(n_frames, match):
    with pytest.raises(ValueError, match=match):
        expand_clip_scores([[0.1, 0.2], [0.3]], n_frames, frames_per_clip=2)


@pytest.mark.parametrize("frames_per_clip", [0, -1, 2.0, True])
def test_expand_clip_scores_validates_frames_per_clip(frames_per_clip):
    # before: 0 returned empty arrays, -1 a numpy error
    with pytest.raises(ValueError, match="frames_per_clip must be a positive integer"):
        expand_clip_scores([[0.1, 0.2]], frames_per_clip=frames_per_clip)


def test_expand_clip_scores_by_hand():
    out = expand_clip_scores([[0.1, 0.9], [0.5]], [5, 1], frames_per_clip=2)
    assert [o.tolist() for o in out] == [[0.1, 0.1, 0.9, 0.9, 0.9], [0.5]]


# ---- refinement steps --------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("inference", ["clips", "snippets"])
def test_reformer_rejects_nonfinite_features(bad, inference):
    from sklearn_wsvad import SnippetReformer

    videos = [np.zeros((6, 3)), np.zeros((5, 3))]
    videos[1][2, 1] = bad
    reformer = SnippetReformer(n_snippets=2, inference=inference)
    # before: NaN and inf were pooled silently
    with pytest.raises(ValueError, match="Video 1 contains NaN or infinity \\(first at clip 2\\)"):
        reformer.fit_transform(videos)
    reformer.fit(videos[:1])
    with pytest.raises(ValueError, match="Video 1 contains NaN or infinity"):
        reformer.transform(videos)


def test_reformer_pools_float32_values_near_the_maximum_without_overflow():
    from sklearn_wsvad import SnippetReformer

    big = np.finfo(np.float32).max / 2 * 1.5  # two of them sum past float32's max
    video = np.full((4, 2), big, dtype=np.float32)
    video[1] = -1.0
    for boundaries in ("round", "sultani"):  # the reshape and the slice paths
        out = SnippetReformer(n_snippets=2, boundaries=boundaries).fit_transform([video])[0]
        assert out.dtype == np.float32 and np.isfinite(out).all()
    out = SnippetReformer(n_snippets=None, snippet_length=2).fit_transform([video])[0]
    np.testing.assert_allclose(out, [[(big - 1.0) / 2] * 2, [big] * 2], rtol=1e-6)


def test_normalizer_normalises_clips_whose_squared_norm_overflows():
    from sklearn_wsvad.refine import ClipNormalizer

    video = np.array([[3e38, 3e38], [3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    before = video.copy()
    for norm, first in (("l2", np.sqrt(0.5)), ("l1", 0.5), ("max", 1.0)):
        out = ClipNormalizer(norm=norm).fit_transform([video])[0]
        # before: the first clip became all zeros (its squared norm was inf)
        np.testing.assert_allclose(out[0], [first, first], rtol=1e-6)
        assert out[2].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(ClipNormalizer().fit_transform([video])[0][1], [0.6, 0.8])
    np.testing.assert_array_equal(video, before)


def test_standard_scaler_statistics_in_blocks_match_numpy(monkeypatch):
    from sklearn_wsvad.refine import ClipStandardScaler, _scalers

    monkeypatch.setattr(_scalers, "_BLOCK_ROWS", 7)  # several blocks per video
    rng = np.random.default_rng(0)
    videos = [1e4 + rng.normal(size=(n, 3)).astype(np.float32) for n in (5, 16, 23)]
    copies = [v.copy() for v in videos]
    scaler = ClipStandardScaler().fit(videos)
    rows = np.concatenate(videos).astype(np.float64)
    np.testing.assert_allclose(scaler.mean_, rows.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.var_, rows.var(axis=0), rtol=1e-9)
    out = scaler.transform(videos)
    np.testing.assert_allclose(np.concatenate(out), (rows - rows.mean(0)) / rows.std(0),
                               atol=1e-3)
    for v, c in zip(videos, copies):
        np.testing.assert_array_equal(v, c)


# ---- models ------------------------------------------------------------------
def _small_data(n_features=6, random_state=0):
    from sklearn_wsvad.datasets import make_wsvad_videos

    return make_wsvad_videos(n_videos=12, n_features=n_features, random_state=random_state)


def test_models_reject_values_beyond_float32_before_training_and_scoring():
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()
    videos = [np.asarray(v, dtype=np.float64) for v in data.videos]
    bad = [v.copy() for v in videos]
    bad[2][3, 1] = 1e300  # finite in float64, infinity in float32
    model = MagnitudeMILDetector(max_epochs=1, random_state=0)
    # before: trained, and every video then scored NaN
    with pytest.raises(ValueError, match="Video 2 holds 1e\\+300 at clip 3, outside the range"):
        model.fit(bad, data.target)
    assert not hasattr(model, "module_")  # raised before any training
    model.fit(videos, data.target)
    with pytest.raises(ValueError, match="Video 2 holds 1e\\+300 at clip 3"):
        model.score_clips(bad)
    bad[2][3, 1] = -1e300
    with pytest.raises(ValueError, match="Video 2 holds -1e\\+300 at clip 3"):
        model.score_clips(bad)


def test_overflow_in_training_raises_instead_of_nan_scores():
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()
    videos = [np.asarray(v, dtype=np.float32) for v in data.videos]
    videos[3] = videos[3].copy()
    videos[3][2, 1] = 3e38  # within float32, but its square is not
    with pytest.raises(FloatingPointError, match="non-finite scores in training.*input_scaling"):
        MagnitudeMILDetector(max_epochs=2, random_state=0, input_scaling=None).fit(
            videos, data.target)
    # the default input scaling brings the same data into range
    scores = MagnitudeMILDetector(max_epochs=2, random_state=0).fit(
        videos, data.target).score_clips(videos)
    assert all(np.isfinite(s).all() for s in scores)


def test_overflow_in_scoring_names_the_video():
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()
    videos = [np.asarray(v, dtype=np.float32) for v in data.videos]
    model = MagnitudeMILDetector(max_epochs=1, random_state=0, input_scaling=None).fit(
        videos, data.target)
    test = [v.copy() for v in videos[:3]]
    test[1][4] = 3e38
    with pytest.raises(FloatingPointError, match="scored video 1 non-finite \\(first at clip"):
        model.score_clips(test)


def test_warm_start_on_another_feature_size_is_rejected_clearly():
    from sklearn_wsvad.models import MagnitudeMILDetector

    data, other = _small_data(6), _small_data(9)
    model = MagnitudeMILDetector(max_epochs=1, random_state=0, warm_start=True)
    model.fit(data.videos, data.target)
    # before: torch's "mat1 and mat2 shapes cannot be multiplied" mid-training
    with pytest.raises(ValueError, match="has 9 features, but this estimator was fitted with 6"):
        model.fit(other.videos, other.target)
    model.set_params(warm_start=False).fit(other.videos, other.target)  # a refit may change it
    assert model.n_features_in_ == 9


def test_partial_fit_is_reproducible_and_leaves_the_global_rng_alone():
    import torch

    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()

    def run():
        model = MagnitudeMILDetector(max_epochs=1, random_state=0).fit(data.videos, data.target)
        torch.manual_seed(123)
        model.partial_fit(data.videos, data.target)
        after = torch.rand(1).item()  # the global RNG continues as if untouched
        torch.manual_seed(123)
        expected = torch.rand(1).item()
        assert after == expected
        model.partial_fit(data.videos, data.target)
        return np.concatenate(model.score_clips(data.videos))

    np.testing.assert_array_equal(run(), run())


def test_interrupted_fit_warns_with_the_epochs_done_and_stays_usable():
    from skorch.callbacks import Callback

    from sklearn_wsvad.models import MagnitudeMILDetector

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 3:
                raise KeyboardInterrupt

    data = _small_data()
    model = MagnitudeMILDetector(max_epochs=10, random_state=0, callbacks=[Interrupt()])
    # before: fit returned after the partial epochs with no word
    with pytest.warns(UserWarning, match="interrupted \\(KeyboardInterrupt\\) after 3 completed"):
        model.fit(data.videos, data.target)
    assert len(model.history) == 3
    assert all(np.isfinite(s).all() for s in model.score_clips(data.videos))


@pytest.mark.parametrize("input_scaling", ["standard", None])
def test_fresh_estimator_loads_saved_params_and_scores_alike(tmp_path, input_scaling):
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()
    fitted = MagnitudeMILDetector(max_epochs=2, random_state=0, input_scaling=input_scaling)
    fitted.fit(data.videos, data.target)
    fitted.save_params(f_params=tmp_path / "params.pt")
    fresh = MagnitudeMILDetector(module__n_features=6, input_scaling=input_scaling)
    # before: initialize() failed with AttributeError: n_features_in_
    fresh.initialize()
    fresh.load_params(f_params=tmp_path / "params.pt")
    for a, b in zip(fresh.score_clips(data.videos), fitted.score_clips(data.videos)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    if input_scaling:  # the scaling statistics travel with the parameters
        np.testing.assert_array_equal(fresh.input_mean_, fitted.input_mean_)


def test_initialize_without_the_feature_size_says_how():
    from sklearn_wsvad.models import MagnitudeMILDetector

    with pytest.raises(ValueError, match="module__n_features"):
        MagnitudeMILDetector().initialize()


def test_checkpoint_resumes_on_a_fresh_estimator(tmp_path):
    from skorch.callbacks import Checkpoint, LoadInitState

    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()
    first = MagnitudeMILDetector(
        max_epochs=3, random_state=0,
        callbacks=[Checkpoint(monitor=None, dirname=str(tmp_path))])
    first.fit(data.videos, data.target)
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path))
    resumed = MagnitudeMILDetector(max_epochs=2, random_state=0,
                                   callbacks=[checkpoint, LoadInitState(checkpoint)])
    resumed.fit(data.videos, data.target)
    assert len(resumed.history) == 5  # 3 epochs restored + 2 more
    assert all(np.isfinite(s).all() for s in resumed.score_clips(data.videos))


# ---- linear memory when scoring long videos ----------------------------------
def _blocks_of(budget, monkeypatch):
    from sklearn_wsvad.models import _functional

    monkeypatch.setattr(_functional, "BLOCK_ELEMENTS", budget)


def test_bnwvad_attention_in_row_blocks_equals_the_whole(monkeypatch):
    import torch

    from sklearn_wsvad.models._bnwvad import LocalGlobalAttention

    torch.manual_seed(0)
    for normalization in ("column", "row"):
        attn = LocalGlobalAttention(8, heads=2, dim_head=4,
                                    kernel_normalization=normalization).double().eval()
        x = torch.randn(3, 23, 8, dtype=torch.float64)
        mask = torch.arange(23)[None, :] < torch.tensor([[23], [17], [5]])
        whole = attn(x, mask)  # with a gradient: one block
        _blocks_of(3 * 2 * 23 * 4, monkeypatch)  # 4 query rows per block
        with torch.no_grad():
            blocked = attn(x, mask)
        torch.testing.assert_close(blocked, whole.detach(), rtol=1e-12, atol=1e-12)
        monkeypatch.undo()


def test_crossbatch_graph_in_row_blocks_equals_the_dense_graph(monkeypatch):
    import torch

    from sklearn_wsvad.models._crossbatch import _BlockAdjacency, video_adjacency

    torch.manual_seed(0)
    x = torch.randn(2, 19, 5, dtype=torch.float64)
    x[:, 10:] = x[:, :9] + 0.01 * torch.randn(2, 9, 5, dtype=torch.float64)  # similar steps
    mask = torch.arange(19)[None, :] < torch.tensor([[19], [12]])
    h = torch.randn(2, 19, 3, dtype=torch.float64)
    dense = video_adjacency(x, mask, 0.7, 1.0) @ h
    _blocks_of(2 * 19 * 5, monkeypatch)  # 5 rows per block
    with torch.no_grad():
        product = _BlockAdjacency(x, mask, 0.7, 1.0)
        assert product.dense is None and len(product.blocks) == 4
        torch.testing.assert_close(product @ h, dense, rtol=1e-12, atol=1e-12)


def test_rtfm_non_local_block_associates_the_product_on_long_videos():
    import torch

    from sklearn_wsvad.models._rtfm import NonLocalBlock1d

    torch.manual_seed(0)
    block = NonLocalBlock1d(6, inter_channels=3).double().eval()
    torch.nn.init.normal_(block.bn.weight)  # not the identity at start
    x = torch.randn(2, 6, 11, dtype=torch.float64)  # t = 11 > inter = 3: theta (phi g)
    mask = torch.arange(11)[None, :] < torch.tensor([[11], [7]])
    m = mask[:, None, :].double()
    affinity = block.theta(x).transpose(1, 2) @ block.phi(x)  # the t x t form
    values = block.g(x) * m / m.sum(dim=2, keepdim=True)
    expected = block.bn(block.W((affinity @ values.transpose(1, 2)).transpose(1, 2)), mask) + x
    torch.testing.assert_close(block(x, mask), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["BNWVADDetector", "CrossBatchClusteringDetector",
                                  "RTFMDetector"])
def test_long_video_scores_do_not_depend_on_the_block_size(name, monkeypatch):
    from sklearn_wsvad import models

    data = _small_data()
    params = dict(dim=16, dim_head=4) if name == "BNWVADDetector" else {}
    model = getattr(models, name)(max_epochs=1, random_state=0, **params)
    model.fit(data.videos, data.target)
    whole = model.score_clips(data.videos[:3])
    _blocks_of(64, monkeypatch)  # a handful of rows per block
    for a, b in zip(model.score_clips(data.videos[:3]), whole):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _randomised(module):
    """``module`` in float64 evaluation mode with every parameter and
    BatchNorm statistic drawn at random (no layer left at its identity start)."""
    import torch

    torch.manual_seed(0)
    module = module.double().eval()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
        for name, buffer in module.named_buffers():
            if name.endswith("running_var"):
                buffer.uniform_(0.5, 2.0)
            elif name.endswith("running_mean"):
                buffer.normal_()
    return module


def _streamed_and_whole(module, n_clips, n_features, chunk):
    import torch

    x = torch.randn(1, n_clips, n_features, dtype=torch.float64)
    reads = []

    def read(start, stop):
        reads.append(stop - start)
        return x[:, start:stop]

    with torch.no_grad():
        whole = module(x, torch.ones(1, n_clips, dtype=torch.bool))["scores"][0]
        streamed = module.stream_scores(read, n_clips, chunk)
    assert max(reads) <= chunk + 10  # never the whole video at once
    return streamed, whole


@pytest.mark.parametrize("kwargs", [{}, {"kernel_normalization": "row"}, {"enhancer": False}])
def test_bnwvad_streams_a_long_video_exactly(kwargs, monkeypatch):
    from sklearn_wsvad.models._bnwvad import BNWVADModule

    module = _randomised(BNWVADModule(5, dim=8, dim_head=4, **kwargs))
    _blocks_of(4 * 37 * 10, monkeypatch)  # the softmax accumulated over key blocks of 10 steps
    # 37-step pieces of queries; the temporal kernel reads across pieces
    streamed, whole = _streamed_and_whole(module, 230, 5, chunk=37)
    np.testing.assert_allclose(streamed.numpy(), whole.numpy(), rtol=1e-10, atol=1e-10)


def test_bnwvad_temporal_kernel_reach_is_where_it_underflows():
    import math

    import torch

    from sklearn_wsvad.models._bnwvad import _kernel_reach

    for dtype in (torch.float32, torch.float64):
        reach = _kernel_reach(dtype)
        values = torch.exp(-torch.tensor([reach - 1.0, reach], dtype=dtype) / math.e)
        assert values[0] > 0 and values[1] == 0
    assert _kernel_reach(torch.float32) == 283


def test_rtfm_streams_a_long_video_exactly():
    from sklearn_wsvad.models._rtfm import RTFMModule

    module = _randomised(RTFMModule(5, n_channels=4, hidden_sizes=(6,)))
    streamed, whole = _streamed_and_whole(module, 230, 5, chunk=37)
    np.testing.assert_allclose(streamed.numpy(), whole.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("proximity_scale", [1.0, 0.05, 40.0])
def test_crossbatch_streams_a_long_video_exactly(proximity_scale, monkeypatch):
    import torch

    from sklearn_wsvad.models._crossbatch import CrossBatchGCNModule

    module = _randomised(CrossBatchGCNModule(5, fc_size=8, gcn_sizes=(4,),
                                             proximity_scale=proximity_scale,
                                             similarity_threshold=0.3))
    _blocks_of(37 * 11, monkeypatch)  # key blocks of 11 steps against 37 rows
    torch.manual_seed(1)
    streamed, whole = _streamed_and_whole(module, 230, 5, chunk=37)
    np.testing.assert_allclose(streamed.numpy(), whole.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["BNWVADDetector", "CrossBatchClusteringDetector",
                                  "RTFMDetector"])
def test_global_models_stream_long_videos_with_the_same_scores(name, monkeypatch):
    from sklearn_wsvad import models
    from sklearn_wsvad.models import _base

    data = _small_data()
    params = dict(dim=16, dim_head=4) if name == "BNWVADDetector" else {}
    model = getattr(models, name)(max_epochs=1, random_state=0, **params)
    model.fit(data.videos, data.target)
    long_video = np.concatenate(data.videos[:6])  # ~1400 clips, past BN-WVAD's kernel reach
    whole = model.score_clips([long_video])[0]
    calls = []
    monkeypatch.setattr(_base, "_STREAM_CHUNK_CLIPS", len(data.videos[6]))
    stream = model.module_.stream_scores
    monkeypatch.setattr(model.module_, "stream_scores",
                        lambda *args: calls.append(args[1]) or stream(*args))
    scores = model.score_clips([data.videos[6], long_video])
    assert calls == [len(long_video)]  # only the long video is streamed
    np.testing.assert_allclose(scores[1], whole, rtol=1e-5, atol=1e-6)
    assert len(scores[0]) == len(data.videos[6])


@pytest.mark.parametrize("name, halo", [("MagnitudeMILDetector", 0), ("MILRankingDetector", 0),
                                        ("NGMILDetector", 1)])
def test_local_models_score_long_videos_in_pieces_exactly(name, halo, monkeypatch):
    from sklearn_wsvad import models
    from sklearn_wsvad.models import _base

    data = _small_data()
    model = getattr(models, name)(max_epochs=1, random_state=0).fit(data.videos, data.target)
    assert model._score_halo() == halo
    long_video = np.concatenate(data.videos[:4])  # one video of ~200 clips
    whole = model.score_clips([long_video])[0]
    monkeypatch.setattr(_base, "_SCORE_CHUNK_CLIPS", 7)  # many pieces with their context
    pieces = model.score_clips([long_video, data.videos[5]])
    np.testing.assert_allclose(pieces[0], whole, rtol=1e-5, atol=1e-7)
    assert len(pieces[1]) == len(data.videos[5])


def test_chunk_bags_covers_every_row_once():
    from sklearn_wsvad.models._base import _chunk_bags

    bags = [np.arange(10)[:, None], np.arange(3)[:, None]]
    pieces, keep = _chunk_bags(bags, halo=2, chunk=4)
    assert [p.ravel().tolist() for p in pieces] == [
        [0, 1, 2, 3, 4, 5], [2, 3, 4, 5, 6, 7, 8, 9], [6, 7, 8, 9], [0, 1, 2]]
    rebuilt = [np.concatenate([pieces[j][cut] for j, cut in parts]).ravel().tolist()
               for parts in keep]
    assert rebuilt == [list(range(10)), [0, 1, 2]]


def test_module_n_features_must_agree_with_the_data():
    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()
    with pytest.raises(ValueError, match="module__n_features=9 but the data have 6 features"):
        MagnitudeMILDetector(module__n_features=9, max_epochs=1).fit(data.videos, data.target)


def test_pickles_with_the_statistics_as_attributes_still_scale():
    import pickle

    from sklearn_wsvad.models import MagnitudeMILDetector

    data = _small_data()
    model = MagnitudeMILDetector(max_epochs=1, random_state=0).fit(data.videos, data.target)
    expected = model.score_clips(data.videos[:2])
    state = model.__getstate__()
    # the layout of earlier versions: statistics as attributes, none on the module
    state["input_mean_"], state["input_scale_"] = model.input_mean_, model.input_scale_
    for name in ("input_mean", "input_scale"):
        model.module_._buffers.pop(name)
    state = model.__getstate__() | {"input_mean_": state["input_mean_"],
                                     "input_scale_": state["input_scale_"]}
    old = MagnitudeMILDetector.__new__(MagnitudeMILDetector)
    old.__setstate__(pickle.loads(pickle.dumps(state)))
    for a, b in zip(old.score_clips(data.videos[:2]), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)
