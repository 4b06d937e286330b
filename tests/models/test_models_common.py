"""Behaviour every video MIL model shares, checked on each of them."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from ..test_common import MODELS


@pytest.fixture(params=MODELS, ids=lambda m: type(m).__name__)
def model(request):
    return request.param


def test_fit_predict_api(model, small_data):
    est = clone(model).fit(small_data.videos, small_data.target)
    scores = est.score_clips(small_data.videos)
    assert [s.shape for s in scores] == [(len(v),) for v in small_data.videos]
    dec = est.decision_function(small_data.videos)
    np.testing.assert_allclose(dec, [s.max() for s in scores])
    np.testing.assert_array_equal(est.predict(small_data.videos), (dec >= 0.5).astype(int))
    if est._scores_are_probabilities:
        proba = est.predict_proba(small_data.videos)
        np.testing.assert_allclose(proba.sum(1), 1.0)
    else:  # e.g. BN-WVAD's DFM-weighted scores are unbounded
        assert not hasattr(est, "predict_proba")
    assert 0.0 <= est.score(small_data.videos, small_data.target) <= 1.0
    np.testing.assert_array_equal(est.classes_, [0, 1])
    assert len(est.history) == model.max_epochs


def test_padding_never_changes_a_video_score(model, small_data):
    est = clone(model).fit(small_data.videos, small_data.target)
    batched = est.score_clips(small_data.videos)
    for i in (0, 7, 31):
        alone = est.score_clips([small_data.videos[i]])[0]
        np.testing.assert_allclose(alone, batched[i], rtol=1e-5, atol=1e-7)


def test_reproducible_and_leaves_global_rng_alone(model, small_data):
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    a = clone(model).fit(small_data.videos, small_data.target)
    b = clone(model).fit(small_data.videos, small_data.target)
    assert torch.equal(torch_state, torch.get_rng_state())
    np.testing.assert_array_equal(np_state, np.random.get_state()[1])
    np.testing.assert_array_equal(a.decision_function(small_data.videos),
                                  b.decision_function(small_data.videos))
    c = clone(model).set_params(random_state=1).fit(small_data.videos, small_data.target)
    assert not np.array_equal(a.decision_function(small_data.videos),
                              c.decision_function(small_data.videos))


def test_pickle_and_clone(model, small_data):
    est = clone(model).fit(small_data.videos, small_data.target)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.decision_function(small_data.videos),
                                  again.decision_function(small_data.videos))
    fresh = clone(est)
    assert not hasattr(fresh, "module_") or not fresh.initialized_
    assert fresh.get_params() .keys() == est.get_params().keys()
    refit = fresh.fit(small_data.videos, small_data.target)
    np.testing.assert_array_equal(est.decision_function(small_data.videos),
                                  refit.decision_function(small_data.videos))


@pytest.mark.parametrize(
    "videos, y, match",
    [
        ([np.ones((3, 2))] * 2, [0, 0], "needs both normal and abnormal videos"),
        ([np.ones((3, 2))] * 2, [0, 1, 1], "Got 2 videos but 3 labels"),
        ([np.ones((3, 2))] * 2, [0, 3], r"found values \[0, 3\]"),
        ([np.ones((3, 2)), np.ones((3, 4))], [0, 1], "Video 1 has 4 features but video 0 has 2"),
        ([np.ones((3, 2)), np.full((3, 2), np.nan)], [0, 1], "Video 1 contains NaN"),
        ([np.ones((3, 2)), np.ones((0, 2))], [0, 1], "Video 1 has 0 clips"),
    ],
)
def test_bad_input_raises_before_training(model, videos, y, match):
    est = clone(model)
    with pytest.raises(ValueError, match=match):
        est.fit(videos, y)
    assert not getattr(est, "initialized_", False)


def test_bad_hyper_parameters_and_device(model):
    videos, y = [np.ones((3, 2)), np.zeros((3, 2))], [0, 1]
    with pytest.raises(ValueError, match="dropout"):
        clone(model).set_params(dropout=1.5).fit(videos, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' but torch finds no CUDA device"):
            clone(model).set_params(device="cuda").fit(videos, y)


@pytest.mark.parametrize("device, match", [
    ("gpu", "device='gpu' is not a torch device"),
    ("cuda", "device='cuda' but torch finds no CUDA device"),
    ("cuda:0", "device='cuda:0' but torch finds no CUDA device"),
    ("mps", "device='mps' but torch finds no MPS device"),
])
def test_device_validated_with_one_message_everywhere(model, small_data, device, match):
    if device != "gpu" and (torch.cuda.is_available() or torch.backends.mps.is_available()):
        pytest.skip("a GPU is present")
    videos, y = small_data.videos, small_data.target
    with pytest.raises(ValueError, match=match):
        clone(model).set_params(device=device)
    built = type(model)(**{**model.get_params(deep=False), "device": device})
    with pytest.raises(ValueError, match=match):  # given to the constructor
        built.fit(videos, y)
    fitted = clone(model).fit(videos, y)
    with pytest.raises(ValueError, match=match):
        fitted.set_params(device=device)
    assert fitted.device == "cpu"  # unchanged by the refused value
    fitted.device = device  # set as an attribute: scoring and partial_fit refuse it
    with pytest.raises(ValueError, match=match):
        fitted.decision_function(videos)
    with pytest.raises(ValueError, match=match):
        fitted.partial_fit(videos, y)


def test_fit_takes_no_extra_arguments(model, small_data):
    with pytest.raises(TypeError):
        clone(model).fit(small_data.videos, small_data.target,
                         frame_labels=small_data.frame_labels)


def test_scoring_checks_feature_dimension(model, small_data):
    est = clone(model).fit(small_data.videos, small_data.target)
    with pytest.raises(ValueError, match="fitted with 16"):
        est.decision_function([np.ones((3, 5))])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(model, small_data):
    cpu = clone(model).fit(small_data.videos, small_data.target)
    gpu = clone(model).set_params(device="cuda").fit(small_data.videos, small_data.target)
    np.testing.assert_allclose(cpu.decision_function(small_data.videos),
                               gpu.decision_function(small_data.videos), atol=1e-3)
    moved = pickle.loads(pickle.dumps(gpu)).set_params(device="cpu")
    np.testing.assert_allclose(moved.decision_function(small_data.videos),
                               gpu.decision_function(small_data.videos), atol=1e-5)


def test_partial_fit_continues_training_and_validates(model, small_data):
    est = clone(model).fit(small_data.videos, small_data.target)
    before = est.decision_function(small_data.videos)
    est.partial_fit(small_data.videos, small_data.target)
    assert len(est.history) == 2 * model.max_epochs
    assert not np.array_equal(before, est.decision_function(small_data.videos))
    with pytest.raises(ValueError, match="fitted with 16"):
        est.partial_fit([np.ones((3, 4)), np.zeros((3, 4))], [0, 1])
    fresh = clone(model).partial_fit(small_data.videos, small_data.target)
    np.testing.assert_array_equal(before, fresh.decision_function(small_data.videos))



def test_input_scaling_uses_the_training_rows(model, small_data):
    from sklearn.preprocessing import StandardScaler

    est = clone(model).fit(small_data.videos, small_data.target)
    ref = StandardScaler().fit(np.concatenate(small_data.videos).astype(np.float64))
    np.testing.assert_allclose(est.input_mean_, ref.mean_, rtol=1e-10)
    np.testing.assert_allclose(est.input_scale_, ref.scale_, rtol=1e-10)
    # what the module sees: standardised real rows, zero padding
    batch = est.scale_batch({"x": torch.ones(1, 2, 16), "mask": torch.tensor([[True, False]])})
    expected = (1.0 - ref.mean_) / ref.scale_
    np.testing.assert_allclose(batch["x"][0, 0].numpy(), expected, rtol=1e-5)
    assert not batch["x"][0, 1].any()
    raw = clone(model).set_params(input_scaling=None).fit(small_data.videos, small_data.target)
    assert raw.input_mean_ is None and raw.input_scale_ is None


def test_standardised_models_ignore_feature_offsets_and_units(model, small_data):
    """With input_scaling="standard", a per-feature affine change of the
    features (another extractor's offset and units) gives the same model."""
    rng = np.random.default_rng(0)
    shift = rng.uniform(5, 50, size=16)
    unit = rng.uniform(0.1, 10, size=16)
    moved = [(v * unit + shift).astype(np.float64) for v in small_data.videos]
    videos = [v.astype(np.float64) for v in small_data.videos]
    a = clone(model).fit(videos, small_data.target)
    b = clone(model).fit(moved, small_data.target)
    np.testing.assert_allclose(a.decision_function(videos), b.decision_function(moved),
                               rtol=1e-3, atol=1e-4)
    # without it the same change gives another model
    c = clone(model).set_params(input_scaling=None).fit(moved, small_data.target)
    assert not np.allclose(a.decision_function(videos), c.decision_function(moved),
                           rtol=1e-3, atol=1e-4)
