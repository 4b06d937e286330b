"""CLIP-TSA: CLIP-assisted temporal self-attention (Joo et al., ICIP 2023)."""

import numbers

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._rtfm import RTFMDetector, RTFMLoss, RTFMModule

__all__ = ["perturbed_topk_membership", "CLIPTSAModule", "CLIPTSADetector"]

#: Seed of the noise of the perturbed top-k when not training, so that
#: scoring is deterministic (the official code draws fresh noise at test).
_EVAL_NOISE_SEED = 0


class _PerturbedTopKMembership(torch.autograd.Function):
    """``P[b, t]``: the share of noisy copies of ``scores`` whose top-``k_b``
    holds step ``t``; gradient by the perturbed-optimiser estimator."""

    @staticmethod
    def forward(ctx, scores, noise, k, mask, sigma):
        perturbed = (scores[:, None, :] + sigma * noise).masked_fill(~mask[:, None, :],
                                                                     float("-inf"))
        k_max = int(k.max())
        index = perturbed.topk(k_max, dim=-1).indices  # b x n x k_max
        chosen = (torch.arange(k_max, device=scores.device) < k[:, None])[:, None, :]
        member = torch.zeros_like(perturbed).scatter_(
            2, index, chosen.expand_as(index).to(scores.dtype))
        ctx.save_for_backward(member, noise, mask)
        ctx.sigma = sigma
        return member.mean(dim=1)

    @staticmethod
    def backward(ctx, grad):
        member, noise, mask = ctx.saved_tensors
        weight = torch.einsum("bnt,bt->bn", member, grad)
        grad_scores = torch.einsum("bn,bnt->bt", weight, noise) / (member.shape[1] * ctx.sigma)
        return grad_scores * mask.to(grad.dtype), None, None, None, None


def perturbed_topk_membership(scores, mask, k, *, n_samples=100, sigma=0.05, generator=None):
    """Soft top-k: how often each step is in the top ``k`` of noisy scores.

    ``P[b, t] = mean_n 1[t in top-k_b(scores[b] + sigma Z_n)]`` over
    ``n_samples`` Gaussian draws ``Z_n`` (real steps only), so ``P`` lies in
    [0, 1] and sums to ``k_b`` over a video. The gradient with respect to
    ``scores`` is the perturbed-optimiser estimator (Berthet et al., 2020;
    the differentiable top-k of Cordonnier et al., 2021) that CLIP-TSA's code
    uses: ``(1 / (n sigma)) sum_n (sum_t M_nt dL/dP_t) Z_n`` with ``M`` the
    0/1 memberships, computed without the ``n x k x T`` one-hot tensor.

    Parameters
    ----------
    scores : tensor (b, t)
    mask : bool tensor (b, t)
    k : long tensor (b,)
        Steps to keep per video, between 1 and its real length.
    n_samples : int, default=100
    sigma : float, default=0.05
    generator : torch.Generator, default=None
        The noise's source; None draws from the global torch RNG. Noise is
        drawn as ``t x n`` and transposed, so a video's noise does not depend
        on the padding of its batch.

    Returns
    -------
    membership : tensor (b, t)
    """
    b, t = scores.shape
    if generator is None:
        noise = torch.randn(b, n_samples, t, dtype=scores.dtype, device=scores.device)
    else:  # drawn t x n on the generator's device: a step's noise never depends on t
        noise = torch.randn(t, n_samples, generator=generator, dtype=scores.dtype)
        noise = noise.to(scores.device).T[None].expand(b, n_samples, t)
    return _PerturbedTopKMembership.apply(scores, noise, k, mask, sigma)


