"""VadCLIPDetector against the official VadCLIP code (nwpu-zxr/VadCLIP) on the same features.

Given a local checkout of the official repository (``--repo``), for each
seed this script

1. draws CLIP-like videos with fine-grained classes
   (``make_wsvad_clip_videos``: ``--n-classes`` anomaly classes, row 0 of
   the text embeddings the normal class) and splits them stratified by class
   (as ``_clip_split`` of ``sklearn_wsvad/cli/_reproduce.py``);
2. trains the official ``CLIPVAD`` (``src/model.py``, UCF-Crime settings of
   ``src/ucf_option.py``: 2 local layers, window 8, 1 head) with the official
   ``train()`` of ``src/ucf_train.py`` (its losses ``CLAS2`` + ``CLASM`` + the
   text separation, AdamW at lr 2e-5, a normal and an abnormal loader of
   ``--batch-size`` videos each, shuffled, ``drop_last``, ``min(len)`` steps
   per epoch, ``MultiStepLR`` x0.1 per epoch) and the official
   ``UCFDataset.__getitem__`` (``process_feat``: videos longer than
   ``--visual-length`` uniformly pooled to it, shorter ones zero-padded)
   for ``--epochs`` epochs, then scores every test video with the official
   ``test()`` of ``src/ucf_test.py`` (``process_split``: independent chunks
   of ``--visual-length``);
3. trains ``VadCLIPDetector`` with the library's defaults (``max_length`` =
   ``--visual-length``; ``batch_size`` = 2 x ``--batch-size``, the official
   batch, balanced) on the same training videos, those longer than
   ``--visual-length`` pooled to it by
   ``SnippetReformer(n_snippets=--visual-length, boundaries="floor")``, which
   is the official ``uniform_extract`` (checked at run time); shorter videos
   are left as they are, as the official code does (a ``SnippetReformer`` in
   a pipeline would also stretch them to ``--visual-length``), fitted with
   ``video_classes=`` the training classes, for the same number of optimizer
   steps (whole library epochs, ``parity_common.fit_and_score``), and scores
   the same test videos;

and prints, mean ± std over seeds, the coarse frame AUC of the C-branch
(``sigmoid(logits1)``), the frame AUC of the A-branch (``1 - p(normal)``),
the average of mAP@IoU 0.1:0.5 (``sklearn_wsvad.detection_map`` on the
per-clip class probabilities, tested equal to the official
``getDetectionMAP``; the normal class evaluated like any class, as the
XD-Violence evaluation), seconds per training step and test clips per second
for both, with library / official ratios from the same run. Both codes'
frame metrics are computed by the library's functions on the same frame
labels (the official ``test()``'s own AUC1 is printed per seed as a check).

**The one deliberate difference: the text input.** The official
``CLIPVAD.encode_textprompt`` (model.py:185-200) passes learnable prompts
through the frozen CLIP text encoder, whose weights (``clip.load``) cannot be
downloaded here, and with random CLIP weights the result would mean nothing.
It is replaced in the official model by the library's documented stand-in:
the given text embeddings plus a learnable residual initialised at zero (the
library's ``text_adapter=True``). Both codes therefore start from the same
class text features, and the comparison covers everything else: the
LGT-Adapter, both branches, the visual prompt, the losses, the training loop
and batches, the learning-rate schedule and the test protocol.

Shims (the official code is imported from ``--repo`` at run time and is not
a dependency; none of the following changes a number except where stated):

* ``clip`` (imported by model.py) is stubbed: ``clip.load`` returns an empty
  module instead of downloading ViT-B/16. The CLIP model is only used by
  ``encode_textprompt``, which the stand-in replaces, and its parameters are
  frozen (model.py:111-113), so no computation and no optimizer step sees it.
  Its unused learnable prompt table (``text_prompt_embeddings``) gets no
  gradient, so AdamW skips it, as it skips the unused ``DistanceAdj.sigma``.
* ``DistanceAdj.forward`` (utils/layers.py:176,178) moves its matrix
  ``.to('cuda')``: both become ``.to('cpu')`` (2 asserted textual
  substitutions in the loaded source). The UCF code path has no ``.cuda()``
  call (the model and batches go ``.to(device)``, with ``device="cpu"``), so
  no ``Tensor.cuda`` shim is needed.
* ``utils/dataset.py`` imports ``pandas`` (stubbed while importing when it
  is not installed, then removed again). The training and test datasets are
  ``UCFDataset`` with only its ``__init__`` replaced: instead of reading a CSV
  it holds the rows (path of the video's ``.npy`` written here, label) of one
  class for the two training loaders, as the official ``__init__`` selects
  them, or all test videos; ``__getitem__`` (``process_feat`` /
  ``process_split``) runs unchanged.
* ``ucf_train.train`` is loaded with asserted textual substitutions:

  - the test-set evaluation every 10 steps (``if step % 1280 == 0``,
    ucf_train.py:99), the checkpoint of best test AUC, and its reload at the
    end of every epoch and of training (ucf_train.py:115-120) are switched
    off: the official model is the one after the last step, as the library's.
    **This changes the official result** (the official code selects its
    model on the test set), deliberately;
  - when ``--n-classes`` is not 13, the text separation's ``/ 13``
    (ucf_train.py:91, UCF-Crime's 13 anomaly classes) becomes
    ``/ (number of classes - 1)``: the mean over the anomaly classes, as in
    the library. At 13 it is left unchanged.

* ``test()`` of ucf_test.py runs unchanged; its module names ``dmAP`` (the
  UCF-Crime detection mAP, whose class list is hard-coded) and
  ``roc_auc_score`` are wrapped to record what they receive (the per-frame
  class probabilities and the frame scores of both branches); the mAP
  wrapper returns zeros and the metrics are computed here for both codes.
  Its prints are discarded.
* ``CLIPVAD`` is built with ``embed_dim = visual_width = --n-features``
  (constructor arguments; model.py hard-codes no width, CLIP's is 512) and
  ``visual_length = --visual-length`` (a multiple of the window, 8, as its
  block mask needs, model.py:124-135); the library gets
  ``max_length = --visual-length``.
* ``--epochs`` other than the official 10: the milestones [4, 8] are scaled
  to the same fractions of training (``round(0.4 E), round(0.8 E)``) unless
  ``--milestones`` gives them; the library has no learning-rate steps (its
  documented difference).

Label strings: normal videos are ``'Normal'``, the others ``'Class<c>'``, with
``label_map`` from those to ``class_names``, which ``get_batch_label`` turns
into the one-hot class vectors (with 6 anomaly classes it takes its
XD-Violence branch, which gives the same vectors for single-class videos).

The defaults are scaled down from UCF-Crime's (d 512, 256 snippets, 64 + 64
videos, 10 epochs of 125 steps) so that a seed takes about 2 minutes on one
CPU thread: d 128, ``--visual-length`` 64, 16 + 16 videos, 60 epochs of 5
steps (300 steps, LR steps at epochs 24 and 48). Both codes run at the same
settings; ``--milestones none`` runs the official code without its LR steps.
The library's pooling of the long training videos is done before its timed
fit; the official ``process_feat`` runs in its loaders, inside its timing.

Example (about 6 minutes with one thread here: 0.2 s per step for each code)::

    git clone https://github.com/nwpu-zxr/VadCLIP /tmp/VadCLIP
    python benchmarks/parity/vadclip.py --repo /tmp/VadCLIP --seeds 3
"""

