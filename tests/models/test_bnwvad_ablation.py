"""BN-WVAD: DFM selection + MPP loss against the normal-loss-only ablation
(the paper's Table 3, rows 2 and 4).

Canonical pipeline with 64 training snippets and a 32-wide enhancer, 15 epochs
at lr 1e-3 (a CPU budget; the paper: 200 snippets, 512 wide, 3,000 iterations
at 1e-4). Frame AUC on two data seeds; all ablation numbers are in the
closing note of the BN-WVAD issue.
"""

import pytest
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import (
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_roc_auc_score,
    score_clips,
)
from sklearn_wsvad.models import BNWVADDetector

BUDGET = dict(dim=32, dim_head=8, lr=1e-3, max_epochs=15)


def _auc(split, seed, **params):
    X_tr, X_te, y_tr, _, _, f_te = split
    pipe = make_pipeline(FeatureNormClusterUndersampler(), SnippetReformer(n_snippets=64),
                         BNWVADDetector(random_state=seed, **BUDGET, **params))
    return frame_roc_auc_score(f_te, score_clips(pipe.fit(X_tr, y_tr), X_te))


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 1])
def test_dfm_mpp_beats_normal_loss_only(synthetic_splits, index):
    seed, split = synthetic_splits[index]
    full = _auc(split, seed)
    normal_only = _auc(split, seed, mpp_weights=(0.0, 0.0))
    assert full > normal_only + 0.03, (full, normal_only)
