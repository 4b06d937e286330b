"""Checks shared by every estimator of the library.

scikit-learn's ``check_estimator`` feeds 2-D arrays, which are not videos; the
data-free checks are taken from it, the data checks are rewritten for lists of
videos.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_wsvad.models import (
    BNWVADDetector,
    CLIPTSADetector,
    CrossBatchClusteringDetector,
    DSANetDetector,
    MagnitudeMILDetector,
    MILRankingDetector,
    NGMILDetector,
    RTFMDetector,
    VadCLIPDetector,
)
from sklearn_wsvad.refine import (
    ClipNormalizer,
    ClipStandardScaler,
    FeatureNormClusterUndersampler,
    SnippetReformer,
)

TRANSFORMERS = [
    FeatureNormClusterUndersampler(),
    FeatureNormClusterUndersampler(algorithm="lloyd", random_state=0),
    SnippetReformer(n_snippets=8),
    SnippetReformer(n_snippets=8, inference="snippets"),
    ClipStandardScaler(),
    ClipNormalizer(),
]
MODELS = [
    MagnitudeMILDetector(max_epochs=2, hidden_sizes=(8, 4), batch_size=8, random_state=0),
    MILRankingDetector(max_epochs=2, hidden_sizes=(8, 4), batch_size=8, random_state=0),
    RTFMDetector(max_epochs=2, n_channels=8, hidden_sizes=(8, 4), batch_size=8,
                 random_state=0),
    NGMILDetector(max_epochs=2, n_prototypes=4, prototype_dim=8, encoder_channels=(8,),
                  hidden_sizes=(8, 4), batch_size=8, random_state=0),
    BNWVADDetector(max_epochs=2, dim=8, dim_head=4, head_channels=(4, 2), batch_size=8,
                   random_state=0),
    CrossBatchClusteringDetector(max_epochs=2, fc_size=8, gcn_sizes=(8, 4), batch_size=8,
                                 random_state=0),
    CLIPTSADetector(max_epochs=2, n_channels=8, hidden_sizes=(8, 4), scorer_hidden=8,
                    batch_size=8, random_state=0),
    VadCLIPDetector(text_embeddings=np.random.RandomState(0).normal(size=(3, 16)),
                    local_layers=1, window=4, input_scaling="standard", max_epochs=2,
                    batch_size=8, random_state=0),
    DSANetDetector(text_embeddings=np.random.RandomState(0).normal(size=(3, 16)),
                   local_layers=1, window=4, decoder_depth=1, n_prototypes=4,
                   input_scaling="standard", max_epochs=2, batch_size=8, random_state=0),
]
ALL = TRANSFORMERS + MODELS


def _id(est):
    return type(est).__name__


@pytest.mark.parametrize("est", ALL, ids=_id)
def test_sklearn_data_free_checks(est):
    name = type(est).__name__
    check_parameters_default_constructible(name, clone(est))
    check_get_params_invariance(name, clone(est))
    if est in MODELS:
        # device is validated by set_params itself (a named error at once, as
        # the user guide promises), which scikit-learn's check only advises against
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "ValueError occurred during set_params")
            check_set_params(name, clone(est))
        est = clone(est).set_params(lr=0.5, max_epochs=7, random_state=3, warm_start=True)
        params = est.get_params()
        assert (params["lr"], params["max_epochs"], params["random_state"]) == (0.5, 7, 3)
        assert params["warm_start"] is True  # a skorch parameter, listed once set
        # skorch creates history_, initialized_ and virtual_params_ in __init__:
        # check_no_attributes_set_in_init does not apply to a skorch net
        return
    check_set_params(name, clone(est))
    check_no_attributes_set_in_init(name, clone(est))


def _output(est, videos, y):
    if hasattr(est, "decision_function"):
        return [est.decision_function(videos)]
    return est.transform(videos)


@pytest.mark.parametrize("est", ALL, ids=_id)
def test_fit_returns_self_does_not_mutate_and_pickles(est, small_data):
    est = clone(est)
    videos, y = small_data.videos, small_data.target
    before = [v.copy() for v in videos]
    assert est.fit(videos, y) is est
    for b, v in zip(before, videos):
        np.testing.assert_array_equal(b, v)
    assert est.n_features_in_ == 16
    again = pickle.loads(pickle.dumps(est))
    for a, b in zip(_output(est, videos, y), _output(again, videos, y)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("est", ALL, ids=_id)
def test_not_fitted_and_dimension_errors(est, small_data):
    est = clone(est)
    with pytest.raises(NotFittedError):
        _output(est, small_data.videos, small_data.target)
    est.fit(small_data.videos, small_data.target)
    with pytest.raises(ValueError, match="fitted with 16"):
        _output(est, [np.ones((4, 3))], None)


@pytest.mark.parametrize("est", TRANSFORMERS, ids=_id)
def test_transformers_keep_the_number_of_videos(est, small_data):
    est = clone(est)
    out = est.fit_transform(small_data.videos, small_data.target)
    assert len(out) == len(small_data.videos)
    assert all(o.ndim == 2 and o.shape[1] == 16 and len(o) > 0 for o in out)
    index = est.transform_index(small_data.videos)
    rows = est.transform(small_data.videos)
    for i, r, v in zip(index, rows, small_data.videos):
        assert i.shape == (len(v),) and i.min() >= 0 and i.max() < len(r)


@pytest.mark.parametrize("est", TRANSFORMERS, ids=_id)
def test_transformers_accept_all_normal_or_all_abnormal_sets(est, small_data):
    for cls in (0, 1):
        videos = [v for v, t in zip(small_data.videos, small_data.target) if t == cls]
        out = clone(est).fit_transform(videos, np.full(len(videos), cls))
        assert len(out) == len(videos)


@pytest.mark.parametrize("est", TRANSFORMERS, ids=_id)
def test_set_output_keeps_lists_of_videos(est, small_data):
    from sklearn.pipeline import make_pipeline

    est = clone(est)
    assert est.set_output(transform="default") is est
    assert est.set_output() is est
    with pytest.raises(ValueError, match="has no pandas or polars form"):
        est.set_output(transform="pandas")
    out = make_pipeline(clone(est)).set_output(transform="default").fit_transform(
        small_data.videos, small_data.target)
    assert isinstance(out, list) and len(out) == len(small_data.videos)