import contextlib
import importlib.util
import io
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layouts import clip_frames, split_videos  # noqa: E402
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

from sklearn_wsvad import SnippetReformer, detection_map, frame_roc_auc_score  # noqa: E402
from sklearn_wsvad.datasets import make_wsvad_clip_videos  # noqa: E402
from sklearn_wsvad.models import VadCLIPDetector  # noqa: E402

#: utils/layers.py: DistanceAdj hard-codes CUDA
_LAYERS_SUBSTITUTIONS = [
    ("self.dist = torch.from_numpy(squareform(dist)).to('cuda')",
     "self.dist = torch.from_numpy(squareform(dist)).to('cpu')"),
    ("self.dist = torch.unsqueeze(self.dist, 0).repeat(batch_size, 1, 1).to('cuda')",
     "self.dist = torch.unsqueeze(self.dist, 0).repeat(batch_size, 1, 1).to('cpu')"),
]
#: ucf_train.py: no test-set evaluation, checkpointing or reloading
_TRAIN_SUBSTITUTIONS = [
    ("if step % 1280 == 0 and step != 0:",
     "if False:  # parity shim: no evaluation on the test set"),
    ("        torch.save(model.state_dict(), 'model/model_cur.pth')\n"
     "        checkpoint = torch.load(args.checkpoint_path)\n"
     "        model.load_state_dict(checkpoint['model_state_dict'])\n",
     "        pass  # parity shim: no reload of the best test checkpoint\n"),
    ("    checkpoint = torch.load(args.checkpoint_path)\n"
     "    torch.save(checkpoint['model_state_dict'], args.model_path)",
     "    pass  # parity shim: the model after the last step"),
]
#: ucf_train.py: the text separation's mean over UCF-Crime's 13 anomaly classes
_N_CLASSES_SUBSTITUTION = ("loss3 = loss3 / 13 * 1e-1",
                           "loss3 = loss3 / (text_features.shape[0] - 1) * 1e-1")
