"""Each model, with its default input handling, beats the raw feature norm on
a regime whose anomalies have the *smaller* norms (where the norm ranks them
lowest and a model that keys on the shared feature component inverts).

Small networks and few epochs keep this fast; the full-size defaults are
measured by ``benchmarks/bench_regimes.py``.
"""

import pytest

from sklearn_wsvad import frame_roc_auc_score, score_clips
from sklearn_wsvad.cli._reproduce import MODELS
from sklearn_wsvad.datasets import make_wsvad_regime
from sklearn_wsvad.refine import clip_norms

SMALL = {
    "magnitude": dict(hidden_sizes=(64, 32), max_epochs=60),
    "sultani": dict(hidden_sizes=(64, 32), max_epochs=60),
    "rtfm": dict(n_channels=32, hidden_sizes=(64, 32), max_epochs=60),
    "ngmil": dict(encoder_channels=(64,), hidden_sizes=(64, 32), n_prototypes=8,
                  prototype_dim=16, max_epochs=60),
    "bnwvad": dict(dim=32, dim_head=8, max_epochs=20),
    "crossbatch": dict(fc_size=64, gcn_sizes=(32, 16), max_epochs=60),
}


@pytest.fixture(scope="module")
def lower_norm():
    return make_wsvad_regime("lower_norm", n_train=60, n_test=40, n_features=32,
                             max_clips=160, random_state=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_beats_the_raw_feature_norm_where_anomalies_have_smaller_norms(name, lower_norm):
    train, test = lower_norm
    spec = MODELS[name]
    pipe = spec.pipeline(spec.build(random_state=0, **SMALL[name]))
    pipe.fit(train.videos, train.target)
    auc = frame_roc_auc_score(test.frame_labels, score_clips(pipe, test.videos))
    norm = frame_roc_auc_score(test.frame_labels, [clip_norms(v) for v in test.videos])
    assert norm < 0.3
    assert auc > 0.65, (auc, norm)
