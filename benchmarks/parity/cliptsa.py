"""CLIPTSADetector against the official CLIP-TSA code (joos2010kj/CLIP-TSA) on the same features.

Given a local checkout of the official repository (``--repo``), for each
seed this script

1. draws one synthetic split of single-crop videos, ``(n_clips, d)`` each,
   and writes it in RTFM's layout (``layouts.write_rtfm_layout``; the
   official ``dataset.py`` is RTFM's and reads one ``.npy`` per video from a
   list, abnormal videos first). ``--data clip`` (default):
   ``make_wsvad_clip_videos`` (``--regime aligned`` by default), CLIP-like
   features of norm about 10 that the method is built for, split
   ``--n-train`` + ``--n-test`` stratified by label; ``--data regime``: a
   regime of ``make_wsvad_regime`` (``similar_norm`` by default), the
   extractor-like features of the RTFM runner. Videos are single-crop
   because the released CLIP features are (the maintainer in
   joos2010kj/CLIP-TSA#5; the official code reshapes a 2-D file to one crop)
   and ``CLIPTSADetector`` takes no crop axis, so there is no ``--n-crops``;
2. trains the official ``Model`` (``visual="vit"``, hard attention on,
   ``--kappa`` as its ``--k``, 100 noise samples) with the official
   ``train()`` step, ``Dataset`` (``process_feat`` to 32 segments) and
   ``main.py``'s loop and optimizer (Adam, lr 1e-3, weight decay 5e-3,
   ``--batch-size`` normal + ``--batch-size`` abnormal videos per step,
   loaders re-created when exhausted), for ``--steps`` steps, then scores
   every test clip with ``test_10crop.test()``'s forward pass (one video at
   a time, all its clips, fresh noise in the perturbed top-k as the code
   draws it; ``test_10crop.py:14-23`` repeated in
   ``parity_common.rtfm_test_scores``, as the file imports ``ipdb`` and
   writes ``fpr.npy`` and others to the working directory); this part is
   RTFM's (``parity_common.run_rtfm_main``, shared with ``rtfm.py``);
3. trains ``SnippetReformer(32, boundaries="floor") -> CLIPTSADetector``
   (``batch_size`` = 2 x ``--batch-size`` videos, ``kappa=--kappa``) for the
   same number of steps (whole epochs: the nearest multiple of the steps per
   epoch) and scores the same clips, twice: with the official settings
   (``input_scaling=None``: raw features, as the code feeds them) and with
   the library's defaults (standardised input);

and prints frame AUC (mean ± std over seeds), seconds per training step and
test clips per second for each, with library / official ratios from the
same run. Both codes run on the CPU with ``--threads`` torch threads.

What still differs, besides the input scaling above (see the
``CLIPTSADetector`` docstring): the official code draws new noise for the
perturbed top-k at test (``utils/hard_attention.py:28``, no training
check), so its test scores depend on the RNG state (here seeded once per
seed, before training); the library draws the scoring noise from a fixed
seed. The official loaders drop the last incomplete batch
(``main.py:73-78``) and the library's epochs do not, hence the step counts.
The official ``main.py`` picks the best of its test evaluations every 5
steps after step 150 (``main.py:182-193``); both codes here report the
model after the last step.

The official code is not a dependency: it is imported from ``--repo``
(it needs ``scipy`` and ``tqdm``, which its modules import) with shims that
change no number:

* ``torch.set_default_tensor_type`` is a no-op while its modules are
  imported (``model.py:9``, ``dataset.py:6``, ``train.py:4`` set CUDA float
  tensors, which fails without CUDA; float32 is the CPU default) and
  ``Tensor.cuda()`` returns the tensor (``model.py:284, 304``,
  ``train.py:67``), so everything stays on the CPU;
* ``np.int`` (removed from numpy) is aliased to ``int``, as its own
  ``main.py:23`` does (its ``process_feat`` uses it);
* its ``Dataset`` reads the list written here and splits it at the number
  of abnormal videos (the code hard-codes 810 / 63 / 1905 and asserts the
  list lengths, ``dataset.py:54-86``); ``args`` gets ``dataset="ucf"``
  (only the list's file name depends on it), ``visual="vit"`` and
  ``gpu="0"`` (one device, no ``DataParallel`` split);
* when ``--n-features`` is not 512, ``model.py`` is loaded with its widths
  kept at the 512-D CLIP setting (6 asserted textual substitutions:
  ``division`` fixed at 4, so the temporal network's branches are 128 wide
  and the scorer 128 -> 32 -> 1, as ``CLIPTSADetector``'s defaults; the
  temporal network's input, fusion output, its BatchNorm and the residual
  take ``n_features``). Unchanged, the code scales every width with
  ``2048 // n_features``. At 512 the file is used unchanged. Above 512 the
  code's vit path does not run (``model.py:236`` projects such features to
  512 first, an I3D / C3D path), so ``--n-features`` is at most 512.

Nothing in the official code needs a GPU once these shims are in place.

Example (about 5 minutes with one thread here: 100 + 100 videos, 0.12 s
per step for the official code and 0.08 s for each library run; at
``--n-features 512``, the CLIP ViT-B width, expect steps a few times
longer; not timed at this batch size)::

    git clone https://github.com/joos2010kj/CLIP-TSA /tmp/CLIP-TSA
    python benchmarks/parity/cliptsa.py --repo /tmp/CLIP-TSA --seeds 3 --steps 300 \\
        --n-features 128 --batch-size 16
"""

