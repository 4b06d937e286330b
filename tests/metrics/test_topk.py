import numpy as np
import pytest

from sklearn_wsvad import top_k_precision_score


def test_top_k_precision_by_hand():
    labels = [[0, 1, 1, 0, 0], [0, 0, 0], [1, 0], [0, 0, 1, 1, 1, 1]]
    scores = [[0.9, 0.8, 0.7, 0.1, 0.0], [0.9, 0.9, 0.9], [0.2, 0.3], [6, 5, 4, 3, 2, 1]]
    # video 0: top-3 = clips 0, 1, 2 -> 2 hits; video 1 has no anomaly (skipped);
    # video 2 is shorter than k -> both clips, 1 hit; video 3: clips 0-2 -> 1 hit
    assert top_k_precision_score(labels, scores, k=3) == pytest.approx(4 / 8)
    assert top_k_precision_score(labels, scores, k=1) == pytest.approx(0 / 3)


def test_top_k_precision_perfect_and_errors():
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 2, 20) for _ in range(5)]
    assert top_k_precision_score(labels, [lab + 0.1 * rng.random(20) for lab in labels]) == 1.0
    with pytest.raises(ValueError, match="Video 0 has clip labels of shape"):
        top_k_precision_score([[0, 1]], [[0.1, 0.2, 0.3]])
    with pytest.raises(ValueError, match="No video has an abnormal clip"):
        top_k_precision_score([[0, 0]], [[0.1, 0.2]])
    with pytest.raises(ValueError, match="k must be at least 1"):
        top_k_precision_score([[0, 1]], [[0.1, 0.2]], k=0)
