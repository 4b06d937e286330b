"""NG-MIL: normality guided multiple instance learning (Park et al., WACV 2023)."""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._base import BaseVideoMILNet
from ._data import VideoDataset
from ._functional import abnormal_regularizer, gather_steps, masked_topk, pairs

__all__ = ["NGMILModule", "NGMILLoss", "NGMILDetector", "prototype_similarity"]


def prototype_similarity(projected, prototypes, temperature):
    """Similarity score ``g`` of eq. 4: softmax(s / tau)-weighted cosine, ReLU.

    Parameters
    ----------
    projected : tensor (..., p)
    prototypes : tensor (M, p)
    temperature : float

    Returns
    -------
    g : tensor (...), in [0, 1]
    """
    s = F.normalize(projected, dim=-1) @ F.normalize(prototypes, dim=-1).T  # ... x M
    return torch.relu((torch.softmax(s / temperature, dim=-1) * s).sum(dim=-1))


class NGMILModule(nn.Module):
    """Encoder, MIL classifier and normality guided refinement (NGRM).

    * encoder: kernel-3 temporal ``Conv1d`` layers with ReLU (padded steps
      are zeroed after every layer, so padding never leaks);
    * MIL classifier: MLP ``512 -> 128 -> 1`` (ReLU, dropout) giving
      ``alpha`` (sigmoid);
    * NGRM: a linear projection to the prototype space; ``M`` normality
      prototypes (a buffer, not trained by gradient: see
      :meth:`update_prototypes`); the similarity score ``g`` (eq. 4), the
      anomaly score ``a = 1 - g`` (eq. 5) and the refined score
      ``r = (alpha + a) / 2`` (eq. 6).

    Parameters
    ----------
    n_features : int
    encoder_channels : tuple of int, default=(512,)
        One ``Conv1d`` layer per entry.
    hidden_sizes : tuple of int, default=(512, 128)
    dropout : float, default=0.7
    n_prototypes : int, default=32
    prototype_dim : int, default=128
    temperature : float, default=0.5
    """

    def __init__(self, n_features, encoder_channels=(512,), hidden_sizes=(512, 128),
                 dropout=0.7, n_prototypes=32, prototype_dim=128, temperature=0.5):
        super().__init__()
        self.temperature = temperature
        channels = [n_features, *encoder_channels]
        self.encoder = nn.ModuleList(
            nn.Conv1d(c_in, c_out, 3, padding=1) for c_in, c_out in zip(channels[:-1], channels[1:])
        )
        sizes = [channels[-1], *hidden_sizes]
        layers = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(d_in, d_out), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(sizes[-1], 1))
        self.classifier = nn.Sequential(*layers)
        self.project = nn.Linear(channels[-1], prototype_dim)
        self.register_buffer("prototypes", torch.zeros(n_prototypes, prototype_dim))

    def encode(self, x, mask):
        """Encoder features (b x t x c), zero on padded steps."""
        m = mask[:, None, :].to(x.dtype)  # b x 1 x t
        h = x.transpose(1, 2) * m
        for conv in self.encoder:
            h = torch.relu(conv(h)) * m
        return h.transpose(1, 2)

    def forward(self, x, mask):
        """Score a padded batch.

        Returns
        -------
        dict with, all b x t: ``logits`` and ``mil_scores`` (alpha) of the MIL
        classifier, ``similarity`` (g), ``scores`` (the refined r); and
        ``projected`` (b x t x p) and ``prototypes`` (M x p).
        """
        h = self.encode(x, mask)
        logits = self.classifier(h).squeeze(-1)
        alpha = torch.sigmoid(logits)
        projected = self.project(h)
        g = prototype_similarity(projected, self.prototypes, self.temperature)
        return {
            "logits": logits,
            "mil_scores": alpha,
            "similarity": g,
            "scores": (alpha + 1.0 - g) / 2.0,
            "projected": projected,
            "prototypes": self.prototypes,
        }

    @torch.no_grad()
    def update_prototypes(self, projected, mask, y, momentum):
        """Normality update (eq. 3) from the batch's normal videos only.

        Each real instance of a normal video goes to its nearest prototype
        (cosine); a prototype ``m`` with assigned instances ``J_m`` becomes
        ``(1 - momentum) p_m + momentum * mean_{J_m} f'``; the others stay.
        (The paper prints eq. 3 without the momentum on the second term; an
        exponential moving average needs it.)
        """
        rows = projected[(y < 0.5)[:, None] & mask]  # n x p
        if rows.shape[0] == 0:
            return
        s = F.normalize(rows, dim=-1) @ F.normalize(self.prototypes, dim=-1).T
        nearest = s.argmax(dim=1)
        sums = torch.zeros_like(self.prototypes).index_add_(0, nearest, rows)
        counts = torch.bincount(nearest, minlength=self.prototypes.shape[0])
        hit = counts > 0
        means = sums[hit] / counts[hit, None].to(rows.dtype)
        self.prototypes[hit] = (1 - momentum) * self.prototypes[hit] + momentum * means


