import numpy as np

from sklearn_wsvad.models import BalancedBatchSampler, pad_collate


def test_balanced_sampler():
    labels = np.array([0] * 10 + [1] * 3)
    sampler = BalancedBatchSampler(labels, batch_size=4, random_state=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 5
    for b in batches:
        assert sorted(labels[b].tolist()) == [0, 0, 1, 1]
    assert sorted(i for b in batches for i in b if labels[i] == 0) == list(range(10))


def test_collate_pads_and_masks():
    X, y = pad_collate([(np.ones((2, 3)), 1), (np.ones((4, 3)), 0)])
    assert X["x"].shape == (2, 4, 3) and X["mask"].sum(1).tolist() == [2, 4]
    assert y.tolist() == [1.0, 0.0]


def test_inference_groups_batch_equal_lengths_only():
    from sklearn_wsvad.models._base import _low_padding_groups

    lengths = np.array([3, 3, 5, 5, 5, 9])
    groups = _low_padding_groups(lengths)
    assert [lengths[g].tolist() for g in groups] == [[3, 3], [5, 5, 5], [9]]
    # with a padding allowance, a group grows while its padding stays within it
    loose = _low_padding_groups(lengths, max_padding=0.25)
    assert [lengths[g].tolist() for g in loose] == [[3, 3], [5, 5, 5], [9]]
    assert [lengths[g].tolist() for g in _low_padding_groups(lengths, 0.5)] == [
        [3, 3, 5, 5, 5], [9]]
