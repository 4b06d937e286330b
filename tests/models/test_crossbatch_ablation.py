"""Cross-batch clustering guidance against its backbone alone (the paper's
Table 2, first and last rows).

Canonical pipeline (undersampler Bot7-Bot7, 32 snippets, scaler), paper
architecture, 50 epochs, on the first synthetic split with three training
seeds. There the k-max backbone alone sometimes fires on only part of the
anomalies (frame AUC about 0.79 for training seed 1000) while the full model
does not; on the other splits the two are within 0.01. All ablation numbers
are in the closing note of the issue.
"""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sklearn_wsvad import (
    FeatureNormClusterUndersampler,
    SnippetReformer,
    frame_roc_auc_score,
    score_clips,
)
from sklearn_wsvad.models import CrossBatchClusteringDetector

BACKBONE = dict(lambda_1=0.0, cross_batch=False, guidance=False)


def _auc(split, random_state, **params):
    X_tr, X_te, y_tr, _, _, f_te = split
    pipe = make_pipeline(FeatureNormClusterUndersampler(), SnippetReformer(n_snippets=32),
                         CrossBatchClusteringDetector(max_epochs=50, random_state=random_state,
                                                      **params))
    return frame_roc_auc_score(f_te, score_clips(pipe.fit(X_tr, y_tr), X_te))


@pytest.mark.slow
def test_full_model_beats_the_backbone_alone(synthetic_splits):
    _, split = synthetic_splits[0]
    seeds = [0, 1000, 2000]
    full = np.array([_auc(split, s) for s in seeds])
    backbone = np.array([_auc(split, s, **BACKBONE) for s in seeds])
    assert full.mean() > backbone.mean() + 0.03, (full, backbone)
    assert full.min() > 0.9, full