def _squared_distances(features, prototypes):
    """Squared L2 distances (... x M) of features (... x p) to prototypes (M x p)."""
    return ((features[..., None, :] - prototypes) ** 2).sum(dim=-1)


class NGMILLoss(nn.Module):
    """NG-MIL's total loss (eq. 11).

    ``L = L_NG-MIL + lambda_cluster * L_clst + lambda_triplet * L_tri
    + lambda_reg * (smoothness + sparsity)``

    * ``L_NG-MIL`` (eq. 7): hinge ``[1 - mean top-k r_a + mean top-k r_n]_+``
      over all abnormal x normal pairs of the batch, on the refined scores of
      the ``k`` instances with the highest ``selection`` score;
    * ``L_clst`` (eq. 8): per normal video, the mean over its instances of the
      squared distance to the nearest prototype (projected space);
    * ``L_tri`` (eqs. 9-10): per abnormal video, pseudo-abnormal = its top-k
      and pseudo-normal = its bottom-k instances by ``selection`` score; for
      each pseudo-normal instance the anchor is its nearest prototype and the
      negative the pseudo-abnormal instance closest to that anchor:
      ``[d(f_n, p_j) - min_a d(f_a, p_j) + margin]_+``, averaged;
    * smoothness and sparsity of the refined scores of abnormal videos,
      per clip: each video's sums divided by its number of clips (see
      ``lambda_reg`` of :class:`NGMILDetector`).

    Parameters
    ----------
    k : int, default=3
    selection : {"refined", "mil", "similarity"}, default="refined"
        Score that picks the top-k and bottom-k instances: the refined score
        (NG-MIL), the MIL classifier's alone ("Baseline" of the paper's
        Table 4) or the similarity branch's ``1 - g`` alone ("NGRM^sim").
    lambda_cluster : float, default=0.1
    lambda_triplet : float, default=0.1
    margin : float, default=8.0
    lambda_reg : float, default=0.5
    """

    def __init__(self, k=3, selection="refined", lambda_cluster=0.1, lambda_triplet=0.1,
                 margin=8.0, lambda_reg=0.5):
        super().__init__()
        self.k = k
        self.selection = selection
        self.lambda_cluster = lambda_cluster
        self.lambda_triplet = lambda_triplet
        self.margin = margin
        self.lambda_reg = lambda_reg

    def _selection_scores(self, output):
        if self.selection == "mil":
            return output["mil_scores"]
        if self.selection == "similarity":
            return 1.0 - output["similarity"]
        return output["scores"]

    def forward(self, output, y, mask):
        r = output["scores"]  # b x t
        select = self._selection_scores(output).detach()
        index, weight = masked_topk(select, mask, self.k)  # b x k
        top = (r.gather(1, index) * weight).sum(dim=1)  # b
        abnormal = y > 0.5
        a, n = pairs(top[abnormal], top[~abnormal])
        loss = torch.relu(1.0 - a + n).mean() if a.numel() else r.new_zeros(())
        if self.lambda_cluster:
            loss = loss + self.lambda_cluster * self.cluster_loss(output, y, mask)
        if self.lambda_triplet:
            loss = loss + self.lambda_triplet * self.triplet_loss(output, y, mask, select)
        return loss + abnormal_regularizer(r, mask, y, self.lambda_reg, self.lambda_reg,
                                           per_clip=True)

    def cluster_loss(self, output, y, mask):
        """``L_clst`` averaged over the batch's normal videos (0 without any)."""
        normal = y < 0.5
        if not normal.any():
            return output["scores"].new_zeros(())
        d = _squared_distances(output["projected"][normal], output["prototypes"])  # b x t x M
        nearest = d.min(dim=-1).values * mask[normal]
        return (nearest.sum(dim=1) / mask[normal].sum(dim=1)).mean()

    def triplet_loss(self, output, y, mask, select):
        """``L_tri`` averaged over the batch's abnormal videos (0 without any)."""
        abnormal = y > 0.5
        if not abnormal.any():
            return output["scores"].new_zeros(())
        f = output["projected"][abnormal]  # b x t x p
        m, s = mask[abnormal], select[abnormal]
        top, top_w = masked_topk(s, m, self.k)
        bottom, bottom_w = masked_topk(-s, m, self.k)
        pseudo_abnormal, pseudo_normal = gather_steps(f, top), gather_steps(f, bottom)  # b x k x p
        protos = output["prototypes"]
        d_normal = _squared_distances(pseudo_normal, protos)  # b x k x M
        anchor_dist, anchor = d_normal.min(dim=-1)  # b x k
        d_abnormal = _squared_distances(pseudo_abnormal, protos)  # b x k_a x M
        # distance of every pseudo-abnormal instance to each anchor: b x k x k_a
        to_anchor = d_abnormal.transpose(1, 2).gather(
            1, anchor[..., None].expand(-1, -1, d_abnormal.shape[1]))
        to_anchor = to_anchor.masked_fill(top_w[:, None, :] == 0, float("inf"))
        hinge = torch.relu(anchor_dist - to_anchor.min(dim=-1).values + self.margin)
        return ((hinge * bottom_w).sum(dim=1)).mean()


