"""Masked tensor operations shared by the MIL losses.

Every function takes a padded batch and its mask (b x t, True on real clips)
and never lets a padded slot change a result.
"""

import torch

__all__ = [
    "masked_max",
    "masked_topk",
    "gather_steps",
    "temporal_smoothness",
    "sparsity",
    "pairs",
    "abnormal_regularizer",
    "BLOCK_ELEMENTS",
    "row_blocks",
]

#: Largest ``T x T``-like block (elements, over the whole batch) that the
#: attention and graph layers form when no gradient is taken (scoring):
#: ``2**22`` elements, 16 MiB in float32 for each temporary. Longer videos are
#: processed in blocks of query rows, exactly, so memory grows linearly with
#: the video's length (time stays quadratic where the method's attention or
#: graph is global by definition).
BLOCK_ELEMENTS = 2**22


def masked_max(values, mask):
    """Max over time of ``values`` (b x t) ignoring padding; returns (max, argmax)."""
    return values.masked_fill(~mask, float("-inf")).max(dim=1)


def masked_topk(values, mask, k):
    """Indices of the ``k`` largest real entries of each row of ``values`` (b x t).

    Parameters
    ----------
    values : tensor (b, t)
    mask : bool tensor (b, t)
    k : int or long tensor (b,)
        One ``k`` for every row, or one per row.

    Returns
    -------
    index : long tensor (b, k')
        ``k' = min(max(k), t)``.
    weight : float tensor (b, k')
        ``1 / n_selected`` on the selected slots of a row, 0 on slots beyond
        the row's own ``k`` and on padding (a video with fewer than ``k``
        real clips); so ``(gathered * weight).sum(1)`` is the mean over the
        real top-k.
    """
    per_row = torch.is_tensor(k)
    k_max = min(int(k.max()) if per_row else int(k), values.shape[1])
    index = values.masked_fill(~mask, float("-inf")).topk(k_max, dim=1).indices
    valid = mask.gather(1, index)
    if per_row:
        valid = valid & (torch.arange(k_max, device=values.device) < k[:, None])
    valid = valid.to(values.dtype)
    return index, valid / valid.sum(dim=1, keepdim=True).clamp_min(1.0)


def gather_steps(features, index):
    """The steps ``index`` (b x k) of ``features`` (b x t x d): b x k x d."""
    return features.gather(1, index[..., None].expand(-1, -1, features.shape[-1]))


def temporal_smoothness(scores, mask):
    """Per video, the sum of squared differences of consecutive real scores (b,)."""
    both = mask[:, 1:] & mask[:, :-1]
    return ((scores[:, 1:] - scores[:, :-1]) ** 2 * both).sum(dim=1)


def sparsity(scores, mask):
    """Per video, the sum (L1 norm, scores being >= 0) of its real scores (b,)."""
    return (scores * mask).sum(dim=1)


def pairs(abnormal, normal, pairing="all"):
    """The abnormal x normal pairs of a batch, as two aligned 1-D tensors.

    Parameters
    ----------
    abnormal, normal : 1-D tensors
        One value per abnormal (normal) video of the batch.
    pairing : {"all", "aligned"}
        ``"all"``: every abnormal with every normal value. ``"aligned"``: the
        i-th abnormal with the i-th normal video of the batch, for
        ``i < min(n_abnormal, n_normal)``.

    Returns
    -------
    a, n : 1-D tensors of equal length (empty when a side is empty)
    """
    if pairing == "aligned":
        k = min(abnormal.numel(), normal.numel())
        return abnormal[:k], normal[:k]
    a, n = torch.broadcast_tensors(abnormal[:, None], normal[None, :])
    return a.reshape(-1), n.reshape(-1)


def abnormal_regularizer(scores, mask, y, lambda_smooth, lambda_sparse, per_clip=False,
                         reduction="mean"):
    """Sultani et al.'s smoothness and sparsity terms on abnormal videos.

    ``lambda_smooth * temporal_smoothness_a + lambda_sparse * sparsity_a`` of
    each abnormal video ``a`` of the batch, averaged (``reduction="mean"``) or
    summed (``"sum"``, the Keras original) over them; 0 when there are none.
    With ``per_clip=True`` each video's two sums are divided by its number of
    real clips (means instead of sums).
    """
    abnormal = y > 0.5
    if not abnormal.any():
        return scores.new_zeros(())
    s, m = scores[abnormal], mask[abnormal]
    reg = lambda_smooth * temporal_smoothness(s, m) + lambda_sparse * sparsity(s, m)
    if per_clip:
        reg = reg / m.sum(dim=1)
    return reg.sum() if reduction == "sum" else reg.mean()


def row_blocks(n_rows, elements_per_row, budget=None):
    """``(start, stop)`` ranges of rows covering ``range(n_rows)``.

    With a gradient being taken, one block of every row (autograd keeps the
    whole graph anyway); otherwise blocks of at most ``budget //
    elements_per_row`` rows (at least one), ``budget`` defaulting to
    :data:`BLOCK_ELEMENTS`.
    """
    if torch.is_grad_enabled():
        return [(0, n_rows)]
    budget = BLOCK_ELEMENTS if budget is None else budget
    rows = max(1, budget // max(int(elements_per_row), 1))
    return [(start, min(start + rows, n_rows)) for start in range(0, n_rows, rows)]