import functools
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layouts import split_videos, ucf_names, write_rtfm_layout  # noqa: E402
from parity_common import (  # noqa: E402
    add_run_options,
    fit_and_score_floor,
    library_runs,
    make_parser,
    mean_std_column,
    module_from_source,
    parse_overrides,
    print_table,
    print_versus_official,
    run_rtfm_main,
    steps_column,
    substitute,
    timing_columns,
)
from sklearn.utils import Bunch  # noqa: E402

from sklearn_wsvad import frame_roc_auc_score  # noqa: E402
from sklearn_wsvad.datasets import make_wsvad_clip_videos, make_wsvad_regime  # noqa: E402
from sklearn_wsvad.models import CLIPTSADetector  # noqa: E402

N_SAMPLES = 100  # main.py's --num_samples
#: the official code's settings, as CLIPTSADetector parameters
OFFICIAL_PARAMS = dict(input_scaling=None)
#: model.py's widths at 512-D CLIP features (division 2048 // 512 = 4),
#: with the input / residual width n_features
_MODEL_SUBSTITUTIONS = [
    ("self.division = 2048 // n_features", "self.division = 4"),
    ("self.Aggregate = Aggregate(len_feature=2048 // self.division)",
     "self.Aggregate = Aggregate(len_feature=n_features)"),
    ("self.division = 2048 // len_feature", "self.division = 4"),
    ("nn.Conv1d(in_channels=2048 // self.division, out_channels=512 // self.division, "
     "kernel_size=1,",
     "nn.Conv1d(in_channels=len_feature, out_channels=512 // self.division, kernel_size=1,"),
    ("nn.Conv1d(in_channels=2048 // self.division, out_channels=2048 // self.division, "
     "kernel_size=3,",
     "nn.Conv1d(in_channels=2048 // self.division, out_channels=len_feature, kernel_size=3,"),
    ("nn.BatchNorm1d(2048 // self.division),", "nn.BatchNorm1d(len_feature),"),
]


def import_official(repo, n_features):
    """The official ``train``, ``dataset`` and ``model`` modules, with the shims."""
    repo = Path(repo).resolve()
    if not (repo / "utils" / "hard_attention.py").exists() or not (repo / "model.py").exists():
        raise SystemExit(f"{repo} is not a checkout of joos2010kj/CLIP-TSA "
                         "(no model.py/utils/hard_attention.py)")
    if not hasattr(np, "int"):
        setattr(np, "int", int)  # noqa: B010 (its process_feat uses np.int)
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    sys.path.insert(0, str(repo))
    set_default_tensor_type = torch.set_default_tensor_type
    torch.set_default_tensor_type = lambda *args, **kwargs: None
    try:
        import dataset as official_dataset
        import train as official_train

        source = (repo / "model.py").read_text()
        if n_features != 512:
            source = substitute(source, _MODEL_SUBSTITUTIONS, "model.py")
        official_model = module_from_source("official_model", source, str(repo / "model.py"))
    finally:
        torch.set_default_tensor_type = set_default_tensor_type
    for name in ("dataset", "train", "utils.hard_attention"):
        if repo not in Path(sys.modules[name].__file__).resolve().parents:
            raise SystemExit(f"module {name!r} was not imported from {repo}")
    return official_train, official_dataset, official_model


def make_split(data, regime, n_features, n_train, n_test, seed):
    """Train and test Bunches of 2-D float32 videos with UCF-Crime-like names."""
    if data == "clip":
        whole = make_wsvad_clip_videos(n_train + n_test, n_features=n_features, regime=regime,
                                       random_state=seed)
        parts = split_videos(whole, n_test, stratify=whole.target, random_state=seed)
    else:
        parts = make_wsvad_regime(regime, n_train=n_train, n_test=n_test,
                                  n_features=n_features, random_state=seed)
    out = []
    for split, part in zip(("train", "test"), parts):
        target = np.asarray(part.target)
        out.append(Bunch(videos=[np.asarray(v, dtype=np.float32) for v in part.videos],
                         target=target, frame_labels=part.frame_labels,
                         names=ucf_names(target, split)))
    return out[0], out[1]