#: the official per-epoch milestones for its 10 epochs (ucf_option.py)
OFFICIAL_EPOCHS, OFFICIAL_MILESTONES = 10, (4, 8)
OFFICIAL_LR = 2e-5  # ucf_option.py


@contextlib.contextmanager
def _borrowed_modules(names):
    """Restore ``sys.modules`` entries of ``names`` (and their submodules) on exit."""
    def ours(key):
        return any(key == n or key.startswith(n + ".") for n in names)

    saved = {k: v for k, v in sys.modules.items() if ours(k)}
    for k in saved:
        del sys.modules[k]
    try:
        yield
    finally:
        for k in [k for k in sys.modules if ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


def import_official(repo, n_classes):
    """The official ``model``, ``ucf_train``, ``ucf_test``, ``utils.dataset``
    and ``utils.tools`` modules of the checkout, with the shims."""
    src = Path(repo).resolve() / "src"
    if not (src / "model.py").exists() or not (src / "ucf_train.py").exists():
        raise SystemExit(f"{repo} is not a checkout of nwpu-zxr/VadCLIP (no src/model.py)")
    names = ["clip", "utils", "model", "ucf_train", "ucf_test", "ucf_option", "pandas"]
    need_pandas = importlib.util.find_spec("pandas") is None
    with _borrowed_modules(names if need_pandas else names[:-1]):
        if need_pandas:  # utils/dataset.py imports it; UCFDataset.__init__ is replaced
            sys.modules["pandas"] = types.ModuleType("pandas")
        clip_pkg, clip_mod = types.ModuleType("clip"), types.ModuleType("clip.clip")

        def load(name, device="cpu", **kwargs):
            """No download: CLIP is only used by the replaced encode_textprompt."""
            return torch.nn.Module(), None

        def tokenize(*args, **kwargs):
            raise RuntimeError("parity shim: the CLIP tokenizer is not used")

        clip_mod.load, clip_mod.tokenize, clip_pkg.clip = load, tokenize, clip_mod
        sys.modules.update({"clip": clip_pkg, "clip.clip": clip_mod})
        utils_pkg = types.ModuleType("utils")
        utils_pkg.__path__ = [str(src / "utils")]
        sys.modules["utils"] = utils_pkg
        layers = substitute((src / "utils" / "layers.py").read_text(), _LAYERS_SUBSTITUTIONS,
                            "utils/layers.py")
        utils_pkg.layers = module_from_source("utils.layers", layers,
                                              str(src / "utils" / "layers.py"))
        train_source = substitute((src / "ucf_train.py").read_text(), _TRAIN_SUBSTITUTIONS,
                                  "ucf_train.py")
        if n_classes != 13:
            train_source = substitute(train_source, [_N_CLASSES_SUBSTITUTION], "ucf_train.py")
        sys.path.insert(0, str(src))
        try:
            import model as official_model
            import ucf_test as official_test
            import utils.dataset as official_dataset
            import utils.tools as official_tools

            official_train = module_from_source("ucf_train", train_source,
                                                str(src / "ucf_train.py"))
        finally:
            sys.path.remove(str(src))
    return types.SimpleNamespace(model=official_model, train=official_train,
                                 test=official_test, dataset=official_dataset,
                                 tools=official_tools)


def _stand_in_model(official, text_embeddings, visual_length, seed):
    """The official CLIPVAD (UCF-Crime options) with the library's text stand-in."""
    class StandInTextCLIPVAD(official.model.CLIPVAD):
        def __init__(self, text, **kwargs):
            super().__init__(**kwargs)
            self.register_buffer("stand_in_text", torch.as_tensor(text, dtype=torch.float32))
            self.stand_in_residual = torch.nn.Parameter(torch.zeros_like(self.stand_in_text))

        def encode_textprompt(self, text):
            # the one deliberate difference: the library's stand-in for the
            # learnable prompt through CLIP's text encoder (rows in class order)
            return self.stand_in_text + self.stand_in_residual

    n_classes, width = text_embeddings.shape
    torch.manual_seed(seed)  # its initialisation (and below its loaders' shuffling)
    return StandInTextCLIPVAD(
        text_embeddings, num_class=n_classes, embed_dim=width, visual_length=visual_length,
        visual_width=width, visual_head=1, visual_layers=2, attn_window=8, prompt_prefix=10,
        prompt_postfix=10, device="cpu")


def _dataset(official, rows, clip_dim, test_mode, label_map):
    class ArrayUCFDataset(official.dataset.UCFDataset):
        def __init__(self):
            # replaces only the CSV reading (pandas) and the class selection
            self.clip_dim, self.test_mode, self.label_map = clip_dim, test_mode, label_map
            self.df = types.SimpleNamespace(loc=rows, shape=(len(rows), 2))

    return ArrayUCFDataset()


def _labels(video_classes):
    return ["Normal" if k == 0 else f"Class{k}" for k in video_classes.argmax(axis=1)]


def run_official(official, train, test, scratch, args, seed, milestones):
    from torch.utils.data import DataLoader

    label_map = {"Normal": train.class_names[0],
                 **{f"Class{k}": name for k, name in enumerate(train.class_names) if k}}
    folder = Path(scratch) / f"seed{seed}"
    folder.mkdir(parents=True)

    def rows(part, split):
        out = []
        for i, (video, label) in enumerate(zip(part.videos, part.labels)):
            path = folder / f"{split}{i:04d}.npy"
            np.save(path, np.asarray(video, dtype=np.float32))
            out.append({"path": str(path), "label": label})
        return out

    train_rows, test_rows = rows(train, "train"), rows(test, "test")
    model = _stand_in_model(official, train.text_embeddings, args.visual_length, seed)
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
    options = types.SimpleNamespace(
        gt_path=folder / "gt.npy", gt_segment_path=folder / "gt_segment.npy",
        gt_label_path=folder / "gt_label.npy", lr=OFFICIAL_LR, scheduler_rate=0.1,
        scheduler_milestones=list(milestones), use_checkpoint=False, max_epoch=args.epochs,
        visual_length=args.visual_length, checkpoint_path=None, model_path=None)
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
                                         list(label_map.values()), gt, empty, empty, "cpu")
        test_seconds = time.perf_counter() - start
    finally:
        official.test.roc_auc_score, official.test.dmAP = roc_auc_score, dmap
    cuts = np.cumsum(n_test_clips)[:-1]
    coarse = np.split(recorded["frames"][0][::16], cuts)
    probs = [p[::16] for p in recorded["probs"]]
    return Bunch(coarse=coarse, probs=probs, own_auc=auc1, steps=steps,
                 s_step=train_seconds / steps, clips_s=sum(n_test_clips) / test_seconds)


