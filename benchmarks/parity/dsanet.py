"""DSANetDetector against the official DSANet code (lessiYin/DSANet) on the same features.

Given a local checkout of the official repository (``--repo``), for each
seed this script

1. draws CLIP-like videos with fine-grained classes
   (``make_wsvad_clip_videos``: ``--n-classes`` anomaly classes, row 0 the
   normal class) and splits them stratified by class (as ``_clip_split`` of
   ``sklearn_wsvad/cli/_reproduce.py``), as ``vadclip.py`` does;
2. builds one seeded random CLIP-like text tower (see **Text**) that both
   codes get;
3. trains the official ``DSANet`` (``src/model.py``, UCF-Crime settings of
   ``src/ucf_option.py``: 2 local layers, window 8, 1 head, text adapters
   after the first ``--text-adapter-layers`` (3) text layers with blend
   ``t_w`` 0.1, SG-NM with 16 prototypes, selection ratio 0.8 and
   ``--decoder-depth`` (8) decoder blocks, ``DNP_use`` on, ``loss2_weight``
   1.1) with the official ``train()`` of ``src/ucf_train.py`` (its seven
   losses; AdamW at lr 7e-5 with ``CosineAnnealingLR(T_max=epochs)`` stepped
   per epoch for everything but SG-NM; ``StableAdamW`` at lr 7e-5 with its
   100-step warm-up and cosine ``WarmCosineScheduler`` stepped per step for
   SG-NM; a normal and an abnormal loader of ``--batch-size`` videos each,
   shuffled, ``drop_last``, ``min(len)`` steps per epoch) and the official
   ``UCFDataset.__getitem__`` (``process_feat``: videos longer than
   ``--visual-length`` uniformly pooled to it, shorter ones zero-padded) for
   ``--epochs`` epochs, then scores every test video with the official
   ``test()`` of ``src/ucf_test.py`` (``process_split``: independent chunks
   of ``--visual-length``; the fused class probabilities
   ``refine_scores_hierarchical`` at the UCF-Crime temperature 5);
4. trains ``DSANetDetector`` with the official UCF-Crime settings
   (``max_length`` = ``--visual-length``, ``decoder_depth``,
   ``text_adapter_layers``, ``text_adapter_blend=0.1``, ``lr=7e-5``,
   ``align_weight=1.1``, ``lambda_text=1``, ``fusion_temperature=5``,
   ``batch_size`` = 2 x ``--batch-size``, balanced) on the same training
   videos, those longer than ``--visual-length`` pooled to it as the
   official ``process_feat`` does (``SnippetReformer(boundaries="floor")``,
   checked at run time), the shorter ones left as they are, fitted with
   ``video_classes=`` the training classes for the same number of optimizer
   steps (whole library epochs, ``parity_common.fit_and_score``), and scores
   the same test videos;

and prints, mean ± std over seeds, the coarse frame AUC of the C-branch
(``sigmoid(logits1)``, the official evaluation of AUC), the average of
mAP@IoU 0.1:0.5 (``sklearn_wsvad.detection_map``, tested equal to the
official ``getDetectionMAP``) on the fused class probabilities (the official
``refine_scores_hierarchical``, the library's ``predict_proba_clips`` with
``class_scores="fused"``), seconds per training step and test clips per
second for both, with library / official ratios from the same run. Both
codes' metrics are computed by the library's functions on the same frame
labels (the official ``test()``'s own AUC1 is printed per seed as a check).

**Text.** The official ``CLIP_Adapter.encode_text`` (model.py:118-145) runs
CLIP's text transformer with an adapter after each of the first
``text_adapt_until`` layers, ``ln_final`` at the end token and its own
``SimpleProj`` (Linear + LeakyReLU) instead of CLIP's ``text_projection``.
CLIP's weights (``clip.load``) cannot be downloaded here, so ``clip.load`` is
stubbed to return a **seeded random** CLIP built by the official
``src/clip/model.py`` ``CLIP`` class itself (its own ``initialize_parameters``:
text width = ``--n-features``, ``--text-layers`` causal layers, width / 64
heads as ``build_model``, context ``--context-length``, CLIP's vocabulary
size; a one-patch vision tower that is never run), and ``clip.tokenize`` to
return fixed token ids per class description ``[SOT, 1 to 3 word ids, EOT, 0,
...]`` (CLIP's SOT 49406 and EOT 49407, the largest id, so that the official
``argmax`` finds the end token; word ids drawn once per seed). The library
gets the **same** tower (a copy) through its ``text_encoder(tokens, end,
after_layer)`` protocol (``CLIPTextLayers`` below, the form of the
``DSANetDetector`` docstring) and ``class_tokens`` = the token embeddings of
each class's ids up to its end token. The text computation is then the same
in both codes except for the random initial weights of the trainable
adapters and projection (Xavier in both); the per-seed line prints the
largest difference of the two codes' class text features after the official
training with the official trained adapter weights copied into a library
module (it must be ~1e-7). The class descriptions are the data's class names
(``normal``, ``class_1``, ...), one each, set as the official
``DESCRIPTIONS_ORI`` / ``DESCRIPTIONS_ORI_XD`` (module attributes of the
loaded ``model.py``; the official code picks one by ``len(text) == 14``).

``--text embeddings`` instead gives both codes the data's class text
embeddings as the final hidden states: the official model gets a "CLIP" with
no text layers, an identity ``ln_final`` and a token table holding the
embeddings (``clip.tokenize`` returns the class index), so that its
``encode_text`` is ``SimpleProj(e_c)``; the library gets
``text_embeddings=`` (``normalize(LeakyReLU(P e_c))``). The adapters then
have no layer to act on (in both codes).

Shims (the official code is imported from ``--repo`` at run time and is not
a dependency; none of the following changes a number except where stated):

* ``clip`` (imported by model.py) is a stub package: ``clip.load`` and
  ``clip.tokenize`` as in **Text** (``clip/clip.py`` is not imported: it
  needs ``ftfy``, ``regex``, ``PIL``, ``torchvision`` and the download);
  ``clip.model`` is the checkout's ``src/clip/model.py``, unchanged.
* ``model.py``: ``CLIP_Adapter`` hard-codes CLIP ViT-B's text width in
  ``SimpleAdapter(512, 512)`` and ``SimpleProj(512, 512, relu=True)``
  (model.py:107-108); both become the loaded CLIP's text width (2 asserted
  textual substitutions; no change at width 512).
* ``DistanceAdj.forward`` (utils/layers.py:176,178) moves its matrix
  ``.to('cuda')``: both become ``.to('cpu')`` (2 asserted substitutions).
* ``utils/adapter_modules.py`` imports ``ipdb`` (unused) and
  ``utils/dataset.py`` ``pandas``: each is stubbed while importing when it
  is not installed, then removed again. The datasets are ``UCFDataset``
  with only its ``__init__`` replaced (the rows of one class, or all test
  videos, instead of a CSV), as in ``vadclip.py``; ``__getitem__``
  (``process_feat`` / ``process_split``) runs unchanged.
* ``ucf_train.train`` is loaded with asserted textual substitutions:

  - the test-set evaluation every 10 steps (``if step % 1280 == 0``,
    ucf_train.py:245), the checkpoint of best test AUC, and its reload at
    the end of every epoch and of training (ucf_train.py:277-282, whose
    ``torch.load`` would also need ``map_location``) are switched off: the
    official model is the one after the last step, as the library's.
    **This changes the official result** (the official code selects its
    model on the test set), deliberately;
  - when ``--n-classes`` is not 13, the text separation's ``/ 13``
    (ucf_train.py:232, UCF-Crime's 13 anomaly classes) becomes
    ``/ (number of classes - 1)``: the mean over the anomaly classes, as in
    the library. At 13 it is left unchanged.

  Its schedules run as published: the SG-NM ``WarmCosineScheduler`` is
  sized for ``epochs x (len(normal loader) + len(abnormal loader))`` steps,
  twice the steps run (the UCF bug, SPEC P13), after 100 warm-up steps from
  lr 0; the main ``CosineAnnealingLR`` decays per epoch to 0 at the end.
* ``test()`` of ucf_test.py runs unchanged, with ``DNP_use=True`` as the
  official ``ucf_test.py`` main (SG-NM runs on the test chunks and its
  outputs are discarded; the library skips it at test time), so the
  official test timing includes SG-NM. Its module names ``dmAP`` (the
  UCF-Crime detection mAP, whose class list is hard-coded) and
  ``roc_auc_score`` are wrapped to record what they receive (the fused
  per-frame class probabilities and the C-branch frame scores); the mAP
  wrapper returns zeros and the metrics are computed here for both codes.
  Its prints are discarded. The text cache ``_text_features_cache``
  (SPEC P10) is filled at this one evaluation, from the final weights.
* ``DSANet`` is built with ``embed_dim = visual_width = --n-features``
  (constructor arguments, CLIP's is 512) and ``visual_length =
  --visual-length`` (a multiple of the window, 8); its ``args`` namespace
  holds the UCF-Crime options of ucf_option.py with ``decoder_depth`` and
  ``text_adapt_until`` from the command line.

Label strings: normal videos are ``'Normal'``, the others ``'Class<c>'``,
with ``label_map`` from those to the data's class names (with 6 anomaly
classes ``get_batch_label`` takes its XD-Violence branch, which gives the
same one-hot vectors for single-class videos).

Documented differences of the library (each stated in the
``DSANetDetector`` docstring) that this comparison includes: padding masked
out (windows, graphs, visual prompt, and DSANet's SG-NM selection of
``floor(0.8 n)`` of the ``n`` real steps instead of ``floor(0.8 L)`` of the
``L`` padded positions, the gather loss and the DCSA pooling); no
learning-rate schedule (official: per-epoch cosine for the main group, a
warm-up + cosine per step for SG-NM); SG-NM's group uses AdamW with AMSGrad,
eps 1e-10 and weight decay 1e-4 instead of ``StableAdamW`` (whose update
clipping is left out); no model selection on the test set.

The defaults are scaled down from UCF-Crime's (d 512, 256 snippets, 64 + 64
videos, 10 epochs of 125 steps, 12 text layers of width 512) as
``vadclip.py``'s: d 128, ``--visual-length`` 64, 16 + 16 videos, 60 epochs
of 5 steps (300 steps), a text tower of 12 layers of width 128, and the
official 8 decoder blocks (``--decoder-depth 2`` for a quicker run). The
library's pooling of the long training videos is done before its timed
fit; the official ``process_feat`` runs in its loaders, inside its timing.

Example (about 23 minutes with one thread here: 0.8 s per official step and
0.65 s per library step at the official decoder depth 8; ``--decoder-depth
2`` about 0.55 and 0.4 s)::

    git clone https://github.com/lessiYin/DSANet /tmp/DSANet
    python benchmarks/parity/dsanet.py --repo /tmp/DSANet --seeds 3
"""

