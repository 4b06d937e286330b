"""BN-WVAD: BatchNorm-based weakly supervised video anomaly detection (Zhou et al., 2023)."""

import functools
import math
import numbers

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from . import _functional
from ._base import BaseVideoMILNet
from ._functional import row_blocks
from ._rtfm import MaskedBatchNorm1d

__all__ = [
    "LocalGlobalAttention",
    "Enhancer",
    "BNWVADModule",
    "BNWVADLoss",
    "BNWVADDetector",
    "divergence_from_mean",
    "sample_batch_selection",
]


def divergence_from_mean(features, running_mean, running_var):
    """DFM (eq. 2): Mahalanobis distance of each step to the BN running statistics.

    ``sqrt(sum_c (f_c - mean_c)^2 / var_c)``; ``features``: b x c x t; returns b x t.
    """
    diff = features - running_mean[None, :, None]
    return torch.sqrt(((diff**2) / running_var[None, :, None]).sum(dim=1) + 1e-12)


@functools.lru_cache(maxsize=None)
def _kernel_reach(dtype):
    """The smallest distance ``|i - j|`` at which ``exp(-|i - j| / e)``, computed
    in ``dtype`` as :class:`LocalGlobalAttention` computes it, is exactly 0
    (283 steps in float32, 2026 in float64): beyond it the temporal kernel has
    no entry, so leaving those columns out changes no sum."""
    steps = torch.arange(4096, dtype=dtype)
    return int(torch.nonzero(torch.exp(-steps / math.e) == 0)[0, 0])


