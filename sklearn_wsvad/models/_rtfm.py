"""Robust temporal feature magnitude learning (RTFM) of Tian et al., ICCV 2021."""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._base import BaseVideoMILNet
from ._data import VideoDataset
from ._functional import abnormal_regularizer, masked_topk

__all__ = [
    "MaskedBatchNorm1d",
    "NonLocalBlock1d",
    "MultiScaleTemporalNetwork",
    "RTFMModule",
    "RTFMLoss",
    "RTFMDetector",
    "official_regularizer",
]


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` over the real time steps of a padded batch only.

    Training statistics ignore padding, so a video's output does not depend
    on how much padding its batch carries; padded steps come out as 0.
    """

    def forward(self, x, mask):
        """``x``: b x c x t, ``mask``: b x t."""
        if not self.training and self.track_running_stats:
            # evaluation is per element: no gather of the real steps needed
            out = super().forward(x)
            return out if bool(mask.all()) else out * mask[:, None, :].to(x.dtype)
        rows = x.transpose(1, 2)[mask]  # n_real x c
        out = x.new_zeros(x.shape[0], x.shape[2], x.shape[1])
        out[mask] = super().forward(rows)
        return out.transpose(1, 2)


class NonLocalBlock1d(nn.Module):
    """Dot-product non-local block over time (Wang et al., 2018), masked.

    ``z = BN(W y) + x`` with ``y_i = sum_j theta(x_i) . phi(x_j) g(x_j) / T``,
    ``j`` and ``T`` running over the real steps of the video only. ``BN``
    starts at zero, so the block starts as the identity (as in RTFM).

    With no softmax, ``y = theta (phi^T g) / T`` exactly: when the video is
    longer than the block's inner width the product is taken in that order,
    so no ``T x T`` matrix is formed and cost and memory are linear in ``T``.
    """

    def __init__(self, channels, inter_channels=None):
        super().__init__()
        inter = inter_channels or max(channels // 2, 1)
        self.g = nn.Conv1d(channels, inter, 1)
        self.theta = nn.Conv1d(channels, inter, 1)
        self.phi = nn.Conv1d(channels, inter, 1)
        self.W = nn.Conv1d(inter, channels, 1)
        self.bn = MaskedBatchNorm1d(channels)
        nn.init.zeros_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)

    def key_products(self, x):
        """``sum_j phi(x_j) g(x_j)^T`` over the steps of ``x`` (b x c x t, no
        padding): b x inter x inter. Summed over the pieces of a long video
        and divided by its length it is the ``summary`` of :meth:`forward`."""
        return self.phi(x) @ self.g(x).transpose(1, 2)

    def forward(self, x, mask, summary=None):
        """``x``: b x c x t, ``mask``: b x t.

        ``summary`` (b x inter x inter, optional): ``phi^T g / T`` of the
        whole video (see :meth:`key_products`), for ``x`` a piece of it:
        ``y = theta(x) summary``.
        """
        if summary is not None:
            y = self.theta(x).transpose(1, 2) @ summary
            return self.bn(self.W(y.transpose(1, 2)), mask) + x
        m = mask[:, None, :].to(x.dtype)  # b x 1 x t
        n_real = m.sum(dim=2, keepdim=True).clamp_min(1.0)  # b x 1 x 1
        theta, phi = self.theta(x).transpose(1, 2), self.phi(x)  # b x t x i, b x i x t
        # padded keys weigh nothing: scale the values (b x inter x t), not
        # the t x t affinity
        values = (self.g(x) * (m / n_real)).transpose(1, 2)  # b x t x i
        if x.shape[2] <= theta.shape[2]:
            y = (theta @ phi) @ values  # the t x t affinity, as written
        else:
            # the same product associated the other way: i x i instead of t x t,
            # so time and memory grow linearly with the video's length
            y = theta @ (phi @ values)  # b x t x inter
        return self.bn(self.W(y.transpose(1, 2)), mask) + x


class MultiScaleTemporalNetwork(nn.Module):
    """RTFM's multi-scale temporal network (MTN).

    Three dilated ``Conv1d`` branches (kernel 3, dilation 1, 2, 4; ReLU, BN)
    and a ``1 x 1`` convolution followed by a non-local block, concatenated,
    fused by a kernel-3 ``Conv1d`` (ReLU, BN) back to ``n_features`` and added
    to the input. Padding is zero at every convolution's input and excluded
    from every statistic, so scores do not depend on the batch's padding.

    Parameters
    ----------
    n_features : int
    n_channels : int, default=512
        Width of each branch (RTFM: 512 for 2048-D I3D features).
    """

    def __init__(self, n_features, n_channels=512):
        super().__init__()
        self.dilated = nn.ModuleList(
            nn.Conv1d(n_features, n_channels, 3, dilation=d, padding=d) for d in (1, 2, 4)
        )
        self.dilated_bn = nn.ModuleList(MaskedBatchNorm1d(n_channels) for _ in range(3))
        self.local = nn.Conv1d(n_features, n_channels, 1, bias=False)
        self.non_local = NonLocalBlock1d(n_channels)
        self.fuse = nn.Conv1d(4 * n_channels, n_features, 3, padding=1, bias=False)
        self.fuse_bn = MaskedBatchNorm1d(n_features)

    #: Clips of context each side that a step's output needs, besides the
    #: non-local block's global summary: 4 (the dilation-4 branch) + 1 (the
    #: kernel-3 fusion).
    halo = 5

    def non_local_products(self, x):
        """:meth:`NonLocalBlock1d.key_products` of a piece ``x`` (b x t x d, no
        padding)."""
        return self.non_local.key_products(torch.relu(self.local(x.transpose(1, 2))))

    def forward(self, x, mask, summary=None):
        """``x``: b x t x d, ``mask``: b x t; returns b x t x d.

        ``summary``: the non-local block's, when ``x`` is a piece of a longer
        video (see :meth:`RTFMModule.stream_scores`).
        """
        m = mask[:, None, :].to(x.dtype)  # b x 1 x t
        h = x.transpose(1, 2) * m  # b x d x t
        branches = [
            bn(torch.relu(conv(h)), mask) for conv, bn in zip(self.dilated, self.dilated_bn)
        ]
        branches.append(self.non_local(torch.relu(self.local(h)) * m, mask, summary))
        fused = torch.cat(branches, dim=1) * m  # b x 4c x t
        out = self.fuse_bn(torch.relu(self.fuse(fused)), mask) + h
        return out.transpose(1, 2)


class RTFMModule(nn.Module):
    """MTN features, dropout, then an MLP scorer on them.

    Videos may carry a crop axis: ``x`` is ``(b, t, d)`` or ``(b, t, c, d)``;
    every crop goes through the network as its own row (``b * c`` rows) and
    the outputs are regrouped per video, as the official code does with its
    10-crop batches.

    Parameters
    ----------
    n_features : int
    n_channels : int, default=512
        Branch width of the MTN.
    hidden_sizes : tuple of int, default=(512, 128)
        Hidden layers of the scorer (ReLU).
    dropout : float, default=0.7
        On the MTN output and before every later layer of the scorer.
    magnitude_after_dropout : bool, default=True
        Take the feature magnitudes and the features of the magnitude loss
        after the dropout on the MTN output, as the official code does (so
        in training they carry the dropout noise); False takes them before.
    weight_init : {"xavier_uniform", "torch"}, default="xavier_uniform"
        ``"xavier_uniform"``: every Conv1d and Linear weight Xavier-uniform,
        biases zero (the official code's ``weight_init``); ``"torch"``:
        PyTorch's default initialisation. The non-local block's BatchNorm
        starts at zero either way.
    """

    def __init__(self, n_features, n_channels=512, hidden_sizes=(512, 128), dropout=0.7,
                 magnitude_after_dropout=True, weight_init="xavier_uniform"):
        super().__init__()
        self.magnitude_after_dropout = magnitude_after_dropout
        self.mtn = MultiScaleTemporalNetwork(n_features, n_channels)
        self.feature_dropout = nn.Dropout(dropout)
        sizes = [n_features, *hidden_sizes]
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                layers.append(nn.Dropout(dropout))
            layers += [nn.Linear(d_in, d_out), nn.ReLU()]
        layers += [nn.Dropout(dropout), nn.Linear(sizes[-1], 1)]
        self.head = nn.Sequential(*layers)
        if weight_init == "xavier_uniform":
            for layer in self.modules():
                if isinstance(layer, (nn.Conv1d, nn.Linear)):
                    nn.init.xavier_uniform_(layer.weight)
                    if layer.bias is not None:
                        nn.init.zeros_(layer.bias)

    def forward(self, x, mask, summary=None):
        """Score a padded batch.

        Parameters
        ----------
        x : tensor (b, t, d) or (b, t, c, d)
        mask : bool tensor (b, t)

        Returns
        -------
        dict with ``scores`` (b x t: the mean over crops of each crop's
        sigmoid score), ``magnitudes`` (b x t: the mean over crops of the L2
        norm of each step's feature), ``crop_scores`` and ``crop_logits``
        (b x c x t) and ``features`` (b x c x t x d, the features the
        magnitudes are taken from); ``c = 1`` for 2-D videos.
        """
        if x.ndim == 3:
            x = x[:, :, None, :]
        b, t, c, d = x.shape
        rows = x.transpose(1, 2).reshape(b * c, t, d)  # video-major: v0c0, v0c1, ...
        row_mask = mask.repeat_interleave(c, dim=0)
        features = self.mtn(rows, row_mask, summary)  # b*c x t x d
        dropped = self.feature_dropout(features)
        logits = self.head(dropped).squeeze(-1).reshape(b, c, t)
        crop_scores = torch.sigmoid(logits)
        source = dropped if self.magnitude_after_dropout else features
        magnitudes = source.norm(dim=-1).reshape(b, c, t)
        return {
            "scores": crop_scores.mean(dim=1),
            "magnitudes": magnitudes.mean(dim=1),
            "crop_scores": crop_scores,
            "crop_logits": logits,
            "features": source.reshape(b, c, t, d),
        }

    def _piece_forward(self, x, mask, summary):
        """The forward pass on a piece of a long video (:meth:`stream_scores`)."""
        return self(x, mask, summary)

    def stream_scores(self, read, n_clips, chunk):
        """Scores (``n_clips``) of one long video read piece by piece.

        ``read(start, stop)`` returns the steps ``start..stop-1`` (1 x rows x
        d). Two passes: the non-local block's summary ``phi^T g / T`` over the
        whole video, then every piece of ``chunk`` steps with
        ``MultiScaleTemporalNetwork.halo`` steps of context each side. The
        same scores as one forward pass over the whole video (the product
        summed in another order), with memory bounded by the piece.
        """
        summary = None
        for start in range(0, n_clips, chunk):
            products = self.mtn.non_local_products(read(start, min(start + chunk, n_clips)))
            summary = products if summary is None else summary.add_(products)
        summary /= n_clips
        # results go into one preallocated tensor (small tensors kept between
        # the pieces' large temporaries fragment the heap)
        scores, halo = None, self.mtn.halo
        for start in range(0, n_clips, chunk):
            stop = min(start + chunk, n_clips)
            lo, hi = max(0, start - halo), min(n_clips, stop + halo)
            x = read(lo, hi)
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
            piece = self._piece_forward(x, mask, summary)["scores"][0, start - lo:stop - lo]
            if scores is None:
                scores = piece.new_empty(n_clips)
            scores[start:stop] = piece
        return scores


def official_regularizer(scores, mask, y, lambda_smooth, lambda_sparse):
    """The official RTFM code's smoothness and sparsity terms.

    The real scores of the batch's abnormal videos are concatenated in batch
    order into one vector ``s`` (crop-mean scores); the loss is
    ``lambda_smooth * sum_i (s_{i+1} - s_i)^2 + lambda_sparse * ||s||_2``.
    The differences run across the boundaries between consecutive videos,
    and the sparsity term is the L2 norm of the whole vector, as in the code
    (``smooth`` and ``sparsity`` of its ``train.py``). 0 without abnormal
    videos.
    """
    abnormal = y > 0.5
    if not abnormal.any():
        return scores.new_zeros(())
    s = scores[abnormal][mask[abnormal]]  # row-major: video by video, in time order
    smooth = ((s[1:] - s[:-1]) ** 2).sum()
    return lambda_smooth * smooth + lambda_sparse * torch.linalg.vector_norm(s)


class RTFMLoss(nn.Module):
    """RTFM's loss: top-k MIL classification + feature-magnitude separation.

    Per video, the ``k`` real snippets with the largest feature magnitude
    (mean over crops) are selected. Then

    ``L = BCE(mean top-k score, y) + lambda_mag * mean separation + regulariser``

    where the score of a snippet is the mean over its crops, and the
    separation compares, crop by crop, the norm of the mean top-k feature of
    an abnormal video ``||f_a||`` with that of a normal one ``||f_n||``: the
    official code's ``(|m - ||f_a||| + ||f_n||)^2``
    (``magnitude_loss="squared"``) or the paper's hinge
    ``max(0, m - ||f_a|| + ||f_n||)``, over the i-th abnormal and i-th normal
    video of the batch (``pairing="aligned"``, the code) or all abnormal x
    normal pairs (``"all"``). ``selection_dropout=p`` is the official code's
    selection: in training the magnitudes are multiplied by a dropout mask of
    rate ``p`` before the top-k, so some high-magnitude snippets are skipped
    at random.

    Regulariser on the abnormal videos' scores: ``regularizer="official"``,
    :func:`official_regularizer` (squared differences along the concatenated
    scores of the batch's abnormal videos, and the L2 norm of that vector);
    ``"per_video"``, per-video sums of squared differences and of scores,
    averaged over the abnormal videos (as :class:`MILRankingLoss`).

    Parameters
    ----------
    k : int, default=3
    margin : float, default=100.0
    lambda_mag : float, default=1e-4
    magnitude_loss : {"hinge", "squared"}, default="squared"
    selection_dropout : float, default=0.7
    lambda_smooth : float, default=8e-4
    lambda_sparse : float, default=8e-3
    pairing : {"aligned", "all"}, default="aligned"
    regularizer : {"official", "per_video"}, default="official"
    """

    def __init__(self, k=3, margin=100.0, lambda_mag=1e-4, magnitude_loss="squared",
                 selection_dropout=0.7, lambda_smooth=8e-4, lambda_sparse=8e-3,
                 pairing="aligned", regularizer="official"):
        super().__init__()
        if pairing not in ("aligned", "all") or regularizer not in ("official", "per_video"):
            raise ValueError(
                "pairing must be 'aligned' or 'all' and regularizer 'official' or "
                f"'per_video'; got {pairing!r} and {regularizer!r}."
            )
        self.k = k
        self.margin = margin
        self.lambda_mag = lambda_mag
        self.magnitude_loss = magnitude_loss
        self.selection_dropout = selection_dropout
        self.lambda_smooth = lambda_smooth
        self.lambda_sparse = lambda_sparse
        self.pairing = pairing
        self.regularizer = regularizer

    def select(self, magnitudes, mask):
        """Top-k indices (b x k) and averaging weights by feature magnitude."""
        magnitudes = magnitudes.detach()
        if self.training and self.selection_dropout > 0:
            magnitudes = F.dropout(magnitudes, self.selection_dropout, training=True)
        return masked_topk(magnitudes, mask, self.k)

    def forward(self, output, y, mask):
        scores, features = output["scores"], output["features"]  # b x t, b x c x t x d
        if features.ndim == 3:
            features = features[:, None]
        index, weight = self.select(output["magnitudes"], mask)  # b x k
        top_score = (scores.gather(1, index) * weight).sum(dim=1)  # b
        # a mean of 1.0s may round just above 1
        top_score = top_score.clamp(0.0, 1.0)
        loss = F.binary_cross_entropy(top_score, y.to(top_score.dtype))
        b, c, _, d = features.shape
        picked = features.gather(2, index[:, None, :, None].expand(b, c, -1, d))
        top_norm = (picked * weight[:, None, :, None]).sum(dim=2).norm(dim=-1)  # b x c
        abnormal, normal = top_norm[y > 0.5], top_norm[y < 0.5]  # per crop
        if abnormal.numel() and normal.numel():
            if self.pairing == "aligned":
                n_pairs = min(abnormal.shape[0], normal.shape[0])
                a, n = abnormal[:n_pairs], normal[:n_pairs]
            else:
                a, n = torch.broadcast_tensors(abnormal[:, None], normal[None, :])
            if self.magnitude_loss == "squared":
                separation = ((self.margin - a).abs() + n) ** 2
            else:
                separation = torch.relu(self.margin - a + n)
            loss = loss + self.lambda_mag * separation.mean()
        if self.regularizer == "official":
            return loss + official_regularizer(
                scores, mask, y, self.lambda_smooth, self.lambda_sparse)
        return loss + abnormal_regularizer(
            scores, mask, y, self.lambda_smooth, self.lambda_sparse)


class RTFMDetector(BaseVideoMILNet):
    """RTFM: robust temporal feature magnitude learning (Tian et al., ICCV 2021).

    A multi-scale temporal network (:class:`MultiScaleTemporalNetwork`)
    contextualises the snippet features; an MLP scores each snippet. Training
    selects, per video, the ``k`` snippets of largest feature magnitude,
    classifies the video by their mean score, and pushes the mean top-k
    feature magnitude of abnormal videos above that of normal ones by a
    margin (:class:`RTFMLoss`).

    The canonical pipeline refines the training videos and scores every clip
    at inference (RTFM's test protocol)::

        make_pipeline(FeatureNormClusterUndersampler(),
                      SnippetReformer(n_snippets=32, boundaries="floor"),
                      RTFMDetector())

    (``boundaries="floor"`` is the official code's snippet rule.)

    **Long videos.** The non-local block has no softmax, so its product is
    taken as ``theta (phi^T g)`` (linear in the video's length); a video
    longer than 4096 clips is scored in two passes over pieces of 1024 clips
    (:meth:`RTFMModule.stream_scores`): the block's ``phi^T g`` summed over
    the video, then each piece with 5 clips of context for the dilated
    convolutions. The same scores, memory bounded by the piece.

    **Multi-crop features.** Videos may also be ``(n_clips, n_crops,
    n_features)`` arrays (e.g. 10-crop I3D, through
    ``load_features(crops="stack")`` and the refinement steps, which keep the
    crops together). With ``crop_training="joint"`` (the official code) a
    video's crops train together as one bag: every crop goes through the
    network, scores and magnitudes are averaged over the crops *before* the
    top-k selection and the BCE, and the magnitude loss compares the crops'
    mean top-k features crop by crop at the crop-mean top-k indices;
    ``batch_size`` counts videos (the official 32 + 32 videos x 10 crops is
    ``batch_size=64``). With ``crop_training="bags"`` every crop is a
    separate bag with the video's label and its own top-k, and
    ``batch_size`` counts crop bags. Either way, a clip's score at inference
    is the mean of its crops' scores.

    **Defaults.** Where the paper and the official code
    (tianyu0207/RTFM) differ, the official code's choices are the defaults,
    because they hold up on features the paper's do not: the squared
    magnitude loss, dropout of the magnitudes before the top-k selection
    (``selection_dropout=0.7``) and ``weight_decay=5e-3``. The code's other
    details are defaults too, each a parameter: joint multi-crop training,
    aligned abnormal/normal pairs in the magnitude loss, its smoothness and
    sparsity terms (``regularizer="official"``, see :class:`RTFMLoss`),
    magnitudes taken after the dropout on the temporal network's output
    (``magnitude_after_dropout=True``) and Xavier-uniform initialisation with
    zero biases. On the evaluation regimes (``benchmarks/bench_regimes.py``,
    d=256, 3 seeds, 50 epochs; paper / higher_norm / similar_norm /
    lower_norm / scene_bias) these defaults give frame AUC 0.962 / 0.932 /
    0.912 / 0.913 / 0.909, against 0.950 / 0.933 / 0.895 / 0.888 / 0.895 for
    the library's earlier form (per-video regularisers, all pairs,
    magnitudes before the dropout, PyTorch's initialisation, rounded snippet
    edges). With the paper's hinge, no selection dropout and
    ``weight_decay=5e-4`` (still reachable by these three parameters), frame
    AUC on the library's evaluation regimes (``benchmarks/bench_regimes.py``,
    3 seeds, 50 epochs) was 0.797 on ``"paper"`` (below the raw feature
    norm's 0.835), 0.831 on ``"similar_norm"`` and 0.801 on ``"lower_norm"``,
    against 0.950, 0.895 and 0.888 with the code's; and on raw 10-crop
    2048-D features (80 training, 40 test videos), before input scaling
    existed, the paper's settings gave inverted scores (frame AUC 0.08-0.16
    over 3 seeds) where the code's settings gave 0.72-0.78 (the official
    code itself 0.54-0.75). Remaining differences from the official code:
    padding and masking of videos of different lengths (the code trains on
    exactly 32 snippets per video), and ``input_scaling="standard"`` (the
    code feeds raw features; ``input_scaling=None`` to match it).

    Parameters
    ----------
    k : int, default=3
        Snippets selected per video by feature magnitude.
    n_channels : int, default=512
        Branch width of the MTN.
    hidden_sizes : tuple of int, default=(512, 128)
    dropout : float, default=0.7
    margin : float, default=100.0
        Feature-magnitude margin ``m``.
    lambda_mag : float, default=1e-4
        Weight of the magnitude term (``alpha`` in the official code).
    magnitude_loss : {"hinge", "squared"}, default="squared"
        The official code's squared form or the paper's hinge.
    selection_dropout : float, default=0.7
        Dropout rate applied to the magnitudes before the top-k selection in
        training (the official code: 0.7; the paper: none, 0.0).
    pairing : {"aligned", "all"}, default="aligned"
        Abnormal/normal pairs of the magnitude loss: the i-th abnormal with
        the i-th normal video of the batch (the official code) or all pairs.
    regularizer : {"official", "per_video"}, default="official"
        Smoothness and sparsity as the official code computes them, or as
        per-video sums averaged over the abnormal videos (see
        :class:`RTFMLoss`).
    magnitude_after_dropout : bool, default=True
        Feature magnitudes (and the features of the magnitude loss) taken
        after the dropout on the temporal network's output, as in the
        official code; False: before it.
    weight_init : {"xavier_uniform", "torch"}, default="xavier_uniform"
        The official code's Xavier-uniform weights with zero biases, or
        PyTorch's default initialisation.
    crop_training : {"joint", "bags"}, default="joint"
        How multi-crop training videos are trained (see above).
    lambda_smooth : float, default=8e-4
        Weight of the temporal smoothness of abnormal videos' scores.
    lambda_sparse : float, default=8e-3
        Weight of the sparsity of abnormal videos' scores.
    lr : float, default=1e-3
    weight_decay : float, default=5e-3
        The official code's (the paper: 5e-4).
    max_epochs : int, default=50
    batch_size : int, default=64
        Videos per batch (crop bags with ``crop_training="bags"``), half
        normal and half abnormal.
    optimizer : torch optimizer class, default=torch.optim.Adam
    device : str or torch.device, default="cpu"
    random_state : int, RandomState instance or None, default=None
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
    module_ : RTFMModule
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
    >>> from sklearn_wsvad.models import RTFMDetector
    >>> data = make_wsvad_videos(n_videos=40, n_features=16, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(n_snippets=32),
    ...                      RTFMDetector(n_channels=32, max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> pipe.decision_function(data.videos).shape
    (40,)
    """

    _scores_are_probabilities = True
    _accepts_crops = True

    _parameter_constraints = {
        **BaseVideoMILNet._parameter_constraints,
        "k": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_mag": [Interval(numbers.Real, 0, None, closed="left")],
        "magnitude_loss": [StrOptions({"hinge", "squared"})],
        "selection_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "lambda_smooth": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_sparse": [Interval(numbers.Real, 0, None, closed="left")],
        "pairing": [StrOptions({"aligned", "all"})],
        "regularizer": [StrOptions({"official", "per_video"})],
        "magnitude_after_dropout": ["boolean"],
        "weight_init": [StrOptions({"xavier_uniform", "torch"})],
        "crop_training": [StrOptions({"joint", "bags"})],
    }

    def __init__(
        self,
        *,
        module=RTFMModule,
        criterion=RTFMLoss,
        k=3,
        n_channels=512,
        hidden_sizes=(512, 128),
        dropout=0.7,
        margin=100.0,
        lambda_mag=1e-4,
        magnitude_loss="squared",
        selection_dropout=0.7,
        pairing="aligned",
        regularizer="official",
        magnitude_after_dropout=True,
        weight_init="xavier_uniform",
        crop_training="joint",
        lambda_smooth=8e-4,
        lambda_sparse=8e-3,
        lr=1e-3,
        weight_decay=5e-3,
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
        self.k = k
        self.n_channels = n_channels
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.margin = margin
        self.lambda_mag = lambda_mag
        self.magnitude_loss = magnitude_loss
        self.selection_dropout = selection_dropout
        self.pairing = pairing
        self.regularizer = regularizer
        self.magnitude_after_dropout = magnitude_after_dropout
        self.weight_init = weight_init
        self.crop_training = crop_training
        self.lambda_smooth = lambda_smooth
        self.lambda_sparse = lambda_sparse

    def _stream_piece_clips(self):
        # the MTN's temporaries are about 12 input widths per clip (branches,
        # their concatenation, the kernel-3 convolutions' unfolded inputs):
        # pieces of 1024 clips keep them near 100 MB at 2048 features
        return min(1024, super()._stream_piece_clips())

    def _module_params(self):
        return {
            "n_channels": self.n_channels,
            "hidden_sizes": tuple(self.hidden_sizes),
            "dropout": self.dropout,
            "magnitude_after_dropout": self.magnitude_after_dropout,
            "weight_init": self.weight_init,
        }

    def _criterion_params(self):
        return {
            "k": self.k,
            "margin": self.margin,
            "lambda_mag": self.lambda_mag,
            "magnitude_loss": self.magnitude_loss,
            "selection_dropout": self.selection_dropout,
            "lambda_smooth": self.lambda_smooth,
            "lambda_sparse": self.lambda_sparse,
            "pairing": self.pairing,
            "regularizer": self.regularizer,
        }

    def _check_training_data(self, X, y, n_features=None):
        videos, y = super()._check_training_data(X, y, n_features=n_features)
        if self.crop_training == "joint":
            shapes = {v.shape[1:-1] for v in videos}
            if len(shapes) > 1:
                crops = sorted(s[0] if s else 1 for s in shapes)
                raise ValueError(
                    "With crop_training='joint' every training video needs the same "
                    f"crops, but the videos have {crops} crops (a 2-D video counts as 1). "
                    "Load every video with the same crops= option, or pass "
                    "crop_training='bags' to train each crop as its own bag."
                )
        return videos, y

    def get_dataset(self, X, y=None):
        if self.crop_training == "joint" and y is not None:
            # training: a video and its crops are one sample
            return VideoDataset(X, np.asarray(y))
        return super().get_dataset(X, y)