def run_official(modules, layout, batch_size, steps, n_features, kappa, seed):
    official_train, official_dataset, official_model = modules
    args = types.SimpleNamespace(visual="vit", gpu="0")

    def train_step(normal_iter, abnormal_iter, model, optimizer):
        official_train.train(normal_iter, abnormal_iter, model, batch_size, optimizer, None,
                             torch.device("cpu"), args)

    torch.manual_seed(seed)  # its loaders, dropout, initialisation and top-k noise
    return run_rtfm_main(
        official_dataset.Dataset, types.SimpleNamespace(dataset="ucf", visual="vit"), layout,
        batch_size, steps,
        lambda: official_model.Model(n_features, batch_size, kappa, N_SAMPLES, True, args),
        train_step)


def run_library(train, test, batch_size, steps, kappa, seed, params):
    return fit_and_score_floor(
        functools.partial(CLIPTSADetector, kappa=kappa, batch_size=2 * batch_size,
                          random_state=seed, **params),
        train, test, steps, batch_size)


def main(argv=None):
    parser = make_parser(__doc__, "joos2010kj/CLIP-TSA")
    parser.add_argument("--data", choices=("clip", "regime"), default="clip",
                        help="make_wsvad_clip_videos (clip) or make_wsvad_regime (regime)")
    parser.add_argument("--regime", default=None,
                        help="the generator's regime (default: aligned / similar_norm)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16,
                        help="normal (and abnormal) videos per step, as CLIP-TSA's --batch_size")
    parser.add_argument("--n-features", type=int, default=128,
                        help="feature size, at most 512 (CLIP ViT-B: 512)")
    parser.add_argument("--kappa", type=float, default=0.95,
                        help="share of snippets the top-k keeps (its --k: UCF 0.95, XD 0.9, "
                             "SH 0.01)")
    parser.add_argument("--n-train", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=100)
    add_run_options(parser, no_defaults=True,
                    set_help="CLIPTSADetector parameter for the library runs")
    args = parser.parse_args(argv)
    if not 0 < args.n_features <= 512:
        parser.error("--n-features must be between 1 and 512 (the code's vit path)")
    regime = args.regime or ("aligned" if args.data == "clip" else "similar_norm")

    torch.set_num_threads(args.threads)
    params = parse_overrides(args.set)
    runs = library_runs(OFFICIAL_PARAMS, params, args.no_defaults)

    rows = {"official": [], **{name: [] for name in runs}}
    with tempfile.TemporaryDirectory() as scratch:
        modules = import_official(args.repo, args.n_features)
        for seed in range(args.seeds):
            train, test = make_split(args.data, regime, args.n_features, args.n_train,
                                     args.n_test, seed)
            if min(np.bincount(train.target, minlength=2)) < args.batch_size:
                raise SystemExit("fewer training videos of a class than --batch-size "
                                 "(the official loaders drop incomplete batches)")
            layout = write_rtfm_layout(Path(scratch) / f"seed{seed}", train, test)
            scores, s_step, clips_s = run_official(modules, layout, args.batch_size,
                                                   args.steps, args.n_features, args.kappa,
                                                   seed)
            rows["official"].append((frame_roc_auc_score(test.frame_labels, scores),
                                     s_step, clips_s, args.steps))
            for name, run_params in runs.items():
                scores, s_step, clips_s, steps = run_library(
                    train, test, args.batch_size, args.steps, args.kappa, seed, run_params)
                rows[name].append((frame_roc_auc_score(test.frame_labels, scores),
                                   s_step, clips_s, steps))
            print(f"seed {seed}: " + ", ".join(f"{k} AUC {v[-1][0]:.3f}"
                                                for k, v in rows.items()), flush=True)

    print(f"\nCLIP-TSA parity: data={args.data}, regime={regime}, d={args.n_features}, "
          f"kappa={args.kappa}, {args.batch_size} + {args.batch_size} videos per step, "
          f"{args.seeds} seeds" + (f", library overrides {params}" if params else ""))
    print_table(rows, [steps_column(3), mean_std_column("frame AUC    ", 0),
                       *timing_columns(1, 2)])
    print_versus_official(rows, runs, auc=0, s_step=1, clips_s=2)


if __name__ == "__main__":
    main()
