"""MIL ranking of Sultani, Chen & Shah, "Real-world anomaly detection in
surveillance videos", CVPR 2018."""

import numbers

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ._base import BaseVideoMILNet
from ._functional import abnormal_regularizer, masked_max, pairs

__all__ = ["MILRankingModule", "MILRankingLoss", "MILRankingDetector"]


class MILRankingModule(nn.Module):
    """Sultani et al.'s segment scorer.

    ``d -> 512 (ReLU, dropout) -> 32 (linear, dropout) -> 1 (sigmoid)``: every
    hidden layer but the last has a ReLU; the last hidden layer is linear, as
    in the original. Weights are Glorot-normal, biases zero (Keras' defaults
    in the original code).

    Parameters
    ----------
    n_features : int
    hidden_sizes : tuple of int, default=(512, 32)
    dropout : float, default=0.6
    normalize : bool, default=True
        L2-normalise every input row first (the original normalises each
        segment feature). All-zero rows, such as padding, stay zero.
    """

    def __init__(self, n_features, hidden_sizes=(512, 32), dropout=0.6, normalize=True):
        super().__init__()
        self.normalize = normalize
        sizes = [n_features, *hidden_sizes]
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(hidden_sizes) - 1:
                layers.append(nn.ReLU())
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-1], 1))
        self.net = nn.Sequential(*layers)
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_normal_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x, mask):
        """Score a padded batch.

        Parameters
        ----------
        x : tensor (b, t, d)
        mask : bool tensor (b, t)
            Unused: rows are scored independently, so padding cannot leak.

        Returns
        -------
        dict with ``logits`` and ``scores`` = sigmoid(logits), both b x t.
        """
        if self.normalize:
            x = F.normalize(x, dim=-1)
        logits = self.net(x).squeeze(-1)  # b x t
        return {"logits": logits, "scores": torch.sigmoid(logits)}

    def weight_penalty(self, form="squared"):
        """Penalty on the layers' parameters.

        ``"squared"``: the sum of the squared weights of every layer, biases
        excluded (Keras' ``W_regularizer=l2``, the original). ``"norm"``: the
        sum over layers of the (unsquared) L2 norm of each layer's weights
        and biases together (the ekosman PyTorch port).
        """
        layers = [layer for layer in self.net if isinstance(layer, nn.Linear)]
        if form == "norm":
            return sum(
                torch.sqrt((layer.weight**2).sum() + (layer.bias**2).sum()) for layer in layers
            )
        return sum((layer.weight**2).sum() for layer in layers)


class MILRankingLoss(nn.Module):
    """Sultani et al.'s MIL ranking loss (eq. 7 of the paper).

    With ``h(a, n) = max(0, 1 - max_i s_a,i + max_i s_n,i)`` for an abnormal
    video ``a`` and a normal video ``n`` of the batch, and per abnormal video
    ``r_a = lambda_smooth * sum_i (s_a,i - s_a,i+1)^2 + lambda_sparse * sum_i s_a,i``
    (real, unpadded segments only):

    * ``reduction="sum"`` (the Keras original, ``custom_objective``): for every
      normal video, the hinge summed over the abnormal videos it is paired
      with, averaged over the normal videos; plus the sum of ``r_a`` over the
      batch's abnormal videos. With the original's 30 + 30 batch and all
      pairs, the data term is 30 times the mean over pairs, while its
      ``l2(0.001)`` weight penalty (:class:`MILRankingDetector`, ``l2_reg``) is
      not scaled: the two are balanced as in the original only in this form.
    * ``reduction="mean"`` (the ekosman PyTorch port): the hinge averaged over
      the pairs, plus ``r_a`` averaged over the abnormal videos.

    The paper states the loss for one pair of bags. ``pairing="all"`` pairs
    every abnormal with every normal video of the batch (the original);
    ``pairing="aligned"`` the i-th abnormal with the i-th normal one (the
    port). A batch without both classes has no ranking term.

    Parameters
    ----------
    pairing : {"all", "aligned"}, default="all"
    lambda_smooth : float, default=8e-5
    lambda_sparse : float, default=8e-5
    reduction : {"sum", "mean"}, default="sum"
    """

    def __init__(self, pairing="all", lambda_smooth=8e-5, lambda_sparse=8e-5, reduction="sum"):
        super().__init__()
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean'; got {reduction!r}.")
        self.pairing = pairing
        self.lambda_smooth = lambda_smooth
        self.lambda_sparse = lambda_sparse
        self.reduction = reduction

    def forward(self, output, y, mask):
        scores = output["scores"]  # b x t
        top, _ = masked_max(scores, mask)  # b
        a, n = pairs(top[y > 0.5], top[y < 0.5], self.pairing)
        if not a.numel():
            ranking = scores.new_zeros(())
        elif self.reduction == "mean":
            ranking = torch.relu(1.0 - a + n).mean()
        else:
            # sum over the abnormal partners of each normal video, mean over
            # the normal videos that have one
            n_normal = min(int((y < 0.5).sum()), a.numel())
            ranking = torch.relu(1.0 - a + n).sum() / n_normal
        return ranking + abnormal_regularizer(
            scores, mask, y, self.lambda_smooth, self.lambda_sparse,
            reduction=self.reduction)