import contextlib
import copy
import importlib.util
import io
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layouts import clip_frames  # noqa: E402
from parity_common import (  # noqa: E402
    add_run_options,
    difference,
    fit_and_score,
    make_parser,
    mean_std_column,
    module_from_source,
    paired_loaders,
    parse_overrides,
    print_table,
    ratio,
    steps_column,
    substitute,
    timing_columns,
)
from sklearn.utils import Bunch  # noqa: E402
from vadclip import (  # noqa: E402  (the same data, datasets, pooling and shims as VadCLIP's)
    _LAYERS_SUBSTITUTIONS,
    _TRAIN_SUBSTITUTIONS,
    _borrowed_modules,
    _dataset,
    _WithClasses,
    pool_like_official,
    split,
)

from sklearn_wsvad import detection_map, frame_roc_auc_score  # noqa: E402
from sklearn_wsvad.models import DSANetDetector  # noqa: E402
from sklearn_wsvad.models._dsanet import DSANetModule, fused_class_probabilities  # noqa: E402

#: model.py: CLIP_Adapter hard-codes CLIP ViT-B's text width (512)
_MODEL_SUBSTITUTIONS = [
    ("SimpleAdapter(512, 512)",
     "SimpleAdapter(clipmodel.token_embedding.embedding_dim, "
     "clipmodel.token_embedding.embedding_dim)"),
    ("SimpleProj(512, 512, relu=True)",
     "SimpleProj(clipmodel.token_embedding.embedding_dim, "
     "clipmodel.token_embedding.embedding_dim, relu=True)"),
]
#: ucf_train.py: the text separation's mean over UCF-Crime's 13 anomaly classes
_N_CLASSES_SUBSTITUTION = ("loss3 = loss3 / 13\n",
                           "loss3 = loss3 / (text_features.shape[0] - 1)\n")