class LocalGlobalAttention(nn.Module):
    """The enhancer's attention (UR-DMU's, as BN-WVAD's code uses it).

    Four projections ``q, k, v, t`` per head: ``softmax(q k^T / sqrt(d)) v``
    next to a fixed temporal kernel ``K_ij = exp(-|i - j| / e)`` applied to
    ``t``, concatenated and projected back to ``dim``. The official code
    normalises the kernel as ``attn2 / attn2.sum(-1)``, which broadcasts the
    row sums along the last axis: entry ``(i, j)`` is divided by the sum of
    row ``j``, equal (the kernel being symmetric) to the sum of column ``j``,
    so every *column* sums to one (``kernel_normalization="column"``);
    ``"row"`` makes every output a weighted mean of ``t`` instead.

    Padding: padded keys get no weight in either branch and their values are
    zeroed; the kernel and its sums cover the video's real steps only, so a
    real step's output never depends on padding.

    Without a gradient (scoring), query rows are taken in blocks of at most
    ``2**22`` attention entries over the batch (or one row): the same outputs,
    memory linear in the video's length, time quadratic (the attention is
    global).
    """

    def __init__(self, dim, heads=4, dim_head=128, dropout=0.0, kernel_normalization="column"):
        super().__init__()
        if kernel_normalization not in ("column", "row"):
            raise ValueError(
                "kernel_normalization must be 'column' or 'row'; got "
                f"{kernel_normalization!r}."
            )
        self.heads, self.scale = heads, dim_head**-0.5
        self.kernel_normalization = kernel_normalization
        inner = heads * dim_head
        self.to_qkvt = nn.Linear(dim, 4 * inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(2 * inner, dim), nn.Dropout(dropout))

    def forward(self, x, mask):
        b, t, _ = x.shape
        q, k, v, u = (z.reshape(b, t, self.heads, -1).transpose(1, 2)
                      for z in self.to_qkvt(x).chunk(4, dim=-1))  # b x h x t x dh
        keys = mask[:, None, None, :]  # b x 1 x 1 x t
        real = mask[:, None, :, None].to(x.dtype)  # b x 1 x t x 1
        # a batch without padding (equal-length videos, as score_clips batches
        # them) shares one kernel over videos and heads
        padded = not bool(mask.all())
        if padded:
            v, u = v * real, u * real  # padded values can never mix in
        steps = torch.arange(t, device=x.device, dtype=x.dtype)
        tiny = torch.finfo(x.dtype).tiny

        def kernel(start, stop):  # rows start..stop-1 of exp(-|i - j| / e)
            local = torch.exp(-(steps[None, :] - steps[start:stop, None]).abs() / math.e)
            # real x real entries only
            return local[None, None] * keys * real[:, :, start:stop] if padded else local

        # scoring takes query rows in blocks (row_blocks), so no b x h x t x t
        # tensor is formed for a long video; with a gradient, one block
        blocks = row_blocks(t, b * self.heads * t)
        column = self.kernel_normalization == "column"
        if column:  # every column's sum over the real rows, block by block
            col_sums = sum(kernel(i, j).sum(dim=-2, keepdim=True) for i, j in blocks)
        u_rows = None if padded else u.permute(2, 0, 1, 3).reshape(t, -1)  # t x (b h dh)
        out = []
        for i, j in blocks:
            dots = (q[:, :, i:j] @ k.transpose(-1, -2)) * self.scale
            attn = torch.softmax(dots.masked_fill(~keys, float("-inf")) if padded else dots,
                                 dim=-1)
            local = kernel(i, j)
            sums = col_sums if column else local.sum(dim=-1, keepdim=True)
            # a padded query or key far from every real step underflows to all zeros
            local = local / sums.clamp_min(tiny)
            if padded:
                smoothed = local @ u  # b x h x rows x dh
            else:  # one (rows x t) @ (t x b h dh) product
                smoothed = (local @ u_rows).reshape(j - i, b, self.heads, -1).permute(1, 2, 0, 3)
            out.append(torch.cat([attn @ v, smoothed], dim=-1))  # b x h x rows x 2dh
        out = out[0] if len(out) == 1 else torch.cat(out, dim=2)
        return self.to_out(out.transpose(1, 2).reshape(b, t, -1))

    def stream(self, h, norm1, norm2, mlp, chunk):
        """One Transformer layer of a long video: ``h + a``, then
        ``+ mlp(norm2(.))``, ``a`` this attention of ``norm1(h)``; ``h`` is
        t x dim (no padding) and is not modified.

        Without a gradient, and without the t x heads x dim_head keys and
        values: queries are taken ``chunk`` steps at a time, and for each
        piece the keys and values are computed again block by block from
        ``h`` (at most ``2**22`` attention entries per block) and the softmax
        accumulated online (running maximum and sum, as in FlashAttention).
        That costs about an eighth more arithmetic than the attention itself
        at ``chunk=4096`` and keeps memory at two t x dim tensors. The temporal
        kernel is exactly 0 beyond :func:`_kernel_reach` steps, so its branch
        reads only the steps within that reach. The same outputs as
        :meth:`forward` on the whole video, up to the order of summation.
        """
        t = h.shape[0]
        wq, wk, wv, wu = self.to_qkvt.weight.chunk(4, dim=0)  # inner x dim each
        heads = self.heads
        reach = _kernel_reach(h.dtype)
        steps = torch.arange(t, device=h.device, dtype=h.dtype)
        tiny = torch.finfo(h.dtype).tiny

        def kernel(rows, cols):  # entries (rows x cols) of exp(-|i - j| / e)
            return torch.exp(-(steps[None, cols] - steps[rows, None]).abs() / math.e)

        def split(z, weight):  # rows x dim -> heads x rows x dh
            return F.linear(z, weight).reshape(len(z), heads, -1).transpose(0, 1)

        sub = 512  # query rows per block of the temporal kernel (its band is 2 reach wide)
        column_sums = None
        if self.kernel_normalization == "column":  # the sum over all rows of every column
            column_sums = torch.cat([
                kernel(slice(max(0, i - reach), min(t, i + sub + reach)),
                       slice(i, min(t, i + sub))).sum(dim=0)
                for i in range(0, t, sub)])
        out = torch.empty_like(h)
        for start in range(0, t, chunk):
            stop = min(start + chunk, t)
            lo, hi = max(0, start - reach), min(t, stop + reach)
            z = norm1(h[lo:hi])  # rows lo..hi-1
            q = split(z[start - lo:stop - lo], wq)  # heads x rows x dh
            u = F.linear(z, wu)  # rows lo..hi-1 x inner
            # softmax attention over every key, accumulated key block by key
            # block into preallocated tensors (small tensors kept between the
            # blocks' large temporaries would fragment the heap)
            top = q.new_full((heads, stop - start, 1), float("-inf"))
            total = q.new_zeros(heads, stop - start, 1)
            attended = torch.zeros_like(q)
            step = max(1, _functional.BLOCK_ELEMENTS // (heads * (stop - start)))
            for k0 in range(0, t, step):
                zk = norm1(h[k0:k0 + step])
                dots = (q @ split(zk, wk).transpose(1, 2)).mul_(self.scale)
                new_top = torch.maximum(top, dots.amax(dim=-1, keepdim=True))
                weights = dots.sub_(new_top).exp_()
                shrink = (top - new_top).exp_()  # exp(-inf) = 0 at the first block
                total.mul_(shrink).add_(weights.sum(dim=-1, keepdim=True))
                attended.mul_(shrink).baddbmm_(weights, split(zk, wv))
                top = new_top
            attended /= total
            smoothed = u.new_empty(stop - start, u.shape[1])
            for i in range(start, stop, sub):
                j = min(i + sub, stop)
                c0, c1 = max(0, i - reach), min(t, j + reach)
                local = kernel(slice(i, j), slice(c0, c1))
                sums = (column_sums[None, c0:c1] if column_sums is not None
                        else local.sum(dim=-1, keepdim=True))
                smoothed[i - start:j - start] = (local / sums.clamp_min(tiny)) @ u[c0 - lo:c1 - lo]
            smoothed = smoothed.reshape(stop - start, heads, -1).transpose(0, 1)
            both = torch.cat([attended, smoothed], dim=-1).transpose(0, 1)  # rows x heads x 2dh
            r = h[start:stop] + self.to_out(both.reshape(stop - start, -1))
            out[start:stop] = r + mlp(norm2(r))
        return out


class Enhancer(nn.Module):
    """Feature enhancer of UR-DMU / BN-WVAD.

    ``Conv1d`` (kernel 3) to ``dim`` with ReLU, then ``depth`` pre-LayerNorm
    Transformer layers (:class:`LocalGlobalAttention`, then a GELU MLP), with
    residuals.
    """

    def __init__(self, n_features, dim=512, depth=2, heads=4, dim_head=128, mlp_dim=512,
                 dropout=0.0, kernel_normalization="column"):
        super().__init__()
        self.embed = nn.Conv1d(n_features, dim, 3, padding=1)
        self.layers = nn.ModuleList()
        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                nn.LayerNorm(dim),
                LocalGlobalAttention(dim, heads, dim_head, dropout, kernel_normalization),
                nn.LayerNorm(dim),
                nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(dropout),
                              nn.Linear(mlp_dim, dim), nn.Dropout(dropout)),
            ]))

    def forward(self, x, mask):
        """``x``: b x t x d; returns b x t x dim."""
        # padded steps are zeroed after every layer (nothing to do in a batch
        # of equal-length videos)
        m = mask[..., None].to(x.dtype) if not bool(mask.all()) else None
        h = torch.relu(self.embed((x if m is None else x * m).transpose(1, 2))).transpose(1, 2)
        for norm1, attn, norm2, mlp in self.layers:
            h = h if m is None else h * m
            h = h + attn(norm1(h), mask)
            h = h + mlp(norm2(h))
        return h if m is None else h * m

    def stream(self, read, n_clips, chunk):
        """The enhanced features (n_clips x dim) of one long video read piece
        by piece (``read(start, stop)``: 1 x rows x d), without a gradient:
        the embedding in pieces (at most 1024 steps) with one step of context
        each side, then every layer (:meth:`LocalGlobalAttention.stream`)."""
        h = None
        # the kernel-3 embedding unfolds three input widths per clip: pieces
        # of at most 1024 clips keep that near 25 MB at 2048 features
        piece = min(chunk, 1024)
        for start in range(0, n_clips, piece):
            stop = min(start + piece, n_clips)
            lo, hi = max(0, start - 1), min(n_clips, stop + 1)
            e = torch.relu(self.embed(read(lo, hi).transpose(1, 2)))[0].T  # rows x dim
            if h is None:
                h = e.new_empty(n_clips, e.shape[1])
            h[start:stop] = e[start - lo:stop - lo]
        for norm1, attn, norm2, mlp in self.layers:
            h = attn.stream(h, norm1, norm2, mlp, chunk)
        return h


