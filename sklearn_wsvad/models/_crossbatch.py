"""Cross-batch clustering guidance on a GCN backbone (Cao et al., ICME 2023)."""

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn
from torch.utils.data import DataLoader

from . import _functional
from ._base import BaseVideoMILNet
from ._data import pad_collate
from ._functional import masked_topk, row_blocks

__all__ = [
    "video_adjacency",
    "GraphConvolution",
    "CrossBatchGCNModule",
    "batch_kmeans",
    "orient_pseudo_labels",
    "CrossBatchClusteringLoss",
    "CrossBatchClusteringDetector",
]


def video_adjacency(x, mask, threshold=0.7, proximity_scale=1.0):
    """Per-video graph of a padded batch: feature similarity and temporal proximity.

    ``A = (S + P) / 2`` with, over the real steps of each video only,

    * ``S``: the cosine similarity of the features, set to 0 where it is not
      above ``threshold`` (every real step keeps its self-loop, weight 1),
      each row divided by its sum;
    * ``P``: ``exp(-|i - j| / proximity_scale)``, each row divided by its sum.

    Rows of real steps therefore sum to 1; rows and columns of padded steps
    are 0, so padding never reaches a real step.

    Parameters
    ----------
    x : tensor (b, t, d)
    mask : bool tensor (b, t)
        True on real steps.
    threshold : float, default=0.7
    proximity_scale : float, default=1.0

    Returns
    -------
    adjacency : tensor (b, t, t)
    """
    return _adjacency_rows(F.normalize(x, dim=-1), mask.to(x.dtype), 0, x.shape[1],
                           threshold, proximity_scale)


def _adjacency_rows(xn, m, start, stop, threshold, proximity_scale):
    """Rows ``start..stop-1`` of :func:`video_adjacency` (b x rows x t), from
    the unit-norm features ``xn`` and the float mask ``m``. Every operation
    is row-wise, so the rows of a block equal those of the whole matrix."""
    t = xn.shape[1]
    both = m[:, start:stop, None] * m[:, None, :]  # 1 where both steps are real
    rows = torch.arange(start, stop, device=xn.device)
    eye = rows[:, None] == torch.arange(t, device=xn.device)[None, :]
    cos = (xn[:, start:stop] @ xn.transpose(1, 2)).masked_fill(eye, 1.0)
    sim = torch.where(cos > threshold, cos, torch.zeros_like(cos)) * both
    steps = torch.arange(t, device=xn.device, dtype=xn.dtype)
    prox = torch.exp(-(steps[start:stop, None] - steps[None, :]).abs() / proximity_scale) * both
    tiny = torch.finfo(xn.dtype).tiny
    sim = sim / sim.sum(dim=-1, keepdim=True).clamp_min(tiny)
    prox = prox / prox.sum(dim=-1, keepdim=True).clamp_min(tiny)
    return (sim + prox) / 2.0


class _BlockAdjacency:
    """``A @ h`` for the graph of :func:`video_adjacency`, without a gradient.

    A video short enough for one block (see ``row_blocks``) gets its dense
    matrix once; a longer one is multiplied block of rows by block of rows,
    recomputing each block at every layer: the same products, memory linear in
    the video's length (time quadratic: the graph is complete).
    """

    def __init__(self, x, mask, threshold, proximity_scale):
        self.xn, self.m = F.normalize(x, dim=-1), mask.to(x.dtype)
        self.args = (threshold, proximity_scale)
        t = x.shape[1]
        self.blocks = row_blocks(t, x.shape[0] * t)
        self.dense = (_adjacency_rows(self.xn, self.m, 0, t, *self.args)
                      if len(self.blocks) == 1 else None)

    def __matmul__(self, h):
        if self.dense is not None:
            return self.dense @ h
        return torch.cat([_adjacency_rows(self.xn, self.m, i, j, *self.args) @ h
                          for i, j in self.blocks], dim=1)