#: ucf_option.py (UCF-Crime)
OFFICIAL_LR, OFFICIAL_BLEND, OFFICIAL_TEMP, OFFICIAL_LOSS2_WEIGHT = 7e-5, 0.1, 5.0, 1.1
OFFICIAL_PROTOTYPES, OFFICIAL_RATIO = 16, 0.8
#: CLIP's tokenizer: vocabulary size, start and end token ids (the end the largest)
CLIP_VOCAB, CLIP_SOT, CLIP_EOT = 49408, 49406, 49407
#: offset of the text tower's seed from the run's seed
TEXT_SEED = 1000


class CLIPTextLayers(torch.nn.Module):
    """A CLIP text tower as the library's ``text_encoder(tokens, end,
    after_layer)`` (the form of the ``DSANetDetector`` docstring): the token
    embeddings padded to the context, plus the positional embeddings,
    through the causal blocks (``after_layer`` batch first after each),
    ``ln_final`` at the end token."""

    def __init__(self, clip_model):
        super().__init__()
        self.transformer = clip_model.transformer
        self.ln_final = clip_model.ln_final
        self.positional_embedding = clip_model.positional_embedding

    def forward(self, tokens, end, after_layer):
        n, length, _ = tokens.shape
        x = F.pad(tokens, (0, 0, 0, self.positional_embedding.shape[0] - length))
        x = (x + self.positional_embedding).permute(1, 0, 2)
        for i, block in enumerate(self.transformer.resblocks):
            x = after_layer(i, block(x).permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_final(x.permute(1, 0, 2))[torch.arange(n), end]


class _EmbeddingTower(torch.nn.Module):
    """``--text embeddings``: what ``CLIP_Adapter.encode_text`` uses of CLIP,
    with no text layer, an identity ``ln_final`` and the class text
    embeddings as the token table (token id = class index)."""

    def __init__(self, embeddings):
        super().__init__()
        table = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)
        self.token_embedding = torch.nn.Embedding.from_pretrained(table)
        self.positional_embedding = torch.nn.Parameter(torch.zeros(1, table.shape[1]))
        self.transformer = torch.nn.Module()
        self.transformer.resblocks = torch.nn.Sequential()
        self.ln_final = torch.nn.Identity()