class NGMILDetector(BaseVideoMILNet):
    """NG-MIL: normality guided multiple instance learning (Park et al., 2023).

    A temporal-convolution encoder feeds a MIL classifier (score ``alpha``)
    and a projection to the space of ``n_prototypes`` normality prototypes.
    The prototypes are initialised by K-means over the projected instances of
    the normal training videos, then follow an exponential moving average
    (``momentum``) of the normal instances assigned to them, during training
    only. A clip's score is the refined ``r = (alpha + 1 - g) / 2``, where
    ``g`` is its softmax-weighted cosine similarity to the prototypes. See
    :class:`NGMILLoss` for the objective.

    Canonical pipeline (32 segments, as the paper)::

        make_pipeline(FeatureNormClusterUndersampler(), SnippetReformer(n_snippets=32),
                      NGMILDetector())

    Ablations of the paper: Table 5, ranking only is
    ``lambda_cluster=0, lambda_triplet=0`` (then ``+ triplet`` and ``+ clustering``);
    Table 4, ``selection="mil"`` or ``"similarity"``.

    Parameters
    ----------
    n_prototypes : int, default=32
        ``M`` (paper: 32 for ShanghaiTech, 64 for UCF-Crime and XD-Violence).
    prototype_dim : int, default=128
        Dimension of the projected space (not legible in the paper).
    momentum : float, default=0.1
    temperature : float, default=0.5
    k : int, default=3
    selection : {"refined", "mil", "similarity"}, default="refined"
    lambda_cluster : float, default=0.1
    lambda_triplet : float, default=0.1
    margin : float, default=8.0
        Triplet margin.
    lambda_reg : float, default=0.5
        Weight of smoothness + sparsity. ``lambda_cluster``, ``lambda_triplet``
        and ``lambda_reg`` are the paper's three weights of section 4.2 (0.1,
        0.1, 0.5). With 0.5 on the paper's per-video sums, sparsity dominated
        the ranking and frame AUC fell to 0.73-0.77 on the synthetic data, so
        the two terms are taken per clip (the sums divided by the video's
        number of clips); this is a deviation from the printed formula.
    encoder_channels : tuple of int, default=(512,)
    hidden_sizes : tuple of int, default=(512, 128)
    dropout : float, default=0.7
    lr : float, default=1e-3
    weight_decay : float, default=5e-4
    max_epochs : int, default=50
    batch_size : int, default=64
    optimizer : torch optimizer class, default=torch.optim.Adam
    device : str or torch.device, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation (including the K-means of the prototypes),
        dropout and batch sampling, without touching the global RNGs.
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
    module_ : NGMILModule
        ``module_.prototypes`` holds the normality prototypes.
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
    >>> from sklearn_wsvad.models import NGMILDetector
    >>> data = make_wsvad_videos(n_videos=40, n_features=16, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(n_snippets=32),
    ...                      NGMILDetector(n_prototypes=8, max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> pipe[-1].module_.prototypes.shape
    torch.Size([8, 128])
    """

    _scores_are_probabilities = True

    def _score_piece_clips(self):
        # the kernel-3 encoder unfolds 3 input widths per clip (400 MB for
        # 16384 clips of 2048 features): pieces of 4096 clips
        return min(4096, super()._score_piece_clips())

    def _score_halo(self):
        # each kernel-3 Conv1d of the encoder widens the context by one clip
        return len(self.module_.encoder)

    _parameter_constraints = {
        **BaseVideoMILNet._parameter_constraints,
        "n_prototypes": [Interval(numbers.Integral, 1, None, closed="left")],
        "prototype_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "momentum": [Interval(numbers.Real, 0, 1, closed="both")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "k": [Interval(numbers.Integral, 1, None, closed="left")],
        "selection": [StrOptions({"refined", "mil", "similarity"})],
        "lambda_cluster": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_triplet": [Interval(numbers.Real, 0, None, closed="left")],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_reg": [Interval(numbers.Real, 0, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        *,
        module=NGMILModule,
        criterion=NGMILLoss,
        n_prototypes=32,
        prototype_dim=128,
        momentum=0.1,
        temperature=0.5,
        k=3,
        selection="refined",
        lambda_cluster=0.1,
        lambda_triplet=0.1,
        margin=8.0,
        lambda_reg=0.5,
        encoder_channels=(512,),
        hidden_sizes=(512, 128),
        dropout=0.7,
        lr=1e-3,
        weight_decay=5e-4,
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
        self.n_prototypes = n_prototypes
        self.prototype_dim = prototype_dim
        self.momentum = momentum
        self.temperature = temperature
        self.k = k
        self.selection = selection
        self.lambda_cluster = lambda_cluster
        self.lambda_triplet = lambda_triplet
        self.margin = margin
        self.lambda_reg = lambda_reg
        self.encoder_channels = encoder_channels
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout

    def _module_params(self):
        return {
            "encoder_channels": tuple(self.encoder_channels),
            "hidden_sizes": tuple(self.hidden_sizes),
            "dropout": self.dropout,
            "n_prototypes": self.n_prototypes,
            "prototype_dim": self.prototype_dim,
            "temperature": self.temperature,
        }

    def _criterion_params(self):
        return {
            "k": self.k,
            "selection": self.selection,
            "lambda_cluster": self.lambda_cluster,
            "lambda_triplet": self.lambda_triplet,
            "margin": self.margin,
            "lambda_reg": self.lambda_reg,
        }

    def _check_training_data(self, X, y, n_features=None):
        videos, y = super()._check_training_data(X, y, n_features)
        n_normal = sum(len(v) for v, label in zip(videos, y) if label == 0)
        if n_normal < self.n_prototypes:
            raise ValueError(
                f"n_prototypes={self.n_prototypes} but the normal training videos have "
                f"only {n_normal} instances to initialise them from; lower n_prototypes "
                "or give more normal videos."
            )
        return videos, y

    def _on_initialized(self, videos, y):
        """Prototypes: K-means over the projected instances of the normal videos."""
        normal = [v for v, label in zip(videos, y) if label == 0]
        rows = []
        self.module_.eval()
        for batch in self.get_iterator(VideoDataset(normal), training=False):
            X = self.scale_batch(batch[0])
            with torch.no_grad():
                projected = self.module_.project(self.module_.encode(X["x"], X["mask"]))
            rows.append(projected[X["mask"]].cpu().numpy())
        rows = np.concatenate(rows)
        kmeans = KMeans(self.n_prototypes, n_init=1, random_state=self.training_seed_).fit(rows)
        self.module_.prototypes.copy_(torch.as_tensor(kmeans.cluster_centers_,
                                                      dtype=self.module_.prototypes.dtype))

    def train_step(self, batch, **fit_params):
        step = super().train_step(batch, **fit_params)
        X, y = batch
        self.module_.update_prototypes(
            step["y_pred"]["projected"].detach(),
            X["mask"].to(self.device),
            y.to(self.device),
            self.momentum,
        )
        return step