class CLIPTSAModule(RTFMModule):
    """CLIP-TSA's network: a soft top-k re-weighting of the snippets, then RTFM's.

    A scorer MLP (``n_features -> scorer_hidden -> 1``, ReLU, sigmoid) rates
    every snippet; :func:`perturbed_topk_membership` turns the ratings into
    the probability ``P_t`` that snippet ``t`` is among the
    ``k = max(1, int(kappa T))`` best of its video; the features are
    multiplied by ``P_t`` (the sequence keeps its length) and scored by
    :class:`RTFMModule` (multi-scale temporal network, dropout, MLP). This is
    what the official code's "temporal self-attention" computes: it has no
    query/key attention of its own (the non-local block of RTFM's network is
    the only one).

    Parameters
    ----------
    n_features : int
    kappa : float, default=0.95
        Share of snippets kept (the official code's ``--k``: UCF-Crime 0.95,
        XD-Violence 0.9, ShanghaiTech 0.01).
    n_samples : int, default=100
    sigma : float, default=0.05
    scorer_hidden : int, default=256
    test_k_cap : int or None, default=1000
        Largest ``k`` when not training (the official code's cap at test,
        a memory guard of its one-hot form); None: no cap.
    n_channels : int, default=128
        Branch width of the temporal network (the official code: a quarter
        of RTFM's, 128 for 512-D CLIP features).
    hidden_sizes : tuple of int, default=(128, 32)
    dropout, magnitude_after_dropout, weight_init
        As :class:`RTFMModule`; the scorer is initialised the same way.
    """

    def __init__(self, n_features, kappa=0.95, n_samples=100, sigma=0.05, scorer_hidden=256,
                 test_k_cap=1000, n_channels=128, hidden_sizes=(128, 32), dropout=0.7,
                 magnitude_after_dropout=True, weight_init="xavier_uniform"):
        super().__init__(n_features, n_channels=n_channels, hidden_sizes=hidden_sizes,
                         dropout=dropout, magnitude_after_dropout=magnitude_after_dropout,
                         weight_init=weight_init)
        self.kappa, self.n_samples, self.sigma = kappa, n_samples, sigma
        self.test_k_cap = test_k_cap
        self.tsa_scorer = nn.Sequential(nn.Linear(n_features, scorer_hidden), nn.ReLU(),
                                        nn.Linear(scorer_hidden, 1))
        if weight_init == "xavier_uniform":
            for layer in self.tsa_scorer:
                if isinstance(layer, nn.Linear):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def tsa_weights(self, x, mask):
        """``P`` (b x t) of the videos ``x`` (b x t x d)."""
        scores = torch.sigmoid(self.tsa_scorer(x)).squeeze(-1)
        lengths = mask.sum(dim=1)
        k = torch.minimum((self.kappa * lengths.to(x.dtype)).long().clamp_min(1), lengths)
        generator = None
        if not self.training:
            if self.test_k_cap is not None:
                k = k.clamp_max(self.test_k_cap)
            generator = torch.Generator().manual_seed(_EVAL_NOISE_SEED)
        return perturbed_topk_membership(scores, mask, k, n_samples=self.n_samples,
                                         sigma=self.sigma, generator=generator)

    def forward(self, x, mask, summary=None):
        """As :meth:`RTFMModule.forward`, on the re-weighted features; the
        output also holds ``tsa_weights`` (b x t)."""
        weights = self.tsa_weights(x, mask)
        out = super().forward(x * weights[..., None], mask, summary)
        out["tsa_weights"] = weights
        return out

    def _piece_forward(self, x, mask, summary):
        return super().forward(x, mask, summary)  # x already re-weighted

    def stream_scores(self, read, n_clips, chunk):
        """Scores of one long video read piece by piece: the scorer's ratings
        first (the top-k runs over the whole video), then RTFM's two passes
        over the re-weighted pieces."""
        ratings = torch.cat([self.tsa_scorer(read(start, min(start + chunk, n_clips)))[0, :, 0]
                             for start in range(0, n_clips, chunk)])
        mask = torch.ones(1, n_clips, dtype=torch.bool, device=ratings.device)
        k = torch.tensor([max(1, min(int(self.kappa * n_clips), n_clips))],
                         device=ratings.device)
        if self.test_k_cap is not None:
            k = k.clamp_max(self.test_k_cap)
        weights = perturbed_topk_membership(
            torch.sigmoid(ratings)[None], mask, k, n_samples=self.n_samples, sigma=self.sigma,
            generator=torch.Generator().manual_seed(_EVAL_NOISE_SEED))[0]

        def weighted(start, stop):
            return read(start, stop) * weights[start:stop, None]

        return super().stream_scores(weighted, n_clips, chunk)