def import_official(repo, n_classes):
    """The official ``model``, ``ucf_train``, ``ucf_test``, ``utils.dataset``,
    ``utils.tools`` and ``clip.model`` modules of the checkout, with the
    shims; ``text`` is the stubs' state (the tower ``clip.load`` returns a
    copy of and the ids ``clip.tokenize`` returns per description)."""
    src = Path(repo).resolve() / "src"
    if not all((src / name).exists() for name in ("model.py", "utils/dnp_vision_transformer.py")):
        raise SystemExit(f"{repo} is not a checkout of lessiYin/DSANet (no src/model.py)")
    stubs = [name for name in ("pandas", "ipdb") if importlib.util.find_spec(name) is None]
    text = types.SimpleNamespace(tower=None, ids={})
    names = ["clip", "utils", "model", "ucf_train", "ucf_test", "ucf_option", *stubs]
    with _borrowed_modules(names):
        for name in stubs:  # imported, never used (UCFDataset.__init__ is replaced)
            sys.modules[name] = types.ModuleType(name)
        clip_pkg, clip_mod = types.ModuleType("clip"), types.ModuleType("clip.clip")
        clip_pkg.__path__ = [str(src / "clip")]  # clip.model: the checkout's, unchanged

        def load(name, device="cpu", **kwargs):
            """No download: a copy of the seeded random tower of this seed."""
            return copy.deepcopy(text.tower).to(device), None

        def tokenize(texts, context_length=77, truncate=False):
            """Fixed ids per description (no ftfy / regex / BPE)."""
            texts = [texts] if isinstance(texts, str) else texts
            return torch.stack([text.ids[t] for t in texts])

        clip_mod.load, clip_mod.tokenize, clip_pkg.clip = load, tokenize, clip_mod
        sys.modules.update({"clip": clip_pkg, "clip.clip": clip_mod})
        utils_pkg = types.ModuleType("utils")
        utils_pkg.__path__ = [str(src / "utils")]
        sys.modules["utils"] = utils_pkg
        layers = substitute((src / "utils" / "layers.py").read_text(), _LAYERS_SUBSTITUTIONS,
                            "utils/layers.py")
        utils_pkg.layers = module_from_source("utils.layers", layers,
                                              str(src / "utils" / "layers.py"))
        model_source = substitute((src / "model.py").read_text(), _MODEL_SUBSTITUTIONS,
                                  "model.py")
        train_source = substitute((src / "ucf_train.py").read_text(), _TRAIN_SUBSTITUTIONS,
                                  "ucf_train.py")
        if n_classes != 13:
            train_source = substitute(train_source, [_N_CLASSES_SUBSTITUTION], "ucf_train.py")
        sys.path.insert(0, str(src))
        try:
            import clip.model as official_clip_model

            official_model = module_from_source("model", model_source, str(src / "model.py"))
            import ucf_test as official_test
            import utils.dataset as official_dataset
            import utils.tools as official_tools

            official_train = module_from_source("ucf_train", train_source,
                                                str(src / "ucf_train.py"))
        finally:
            sys.path.remove(str(src))
    return types.SimpleNamespace(model=official_model, train=official_train,
                                 test=official_test, dataset=official_dataset,
                                 tools=official_tools, clip_model=official_clip_model, text=text)


