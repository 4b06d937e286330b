"""Full NG-MIL against its ranking-only ablation (the paper's Table 5, first row).

Mean frame AUC over five data seeds, canonical pipeline, paper architecture,
20 epochs. Per-seed numbers of every ablation are in the closing note of the
NG-MIL issue; single seeds vary.
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
from sklearn_wsvad.models import NGMILDetector


def _mean_auc(splits, **params):
    aucs = []
    for seed, (X_tr, X_te, y_tr, _, _, f_te) in splits:
        pipe = make_pipeline(FeatureNormClusterUndersampler(), SnippetReformer(n_snippets=32),
                             NGMILDetector(max_epochs=20, random_state=seed, **params))
        aucs.append(frame_roc_auc_score(f_te, score_clips(pipe.fit(X_tr, y_tr), X_te)))
    return np.mean(aucs), aucs


@pytest.mark.slow
def test_full_ngmil_beats_ranking_only(synthetic_splits):
    full, full_each = _mean_auc(synthetic_splits)
    ranking, ranking_each = _mean_auc(synthetic_splits, lambda_cluster=0.0, lambda_triplet=0.0)
    assert full > ranking + 0.005, (full_each, ranking_each)