class MILRankingDetector(BaseVideoMILNet):
    """MIL ranking detector of Sultani, Chen & Shah (CVPR 2018).

    A 3-layer MLP scores each segment; the loss ranks the top segment of an
    abnormal video above the top segment of a normal one by a margin of 1,
    with temporal smoothness and sparsity terms on abnormal videos
    (:class:`MILRankingLoss`), plus ``l2_reg`` times the sum of the squared
    weights (the original's Keras ``l2(0.001)`` on every layer).

    The defaults are the Keras original's (``TrainingAnomalyDetector_public.py``
    of the authors' repository): the loss at its scale (``reduction="sum"``:
    hinge summed over the 30 abnormal videos of a batch and averaged over the
    30 normal ones, regularisers summed), all abnormal x normal pairs,
    squared-weight penalty, Adagrad with ``lr=0.01`` and epsilon 1e-8 (torch's
    Adagrad default is 1e-10; set ``optimizer__eps`` to change it). The widely
    used PyTorch port (ekosman/AnomalyDetectionCVPR2018-Pytorch) differs in
    four places, each reachable here::

        MILRankingDetector(reduction="mean", pairing="aligned", weight_penalty="norm",
                           optimizer=torch.optim.Adadelta)

    (mean over aligned pairs; ``l2_reg`` times the unsquared L2 norm of each
    layer's weights and biases; Adadelta with ``lr=0.01``, epsilon 1e-8). Its
    biases keep PyTorch's default initialisation where this module zeroes
    them, as Keras does, and it draws 30 + 30 videos with replacement at every
    step where this estimator passes over the videos in balanced batches,
    epoch by epoch. ``benchmarks/parity/sultani.py`` trains both on the same
    features (see the user guide's "Parity with the official code").

    On the evaluation regimes (``benchmarks/bench_regimes.py``, d=256, 3 seeds,
    frame AUC on paper / higher_norm / similar_norm / lower_norm /
    scene_bias) the defaults give 0.982 / 0.935 / 0.749 / 0.808 / 0.802, the
    mean form (``reduction="mean"``, torch's epsilon) 0.982 / 0.920 / 0.776 /
    0.825 / 0.797, the port's loss and penalty 0.981 / 0.931 / 0.776 / 0.816 /
    0.819: differences within the seed spread.

    The model never resamples its input: the original's 32 segments per video
    come from :class:`~sklearn_wsvad.SnippetReformer` in the pipeline, and its
    test protocol (every clip gets its segment's score) is
    ``inference="snippets"``::

        make_pipeline(FeatureNormClusterUndersampler(),
                      SnippetReformer(n_snippets=32, boundaries="sultani",
                                      inference="snippets"),
                      MILRankingDetector())

    Used alone, the model trains on the rows it is given (padded and masked).

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(512, 32)
        Hidden layers; all but the last use ReLU, the last is linear.
    dropout : float, default=0.6
    normalize : bool, default=True
        L2-normalise each input row, as the original does with its segment
        features.
    pairing : {"all", "aligned"}, default="all"
        Which abnormal x normal pairs of a batch the ranking hinge is taken
        over: all of them (the original code) or the i-th abnormal with the
        i-th normal video (the PyTorch port).
    reduction : {"sum", "mean"}, default="sum"
        Scale of the loss (see :class:`MILRankingLoss`): ``"sum"``, the Keras
        original's; ``"mean"``, averages over pairs and abnormal videos (the
        PyTorch port, and this library's form before this parameter existed).
    weight_penalty : {"squared", "norm"}, default="squared"
        Form of the ``l2_reg`` penalty: the sum of squared weights, biases
        excluded (Keras ``l2``, the original), or the sum over layers of the
        unsquared L2 norm of weights and biases (the PyTorch port).
    lambda_smooth : float, default=8e-5
        Weight of the temporal smoothness term.
    lambda_sparse : float, default=8e-5
        Weight of the sparsity term.
    l2_reg : float, default=1e-3
        Weight of the sum of squared layer weights added to the training loss.
    lr : float, default=0.01
    weight_decay : float, default=0.0
        Optimizer weight decay, on top of ``l2_reg``.
    max_epochs : int, default=50
        The original ran 20,000 iterations of 60 videos, about 740 passes over
        UCF-Crime's 810 abnormal training videos.
    batch_size : int, default=60
        Videos per batch, half normal and half abnormal (the original's
        30 + 30).
    optimizer : torch optimizer class, default=torch.optim.Adagrad
    device : str or torch.device, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, dropout and batch sampling of each ``fit``
        without touching the global RNGs.
    threshold : float, default=0.5
        ``predict`` threshold on the video score (the max segment score).
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
    module_ : MILRankingModule
    input_mean_, input_scale_ : ndarray of shape (n_features,) or None
        Statistics of ``input_scaling`` (None without it).
    n_features_in_ : int
    classes_ : ndarray of shape (2,)
    history_ : skorch History

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_wsvad import SnippetReformer, score_clips
    >>> from sklearn_wsvad.datasets import make_wsvad_videos
    >>> from sklearn_wsvad.models import MILRankingDetector
    >>> data = make_wsvad_videos(n_videos=40, n_features=16, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(n_snippets=32, inference="snippets"),
    ...                      MILRankingDetector(max_epochs=3, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> clip_scores = score_clips(pipe, data.videos)
    >>> [len(s) for s in clip_scores] == [len(v) for v in data.videos]
    True
    """

    _scores_are_probabilities = True

    def _score_halo(self):
        return 0  # every segment is scored on its own features

    _parameter_constraints = {
        **BaseVideoMILNet._parameter_constraints,
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "normalize": ["boolean"],
        "pairing": [StrOptions({"all", "aligned"})],
        "lambda_smooth": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_sparse": [Interval(numbers.Real, 0, None, closed="left")],
        "l2_reg": [Interval(numbers.Real, 0, None, closed="left")],
        "reduction": [StrOptions({"sum", "mean"})],
        "weight_penalty": [StrOptions({"squared", "norm"})],
    }

    def __init__(
        self,
        *,
        module=MILRankingModule,
        criterion=MILRankingLoss,
        hidden_sizes=(512, 32),
        dropout=0.6,
        normalize=True,
        pairing="all",
        reduction="sum",
        lambda_smooth=8e-5,
        lambda_sparse=8e-5,
        l2_reg=1e-3,
        weight_penalty="squared",
        lr=0.01,
        weight_decay=0.0,
        max_epochs=50,
        batch_size=60,
        optimizer=torch.optim.Adagrad,
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
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.normalize = normalize
        self.pairing = pairing
        self.reduction = reduction
        self.lambda_smooth = lambda_smooth
        self.lambda_sparse = lambda_sparse
        self.l2_reg = l2_reg
        self.weight_penalty = weight_penalty

    def _module_params(self):
        return {
            "hidden_sizes": tuple(self.hidden_sizes),
            "dropout": self.dropout,
            "normalize": self.normalize,
        }

    def _criterion_params(self):
        return {
            "pairing": self.pairing,
            "lambda_smooth": self.lambda_smooth,
            "lambda_sparse": self.lambda_sparse,
            "reduction": self.reduction,
        }

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer" and self.optimizer in (torch.optim.Adagrad,
                                                        torch.optim.Adadelta):
            kwargs.setdefault("eps", 1e-8)  # the original's and the port's epsilon
        return args, kwargs

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training and self.l2_reg:
            loss = loss + self.l2_reg * self.module_.weight_penalty(self.weight_penalty)
        return loss