class _WithClasses:
    """``fit(X, y)`` with the training videos' classes (``fit_and_score``
    calls ``fit(X, y)``); scoring is the model's."""

    def __init__(self, model, classes):
        self.model, self.classes = model, classes

    def fit(self, X, y):
        self.model.fit(X, y, video_classes=self.classes)
        return self

    def score_clips(self, X):
        return self.model.score_clips(X)


def pool_like_official(official, videos, length):
    """Videos longer than ``length`` pooled to it by ``SnippetReformer(floor)``
    (checked against the official ``process_feat``), the others unchanged."""
    reformer = SnippetReformer(n_snippets=length, boundaries="floor")
    out, worst = [], 0.0
    for v in videos:
        if len(v) <= length:
            out.append(v)
            continue
        pooled = reformer.fit_transform([v])[0]
        reference, n = official.tools.process_feat(np.asarray(v, dtype=np.float32), length)
        worst = max(worst, float(np.abs(pooled - reference).max()))
        out.append(pooled)
    if worst > 1e-5:
        raise SystemExit(f"SnippetReformer(floor) differs from process_feat by {worst:g}")
    return out, worst


def run_library(train_pooled, test, args, seed, steps, params):
    per_class = params.get("batch_size", 2 * args.batch_size) // 2
    settings = {"batch_size": 2 * args.batch_size, "max_length": args.visual_length, **params}

    def make_pipe(epochs):
        return _WithClasses(
            VadCLIPDetector(text_embeddings=train_pooled.text_embeddings, max_epochs=epochs,
                            random_state=seed, **settings),
            train_pooled.video_classes)

    pipe, coarse, s_step, clips_s, done = fit_and_score(
        make_pipe, train_pooled, test, steps, max(np.bincount(train_pooled.target)), per_class)
    probs = pipe.model.predict_proba_clips(test.videos)
    return Bunch(coarse=coarse, probs=probs, steps=done, s_step=s_step, clips_s=clips_s)