def text_tower(official, args, train, seed):
    """Set the stubs' tower and token ids for this seed (see **Text**) and
    return the library's text arguments."""
    names = train.class_names
    if args.text == "embeddings":
        official.text.tower = _EmbeddingTower(train.text_embeddings)
        official.text.ids = {name: torch.tensor([c]) for c, name in enumerate(names)}
        return {"text_embeddings": train.text_embeddings}
    with torch.random.fork_rng():
        torch.manual_seed(TEXT_SEED + seed)
        tower = official.clip_model.CLIP(
            embed_dim=args.n_features, image_resolution=16, vision_layers=1, vision_width=64,
            vision_patch_size=16, context_length=args.context_length, vocab_size=CLIP_VOCAB,
            transformer_width=args.n_features,
            transformer_heads=max(1, args.n_features // 64),
            transformer_layers=args.text_layers).eval()
    rng = np.random.RandomState(TEXT_SEED + seed)
    ids, tokens = {}, []
    for c, name in enumerate(names):
        sequence = [CLIP_SOT, *rng.randint(1, CLIP_SOT, size=1 + c % 3), CLIP_EOT]
        row = torch.zeros(args.context_length, dtype=torch.long)
        row[:len(sequence)] = torch.as_tensor(sequence)
        ids[name] = row
        tokens.append(tower.token_embedding.weight[row[:len(sequence)]].detach().numpy().copy())
    official.text.tower, official.text.ids = tower, ids
    return {"text_encoder": CLIPTextLayers(copy.deepcopy(tower)), "class_tokens": tokens}


def _options(args, folder):
    """The official ``args`` (ucf_option.py, UCF-Crime) of this run."""
    return types.SimpleNamespace(
        gt_path=folder / "gt.npy", gt_segment_path=folder / "gt_segment.npy",
        gt_label_path=folder / "gt_label.npy", lr=OFFICIAL_LR, max_epoch=args.epochs,
        use_checkpoint=False, checkpoint_path=None, model_path=None,
        visual_length=args.visual_length, batch_size=args.batch_size,
        decoder_depth=args.decoder_depth, normal_selection_ratio=OFFICIAL_RATIO,
        num_prototypes=OFFICIAL_PROTOTYPES, DNP_use=True,
        text_adapt_until=args.text_adapter_layers, t_w=OFFICIAL_BLEND, temp=OFFICIAL_TEMP,
        loss2_weight=OFFICIAL_LOSS2_WEIGHT)


def run_official(official, train, test, scratch, args, seed):
    from torch.utils.data import DataLoader

    label_map = {"Normal": train.class_names[0],
                 **{f"Class{k}": name for k, name in enumerate(train.class_names) if k}}
    descriptions = {name: [name] for name in train.class_names}  # one each, row 0 normal
    official.model.DESCRIPTIONS_ORI = official.model.DESCRIPTIONS_ORI_XD = descriptions
    folder = Path(scratch) / f"seed{seed}"
    folder.mkdir(parents=True)

    def rows(part, split_name):
        out = []
        for i, (video, label) in enumerate(zip(part.videos, part.labels)):
            path = folder / f"{split_name}{i:04d}.npy"
            np.save(path, np.asarray(video, dtype=np.float32))
            out.append({"path": str(path), "label": label})
        return out

    train_rows, test_rows = rows(train, "train"), rows(test, "test")
    options = _options(args, folder)
    width = args.n_features
    torch.manual_seed(seed)  # its initialisation (and below its loaders' shuffling)
    model = official.model.DSANet(
        len(train.class_names), width, args.visual_length, width, 1, 2, 8, 10, 10, options,
        "cpu")
    loaders = paired_loaders(
        lambda normal: _dataset(official,
                                [r for r in train_rows if (r["label"] == "Normal") == normal],
                                args.visual_length, False, label_map),
        args.batch_size)
    test_loader = DataLoader(_dataset(official, test_rows, args.visual_length, True, label_map),
                             batch_size=1, shuffle=False)
    n_test_clips = [len(v) for v in test.videos]
    gt = clip_frames(test)
    np.save(folder / "gt.npy", gt)
    empty = np.empty(len(test.videos), dtype=object)
    empty[:] = [[] for _ in test.videos]
    np.save(folder / "gt_segment.npy", empty)  # read by train(), unused after the shims
    np.save(folder / "gt_label.npy", empty)
    steps = args.epochs * min(len(loader) for loader in loaders)
    if steps == 0:
        raise SystemExit(f"--batch-size {args.batch_size} exceeds a class's training videos")
    start = time.perf_counter()
    official.train.train(model, loaders[0], loaders[1], test_loader, options, label_map, "cpu")
    train_seconds = time.perf_counter() - start

    recorded = {"frames": [], "probs": None}
    roc_auc_score = official.test.roc_auc_score

    def record_roc(y_true, y_score):
        recorded["frames"].append(np.asarray(y_score))
        return roc_auc_score(y_true, y_score)

    def record_map(predictions, segments, labels, excludeNormal=False):  # noqa: N803
        recorded["probs"] = predictions
        return [0.0] * 5, [0.1, 0.2, 0.3, 0.4, 0.5]

    dmap = official.test.dmAP
    official.test.roc_auc_score, official.test.dmAP = record_roc, record_map
    try:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            auc1, _ = official.test.test(model, test_loader, args.visual_length,
                                         list(label_map.values()), gt, empty, empty,
                                         options.DNP_use, "cpu", options)
        test_seconds = time.perf_counter() - start
    finally:
        official.test.roc_auc_score, official.test.dmAP = roc_auc_score, dmap
    cuts = np.cumsum(n_test_clips)[:-1]
    coarse = np.split(recorded["frames"][0][::16], cuts)
    probs = [p[::16] for p in recorded["probs"]]
    return Bunch(coarse=coarse, probs=probs, own_auc=auc1, steps=steps, model=model,
                 prompt_text=list(label_map.values()),
                 s_step=train_seconds / steps, clips_s=sum(n_test_clips) / test_seconds)


def check_text(official, result, library_text, args):
    """Largest difference between the official class text features and the
    library's (``DSANetModule.class_text``) with the official trained adapter
    and projection weights copied into a library module."""
    model = result.model
    with torch.random.fork_rng(), torch.no_grad():
        module = DSANetModule(args.n_features, max_length=args.visual_length, sgnm=False,
                              text_adapter_layers=args.text_adapter_layers,
                              text_adapter_blend=OFFICIAL_BLEND, **copy.deepcopy(library_text))
        adapters = model.clip_adapter.text_adapter
        for i, adapter in enumerate(module.text_adapters):
            adapter.weight.weight.copy_(adapters[i].fc[0].weight)
        module.text_projection.weight.copy_(adapters[-1].fc[0].weight)
        model.train()  # recomputed (in eval mode it is the cache of test())
        theirs = model.get_text_features(result.prompt_text)
        model.eval()
        return float((module.class_text() - theirs).abs().max())


def check_fusion(official):
    """Largest difference between the library's fused class probabilities and
    the official ``refine_scores_hierarchical`` (temperature 5) on random logits."""
    generator = torch.Generator().manual_seed(0)
    logits1 = 4 * torch.randn(500, generator=generator)
    logits2 = 20 * torch.randn(500, 7, generator=generator)
    theirs = official.test.refine_scores_hierarchical(logits1[:, None], logits2, OFFICIAL_TEMP)
    return float((fused_class_probabilities(logits1, logits2, OFFICIAL_TEMP) - theirs)
                 .abs().max())


def official_settings(args, library_text):
    """The library parameters of the official UCF-Crime settings."""
    return {"max_length": args.visual_length, "decoder_depth": args.decoder_depth,
            "n_prototypes": OFFICIAL_PROTOTYPES, "normal_ratio": OFFICIAL_RATIO,
            "text_adapter_layers": args.text_adapter_layers,
            "text_adapter_blend": OFFICIAL_BLEND, "lr": OFFICIAL_LR,
            "align_weight": OFFICIAL_LOSS2_WEIGHT, "lambda_text": 1.0,
            "fusion_temperature": OFFICIAL_TEMP, "class_scores": "fused",
            "anomaly_score": "coarse", "batch_size": 2 * args.batch_size, **library_text}


def run_library(train_pooled, test, args, seed, steps, settings):
    per_class = settings["batch_size"] // 2

    def make_pipe(epochs):
        return _WithClasses(
            DSANetDetector(max_epochs=epochs, random_state=seed, **settings),
            train_pooled.video_classes)

    pipe, coarse, s_step, clips_s, done = fit_and_score(
        make_pipe, train_pooled, test, steps, max(np.bincount(train_pooled.target)), per_class)
    probs = pipe.model.predict_proba_clips(test.videos)
    return Bunch(coarse=coarse, probs=probs, steps=done, s_step=s_step, clips_s=clips_s)


def metrics(test, result):
    return (frame_roc_auc_score(test.frame_labels, result.coarse),
            100 * float(np.mean(detection_map(test.segments, result.probs))),
            result.s_step, result.clips_s, result.steps)


def main(argv=None):
    parser = make_parser(__doc__, "lessiYin/DSANet")
    parser.add_argument("--regime", default="aligned", choices=["aligned", "misaligned"])
    parser.add_argument("--seeds", type=int, default=3,
                        help="number of seeds (0, 1, ...: data, split, initialisations)")
    parser.add_argument("--epochs", type=int, default=60,
                        help="official epochs (the code's 10, of 125 steps on UCF-Crime)")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="normal (and abnormal) videos per step (the code's 64)")
    parser.add_argument("--visual-length", type=int, default=64,
                        help="training length and test chunk (the code's 256)")
    parser.add_argument("--n-features", type=int, default=128,
                        help="d: feature and text width (CLIP ViT-B: 512)")
    parser.add_argument("--n-classes", type=int, default=6, help="anomaly classes")
    parser.add_argument("--n-videos", type=int, default=240)
    parser.add_argument("--test-size", type=float, default=0.3)
    parser.add_argument("--decoder-depth", type=int, default=8,
                        help="SG-NM decoder blocks (official 8)")
    parser.add_argument("--text", default="encoder", choices=["encoder", "embeddings"],
                        help="both codes get the same random CLIP-like text tower (encoder) "
                             "or the data's class text embeddings as final hidden states")
    parser.add_argument("--text-layers", type=int, default=12,
                        help="layers of the random text tower (CLIP: 12)")
    parser.add_argument("--text-adapter-layers", type=int, default=3,
                        help="text layers followed by an adapter (UCF-Crime 3, XD-Violence 1)")
    parser.add_argument("--context-length", type=int, default=77,
                        help="text context of the random tower (CLIP: 77)")
    add_run_options(parser, set_help="DSANetDetector parameter for the library run")
    args = parser.parse_args(argv)
    if args.visual_length % 8:
        raise SystemExit("--visual-length must be a multiple of the window, 8 (model.py:300-309)")
    if args.n_features % 8:
        raise SystemExit("--n-features must be divisible by SG-NM's 8 heads")
    if args.text == "encoder" and args.text_layers < args.text_adapter_layers:
        raise SystemExit("--text-layers must be at least --text-adapter-layers")
    torch.set_num_threads(args.threads)
    params = parse_overrides(args.set)

    rows = {"official": [], "library": []}
    official = import_official(args.repo, args.n_classes)
    fusion = check_fusion(official)
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.seeds):
            train, test = split(args, seed)
            library_text = text_tower(official, args, train, seed)
            result = run_official(official, train, test, scratch, args, seed)
            rows["official"].append(metrics(test, result))
            text_diff = check_text(official, result, library_text, args)
            result.pop("model")
            pooled, worst = pool_like_official(official, train.videos, args.visual_length)
            train_pooled = Bunch(**{**train, "videos": pooled})
            lib = run_library(train_pooled, test, args, seed, result.steps,
                              {**official_settings(args, library_text), **params})
            rows["library"].append(metrics(test, lib))
            print(f"seed {seed}: official AUC {rows['official'][-1][0]:.3f} (its test(): "
                  f"{result.own_auc:.3f}), avg mAP {rows['official'][-1][1]:.2f}; library AUC "
                  f"{rows['library'][-1][0]:.3f}, avg mAP {rows['library'][-1][1]:.2f}; "
                  f"text features max |diff| {text_diff:.2g}; pooling vs process_feat "
                  f"max |diff| {worst:.2g}", flush=True)

    tower = ("the data's text embeddings" if args.text == "embeddings" else
             f"a random CLIP text tower of {args.text_layers} layers, adapters after "
             f"{args.text_adapter_layers}")
    print(f"\nDSANet parity: regime={args.regime}, d={args.n_features}, {args.n_classes} "
          f"anomaly classes, {args.n_videos} videos ({args.test_size:.0%} test), "
          f"visual_length={args.visual_length}, {args.batch_size} + {args.batch_size} videos "
          f"per step, decoder depth {args.decoder_depth}, text: {tower}; {args.seeds} seeds; "
          f"official: {args.epochs} epochs, lr {OFFICIAL_LR:g}, AdamW + per-epoch cosine, "
          f"SG-NM StableAdamW + warm-up/cosine per step, no test-set selection; library: "
          f"no LR schedule, SG-NM group AdamW(amsgrad)"
          + (f", overrides {params}" if params else "")
          + f"; fused probabilities vs refine_scores_hierarchical max |diff| {fusion:.2g}")
    print_table(rows, [steps_column(4), mean_std_column("AUC (C-branch)", 0, end=" "),
                       mean_std_column("avg mAP (%)  ", 1, "5.2f"), *timing_columns(2, 3)])
    print(f"\nlibrary - official: AUC (C) {difference(rows, 0):+.3f}, "
          f"avg mAP {difference(rows, 1):+.2f}; "
          f"s / step ratio (library / official): {ratio(rows, 2):.2f}; "
          f"clips / s ratio: {ratio(rows, 3):.2f}")


if __name__ == "__main__":
    main()
