"""VadCLIP: vision-language WSVAD with a coarse and a fine branch (Wu et al., AAAI 2024)."""

import copy
import inspect
import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from ..utils.validation import check_video_classes
from ._base import BaseVideoMILNet, _split_crops
from ._data import VideoDataset

__all__ = ["VadCLIPModule", "VadCLIPLoss", "VadCLIPDetector", "mil_top_k"]


class _QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


def _ffn(width):
    return nn.Sequential(nn.Linear(width, 4 * width), _QuickGELU(), nn.Linear(4 * width, width))


def mil_top_k(mask):
    """VadCLIP's ``k`` per video: ``floor(n / 16) + 1`` of its ``n`` real steps."""
    return mask.sum(dim=1) // 16 + 1


def _top_k_mean(values, mask, k):
    """Mean of the ``k_b`` largest real entries along time of ``values``
    (b x t or b x t x c), per video (and class)."""
    if values.ndim == 2:
        return _top_k_mean(values[..., None], mask, k)[:, 0]
    k_max = int(k.max())
    ranked = values.masked_fill(~mask[..., None], float("-inf")).topk(k_max, dim=1).values
    keep = (torch.arange(k_max, device=values.device)[None, :] < k[:, None])[..., None]
    return (ranked.masked_fill(~keep, 0.0)).sum(dim=1) / k[:, None].to(values.dtype)


class _LocalBlock(nn.Module):
    """Pre-LayerNorm Transformer block with attention inside windows."""

    def __init__(self, width, heads):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp = _ffn(width)

    def forward(self, x, blocked):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, attn_mask=blocked, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class _GraphLayer(nn.Module):
    """``A (h W) + R(h)``: ``R`` a kernel-5 temporal convolution where the
    widths differ, the identity otherwise (VadCLIP's GCN layer)."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.weight = nn.Linear(d_in, d_out, bias=False)
        nn.init.xavier_uniform_(self.weight.weight)
        self.residual = nn.Conv1d(d_in, d_out, 5, padding=2) if d_in != d_out else None

    def forward(self, h, adjacency, m):
        out = adjacency @ self.weight(h)
        res = h if self.residual is None else self.residual((h * m).transpose(1, 2)).transpose(1, 2)
        return out + res


def _token_arrays(class_tokens):
    """``class_tokens`` as numpy arrays (torch tensors detached and copied to the CPU)."""
    return [t.detach().cpu().numpy() if torch.is_tensor(t) else np.asarray(t)
            for t in class_tokens]


def _pad_tokens(class_tokens):
    """Class name token embeddings, zero-padded: ``(n_classes, longest, d_token)``
    float32, and each name's length (long)."""
    tokens = [torch.as_tensor(t, dtype=torch.float32) for t in _token_arrays(class_tokens)]
    lengths = torch.as_tensor([len(t) for t in tokens])
    names = torch.zeros(len(tokens), int(lengths.max()), tokens[0].shape[1])
    for i, t in enumerate(tokens):  # one copy per class
        names[i, :len(t)] = t
    return names, lengths


def _build_prompts(names, lengths, prefix, postfix, table=None):
    """``[start, prefix, name tokens, postfix, end]`` per class, zero after
    the end token, and the end token's index (see
    :meth:`VadCLIPModule.prompt_embeddings`). With ``table`` (one learnable
    vector per prompt position), the context and the tail after the end token
    are read from it by position (the official code's form); ``prefix`` and
    ``postfix`` then only give the context lengths."""
    n, n_pre, n_post = names.shape[0], prefix.shape[0], postfix.shape[0]
    size = int(lengths.max()) + n_pre + n_post
    slots = torch.arange(size, device=names.device)[None].expand(n, -1)
    name_len = (lengths - 2)[:, None]  # tokens between start and end
    end = n_pre + 1 + name_len + n_post  # n x 1
    # where each prompt position reads from: 0 start, 1 prefix, 2 name, 3 postfix, 4 end
    part = torch.full_like(slots, 5)
    part = torch.where(slots == 0, 0, part)
    part = torch.where((slots >= 1) & (slots <= n_pre), 1, part)
    name_at = n_pre + 1
    part = torch.where((slots >= name_at) & (slots < name_at + name_len), 2, part)
    part = torch.where((slots >= name_at + name_len) & (slots < end), 3, part)
    part = torch.where(slots == end, 4, part)
    d = names.shape[2]
    out = names.new_zeros(n, size, d)
    start = names[:, :1].expand(n, size, d)
    name_idx = (slots - n_pre).clamp(0, names.shape[1] - 1)
    name_tok = torch.gather(names, 1, name_idx[..., None].expand(-1, -1, d))
    end_tok = torch.gather(names, 1, (lengths - 1)[:, None, None].expand(-1, size, d))
    if table is not None:
        pre = post = table[:size][None].expand(n, size, d)
        out = pre.clone()  # the tail too
    else:
        pre = prefix[(slots - 1).clamp(0, max(n_pre - 1, 0))] if n_pre else out
        post_idx = (slots - name_at - name_len).clamp(0, max(n_post - 1, 0))
        post = postfix[post_idx] if n_post else out
    out = torch.where((part == 0)[..., None], start, out)
    out = torch.where((part == 1)[..., None], pre, out)
    out = torch.where((part == 2)[..., None], name_tok, out)
    out = torch.where((part == 3)[..., None], post, out)
    out = torch.where((part == 4)[..., None], end_tok, out)
    return out, end[:, 0]