def split(args, seed):
    """CLIP-like videos of one seed, split stratified by class."""
    data = make_wsvad_clip_videos(args.n_videos, n_classes=args.n_classes,
                                  n_features=args.n_features, regime=args.regime,
                                  random_state=seed)
    parts = split_videos(data, args.test_size, stratify=data.video_classes.argmax(axis=1),
                         random_state=seed,
                         fields=("videos", "target", "frame_labels", "video_classes",
                                 "segments"))
    for part in parts:
        part.update(labels=_labels(part.video_classes), text_embeddings=data.text_embeddings,
                    class_names=list(data.class_names))
    return parts


def metrics(test, result):
    return (frame_roc_auc_score(test.frame_labels, result.coarse),
            frame_roc_auc_score(test.frame_labels, [1 - p[:, 0] for p in result.probs]),
            100 * float(np.mean(detection_map(test.segments, result.probs))),
            result.s_step, result.clips_s, result.steps)


def main(argv=None):
    parser = make_parser(__doc__, "nwpu-zxr/VadCLIP")
    parser.add_argument("--regime", default="aligned", choices=["aligned", "misaligned"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=60,
                        help="official epochs (the code's 10, of 125 steps on UCF-Crime)")
    parser.add_argument("--milestones", default=None,
                        help="official LR milestones in epochs, e.g. '4,8' or 'none' "
                             "(default: [4, 8] of 10 epochs scaled to --epochs)")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="normal (and abnormal) videos per step (the code's 64)")
    parser.add_argument("--visual-length", type=int, default=64,
                        help="training length and test chunk (the code's 256)")
    parser.add_argument("--n-features", type=int, default=128, help="CLIP ViT-B: 512")
    parser.add_argument("--n-classes", type=int, default=6, help="anomaly classes")
    parser.add_argument("--n-videos", type=int, default=240)
    parser.add_argument("--test-size", type=float, default=0.3)
    add_run_options(parser, set_help="VadCLIPDetector parameter for the library run")
    args = parser.parse_args(argv)
    if args.visual_length % 8:
        raise SystemExit("--visual-length must be a multiple of the window, 8 (model.py:124-135)")
    torch.set_num_threads(args.threads)
    params = parse_overrides(args.set)
    if args.milestones is None:
        milestones = [round(m * args.epochs / OFFICIAL_EPOCHS) for m in OFFICIAL_MILESTONES]
    elif args.milestones.lower() == "none":
        milestones = []
    else:
        milestones = [int(m) for m in args.milestones.split(",")]
    defaults = VadCLIPDetector().get_params()

    rows = {"official": [], "library": []}
    official = import_official(args.repo, args.n_classes)
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.seeds):
            train, test = split(args, seed)
            result = run_official(official, train, test, scratch, args, seed, milestones)
            rows["official"].append(metrics(test, result))
            pooled, worst = pool_like_official(official, train.videos, args.visual_length)
            train_pooled = Bunch(**{**train, "videos": pooled})
            lib = run_library(train_pooled, test, args, seed, result.steps, params)
            rows["library"].append(metrics(test, lib))
            print(f"seed {seed}: official AUC {rows['official'][-1][0]:.3f} (its test(): "
                  f"{result.own_auc:.3f}), library AUC {rows['library'][-1][0]:.3f}; "
                  f"pooling vs process_feat max |diff| {worst:.2g}", flush=True)

    print(f"\nVadCLIP parity: regime={args.regime}, d={args.n_features}, {args.n_classes} "
          f"anomaly classes, {args.n_videos} videos ({args.test_size:.0%} test), "
          f"visual_length={args.visual_length}, {args.batch_size} + {args.batch_size} videos "
          f"per step, {args.seeds} seeds; official: {args.epochs} epochs, AdamW lr "
          f"{OFFICIAL_LR:g}, MultiStepLR x0.1 at epochs {milestones or 'none'}, no test-set "
          f"selection; library: lr {params.get('lr', defaults['lr']):g}, no LR steps"
          + (f", overrides {params}" if params else ""))
    print_table(rows, [steps_column(5), mean_std_column("AUC (C-branch)", 0, end=" "),
                       mean_std_column("AUC (A-branch)", 1, end=" "),
                       mean_std_column("avg mAP (%)  ", 2, "5.2f"), *timing_columns(3, 4)])
    print(f"\nlibrary - official: AUC (C) {difference(rows, 0):+.3f}, "
          f"AUC (A) {difference(rows, 1):+.3f}, avg mAP {difference(rows, 2):+.2f}; "
          f"s / step ratio (library / official): {ratio(rows, 3):.2f}; "
          f"clips / s ratio: {ratio(rows, 4):.2f}")


if __name__ == "__main__":
    main()