class BNWVADModule(nn.Module):
    """Enhancer, then the normal head with two BatchNorm layers.

    Normal head: ``1 x 1 Conv1d`` ``dim -> 32``, BN, ReLU, ``32 -> 16``, BN,
    ReLU, ``16 -> 1``, sigmoid. The DFM of each BN layer is computed on its
    input with its running statistics, after the forward pass has updated
    them (in training).

    Parameters
    ----------
    n_features : int
    enhancer : bool, default=True
        False feeds the features to the head through a ``1 x 1`` Conv1d to
        ``dim`` instead.
    dim : int, default=512
    head_channels : tuple of int, default=(32, 16)
    score : {"product", "classifier", "dfm"}, default="product"
        Snippet score: ``(DFM_1 + DFM_2) * classifier`` (eq. 7), or one of the
        two alone (the paper's Table 5).
    dim_head : int, default=128
        Width of each of the enhancer's 4 attention heads.
    kernel_normalization : {"column", "row"}, default="column"
        See :class:`LocalGlobalAttention`.
    """

    def __init__(self, n_features, enhancer=True, dim=512, head_channels=(32, 16),
                 score="product", dim_head=128, kernel_normalization="column"):
        super().__init__()
        self.score = score
        self.enhancer = (Enhancer(n_features, dim, dim_head=dim_head,
                                  kernel_normalization=kernel_normalization) if enhancer
                         else nn.Conv1d(n_features, dim, 1))
        c1, c2 = head_channels
        self.conv1, self.bn1 = nn.Conv1d(dim, c1, 1), MaskedBatchNorm1d(c1)
        self.conv2, self.bn2 = nn.Conv1d(c1, c2, 1), MaskedBatchNorm1d(c2)
        self.conv3 = nn.Conv1d(c2, 1, 1)

    def forward(self, x, mask):
        """Returns ``scores``, ``classifier`` and ``dfm`` (b x t), and the
        pre-BN features ``hidden`` (two tensors b x c x t) with the BN layers'
        running ``means`` and ``vars``."""
        if isinstance(self.enhancer, Enhancer):
            h = self.enhancer(x, mask).transpose(1, 2)  # b x dim x t
        else:
            h = self.enhancer(x.transpose(1, 2))
        return self._head(h, mask)

    def stream_scores(self, read, n_clips, chunk):
        """Scores (``n_clips``) of one long video read piece by piece
        (``read(start, stop)``: 1 x rows x d), without a gradient: the
        enhancer's global attention layer by layer (:meth:`Enhancer.stream`),
        then the head (per step) piece by piece. The same scores as
        :meth:`forward` on the whole video, memory linear in its length."""
        if isinstance(self.enhancer, Enhancer):
            h = self.enhancer.stream(read, n_clips, chunk)

            def piece(start, stop):
                return h[start:stop].T[None]
        else:
            def piece(start, stop):
                return self.enhancer(read(start, stop).transpose(1, 2))

        scores = None
        for start in range(0, n_clips, chunk):
            stop = min(start + chunk, n_clips)
            h_piece = piece(start, stop)  # 1 x dim x rows
            mask = torch.ones(1, h_piece.shape[2], dtype=torch.bool, device=h_piece.device)
            out = self._head(h_piece, mask)["scores"][0]
            if scores is None:
                scores = out.new_empty(n_clips)
            scores[start:stop] = out
        return scores

    def _head(self, h, mask):
        """The normal head on the enhanced features ``h`` (b x dim x t)."""
        h1 = self.conv1(h)
        h2 = self.conv2(torch.relu(self.bn1(h1, mask)))
        classifier = torch.sigmoid(self.conv3(torch.relu(self.bn2(h2, mask)))).squeeze(1)
        bns = (self.bn1, self.bn2)
        dfms = [divergence_from_mean(f, bn.running_mean, bn.running_var)
                for f, bn in zip((h1, h2), bns)]
        dfm = dfms[0] + dfms[1]
        scores = {"product": dfm * classifier, "classifier": classifier, "dfm": dfm}[self.score]
        return {
            "scores": scores,
            "classifier": classifier,
            "dfm": dfm,
            "layer_dfm": dfms,
            "hidden": (h1, h2),
            "means": [bn.running_mean for bn in bns],
            "vars": [bn.running_var for bn in bns],
        }