class CLIPTSADetector(RTFMDetector):
    """CLIP-TSA (Joo, Chung, Khan & Luu, ICIP 2023) on CLIP snippet features.

    RTFM (:class:`RTFMDetector`: feature-magnitude top-k selection, BCE on
    the selected snippets' mean score, the magnitude margin loss, smoothness
    and sparsity terms) behind a soft top-k re-weighting of the snippets
    (:class:`CLIPTSAModule`), with the official code's settings
    (joos2010kj/CLIP-TSA): a temporal network a quarter of RTFM's width
    (``n_channels=128``, scorer ``128 -> 32 -> 1``), ``kappa=0.95``, 100
    noise samples of scale 0.05, Adam (lr 1e-3, weight decay 5e-3), 16 + 16
    videos per step (``batch_size=32``) and training videos of 32 snippets
    (``SnippetReformer(n_snippets=32, boundaries="floor")`` in the pipeline).

    Differences from the official code, each a parameter or stated here:
    the official code draws new noise when it scores test videos, so its
    test scores vary from run to run; here the noise of scoring comes from a
    fixed seed, so scoring is deterministic (and a video's scores do not
    depend on its batch). Its magnitude loss and regularisers are RTFM's
    (the same defaults as :class:`RTFMDetector`). Videos are single-crop
    (the released CLIP features have one crop); ``input_scaling="standard"``
    by default (the official code feeds raw features: ``input_scaling=None``).

    Parameters
    ----------
    kappa : float, default=0.95
    n_samples : int, default=100
    sigma : float, default=0.05
    scorer_hidden : int, default=256
    test_k_cap : int or None, default=1000
        See :class:`CLIPTSAModule`.
    n_channels : int, default=128
    hidden_sizes : tuple of int, default=(128, 32)
    batch_size : int, default=32
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
        Every other parameter of :class:`RTFMDetector`, same defaults.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_wsvad import SnippetReformer
    >>> from sklearn_wsvad.datasets import make_wsvad_clip_videos
    >>> from sklearn_wsvad.models import CLIPTSADetector
    >>> data = make_wsvad_clip_videos(n_videos=20, n_features=32, random_state=0)
    >>> pipe = make_pipeline(SnippetReformer(n_snippets=32, boundaries="floor"),
    ...                      CLIPTSADetector(max_epochs=2, random_state=0))
    >>> pipe = pipe.fit(data.videos, data.target)
    >>> pipe.decision_function(data.videos).shape
    (20,)
    """

    _accepts_crops = False

    _parameter_constraints = {
        **RTFMDetector._parameter_constraints,
        "kappa": [Interval(numbers.Real, 0, 1, closed="right")],
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "sigma": [Interval(numbers.Real, 0, None, closed="neither")],
        "scorer_hidden": [Interval(numbers.Integral, 1, None, closed="left")],
        "test_k_cap": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        module=CLIPTSAModule,
        criterion=RTFMLoss,
        kappa=0.95,
        n_samples=100,
        sigma=0.05,
        scorer_hidden=256,
        test_k_cap=1000,
        k=3,
        n_channels=128,
        hidden_sizes=(128, 32),
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
        batch_size=32,
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
            module=module, criterion=criterion, k=k, n_channels=n_channels,
            hidden_sizes=hidden_sizes, dropout=dropout, margin=margin, lambda_mag=lambda_mag,
            magnitude_loss=magnitude_loss, selection_dropout=selection_dropout,
            pairing=pairing, regularizer=regularizer,
            magnitude_after_dropout=magnitude_after_dropout, weight_init=weight_init,
            crop_training=crop_training, lambda_smooth=lambda_smooth,
            lambda_sparse=lambda_sparse, lr=lr, weight_decay=weight_decay,
            max_epochs=max_epochs, batch_size=batch_size, optimizer=optimizer, device=device,
            random_state=random_state, threshold=threshold, input_scaling=input_scaling,
            verbose=verbose, n_threads=n_threads, progress_bar=progress_bar,
            **kwargs,
        )
        self.kappa = kappa
        self.n_samples = n_samples
        self.sigma = sigma
        self.scorer_hidden = scorer_hidden
        self.test_k_cap = test_k_cap

    def _module_params(self):
        return {
            **super()._module_params(),
            "kappa": self.kappa,
            "n_samples": self.n_samples,
            "sigma": self.sigma,
            "scorer_hidden": self.scorer_hidden,
            "test_k_cap": self.test_k_cap,
        }
