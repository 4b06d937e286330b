"""Magnitude MIL classifier (the core paper's eq. 3-6)."""

import numbers

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseVideoMILNet
from ._functional import masked_max, pairs

__all__ = ["MagnitudeMILModule", "MagnitudeMILLoss", "MagnitudeMILDetector"]


class MagnitudeMILModule(nn.Module):
    """Clip scorer with an explicit representation ``z``.

    ``z = ReLU(W x)`` (the representation whose norm the magnitude loss
    shapes), then an MLP on ``dropout(z)`` to one logit per clip.

    Parameters
    ----------
    n_features : int
    hidden_sizes : tuple of int, default=(512, 128)
        Size of ``z``, then of each hidden layer of the scorer.
    dropout : float, default=0.7
    """

    def __init__(self, n_features, hidden_sizes=(512, 128), dropout=0.7):
        super().__init__()
        sizes = list(hidden_sizes)
        self.embed = nn.Linear(n_features, sizes[0])
        layers = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Dropout(dropout), nn.Linear(d_in, d_out), nn.ReLU()]
        layers += [nn.Dropout(dropout), nn.Linear(sizes[-1], 1)]
        self.head = nn.Sequential(*layers)

    def forward(self, x, mask):
        """Score a padded batch.

        Parameters
        ----------
        x : tensor (b, t, d)
        mask : bool tensor (b, t)
            Unused: every clip is scored independently, so padding cannot leak.

        Returns
        -------
        dict with ``logits`` (b x t), ``scores`` = sigmoid(logits) (b x t) and
        ``features`` = z (b x t x h).
        """
        z = torch.relu(self.embed(x))  # b x t x h
        logits = self.head(z).squeeze(-1)  # b x t
        return {"logits": logits, "scores": torch.sigmoid(logits), "features": z}


class MagnitudeMILLoss(nn.Module):
    """BCE on the top clip score + lambda * feature-magnitude hinge.

    ``L = BCE(max_j s_j, y) + lambda_mag * mean_{a, n} max(0, m - ||z_a|| + ||z_n||)``
    where, per video, ``z`` is the representation of its top-scoring snippet,
    ``a`` runs over the batch's abnormal videos and ``n`` over its normal ones
    (all pairs; the term is 0 for a batch without both classes).

    Parameters
    ----------
    margin : float, default=100.0
        ``m`` of eq. 6.
    lambda_mag : float, default=1e-3
        ``lambda`` of eq. 4.
    """

    def __init__(self, margin=100.0, lambda_mag=1e-3):
        super().__init__()
        self.margin = margin
        self.lambda_mag = lambda_mag

    def forward(self, output, y, mask):
        top_logit, top = masked_max(output["logits"], mask)  # b, b
        bce = F.binary_cross_entropy_with_logits(top_logit, y.float())
        z_top = output["features"][torch.arange(top.numel(), device=top.device), top]
        norms = z_top.norm(dim=1)  # b
        a, n = pairs(norms[y > 0.5], norms[y < 0.5])
        if a.numel() == 0:
            return bce
        return bce + self.lambda_mag * torch.relu(self.margin - a + n).mean()


class MagnitudeMILDetector(BaseVideoMILNet):
    """Magnitude MIL classifier of Lee & Seo (2026), eq. 3-6.

    An MLP scores every snippet; a video's prediction is its top snippet score
    (eq. 3). The loss is the BCE of that prediction (eq. 5) plus ``lambda_mag``
    times the magnitude hinge ``max(0, m - ||z_a|| + ||z_n||)`` between the
    representations of the top snippets of abnormal and normal videos (eq. 6),
    averaged over all abnormal x normal pairs of a balanced batch.

    The canonical pipeline refines the training videos first::

        make_pipeline(FeatureNormClusterUndersampler(), SnippetReformer(),
                      MagnitudeMILDetector())

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(512, 128)
        Size of the representation ``z``, then of the scorer's hidden layers.
    dropout : float, default=0.7
    margin : float, default=100.0
        Magnitude margin ``m``.
    lambda_mag : float, default=1e-3
        Weight of the magnitude term.
    lr : float, default=1e-3
    weight_decay : float, default=5e-4
    max_epochs : int, default=50
    batch_size : int, default=64
        Videos per batch, half normal and half abnormal.
    optimizer : torch optimizer class, default=torch.optim.Adam
    device : str or torch.device, default="cpu"
        ``"cuda"`` to train and score on a GPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and batch sampling of each
        ``fit``; torch's global RNG is left as it was (None draws the seed from
        NumPy's global RNG, as scikit-learn does).
    threshold : float, default=0.5
        ``predict`` threshold on the video score.
    input_scaling : {"standard"} or None, default="standard"
        ``"standard"``: every input row is standardised with the per-feature
        mean and standard deviation of the rows ``fit`` trains on (fitted as
        ``input_mean_`` and ``input_scale_``), so raw extractor features need
        no scaler in the pipeline. None: rows are used as given (features
        scaled beforehand, as in the core experiment). The user guide's section
        "Raw features and input scaling" says why this is the default.
    verbose : int, default=0
        1 prints skorch's epoch log (in place of the progress bar).
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
        Other skorch ``NeuralNet`` parameters (``callbacks``, ``train_split``,
        ``module__*``, ``iterator_train__*``, ...).

    Attributes
    ----------
    module_ : MagnitudeMILModule
    input_mean_, input_scale_ : ndarray of shape (n_features,) or None
        Statistics of ``input_scaling`` (None without it).
    n_features_in_ : int
    classes_ : ndarray of shape (2,)
    history_ : skorch History

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_wsvad import (
    ...     FeatureNormClusterUndersampler, SnippetReformer)
    >>> from sklearn_wsvad.datasets import make_wsvad_videos
    >>> from sklearn_wsvad.models import MagnitudeMILDetector
    >>> data = make_wsvad_videos(n_videos=40, n_features=16, random_state=0)
    >>> pipe = make_pipeline(
    ...     FeatureNormClusterUndersampler(), SnippetReformer(),
    ...     MagnitudeMILDetector(max_epochs=3, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> pipe.decision_function(data.videos).shape
    (40,)
    """

    _scores_are_probabilities = True

    def _score_halo(self):
        return 0  # every clip is scored on its own features

    _parameter_constraints = {
        **BaseVideoMILNet._parameter_constraints,
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_mag": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        module=MagnitudeMILModule,
        criterion=MagnitudeMILLoss,
        hidden_sizes=(512, 128),
        dropout=0.7,
        margin=100.0,
        lambda_mag=1e-3,
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
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.margin = margin
        self.lambda_mag = lambda_mag

    def _module_params(self):
        return {"hidden_sizes": tuple(self.hidden_sizes), "dropout": self.dropout}

    def _criterion_params(self):
        return {"margin": self.margin, "lambda_mag": self.lambda_mag}