def sample_batch_selection(criterion, mask, rho_s, rho_b, selection="sample_batch"):
    """Abnormal snippets chosen by SBS (section 3.3) in a batch of abnormal videos.

    * sample level: per video, the top ``floor(rho_s * T_i)`` real snippets;
    * batch level: the top ``floor(rho_b * sum_i T_i)`` real snippets of the
      whole batch;
    * ``"sample_batch"``: their union.

    Parameters
    ----------
    criterion : tensor (b, t)
    mask : bool tensor (b, t)
    rho_s, rho_b : float
    selection : {"sample", "batch", "sample_batch"}

    Returns
    -------
    selected : bool tensor (b, t)
    """
    lengths = mask.sum(dim=1)
    scores = criterion.masked_fill(~mask, float("-inf"))
    chosen = torch.zeros_like(mask)
    if selection in ("sample", "sample_batch"):
        rank = scores.argsort(dim=1, descending=True).argsort(dim=1)  # 0 = highest
        k = torch.floor(rho_s * lengths.to(criterion.dtype)).long()
        chosen |= (rank < k[:, None]) & mask
    if selection in ("batch", "sample_batch"):
        n = int(math.floor(rho_b * int(lengths.sum())))
        if n > 0:
            flat = torch.zeros(scores.numel(), dtype=torch.bool, device=mask.device)
            flat[scores.reshape(-1).topk(n).indices] = True
            chosen |= flat.view_as(mask) & mask
    return chosen