class VadCLIPModule(nn.Module):
    """VadCLIP's network on CLIP snippet features and class text embeddings.

    * **LGT-Adapter**: learned position embeddings (``max_length``), a local
      Transformer whose attention stays inside windows of ``window`` steps,
      then a global GCN: two layers over the feature-similarity graph (cosine
      above ``similarity_threshold``, row softmax over the video's steps, as
      the official code) and two over the position graph
      ``exp(-|i - j| / e)``, concatenated and projected (``X``);
    * **C-branch**: ``logits1 = Linear(X + FFN(X))``, the coarse anomaly
      score ``sigmoid(logits1)``;
    * **A-branch**: the class text features, either the given text
      embeddings plus a learnable residual (zero at start: the stand-in for
      VadCLIP's learnable prompt) or, with ``text_encoder``, the encoder's
      output for learnable prompts around each class name's tokens
      (:meth:`prompt_embeddings`); plus the
      visual prompt (the sum of ``X`` weighted by ``logits1``, unit norm),
      through an FFN with residual; ``logits2 = cos(X, t_c) / temperature``.

    Padding never reaches a real step: windows and graphs cover real steps
    only, and the visual prompt sums over them (the official code attends to
    and sums over its zero padding too).

    Parameters
    ----------
    n_features : int
    text_embeddings : array-like of shape (n_classes, width), default=None
        Row 0 the normal class. Ignored with ``text_encoder``.
    max_length : int, default=256
    local_layers : int, default=2
    heads : int, default=1
    window : int, default=8
    similarity_threshold : float, default=0.7
    temperature : float, default=0.07
    text_adapter : bool, default=True
    visual_prompt : {"logits", "sigmoid", "none"}, default="logits"
        Weights of the visual prompt: the raw C-branch logits (the official
        code), their sigmoid (the paper's anomaly confidence), or no prompt.
    text_encoder : torch.nn.Module, default=None
        Frozen text encoder: ``text_encoder(prompts, end)`` with ``prompts``
        of shape ``(n_classes, L, d_token)`` and ``end`` the index of each
        prompt's end token (``n_classes``, long) returns the text features
        ``(n_classes, width)``. See :class:`VadCLIPDetector`.
    class_tokens : sequence of n_classes arrays of shape (n_tokens_c, d_token)
        Each class name's token embeddings, start token first and end token
        last. Required with ``text_encoder``.
    prompt_prefix, prompt_postfix : int, default=10
        Learnable context vectors before and after the class name (official).
    prompt_context : {"shared", "positional"}, default="shared"
        See :class:`VadCLIPDetector`.
    """

    def __init__(self, n_features, text_embeddings=None, max_length=256, local_layers=2,
                 heads=1, window=8, similarity_threshold=0.7, temperature=0.07,
                 text_adapter=True, visual_prompt="logits", text_encoder=None,
                 class_tokens=None, prompt_prefix=10, prompt_postfix=10,
                 prompt_context="shared"):
        super().__init__()
        self.window, self.threshold = window, similarity_threshold
        self.temperature, self.visual_prompt = temperature, visual_prompt
        self.text_encoder = text_encoder
        if text_encoder is not None:
            names, lengths = _pad_tokens(class_tokens)
            self.register_buffer("class_tokens", names)
            self.register_buffer("token_lengths", lengths)
            width_tok = names.shape[2]
            self.prefix = nn.Parameter(torch.empty(prompt_prefix, width_tok))
            self.postfix = nn.Parameter(torch.empty(prompt_postfix, width_tok))
            self.register_parameter("context", None)
            if prompt_context == "positional":  # the official table; prefix/postfix unused
                size = names.shape[1] + prompt_prefix + prompt_postfix
                self.context = nn.Parameter(torch.empty(size, width_tok))
                self.prefix.requires_grad_(False)
                self.postfix.requires_grad_(False)
            for parameter in (self.prefix, self.postfix, self.context):
                if parameter is not None:
                    nn.init.normal_(parameter, std=0.01)  # the official initialisation
            for parameter in text_encoder.parameters():
                parameter.requires_grad_(False)
            text_encoder.eval()
            with torch.no_grad():
                width = self.class_text().shape[1]
        else:
            # a copy: loading weights must never write into the user's array
            text = torch.tensor(np.asarray(text_embeddings, dtype=np.float32))
            width = text.shape[1]
            self.register_buffer("text", text)
            self.text_delta = nn.Parameter(torch.zeros_like(text), requires_grad=text_adapter)
        self._build_adapter(n_features, width, max_length, local_layers, heads)

    def _build_adapter(self, n_features, width, max_length, local_layers, heads):
        """The LGT-Adapter, the C-branch and the A-branch's text FFN."""
        self.project = nn.Linear(n_features, width) if n_features != width else nn.Identity()
        self.position = nn.Embedding(max_length, width)
        nn.init.normal_(self.position.weight, std=0.01)
        self.local = nn.ModuleList(_LocalBlock(width, heads) for _ in range(local_layers))
        half = width // 2
        self.similarity_gcn = nn.ModuleList([_GraphLayer(width, half), _GraphLayer(half, half)])
        self.position_gcn = nn.ModuleList([_GraphLayer(width, half), _GraphLayer(half, half)])
        self.merge = nn.Linear(2 * half, width)
        self.c_ffn, self.c_head = _ffn(width), nn.Linear(width, 1)
        self.text_ffn = _ffn(width)

    def train(self, mode=True):
        super().train(mode)
        if mode:  # training changes the text (skorch sets eval mode for every batch it scores)
            self._text_cache = None
        if getattr(self, "text_encoder", None) is not None:
            self.text_encoder.eval()  # frozen, as CLIP in the official code
        return self

    def _apply(self, fn, *args, **kwargs):
        self._text_cache = None  # moved or cast: computed again
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):
        self._text_cache = None
        return super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self):
        state = super().__getstate__()
        state["_text_cache"] = None
        return state

    def prompt_embeddings(self):
        """The learnable prompts (``n_classes x L x d_token``) and the index
        of each one's end token: ``[start, prefix context, class name tokens,
        postfix context, end]``, zero after the end."""
        return _build_prompts(self.class_tokens, self.token_lengths, self.prefix, self.postfix,
                              getattr(self, "context", None))

    def class_text(self):
        """The class text features before the visual prompt (n_classes x width).

        Computed at every call in training; in eval mode without gradients
        (scoring) computed once and kept until the module trains, moves or
        loads weights again (a text encoder is not run for every batch)."""
        if self.training or torch.is_grad_enabled():
            return self._compute_text()
        cached = getattr(self, "_text_cache", None)
        if cached is None:
            cached = self._text_cache = self._compute_text()
        return cached

    def _compute_text(self):
        if getattr(self, "text_encoder", None) is None:  # (or pickled before it existed)
            return self.text + self.text_delta
        prompts, end = self.prompt_embeddings()
        return self.text_encoder(prompts, end).to(prompts.dtype)

    def forward(self, x, mask):
        """``x``: b x t x d (t <= max_length), ``mask``: b x t. Returns
        ``scores`` (sigmoid of ``logits1``, b x t), ``logits1`` (b x t),
        ``logits2`` and ``class_probs`` (b x t x n_classes) and ``text``."""
        features, logits1 = self.adapt(x, mask)
        text = self.class_text()
        logits2 = self.align(features, logits1, mask, text)
        return {
            "scores": torch.sigmoid(logits1),
            "logits1": logits1,
            "logits2": logits2,
            "class_probs": torch.softmax(logits2, dim=-1),
            "text": text,
        }

    def adapt(self, x, mask):
        """The LGT-Adapter's features ``X`` (b x t x width, zero on padding)
        and the C-branch logits (b x t)."""
        b, t, _ = x.shape
        m = mask[..., None].to(x.dtype)
        steps = torch.arange(t, device=x.device)
        h = (self.project(x) + self.position(steps)[None]) * m
        # local attention: same window and a real key (each step may see itself)
        same = (steps[:, None] // self.window) == (steps[None, :] // self.window)
        allowed = (same[None] & mask[:, None, :]) | torch.eye(t, dtype=torch.bool,
                                                               device=x.device)[None]
        blocked = (~allowed).repeat_interleave(self.local[0].attn.num_heads, dim=0) \
            if len(self.local) else None
        for block in self.local:
            h = block(h, blocked) * m
        both = (mask[:, :, None] & mask[:, None, :]).to(x.dtype)
        unit = F.normalize(h, dim=-1)
        cos = unit @ unit.transpose(1, 2)
        cos = torch.where(cos > self.threshold, cos, torch.zeros_like(cos))
        similarity = torch.softmax(cos.masked_fill(both == 0, float("-inf")), dim=-1)
        similarity = torch.nan_to_num(similarity) * both  # padded rows: no messages
        distance = torch.exp(-(steps[:, None] - steps[None, :]).abs().to(x.dtype) / math.e)
        distance = distance[None] * both
        g = _QuickGELU()
        a = g(self.similarity_gcn[1](g(self.similarity_gcn[0](h, similarity, m)), similarity, m))
        p = g(self.position_gcn[1](g(self.position_gcn[0](h, distance, m)), distance, m))
        features = self.merge(torch.cat([a, p], dim=-1)) * m  # X
        logits1 = self.c_head(features + self.c_ffn(features)).squeeze(-1) * mask
        return features, logits1

    def align(self, features, logits1, mask, text):
        """The A-branch: ``logits2`` (b x t x n_classes), the cosine of each
        step's features with the class text plus the visual prompt, over the
        temperature."""
        b = features.shape[0]
        if self.visual_prompt == "none":
            prompted = text[None].expand(b, -1, -1)
        else:
            w = logits1 if self.visual_prompt == "logits" else torch.sigmoid(logits1)
            visual = F.normalize((w * mask)[..., None].mul(features).sum(dim=1), dim=-1)
            prompted = text[None] + visual[:, None, :]
        prompted = prompted + self.text_ffn(prompted)
        return (F.normalize(features, dim=-1) @ F.normalize(prompted, dim=-1).transpose(1, 2)
                / self.temperature)


class VadCLIPLoss(nn.Module):
    """``L = BCE(top-k mean score, y) + MIL-Align + lambda_text * text separation``.

    ``k = floor(n / 16) + 1`` per video (:func:`mil_top_k`). MIL-Align: per
    class, the mean of the video's ``k`` largest ``logits2`` of that class;
    cross-entropy of their softmax with the video's classes (normalised to
    sum 1: several classes share the target). Without the videos' classes
    (``y_true`` holding the 0/1 label only), an abnormal video's target is
    "some anomaly class" (``-log`` of the probabilities of the anomaly
    classes summed) and a normal video's the normal class. Text separation:
    the mean over anomaly classes of ``|cos(t_normal, t_c)|`` of the class
    text features before the visual prompt (the official code's form).

    Parameters
    ----------
    lambda_text : float, default=0.1
        The official UCF-Crime weight (XD-Violence: 1e-4).
    """

    def __init__(self, lambda_text=0.1):
        super().__init__()
        self.lambda_text = lambda_text

    def forward(self, output, y, mask):
        k = mil_top_k(mask)
        return (_coarse_loss(output, y, mask, k) + _mil_align(output, y, mask, k)
                + self.lambda_text * _text_separation(output["text"]))


def _video_labels(y):
    """The 0/1 video labels of a target (``y`` or ``[y, class indicators]``)."""
    return y[:, 0] if y.ndim == 2 else y


def _coarse_loss(output, y, mask, k):
    """BCE of the mean of each video's ``k`` highest scores against its label."""
    top = _top_k_mean(output["scores"], mask, k).clamp(0.0, 1.0)
    return F.binary_cross_entropy(top, _video_labels(y).to(top.dtype))


def _class_log_likelihood(log_p, y):
    """Per video, the log-likelihood of its classes under ``log_p`` (b x C):
    the mean over the video's classes (``y``'s indicators, column 0 normal),
    or without them "some anomaly class" for an abnormal video and the normal
    class for a normal one."""
    if y.ndim == 2 and y.shape[1] > 1:
        target = y[:, 1:].to(log_p.dtype)
        target = target / target.sum(dim=1, keepdim=True).clamp_min(1.0)
        return (target * log_p).sum(dim=1)
    anomaly = torch.logsumexp(log_p[:, 1:], dim=1)
    return torch.where(_video_labels(y) > 0.5, anomaly, log_p[:, 0])


def _mil_align(output, y, mask, k):
    """MIL-Align: cross-entropy of the softmax over classes of the mean of
    each class's ``k`` highest ``logits2`` with the video's classes."""
    log_p = torch.log_softmax(_top_k_mean(output["logits2"], mask, k), dim=-1)  # b x C
    return -_class_log_likelihood(log_p, y).mean()


def _text_separation(text):
    """Mean over anomaly classes of ``|cos(t_normal, t_c)|``."""
    text = F.normalize(text, dim=-1)
    return (text[1:] @ text[0]).abs().mean() if text.shape[0] > 1 else text.new_zeros(())


class _ClassDataset(VideoDataset):
    """Videos with targets ``[y, class indicators...]`` (``y`` alone for the
    balanced sampler)."""

    def __init__(self, videos, y, classes):
        super().__init__(videos, y)
        self.targets = np.column_stack([np.asarray(y, dtype=np.float32),
                                        np.asarray(classes, dtype=np.float32)])

    def __getitem__(self, i):
        return self.videos[i], self.targets[i]


class VadCLIPDetector(BaseVideoMILNet):
    """VadCLIP (Wu, Zhang, Wu et al., AAAI 2024) on CLIP snippet features.

    A frozen CLIP's snippet features pass through the Local-Global Temporal
    Adapter (:class:`VadCLIPModule`); the C-branch scores each snippet's
    anomaly (trained by the BCE of the mean of its video's ``floor(n/16)+1``
    highest scores), and the A-branch aligns every snippet with the class
    text embeddings (MIL-Align: per class, the mean of the ``k`` highest
    alignments, cross-entropy over classes with the video's classes).
    ``score_clips`` / ``decision_function`` give the coarse (C-branch)
    score (or ``1 - p(normal)``, ``anomaly_score="alignment"``);
    :meth:`predict_proba_clips` the per-clip class probabilities
    (softmax of the alignments; column 0 normal) for
    :func:`~sklearn_wsvad.detection_map`.

    **Classes.** ``fit(X, y, video_classes=...)`` takes each video's classes
    (class indices, 0 for normal, or a 0/1 matrix; see
    :func:`~sklearn_wsvad.utils.check_video_classes`), routed like
    ``frame_labels`` in a Pipeline or search
    (``VadCLIPDetector().set_fit_request(video_classes=True)`` with metadata
    routing on). Without them an abnormal video's target is "some anomaly
    class" (see :class:`VadCLIPLoss`).

    **Text.** Either of two inputs, row 0 the normal class:

    * ``text_embeddings`` (``n_classes x d``): CLIP text embeddings of the
      class prompts, as ``encode_text`` returns them (e.g. the PEL4VAD
      prompt embeddings). VadCLIP learns a prompt through CLIP's text
      encoder; with embeddings only, the learnable prompt becomes a
      learnable residual added to each class embedding (zero at start,
      ``text_adapter=True``; ``False`` keeps the embeddings fixed).
    * ``text_encoder`` and ``class_tokens``: the learnable prompt proper.
      ``class_tokens[c]`` holds class ``c``'s name as token embeddings
      (``n_tokens_c x d_token``, start token first, end token last: CLIP's
      ``token_embedding`` of the tokenised name, cut after the end token).
      The model builds ``[start, prefix, name, postfix, end]`` with
      ``prompt_prefix`` and ``prompt_postfix`` learnable context vectors
      (shared by the classes, initialised N(0, 0.01) as the official code),
      zero after the end token, and calls ``text_encoder(prompts, end)``
      (``prompts``: ``n_classes x L x d_token``; ``end``: long tensor of the
      end token's index in each prompt), which must return the text
      features ``n_classes x d``. The encoder is frozen (its parameters are
      not trained, it stays in eval mode); the model holds a float32 copy,
      pickled and moved to ``device`` with it (the parameter itself is
      never modified; it is checked once on its own device and precision).
      ``class_tokens`` may be arrays or tensors. For CLIP's text transformer::

          class CLIPText(torch.nn.Module):  # the text side only: no visual tower
              def __init__(self, clip_model):
                  super().__init__()
                  self.transformer = clip_model.transformer
                  self.ln_final = clip_model.ln_final
                  self.positional_embedding = clip_model.positional_embedding
                  self.text_projection = clip_model.text_projection
              def forward(self, prompts, end):
                  n, length, _ = prompts.shape   # pad to CLIP's 77 positions
                  x = F.pad(prompts, (0, 0, 0, 77 - length))
                  x = x + self.positional_embedding
                  x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
                  return self.ln_final(x)[torch.arange(n), end] @ self.text_projection

      ``prompt_context="positional"`` is the official form: one learnable
      vector per prompt position, read by absolute position (so the postfix
      vectors differ between names of different lengths), and the positions
      after the end token filled from the same table; the default
      ``"shared"`` gives every class the same context and a zero tail (with
      CLIP's causal mask the tail does not reach the end token, so the two
      differ only in how the postfix is shared).

    **Test protocol.** As the official code: a video longer than
    ``max_length`` snippets is scored in consecutive pieces of
    ``max_length``, each on its own (positions, windows and graphs restart
    in each piece). Training videos longer than ``max_length`` are refused:
    pool them first (``SnippetReformer(n_snippets=256, boundaries="floor",
    short_videos="keep")``,
    the official code's ``process_feat``: videos longer than 256 snippets
    mean-pooled to 256, shorter ones kept as they are).

    Differences from the official code (nwpu-zxr/VadCLIP), each a parameter
    or stated here: padding is masked everywhere (the official local
    attention, similarity graph and visual prompt include its zero padding,
    so there a video's scores depend on its padding); the learnable prompt
    as above; AdamW at the official ``lr=2e-5`` and batch (64 normal + 64
    abnormal: ``batch_size=128``) but without its learning-rate steps (x0.1
    at epochs 4 and 8 of its 10 epochs; add them with skorch's callback,
    ``callbacks=[LRScheduler(policy=torch.optim.lr_scheduler.MultiStepLR,
    milestones=[4, 8], gamma=0.1)]``); no model selection on the test set
    (the official code keeps the checkpoint of best test AUC and reloads it
    every epoch).

    **Few training videos.** The official code makes about 1,250 steps
    (125 per epoch on UCF-Crime's 10-crop features); with a few hundred
    videos, ``batch_size=128`` leaves one or two steps per epoch. Measured
    on the synthetic data (frame AUC, 3 seeds; ``make_wsvad_clip_videos``,
    d=512, aligned / misaligned, and the I3D-like ``paper`` regime at d=64
    with random class text; 100 training videos pooled to 32 snippets, 50
    epochs):
    the defaults 0.685 / 0.641 / 0.589; ``batch_size=32`` 0.713 / 0.670 /
    0.667; ``lr=1e-4`` 0.696 / 0.710 / 0.738; both 0.686 / 0.701 / 0.816. With 200
    training videos the defaults hold: seed 0, 0.749 (aligned) and 0.784
    (misaligned) against 0.700 and 0.715 at ``lr=1e-4``. With about 100
    videos, set ``batch_size=32``. On the ``paper`` regime (d=64) the raw
    feature norm reaches 0.802 and only the last setting passes it: VadCLIP is made
    for CLIP features, whose norms carry no anomaly signal.

    **Input.** ``input_scaling=None`` by default: CLIP features are compared
    with text embeddings by cosine, which standardisation would break.

    Parameters
    ----------
    text_embeddings : array-like of shape (n_classes, d), default=None
        Required unless ``text_encoder`` is given.
    max_length : int, default=256
    local_layers : int, default=2
        UCF-Crime 2, XD-Violence 1 (official).
    heads : int, default=1
    window : int, default=8
        UCF-Crime 8, XD-Violence 64 (official).
    similarity_threshold : float, default=0.7
    temperature : float, default=0.07
    text_adapter : bool, default=True
    visual_prompt : {"logits", "sigmoid", "none"}, default="logits"
    text_encoder : torch.nn.Module, default=None
        Frozen text encoder for learnable prompts (see **Text**); replaces
        ``text_embeddings``.
    class_tokens : sequence of arrays of shape (n_tokens_c, d_token), default=None
        Required with ``text_encoder``.
    prompt_prefix : int, default=10
        Learnable context vectors before the class name (official 10).
    prompt_postfix : int, default=10
        Learnable context vectors after the class name (official 10).
    prompt_context : {"shared", "positional"}, default="shared"
        The context shared by the classes, or the official position table
        (see **Text**).
    lambda_text : float, default=0.1
        Weight of the text separation (UCF-Crime 0.1, XD-Violence 1e-4).
    anomaly_score : {"coarse", "alignment"}, default="coarse"
        What ``score_clips`` and ``decision_function`` return: the C-branch
        score (the official UCF-Crime evaluation) or ``1 - p(normal)`` of the
        A-branch (the score of the official XD-Violence AP). On the
        synthetic CLIP-like data (200 training videos, 3 seeds) the second
        gave frame AUC 0.796 (aligned) / 0.798 (misaligned) against 0.781 /
        0.774 for the first.
    lr : float, default=2e-5
        The official learning rate (see **Few training videos**).
    weight_decay : float, default=0.01
        AdamW's default, as the official code.
    max_epochs : int, default=50
    batch_size : int, default=128
    optimizer : torch optimizer class, default=torch.optim.AdamW
    input_scaling : {"standard"} or None, default=None
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
        Other :class:`~sklearn_wsvad.models.BaseVideoMILNet` / skorch
        parameters (``device``, ``random_state``, ``threshold``, ...).

    Examples
    --------
    >>> from sklearn_wsvad.datasets import make_wsvad_clip_videos
    >>> from sklearn_wsvad.models import VadCLIPDetector
    >>> data = make_wsvad_clip_videos(n_videos=20, n_features=32, random_state=0)
    >>> model = VadCLIPDetector(text_embeddings=data.text_embeddings, max_epochs=2,
    ...                         random_state=0)
    >>> model = model.fit(data.videos, data.target, video_classes=data.video_classes)
    >>> model.predict_proba_clips(data.videos[:1])[0].shape[1]
    7
    """

    _scores_are_probabilities = True

    _parameter_constraints = {
        **BaseVideoMILNet._parameter_constraints,
        "max_length": [Interval(numbers.Integral, 1, None, closed="left")],
        "local_layers": [Interval(numbers.Integral, 0, None, closed="left")],
        "heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "window": [Interval(numbers.Integral, 1, None, closed="left")],
        "similarity_threshold": [Interval(numbers.Real, -1, 1, closed="both")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "text_adapter": ["boolean"],
        "visual_prompt": [StrOptions({"logits", "sigmoid", "none"})],
        "lambda_text": [Interval(numbers.Real, 0, None, closed="left")],
        "anomaly_score": [StrOptions({"coarse", "alignment"})],
        "text_encoder": [None, nn.Module],
        "class_tokens": [None, "array-like", list, tuple],
        "prompt_prefix": [Interval(numbers.Integral, 0, None, closed="left")],
        "prompt_postfix": [Interval(numbers.Integral, 0, None, closed="left")],
        "prompt_context": [StrOptions({"shared", "positional"})],
    }

    def __init__(
        self,
        *,
        module=VadCLIPModule,
        criterion=VadCLIPLoss,
        text_embeddings=None,
        max_length=256,
        local_layers=2,
        heads=1,
        window=8,
        similarity_threshold=0.7,
        temperature=0.07,
        text_adapter=True,
        visual_prompt="logits",
        text_encoder=None,
        class_tokens=None,
        prompt_prefix=10,
        prompt_postfix=10,
        prompt_context="shared",
        lambda_text=0.1,
        anomaly_score="coarse",
        lr=2e-5,
        weight_decay=0.01,
        max_epochs=50,
        batch_size=128,
        optimizer=torch.optim.AdamW,
        device="cpu",
        random_state=None,
        threshold=0.5,
        input_scaling=None,
        verbose=0,
        n_threads="auto",
        progress_bar="auto",
        **kwargs,
    ):
        super().__init__(
            module, criterion, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
            max_epochs=max_epochs, batch_size=batch_size, device=device,
            random_state=random_state, threshold=threshold, input_scaling=input_scaling,
            verbose=verbose, n_threads=n_threads, progress_bar=progress_bar,
            **kwargs,
        )
        self.text_embeddings = text_embeddings
        self.max_length = max_length
        self.local_layers = local_layers
        self.heads = heads
        self.window = window
        self.similarity_threshold = similarity_threshold
        self.temperature = temperature
        self.text_adapter = text_adapter
        self.visual_prompt = visual_prompt
        self.text_encoder = text_encoder
        self.class_tokens = class_tokens
        self.prompt_prefix = prompt_prefix
        self.prompt_postfix = prompt_postfix
        self.prompt_context = prompt_context
        self.lambda_text = lambda_text
        self.anomaly_score = anomaly_score

    def __setstate__(self, state):
        # estimators pickled before these parameters existed get their defaults
        for name in ("text_encoder", "class_tokens", "prompt_prefix", "prompt_postfix",
                     "prompt_context", "anomaly_score"):
            state.setdefault(name, inspect.signature(type(self)).parameters[name].default)
        super().__setstate__(state)

    def __setattr__(self, name, value):
        if name == "text_encoder":
            # a parameter, not a component skorch initialises: set it as sklearn would
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

    def _text(self):
        """Validated text input: ``(n_classes, width)`` of the class text features."""
        if self.text_encoder is not None:
            return self._encoder_text_shape()
        text = self.text_embeddings
        if text is None:
            raise ValueError(
                "VadCLIPDetector needs text_embeddings: one CLIP text embedding per class "
                "(n_classes x d, row 0 the normal class), e.g. encode_text of the class "
                "prompts, or the released PEL4VAD prompt embeddings; or a text_encoder "
                "with class_tokens."
            )
        text = np.asarray(text, dtype=np.float64)
        if text.ndim != 2 or text.shape[0] < 2 or not np.isfinite(text).all():
            raise ValueError(
                "text_embeddings must be a finite array of shape (n_classes, d) with at "
                f"least 2 rows (normal and an anomaly class); got shape {text.shape}."
            )
        return self._check_width(text.shape)

    @staticmethod
    def _check_width(shape):
        if shape[1] % 2:
            raise ValueError(
                f"The class text features have odd width {shape[1]}: the adapter's graph "
                "layers split it in two halves; CLIP's is 512."
            )
        return shape

    #: How the text encoder is called (for the messages).
    _encoder_signature = "text_encoder(prompts, end)"

    def _encoder_probe_inputs(self, names, lengths):
        """The arguments of the validation call of the text encoder, what
        they are (for the message), and a check of its output (or None)."""
        context = [torch.zeros(n, names.shape[2]) for n in (self.prompt_prefix,
                                                            self.prompt_postfix)]
        prompts, end = _build_prompts(names, lengths, *context)
        return (prompts, end), (
            f"the prompts built from class_tokens (prompts of shape {tuple(prompts.shape)}: "
            f"n_classes x L x d_token; end: {len(names)} end-token indices)"), None

    def _encoder_text_shape(self):
        if not isinstance(self.text_encoder, nn.Module):
            raise TypeError(
                f"text_encoder must be a torch.nn.Module called as {self._encoder_signature} "
                f"-> (n_classes, d); got {type(self.text_encoder).__name__}."
            )
        tokens = self.class_tokens
        if tokens is None or len(tokens) < 2:
            raise ValueError(
                "text_encoder needs class_tokens: one array (n_tokens, d_token) per class, "
                "row 0 the normal class, each its class name's token embeddings with the "
                "start token first and the end token last; got "
                f"{'None' if tokens is None else f'{len(tokens)} class(es)'}."
            )
        arrays = _token_arrays(tokens)
        widths = {a.shape[1] if a.ndim == 2 else None for a in arrays}
        if (None in widths or len(widths) != 1 or min(len(a) for a in arrays) < 2
                or not all(np.isfinite(a).all() for a in arrays)):
            raise ValueError(
                "class_tokens must be finite arrays of shape (n_tokens_c, d_token) with one "
                "d_token and at least 2 tokens (start and end) each; got shapes "
                f"{[a.shape for a in arrays]}."
            )
        args, what, check = self._encoder_probe_inputs(*_pad_tokens(arrays))
        encoder = self.text_encoder
        first = next(encoder.parameters(), None)
        if first is not None:  # probe on the encoder's own device and precision
            args = tuple(a if not torch.is_tensor(a) else a.to(first.device, first.dtype)
                         if a.is_floating_point() else a.to(first.device) for a in args)
        modes = [(m, m.training) for m in encoder.modules()]
        try:  # one call, in eval mode (restored after), no copy
            with torch.no_grad():
                out = encoder.eval()(*args)
        except (TypeError, RuntimeError, ValueError, IndexError) as error:
            raise ValueError(f"{self._encoder_signature} failed on {what}: {error}") from error
        finally:
            for m, mode in modes:
                m.training = mode
        out = torch.as_tensor(out)
        if out.ndim != 2 or out.shape[0] != len(arrays):
            raise ValueError(
                f"text_encoder returned shape {tuple(out.shape)} for {len(arrays)} classes; "
                "expected (n_classes, d): one feature vector per class."
            )
        if check is not None:
            check(out)
        return self._check_width(tuple(out.shape))

    def _module_params(self):
        self._text()  # validated here too: initialize() may come before fit
        params = {
            "max_length": self.max_length,
            "local_layers": self.local_layers,
            "heads": self.heads,
            "window": self.window,
            "similarity_threshold": self.similarity_threshold,
            "temperature": self.temperature,
            "text_adapter": self.text_adapter,
            "visual_prompt": self.visual_prompt,
        }
        if self.text_encoder is None:
            return {**params, "text_embeddings": np.asarray(self.text_embeddings)}
        # a copy in float32 on the CPU (skorch moves the model to ``device``): the
        # estimator's parameter stays as given (and frozen only in the model)
        encoder = copy.deepcopy(self.text_encoder).to("cpu").float()
        return {**params, "text_encoder": encoder,
                "class_tokens": _token_arrays(self.class_tokens),
                "prompt_prefix": self.prompt_prefix, "prompt_postfix": self.prompt_postfix,
                "prompt_context": self.prompt_context}

    def _criterion_params(self):
        return {"lambda_text": self.lambda_text}

    def _check_params(self):
        super()._check_params()
        width = self._text()[1]
        if width % self.heads:
            raise ValueError(
                f"heads={self.heads} must divide the class text features' width {width}."
            )

    def _batch_scores(self, output):
        if self.anomaly_score == "alignment":
            return 1.0 - output["class_probs"][..., 0]
        return output["scores"]

    def _score_halo(self):
        return 0  # the official protocol: independent pieces of max_length

    def _score_piece_clips(self):
        return self.max_length

    def fit(self, X, y, video_classes=None):
        """Train on videos, their labels and (optionally) their classes.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)
            At most ``max_length`` snippets each.
        y : array-like of shape (n_videos,)
        video_classes : array-like of shape (n_videos,) or (n_videos, n_classes), default=None
            Each video's class(es), column 0 normal; must agree with ``y``.

        Returns
        -------
        self : object
        """
        self._check_params()
        n_classes = self._text()[0]
        self._train_classes = None if video_classes is None else check_video_classes(
            video_classes, n_videos=len(y) if hasattr(y, "__len__") else None,
            n_classes=n_classes, y=y)
        try:
            return super().fit(X, y)
        finally:
            self._train_classes = None

    def _check_training_data(self, X, y, n_features=None):
        videos, y = super()._check_training_data(X, y, n_features=n_features)
        longest = max(len(v) for v in videos)
        if longest > self.max_length:
            raise ValueError(
                f"A training video has {longest} snippets but max_length={self.max_length}: "
                "pool the training videos first, e.g. SnippetReformer(n_snippets="
                f"{self.max_length}, boundaries='floor', short_videos='keep') in the "
                "pipeline (the official code's pooling of the longer videos), or raise "
                "max_length."
            )
        return videos, y

    def get_dataset(self, X, y=None):
        classes = getattr(self, "_train_classes", None)
        if y is None or classes is None:
            return super().get_dataset(X, y)
        bags, owner = _split_crops(X)
        return _ClassDataset(bags, np.asarray(y)[owner], classes[owner])

    def predict_proba_clips(self, X):
        """Per-clip class probabilities (the A-branch), column 0 the normal class.

        Parameters
        ----------
        X : sequence of ndarray of shape (n_clips_i, n_features)

        Returns
        -------
        probabilities : list of ndarray of shape (n_clips_i, n_classes)
        """
        return self._per_clip(X, lambda output: output["class_probs"])