class _StreamedAdjacency:
    """``A @ h`` for the graph of :func:`video_adjacency` of one long video
    that is never whole in memory, without a gradient.

    ``read(start, stop)`` gives the steps ``start..stop-1`` (1 x rows x d).
    Each block of ``chunk`` rows meets every block of keys (at most ``2**22``
    entries at a time): the similarity part's numerator ``S @ h`` and row
    sums are accumulated over the key blocks, and the proximity part is
    computed only for key blocks within its reach (beyond it
    ``exp(-|i - j| / proximity_scale)`` is exactly 0 in the working
    precision). The unit-norm features are read again for every row block
    rather than kept (they are as large as the video): the same products as
    the dense graph, summed in another order, memory linear in the length.
    """

    def __init__(self, read, n_clips, chunk, threshold, proximity_scale):
        self.read, self.n, self.chunk = read, n_clips, chunk
        self.threshold, self.scale = threshold, proximity_scale

    def _unit(self, start, stop):
        return F.normalize(self.read(start, stop)[0], dim=-1)

    def __matmul__(self, h):
        n, dtype, device = self.n, h.dtype, h.device
        finfo = torch.finfo(dtype)
        # exp(-x) is exactly 0 in this precision beyond x = -log(smallest subnormal)
        reach = math.ceil(self.scale * (1.0 - math.log(finfo.tiny * finfo.eps)))
        out = h.new_empty(n, h.shape[1])
        # sums accumulated in place in preallocated tensors (small tensors kept
        # between the blocks' large temporaries fragment the heap)
        rows_max = min(self.chunk, n)
        sim_h, prox_h = (h.new_empty(rows_max, h.shape[1]) for _ in range(2))
        sim_sum, prox_sum = (h.new_empty(rows_max, 1) for _ in range(2))
        for r0 in range(0, n, self.chunk):
            r1 = min(r0 + self.chunk, n)
            rows = self._unit(r0, r1)
            i = torch.arange(r0, r1, device=device)
            accumulators = (sim_h[:r1 - r0], sim_sum[:r1 - r0], prox_h[:r1 - r0],
                            prox_sum[:r1 - r0])
            for a in accumulators:
                a.zero_()
            s_h, s_sum, p_h, p_sum = accumulators
            step = min(self.chunk, max(1, _functional.BLOCK_ELEMENTS // (r1 - r0)))
            for k0 in range(0, n, step):
                k1 = min(k0 + step, n)
                j = torch.arange(k0, k1, device=device)
                cos = rows @ self._unit(k0, k1).T
                cos.masked_fill_(i[:, None] == j[None, :], 1.0)  # self-loops
                sim = cos.masked_fill_(~(cos > self.threshold), 0.0)
                s_h.addmm_(sim, h[k0:k1])
                s_sum += sim.sum(dim=-1, keepdim=True)
                if k0 <= r1 - 1 + reach and k1 - 1 >= r0 - reach:  # within the reach
                    prox = torch.exp(-(i[:, None] - j[None, :]).to(dtype).abs() / self.scale)
                    p_h.addmm_(prox, h[k0:k1])
                    p_sum += prox.sum(dim=-1, keepdim=True)
            out[r0:r1] = (s_h / s_sum.clamp_min(finfo.tiny)
                          + p_h / p_sum.clamp_min(finfo.tiny)) / 2.0
        return out


class GraphConvolution(nn.Module):
    """``A (h W + b)`` plus a residual ``h R`` (``R`` linear where the sizes
    differ, the identity where they agree; none with ``residual=False``)."""

    def __init__(self, in_features, out_features, residual=True):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        if not residual:
            self.shortcut = None
        elif in_features == out_features:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Linear(in_features, out_features, bias=False)

    def forward(self, h, adjacency):
        out = adjacency @ self.linear(h)
        if self.shortcut is not None:
            out = out + self.shortcut(h)
        return out


class CrossBatchGCNModule(nn.Module):
    """Backbone: FC then graph convolutions over each video's graph.

    ``x -> FC (n_features -> fc_size) -> GCN (fc_size -> gcn_sizes[0])
    -> ... -> GCN (gcn_sizes[-1] -> 1)``; ReLU and dropout after the FC and
    every GCN layer but the last, sigmoid last (the paper names ReLU and
    dropout for the first two GCN layers and is silent about the FC; the FC
    follows Wu et al.'s GCN, ``fc -> ReLU -> dropout``). The graph is
    :func:`video_adjacency` of the input features. Padded steps are zeroed
    after every layer.

    ``forward`` returns the ``scores`` (b x t) and ``logits``, and the
    representations the batch clustering can read (post-ReLU, pre-dropout):
    ``"fc"`` and ``"gcn1"``, ``"gcn2"``, ... (b x t x width).

    Parameters
    ----------
    n_features : int
    fc_size : int, default=512
    gcn_sizes : tuple of int, default=(128, 32)
        Widths of the hidden GCN layers; a last GCN layer to 1 follows.
    dropout : float, default=0.6
    similarity_threshold : float, default=0.7
    proximity_scale : float, default=1.0
    residual : bool, default=True
    """

    def __init__(self, n_features, fc_size=512, gcn_sizes=(128, 32), dropout=0.6,
                 similarity_threshold=0.7, proximity_scale=1.0, residual=True):
        super().__init__()
        self.similarity_threshold = similarity_threshold
        self.proximity_scale = proximity_scale
        self.fc = nn.Linear(n_features, fc_size)
        sizes = [fc_size, *gcn_sizes, 1]
        self.gcn = nn.ModuleList(
            GraphConvolution(a, b, residual) for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        m = mask[..., None].to(x.dtype)
        args = (self.similarity_threshold, self.proximity_scale)
        # scoring (no gradient): the graph in blocks of rows for long videos
        adjacency = (video_adjacency(x, mask, *args) if torch.is_grad_enabled()
                     else _BlockAdjacency(x, mask, *args))
        h = torch.relu(self.fc(x)) * m
        out = {"fc": h}
        for i, layer in enumerate(self.gcn[:-1], start=1):
            h = torch.relu(layer(self.dropout(h), adjacency)) * m
            out[f"gcn{i}"] = h
        logits = self.gcn[-1](self.dropout(h), adjacency).squeeze(-1)
        out["logits"] = logits
        out["scores"] = torch.sigmoid(logits)
        return out

    def stream_scores(self, read, n_clips, chunk):
        """Scores (``n_clips``) of one long video read piece by piece
        (``read(start, stop)``: 1 x rows x d), without a gradient: the FC
        layer piece by piece, then every graph convolution over the whole
        video with :class:`_StreamedAdjacency` (the features are read again
        for each of its row blocks). The same scores as :meth:`forward` on
        the whole video, memory linear in its length (time quadratic: the
        graph is complete)."""
        h = None
        for start in range(0, n_clips, chunk):
            stop = min(start + chunk, n_clips)
            piece = torch.relu(self.fc(read(start, stop)[0]))
            if h is None:
                h = piece.new_empty(n_clips, piece.shape[1])
            h[start:stop] = piece
        adjacency = _StreamedAdjacency(read, n_clips, chunk, self.similarity_threshold,
                                       self.proximity_scale)
        for i, layer in enumerate(self.gcn):
            h = layer(h, adjacency)
            if i < len(self.gcn) - 1:
                h = torch.relu(h)
        return torch.sigmoid(h.squeeze(-1))


def batch_kmeans(points, init, max_iter=100):
    """Lloyd's K-means from given initial centres, with differentiable centres.

    The assignment is found without gradient (Lloyd iterations until the
    labels stop changing, at most ``max_iter``); the returned centres are the
    means of the points of each cluster under that final assignment, so they
    carry the gradient of ``points``. At convergence they are scikit-learn's
    ``KMeans(init=init, n_init=1, algorithm="lloyd")`` centres. A cluster that
    empties keeps its previous centre during the iterations.

    Parameters
    ----------
    points : tensor (n, p)
    init : tensor (n_clusters, p)
    max_iter : int, default=100

    Returns
    -------
    labels : long tensor (n,)
    centers : tensor (n_clusters, p)
        Differentiable in ``points``; an empty cluster's row is its last
        centre (constant).
    counts : long tensor (n_clusters,)
    """
    n_clusters = init.shape[0]
    detached = points.detach()
    centers = init.detach().to(points.dtype).clone()
    labels = None
    with torch.no_grad():
        for _ in range(max_iter):
            new_labels = torch.cdist(detached, centers).argmin(dim=1)
            if labels is not None and torch.equal(new_labels, labels):
                break
            labels = new_labels
            centers = _cluster_means(detached, labels, centers)
        labels = torch.cdist(detached, centers).argmin(dim=1)
    counts = torch.bincount(labels, minlength=n_clusters)
    return labels, _cluster_means(points, labels, centers), counts


def _cluster_means(points, labels, fallback):
    """Mean of ``points`` per label; ``fallback`` rows for empty clusters."""
    one_hot = F.one_hot(labels, fallback.shape[0]).to(points.dtype)  # n x k
    counts = one_hot.sum(dim=0)
    means = (one_hot.T @ points) / counts.clamp_min(1.0)[:, None]
    return torch.where(counts[:, None] > 0, means, fallback.to(points.dtype))


def orient_pseudo_labels(scores, cluster_labels, mask):
    """Pseudo labels of eq. 4: each video's cluster labels or their inversion.

    For each video, ``S1`` is the cosine similarity between its scores and
    its 0/1 cluster labels, ``S2`` between its scores and the inverted
    labels (real steps only); the pseudo labels are the cluster labels when
    ``S1 > S2``, the inverted labels otherwise. A zero vector has cosine 0
    with anything.

    Parameters
    ----------
    scores : tensor (b, t) in [0, 1]
    cluster_labels : tensor (b, t) of {0, 1}
    mask : bool tensor (b, t)

    Returns
    -------
    pseudo_labels : tensor (b, t) of {0, 1} (0 on padding), dtype of ``scores``
    """
    m = mask.to(scores.dtype)
    s = scores * m
    c = cluster_labels.to(scores.dtype) * m
    inverted = (1.0 - c) * m
    s1 = F.cosine_similarity(s, c, dim=1)
    s2 = F.cosine_similarity(s, inverted, dim=1)
    return torch.where((s1 > s2)[:, None], c, inverted)


class CrossBatchClusteringLoss(nn.Module):
    """k-max loss, batch clustering loss, cross-batch memory and guidance.

    ``L = L_k-max + lambda_1 * L_bc`` (eq. 3), where

    * ``L_k-max`` (eq. 2): over the video's top ``k_i = floor(T_i / 8) + 1``
      scores (``T_i`` its real length), the mean of the per-snippet BCEs with
      the video label, averaged over the videos of the batch
      (``kmax_loss="snippet_bce"``); ``kmax_loss="mean_score"`` takes instead
      the BCE of the mean top-k score (the form RTFM and
      :class:`MagnitudeMILDetector` use). The two differ in their gradients: for
      top-k scores {0.9, 0.1} of an abnormal video, eq. 2 gives
      ``-1 / (k s)`` = -0.56 and -5 (the low score pulled hardest), the mean
      form -1 and -1;
    * ``L_bc`` (eq. 1): the L2-normalised ``cluster_layer`` representations
      of all real snippets of the batch's normal videos are split by 2-means
      (:func:`batch_kmeans`), likewise those of its abnormal videos; with
      ``d`` the distance between a group's two centres (differentiable in
      the features), the loss is ``min(d, mu)`` for the normal group plus
      ``1 / d`` for the abnormal group;
    * cross-batch learning (section 2.3, "way 1"): each training iteration's
      two centres per group are stored; :meth:`end_epoch` clusters the
      stored centres of the epoch into two, which initialise every batch
      clustering of that group in the next epoch (the first epoch draws two
      random snippets of the group);
    * guidance (section 2.4): pseudo labels of the abnormal videos' snippets
      from the abnormal group's clusters, oriented per video by
      :func:`orient_pseudo_labels` (eq. 4); scores of pseudo-abnormal
      snippets of abnormal videos become ``min(alpha * s, 1)`` (eq. 5)
      before the top-k selection of ``L_k-max``.

    Clustering, memory and guidance run in training mode only; in
    evaluation mode the loss is the plain k-max loss.

    Parameters
    ----------
    lambda_1 : float, default=0.1
    mu : float, default=1.0
    alpha : float, default=1.3
    cluster_layer : str, default="gcn1"
        Key of the module output to cluster.
    cross_batch : bool, default=True
    guidance : bool, default=True
    max_iter : int, default=100
        Lloyd iterations of each batch clustering.
    kmax_loss : {"snippet_bce", "mean_score"}, default="snippet_bce"
        Form of ``L_k-max`` (see above).
    """

    _groups = ("normal", "abnormal")

    def __init__(self, lambda_1=0.1, mu=1.0, alpha=1.3, cluster_layer="gcn1", cross_batch=True,
                 guidance=True, max_iter=100, kmax_loss="snippet_bce"):
        super().__init__()
        if kmax_loss not in ("snippet_bce", "mean_score"):
            raise ValueError(
                f"kmax_loss must be 'snippet_bce' or 'mean_score'; got {kmax_loss!r}."
            )
        self.kmax_loss = kmax_loss
        self.lambda_1 = lambda_1
        self.mu = mu
        self.alpha = alpha
        self.cluster_layer = cluster_layer
        self.cross_batch = cross_batch
        self.guidance = guidance
        self.max_iter = max_iter
        #: initial centres of each group's batch clustering (None: random rows)
        self.initial_centers = {g: None for g in self._groups}
        #: the centres of this epoch's iterations, per group
        self.memory = {g: [] for g in self._groups}

    def cluster(self, features, rows_mask, group):
        """2-means of the L2-normalised ``features[rows_mask]`` (one group).

        Returns ``(labels, centers, counts)`` of :func:`batch_kmeans`, or
        ``None`` when the group has fewer than 2 snippets. In training mode
        with ``cross_batch``, the centres are stored in :attr:`memory`.
        """
        points = F.normalize(features[rows_mask], dim=-1)
        if points.shape[0] < 2:
            return None
        init = self.initial_centers[group] if self.cross_batch else None
        if init is None:
            init = points.detach()[torch.randperm(points.shape[0], device=points.device)[:2]]
        labels, centers, counts = batch_kmeans(points, init.to(points.device), self.max_iter)
        if self.training and self.cross_batch:
            self.memory[group].append(centers.detach())
        return labels, centers, counts

    def clustering_loss(self, normal, abnormal):
        """``L_bc`` from the two groups' clusterings (either may be None).

        ``min(d, mu)`` for the normal group plus ``1 / (d + 1e-6)`` for the
        abnormal group; a group that is missing, or whose clustering left a
        cluster empty (e.g. two identical initial snippets), adds nothing.
        """
        loss = 0.0
        for result, is_normal in ((normal, True), (abnormal, False)):
            if result is None or (result[2] == 0).any():
                continue
            _, centers, _ = result
            d = torch.linalg.vector_norm(centers[0] - centers[1])
            loss = loss + (torch.clamp(d, max=self.mu) if is_normal else 1.0 / (d + 1e-6))
        return loss

    def forward(self, output, y, mask):
        scores = output["scores"]
        abnormal = y > 0.5
        loss = 0.0
        if self.training and (self.lambda_1 or self.guidance):
            features = output[self.cluster_layer]
            normal_rows = (~abnormal)[:, None] & mask
            abnormal_rows = abnormal[:, None] & mask
            normal = self.cluster(features, normal_rows, "normal")
            anomalous = self.cluster(features, abnormal_rows, "abnormal")
            if self.lambda_1:
                loss = self.lambda_1 * self.clustering_loss(normal, anomalous)
            if self.guidance and anomalous is not None:
                cluster_labels = torch.zeros_like(mask, dtype=torch.long)
                cluster_labels[abnormal_rows] = anomalous[0]
                pseudo = orient_pseudo_labels(scores.detach(), cluster_labels, mask)
                expand = (pseudo > 0.5) & abnormal[:, None]
                scores = torch.where(expand, torch.clamp(self.alpha * scores, max=1.0), scores)
        k = torch.div(mask.sum(dim=1), 8, rounding_mode="floor") + 1
        index, weight = masked_topk(scores, mask, k)
        top = scores.gather(1, index)
        target = y.to(top.dtype)
        if self.kmax_loss == "mean_score":
            # a mean of 1.0s may round just above 1
            top = (top * weight).sum(dim=1).clamp(0.0, 1.0)
            return F.binary_cross_entropy(top, target) + loss
        per_snippet = F.binary_cross_entropy(
            top, target[:, None].expand_as(top), reduction="none"
        )
        return (per_snippet * weight).sum(dim=1).mean() + loss

    def end_epoch(self):
        """Cross-batch step: cluster each group's stored centres into the
        initial centres of the next epoch, and empty the memory."""
        for group in self._groups:
            stored = self.memory[group]
            if not stored:
                continue
            points = torch.cat(stored)
            init = self.initial_centers[group]
            if init is None:
                init = stored[0]
            _, centers, _ = batch_kmeans(points, init.to(points.device), self.max_iter)
            self.initial_centers[group] = centers.detach()
            self.memory[group] = []


class _CappedBatchSampler:
    """Consecutive batches of at most ``batch_size`` videos and at most
    ``budget`` adjacency entries (``n_videos * t_max ** 2``); a single video
    longer than the budget still forms its own batch."""

    def __init__(self, lengths, batch_size, budget):
        self.batches = []
        batch, t_max = [], 0
        for i, n in enumerate(lengths):
            t = max(t_max, n)
            if batch and (len(batch) == batch_size or (len(batch) + 1) * t * t > budget):
                self.batches.append(batch)
                batch, t = [], n
            batch.append(i)
            t_max = t
        if batch:
            self.batches.append(batch)

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return iter(self.batches)


class CrossBatchClusteringDetector(BaseVideoMILNet):
    """Cross-batch clustering guidance with a GCN backbone (Cao et al., 2023).

    A fully connected layer and three graph convolutions over each video's
    graph (:func:`video_adjacency`: thresholded cosine similarity of the
    features plus temporal proximity) score every snippet. Training adds to
    the k-max loss a batch clustering loss on the first GCN layer's
    normalised representations (normal snippets of the batch pulled into one
    cluster, abnormal-video snippets pushed into two), initialises each
    batch clustering from the previous epoch's clusters (cross-batch
    learning), and lets the clusters guide the scores of abnormal videos.
    See :class:`CrossBatchClusteringLoss` for the objective. Clustering and
    guidance act in training only; a clip's score is the backbone's output.

    The paper gives the architecture, batch size 64, Adam and ``alpha``;
    ``lambda_1``, ``mu``, the learning rate, dropout and the graph's
    threshold are not given and are this library's choices. The residual
    connection in every GCN layer (``residual=True``) is not in the paper,
    which has plain graph convolutions (``residual=False``); the k-max loss
    follows the paper's eq. 2 (``kmax_loss="snippet_bce"``), the BCE of the
    mean top-k score being an option (``"mean_score"``). On the
    evaluation regimes (``benchmarks/bench_regimes.py``, d=256, 3 seeds, frame
    AUC on paper / higher_norm / similar_norm / lower_norm / scene_bias) the
    defaults give 0.977 / 0.913 / 0.869 / 0.884 / 0.866,
    ``kmax_loss="mean_score"`` 0.979 / 0.926 / 0.862 / 0.892 / 0.851 and
    ``residual=False`` 0.990 / 0.925 / 0.849 / 0.893 / 0.862: differences
    within the seed spread (about 0.02-0.03).

    Canonical pipeline (the paper uses T = 150 uniform segments for
    UCF-Crime, 100 for ShanghaiTech)::

        make_pipeline(FeatureNormClusterUndersampler(), SnippetReformer(n_snippets=32),
                      CrossBatchClusteringDetector())

    Ablations of the paper: Table 2, backbone only is
    ``lambda_1=0, cross_batch=False, guidance=False``, then ``+ L_bc``
    (``lambda_1 > 0``), ``+ CBL`` (``cross_batch=True``) and ``+ BCG``
    (``guidance=True``); Table 3, ``cluster_layer="fc"|"gcn1"|"gcn2"``.

    **Long videos.** Scoring batches are capped at ``2**25`` adjacency
    entries (``n_videos * T**2``) and take the graph in blocks of at most
    ``2**22`` entries; a video longer than 4096 clips is scored on its own,
    the graph's rows and columns in blocks read from the video itself for
    every layer (:class:`_StreamedAdjacency`): the same scores, memory
    linear in the video's length, time quadratic (the graph is complete).

    Parameters
    ----------
    lambda_1 : float, default=0.1
        Weight of the batch clustering loss (0: off).
    mu : float, default=1.0
        Upper bound of the normal group's centre distance in ``L_bc``.
    alpha : float, default=1.3
        Expansion factor of the guidance (eq. 5).
    cross_batch : bool, default=True
        Initialise batch clusterings from the previous epoch's clusters.
    guidance : bool, default=True
        Expand the scores of pseudo-abnormal snippets in training.
    kmax_loss : {"snippet_bce", "mean_score"}, default="snippet_bce"
        ``"snippet_bce"``: the paper's eq. 2, the mean over the top k of the
        per-snippet BCEs. ``"mean_score"``: the BCE of the mean top-k score
        (RTFM's form). See
        :class:`CrossBatchClusteringLoss`.
    cluster_layer : {"fc", "gcn1", "gcn2"}, default="gcn1"
        Representation that is clustered (the paper's Table 3).
    fc_size : int, default=512
    gcn_sizes : tuple of int, default=(128, 32)
        Hidden GCN widths; a last GCN layer to 1 follows.
    dropout : float, default=0.6
    similarity_threshold : float, default=0.7
        Cosine similarities at or below it are not edges of the graph.
    proximity_scale : float, default=1.0
        Temporal edges weigh ``exp(-|i - j| / proximity_scale)``.
    residual : bool, default=True
        Residual connection in every GCN layer (linear where sizes differ);
        not in the paper (``False`` gives its plain graph convolutions).
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    max_epochs : int, default=50
    batch_size : int, default=64
    optimizer : torch optimizer class, default=torch.optim.Adam
    device : str or torch.device, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout, batch sampling and the random initial
        centres, without touching the global RNGs.
    threshold : float, default=0.5
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
    module_ : CrossBatchGCNModule
    criterion_ : CrossBatchClusteringLoss
        ``criterion_.initial_centers`` holds the cross-batch centres.
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
    >>> from sklearn_wsvad.models import CrossBatchClusteringDetector
    >>> data = make_wsvad_videos(n_videos=40, n_features=16, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(n_snippets=32),
    ...                      CrossBatchClusteringDetector(max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> sorted(pipe[-1].criterion_.initial_centers)
    ['abnormal', 'normal']
    """

    _scores_are_probabilities = True

    #: Max adjacency entries (videos x t_max^2) of one inference batch.
    _inference_budget = 2**25

    _parameter_constraints = {
        **BaseVideoMILNet._parameter_constraints,
        "lambda_1": [Interval(numbers.Real, 0, None, closed="left")],
        "mu": [Interval(numbers.Real, 0, None, closed="neither")],
        "alpha": [Interval(numbers.Real, 1, None, closed="left")],
        "cross_batch": ["boolean"],
        "guidance": ["boolean"],
        "cluster_layer": [StrOptions({"fc", "gcn1", "gcn2"})],
        "fc_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "similarity_threshold": [Interval(numbers.Real, -1, 1, closed="both")],
        "proximity_scale": [Interval(numbers.Real, 0, None, closed="neither")],
        "residual": ["boolean"],
        "kmax_loss": [StrOptions({"snippet_bce", "mean_score"})],
    }

    def __init__(
        self,
        *,
        module=CrossBatchGCNModule,
        criterion=CrossBatchClusteringLoss,
        lambda_1=0.1,
        mu=1.0,
        alpha=1.3,
        cross_batch=True,
        guidance=True,
        kmax_loss="snippet_bce",
        cluster_layer="gcn1",
        fc_size=512,
        gcn_sizes=(128, 32),
        dropout=0.6,
        similarity_threshold=0.7,
        proximity_scale=1.0,
        residual=True,
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=50,
        batch_size=64,
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
        self.lambda_1 = lambda_1
        self.mu = mu
        self.alpha = alpha
        self.cross_batch = cross_batch
        self.guidance = guidance
        self.kmax_loss = kmax_loss
        self.cluster_layer = cluster_layer
        self.fc_size = fc_size
        self.gcn_sizes = gcn_sizes
        self.dropout = dropout
        self.similarity_threshold = similarity_threshold
        self.proximity_scale = proximity_scale
        self.residual = residual

    def _check_params(self):
        super()._check_params()
        sizes = tuple(self.gcn_sizes) if np.iterable(self.gcn_sizes) else ()
        if not sizes or not all(isinstance(s, numbers.Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"gcn_sizes must be a non-empty tuple of positive ints; got {self.gcn_sizes!r}."
            )
        if self.cluster_layer != "fc" and int(self.cluster_layer[3:]) > len(sizes):
            raise ValueError(
                f"cluster_layer={self.cluster_layer!r} but gcn_sizes={sizes!r} has only "
                f"{len(sizes)} hidden GCN layer(s); use 'fc' or 'gcn1'..'gcn{len(sizes)}'."
            )

    def _module_params(self):
        return {
            "fc_size": self.fc_size,
            "gcn_sizes": tuple(self.gcn_sizes),
            "dropout": self.dropout,
            "similarity_threshold": self.similarity_threshold,
            "proximity_scale": self.proximity_scale,
            "residual": self.residual,
        }

    def _criterion_params(self):
        return {
            "lambda_1": self.lambda_1,
            "mu": self.mu,
            "alpha": self.alpha,
            "cluster_layer": self.cluster_layer,
            "cross_batch": self.cross_batch,
            "guidance": self.guidance,
            "kmax_loss": self.kmax_loss,
        }

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        self.criterion_.end_epoch()

    def get_iterator(self, dataset, training=False):
        if training:
            return super().get_iterator(dataset, training=True)
        kwargs = self.get_params_for("iterator_valid")
        batch_size = kwargs.pop("batch_size", self.batch_size)
        # a VideoDataset, or any dataset of (video, label) items (e.g. a Subset)
        videos = getattr(dataset, "videos", None)
        if videos is None:
            videos = (dataset[i][0] for i in range(len(dataset)))
        lengths = np.fromiter((len(v) for v in videos), dtype=np.int64, count=len(dataset))
        sampler = _CappedBatchSampler(lengths, batch_size, self._inference_budget)
        kwargs.setdefault("collate_fn", pad_collate)
        for key in ("shuffle", "sampler", "drop_last"):
            kwargs.pop(key, None)
        return DataLoader(dataset, batch_sampler=sampler, **kwargs)