def _normal_selection(criterion, mask, n_select):
    """``n_select`` normal snippets: per video its top ``n_select // b + 1``
    real snippets by the criterion, listed rank-major (every video's first
    pick, then every video's second, ...) and truncated, as the official code
    does (``permute(1, 0, 2)`` before the cut). Returns the b x t mask and
    the picks' (video, step) indices in that order.
    """
    b, t = criterion.shape
    per_video = min(n_select // b + 1, t)
    scores = criterion.masked_fill(~mask, float("-inf"))
    top = scores.topk(per_video, dim=1).indices  # b x k
    valid = mask.gather(1, top)
    videos = torch.arange(b, device=mask.device)[:, None].expand_as(top)
    flat_video = videos.T[valid.T][:n_select]  # rank-major
    flat_step = top.T[valid.T][:n_select]
    chosen = torch.zeros_like(mask)
    chosen[flat_video, flat_step] = True
    return chosen, (flat_video, flat_step)


class BNWVADLoss(nn.Module):
    """``L = lambda_normal * L_nor + sum_l mpp_weights[l] * L_mpp,l`` (eq. 8).

    * ``L_nor``: mean over normal videos of the L2 norm of their classifier
      scores (real snippets); no loss on abnormal videos' scores;
    * ``L_mpp`` (eq. 5) per BN layer: abnormal snippets selected by SBS on the
      layer's ``criterion`` (DFM, or feature magnitude), as many normal
      snippets (each normal video's top ``n // b + 1``, listed rank-major and
      truncated, see :func:`_normal_selection`); the i-th selected abnormal
      snippet (video-then-time order) and the i-th normal one form a triplet
      with the running mean as anchor: ``mean [margin + DFM(n_i) - DFM(a_i)]_+``.

    Parameters
    ----------
    rho_s : float, default=0.1
    rho_b : float, default=0.2
    selection : {"sample", "batch", "sample_batch"}, default="sample_batch"
    criterion : {"dfm", "magnitude"}, default="dfm"
    margin : float, default=1.0
    mpp_weights : tuple of float, default=(5.0, 20.0)
    lambda_normal : float, default=1.0
    """

    def __init__(self, rho_s=0.1, rho_b=0.2, selection="sample_batch", criterion="dfm",
                 margin=1.0, mpp_weights=(5.0, 20.0), lambda_normal=1.0):
        super().__init__()
        self.rho_s = rho_s
        self.rho_b = rho_b
        self.selection = selection
        self.criterion = criterion
        self.margin = margin
        self.mpp_weights = mpp_weights
        self.lambda_normal = lambda_normal

    def normal_loss(self, output, y, mask):
        normal = y < 0.5
        if not normal.any():
            return output["classifier"].new_zeros(())
        c = output["classifier"][normal] * mask[normal]
        return c.norm(dim=1).mean()

    def mpp_loss(self, output, y, mask, layer):
        """Eq. 5 on BN layer ``layer`` (0 without both classes or a selection)."""
        abnormal, normal = y > 0.5, y < 0.5
        dfm = output["layer_dfm"][layer]
        zero = dfm.new_zeros(())
        if not (abnormal.any() and normal.any()):
            return zero
        if self.criterion == "magnitude":
            crit = output["hidden"][layer].norm(dim=1)
        else:
            crit = dfm
        crit = crit.detach()
        picked_a = sample_batch_selection(crit[abnormal], mask[abnormal], self.rho_s,
                                          self.rho_b, self.selection)
        n = int(picked_a.sum())
        if n == 0:
            return zero
        _, (video_n, step_n) = _normal_selection(crit[normal], mask[normal], n)
        # abnormal picks in video-then-time order, normal picks rank-major:
        # the i-th of each form the i-th triplet, as in the official code
        d_a, d_n = dfm[abnormal][picked_a], dfm[normal][video_n, step_n]
        k = min(d_a.numel(), d_n.numel())
        return torch.relu(self.margin + d_n[:k] - d_a[:k]).mean()

    def forward(self, output, y, mask):
        loss = self.lambda_normal * self.normal_loss(output, y, mask)
        for layer, weight in enumerate(self.mpp_weights):
            if weight:
                loss = loss + weight * self.mpp_loss(output, y, mask, layer)
        return loss


class BNWVADDetector(BaseVideoMILNet):
    """BN-WVAD: BatchNorm statistics as the normality model.

    Zhou, Qu, Xu, Shen, Song & Shen, "BatchNorm-based weakly supervised video
    anomaly detection" (2023).

    The normal head's two BatchNorm layers keep running statistics that are
    dominated by normal snippets; the Divergence of Feature from Mean (DFM, a
    Mahalanobis distance to them) selects abnormal snippets (sample-batch
    selection) and is pushed apart from normal ones by the mean-based
    pull-push loss, while the classifier is trained on normal videos only. A
    snippet's score is ``(DFM_1 + DFM_2) * classifier`` (not a probability).

    Where the paper is vague this follows the official code
    (cool-xuan/BN-WVAD, released for XD-Violence, ratios 0.2 / 0.4; the
    UCF-Crime ratios 0.1 / 0.2 are the paper's): the enhancer of UR-DMU
    (Zhou, Yu & Yang, AAAI 2023) with four projections and the column-normalised
    temporal kernel (:class:`LocalGlobalAttention`; ``kernel_normalization``),
    DFM on the pre-BN features with the running statistics read after the
    forward pass, union selection, normal picks listed rank-major before the
    cut, gradient clipping at 1.0.

    Multi-crop videos ``(n_clips, n_crops, n_features)`` given to the model
    directly train as one bag per crop, as the official code does (its list
    holds one line per crop file, each a training video; the crop averaging
    in its selection only runs with ``n_crops=1`` in training), and a clip's
    score is the mean over its crops (its test protocol).

    Canonical pipeline (training videos resampled to 200 snippets)::

        make_pipeline(FeatureNormClusterUndersampler(),
                      SnippetReformer(n_snippets=200, boundaries="floor"),
                      BNWVADDetector())

    Ablations: normal loss only, ``mpp_weights=(0, 0)``; MPP without the
    normal loss, ``lambda_normal=0``; sample-level selection only,
    ``selection="sample"``; feature-magnitude selection,
    ``selection_criterion="magnitude"``; score from the classifier or the DFM alone,
    ``anomaly_score="classifier"`` / ``"dfm"``.

    **Long videos.** Scoring never forms a ``T x T`` attention: short videos
    take query rows in blocks of at most ``2**22`` entries per batch, and a
    video longer than 4096 clips is scored on its own, layer by layer, with
    the softmax accumulated over blocks of keys (:meth:`LocalGlobalAttention.stream`):
    the same scores, memory linear in the video's length (two ``T x dim``
    tensors), time quadratic (the attention is global).

    Parameters
    ----------
    rho_s : float, default=0.1
        Sample-level selection ratio (paper: 0.1 UCF-Crime, 0.2 XD-Violence).
    rho_b : float, default=0.2
        Batch-level selection ratio (paper: 0.2 UCF-Crime, 0.4 XD-Violence).
    selection : {"sample", "batch", "sample_batch"}, default="sample_batch"
    selection_criterion : {"dfm", "magnitude"}, default="dfm"
        What selects snippets: the DFM or the feature magnitude (the paper's
        Table 4).
    margin : float, default=1.0
    mpp_weights : tuple of two float, default=(5.0, 20.0)
        ``lambda_1`` and ``lambda_2`` of eq. 8.
    lambda_normal : float, default=1.0
    anomaly_score : {"product", "classifier", "dfm"}, default="product"
        Snippet score: ``(DFM_1 + DFM_2) * classifier`` or one of the two
        alone (the paper's Table 5).
    enhancer : bool, default=True
        False replaces the enhancer by a ``1 x 1`` Conv1d to ``dim``.
    dim : int, default=512
    dim_head : int, default=128
        Width of each of the enhancer's 4 attention heads.
    kernel_normalization : {"column", "row"}, default="column"
        How the enhancer's temporal kernel is normalised: ``"column"``, the
        official code's ``attn2 / attn2.sum(-1)``; ``"row"``, every output a
        weighted mean of its neighbours.
    head_channels : tuple of two int, default=(32, 16)
    clip_grad_norm : float or None, default=1.0
    lr : float, default=1e-4
    weight_decay : float, default=5e-5
    max_epochs : int, default=50
        The paper trains 3,000 iterations of 64 + 64 videos.
    batch_size : int, default=128
        Videos per batch, half normal and half abnormal.
    optimizer : torch optimizer class, default=torch.optim.Adam
    device : str or torch.device, default="cpu"
    random_state : int, RandomState instance or None, default=None
    threshold : float, default=0.5
        ``predict`` threshold on the max snippet score (an unbounded score:
        set it from validation data).
    input_scaling : {"standard"} or None, default="standard"
        ``"standard"``: every input row is standardised with the per-feature
        mean and standard deviation of the rows ``fit`` trains on (fitted as
        ``input_mean_`` and ``input_scale_``), so raw extractor features need
        no scaler in the pipeline. None: rows are used as given (features
        scaled beforehand, as in the core experiment). The user guide's section
        "Raw features and input scaling" says why this is the default.
    verbose : int, default=0
    n_threads : int, "auto" or None, default="auto"
        CPU threads of torch during ``fit`` and scoring (the caller's setting is
        restored after; the setting is the process's). "auto": half the CPUs
        available to the process (at least 1, at most torch's current
        setting); -1: all of them; None: torch's current setting. The docs'
        page "Scaling out" gives the measurements behind the default.
    progress_bar : bool or "auto", default="auto"
        One tqdm bar over the epochs of each fit. "auto": shown unless
        ``verbose`` is on or the fit runs inside a scikit-learn search,
        ``cross_validate`` or another cross-validation helper.
    **kwargs
        Other skorch ``NeuralNet`` parameters.

    Attributes
    ----------
    module_ : BNWVADModule
    input_mean_, input_scale_ : ndarray of shape (n_features,) or None
        Statistics of ``input_scaling`` (None without it).
    n_features_in_ : int
    classes_ : ndarray of shape (2,)
    history_ : skorch History

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_wsvad import SnippetReformer
    >>> from sklearn_wsvad.datasets import make_wsvad_videos
    >>> from sklearn_wsvad.models import BNWVADDetector
    >>> data = make_wsvad_videos(n_videos=40, n_features=16, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(n_snippets=200),
    ...                      BNWVADDetector(dim=32, dim_head=8, max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> pipe.decision_function(data.videos).shape
    (40,)
    """

    _accepts_crops = True

    _parameter_constraints = {
        **BaseVideoMILNet._parameter_constraints,
        "rho_s": [Interval(numbers.Real, 0, 1, closed="both")],
        "rho_b": [Interval(numbers.Real, 0, 1, closed="both")],
        "selection": [StrOptions({"sample", "batch", "sample_batch"})],
        "selection_criterion": [StrOptions({"dfm", "magnitude"})],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_normal": [Interval(numbers.Real, 0, None, closed="left")],
        "anomaly_score": [StrOptions({"product", "classifier", "dfm"})],
        "enhancer": ["boolean"],
        "dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "dim_head": [Interval(numbers.Integral, 1, None, closed="left")],
        "kernel_normalization": [StrOptions({"column", "row"})],
        "clip_grad_norm": [Interval(numbers.Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        *,
        module=BNWVADModule,
        criterion=BNWVADLoss,
        rho_s=0.1,
        rho_b=0.2,
        selection="sample_batch",
        selection_criterion="dfm",
        margin=1.0,
        mpp_weights=(5.0, 20.0),
        lambda_normal=1.0,
        anomaly_score="product",
        enhancer=True,
        dim=512,
        dim_head=128,
        kernel_normalization="column",
        head_channels=(32, 16),
        clip_grad_norm=1.0,
        lr=1e-4,
        weight_decay=5e-5,
        max_epochs=50,
        batch_size=128,
        optimizer=torch.optim.Adam,
        device="cpu",
        random_state=None,
        threshold=0.5,
        input_scaling="standard",
        verbose=0,
        n_threads="auto",
        progress_bar="auto",
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            max_epochs=max_epochs,
            batch_size=batch_size,
            device=device,
            random_state=random_state,
            threshold=threshold,
            input_scaling=input_scaling,
            verbose=verbose,
            n_threads=n_threads,
            progress_bar=progress_bar,
            **kwargs,
        )
        self.rho_s = rho_s
        self.rho_b = rho_b
        self.selection = selection
        self.selection_criterion = selection_criterion
        self.margin = margin
        self.mpp_weights = mpp_weights
        self.lambda_normal = lambda_normal
        self.anomaly_score = anomaly_score
        self.enhancer = enhancer
        self.dim = dim
        self.dim_head = dim_head
        self.kernel_normalization = kernel_normalization
        self.head_channels = head_channels
        self.clip_grad_norm = clip_grad_norm

    def _check_params(self):
        super()._check_params()
        if len(self.mpp_weights) != 2 or len(self.head_channels) != 2:
            raise ValueError(
                f"mpp_weights and head_channels need one entry per BatchNorm layer (2); got "
                f"{tuple(self.mpp_weights)} and {tuple(self.head_channels)}."
            )

    def _module_params(self):
        return {
            "enhancer": self.enhancer,
            "dim": self.dim,
            "dim_head": self.dim_head,
            "kernel_normalization": self.kernel_normalization,
            "head_channels": tuple(self.head_channels),
            "score": self.anomaly_score,
        }

    def _criterion_params(self):
        return {
            "rho_s": self.rho_s,
            "rho_b": self.rho_b,
            "selection": self.selection,
            "criterion": self.selection_criterion,
            "margin": self.margin,
            "mpp_weights": tuple(self.mpp_weights),
            "lambda_normal": self.lambda_normal,
        }

    def train_step_single(self, batch, **fit_params):
        step = super().train_step_single(batch, **fit_params)
        if self.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.module_.parameters(), self.clip_grad_norm)
        return step
