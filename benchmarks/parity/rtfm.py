"""RTFMDetector against the official RTFM code (tianyu0207/RTFM) on the same features.

Given a local checkout of the official repository (``--repo``), for each
seed this script

1. draws one multi-crop synthetic split (``layouts.make_multicrop_split``:
   a regime of ``make_wsvad_regime``, ``--n-crops`` views per clip) and
   writes it in RTFM's layout (``layouts.write_rtfm_layout``);
2. trains the official model with the official ``train()`` step, ``Dataset``
   (``process_feat`` to 32 segments per crop) and ``main.py``'s loop and
   optimizer (Adam, lr 1e-3, weight decay 5e-3, ``--batch-size`` normal +
   ``--batch-size`` abnormal videos per step, loaders re-created when
   exhausted), for ``--steps`` steps, then scores every test clip with
   ``test_10crop.test()``'s forward pass (crop-mean scores); this part is
   ``parity_common.run_rtfm_main``, which ``cliptsa.py`` shares;
3. trains ``SnippetReformer(32, boundaries="floor") -> RTFMDetector`` with
   the library's defaults (joint multi-crop training, ``batch_size`` =
   2 x ``--batch-size`` videos) for the same number of steps (whole epochs:
   the nearest multiple of the steps per epoch) and scores the same clips;

and prints frame AUC (mean ± std over seeds), seconds per training step and
test clips per second for both, with library / official ratios from the same
run.

The official code is not a dependency: it is imported from ``--repo`` with
the smallest shims that let it run here, none of which changes a number:

* ``visdom`` (imported by its ``utils.py``) is stubbed; ``np.int`` (removed
  from numpy) is aliased to ``int``; ``Tensor.cuda()`` returns the tensor
  when torch has no CUDA (its loss calls ``label.cuda()``);
* its ``Dataset`` reads the list written here and splits it at the number of
  abnormal videos (the code hard-codes 810 / 63) without printing the lists;
* when ``--n-features`` is not 2048 or ``--n-crops`` not 10, ``model.py`` is
  loaded with those two hard-coded numbers replaced (6 asserted textual
  substitutions; at 2048 / 10 the file is used unchanged).

Example (about 35 minutes with one thread here: 1.1 s per step for each code)::

    git clone https://github.com/tianyu0207/RTFM /tmp/RTFM
    python benchmarks/parity/rtfm.py --repo /tmp/RTFM --seeds 3 --steps 300 \\
        --n-features 128 --n-crops 3 --batch-size 16
"""

import functools
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layouts import make_multicrop_split, write_rtfm_layout  # noqa: E402
from parity_common import (  # noqa: E402
    add_run_options,
    difference,
    fit_and_score_floor,
    make_parser,
    mean_std_column,
    module_from_source,
    parse_overrides,
    print_table,
    ratio,
    run_rtfm_main,
    steps_column,
    substitute,
    timing_columns,
)

from sklearn_wsvad import frame_roc_auc_score  # noqa: E402
from sklearn_wsvad.models import RTFMDetector  # noqa: E402

#: model.py's hard-coded feature size (2048) and crop count (10)
_MODEL_SUBSTITUTIONS = [
    ("self.Aggregate = Aggregate(len_feature=2048)",
     "self.Aggregate = Aggregate(len_feature=n_features)"),
    ("nn.Conv1d(in_channels=2048, out_channels=512, kernel_size=1,",
     "nn.Conv1d(in_channels=len_feature, out_channels=512, kernel_size=1,"),
    ("nn.Conv1d(in_channels=2048, out_channels=2048, kernel_size=3,",
     "nn.Conv1d(in_channels=2048, out_channels=len_feature, kernel_size=3,"),
    ("nn.BatchNorm1d(2048),", "nn.BatchNorm1d(len_feature),"),
    ("features[0:self.batch_size*10]", "features[0:self.batch_size*ncrops]"),
    ("features[self.batch_size*10:]", "features[self.batch_size*ncrops:]"),
]


def import_official(repo, n_features, n_crops):
    """The official ``train``, ``dataset`` and ``model`` modules, with the shims."""
    repo = Path(repo).resolve()
    if not (repo / "train.py").exists() or not (repo / "model.py").exists():
        raise SystemExit(f"{repo} is not a checkout of tianyu0207/RTFM (no train.py/model.py)")
    sys.modules.setdefault("visdom", types.ModuleType("visdom"))
    if not hasattr(np, "int"):
        setattr(np, "int", int)  # noqa: B010 (its process_feat uses np.int)
    if not torch.cuda.is_available():
        torch.Tensor.cuda = lambda self, *args, **kwargs: self
    sys.path.insert(0, str(repo))
    import dataset as official_dataset
    import train as official_train

    source = (repo / "model.py").read_text()
    if n_features != 2048 or n_crops != 10:
        source = substitute(source, _MODEL_SUBSTITUTIONS, "model.py")
    official_model = module_from_source("official_model", source, str(repo / "model.py"))
    return official_train, official_dataset, official_model


class _NoViz:
    def plot_lines(self, *args, **kwargs):
        pass


def run_official(modules, layout, batch_size, steps, n_features, seed):
    official_train, official_dataset, official_model = modules

    def train_step(normal_iter, abnormal_iter, model, optimizer):
        official_train.train(normal_iter, abnormal_iter, model, batch_size, optimizer,
                             _NoViz(), torch.device("cpu"))

    torch.manual_seed(seed)  # its loaders shuffle and its dropout draw from torch's RNG
    return run_rtfm_main(official_dataset.Dataset,
                         types.SimpleNamespace(modality="RGB", dataset="parity"), layout,
                         batch_size, steps, lambda: official_model.Model(n_features, batch_size),
                         train_step)


def run_library(train, test, batch_size, steps, seed, params):
    return fit_and_score_floor(
        functools.partial(RTFMDetector, batch_size=2 * batch_size, random_state=seed, **params),
        train, test, steps, batch_size)


def main(argv=None):
    parser = make_parser(__doc__, "tianyu0207/RTFM")
    parser.add_argument("--regime", default="similar_norm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32,
                        help="normal (and abnormal) videos per step, as RTFM's --batch-size")
    parser.add_argument("--n-features", type=int, default=2048)
    parser.add_argument("--n-crops", type=int, default=10)
    parser.add_argument("--n-train", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=100)
    add_run_options(parser, set_help="RTFMDetector parameter for the library run")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    params = parse_overrides(args.set)

    rows = {"official": [], "library": []}
    with tempfile.TemporaryDirectory() as scratch:
        modules = import_official(args.repo, args.n_features, args.n_crops)
        for seed in range(args.seeds):
            train, test = make_multicrop_split(
                args.regime, n_crops=args.n_crops, n_features=args.n_features,
                n_train=args.n_train, n_test=args.n_test, random_state=seed)
            layout = write_rtfm_layout(Path(scratch) / f"seed{seed}", train, test)
            scores, s_step, clips_s = run_official(modules, layout, args.batch_size,
                                                   args.steps, args.n_features, seed)
            rows["official"].append((frame_roc_auc_score(test.frame_labels, scores),
                                     s_step, clips_s, args.steps))
            scores, s_step, clips_s, steps = run_library(train, test, args.batch_size,
                                                         args.steps, seed, params)
            rows["library"].append((frame_roc_auc_score(test.frame_labels, scores),
                                    s_step, clips_s, steps))
            print(f"seed {seed}: official AUC {rows['official'][-1][0]:.3f}, "
                  f"library AUC {rows['library'][-1][0]:.3f}", flush=True)

    print(f"\nRTFM parity: regime={args.regime}, d={args.n_features}, {args.n_crops} crops, "
          f"{args.batch_size} + {args.batch_size} videos per step, {args.seeds} seeds"
          + (f", library overrides {params}" if params else ""))
    print_table(rows, [steps_column(3), mean_std_column("frame AUC      ", 0),
                       *timing_columns(1, 2)])
    print(f"\nlibrary - official AUC: {difference(rows, 0):+.3f}; "
          f"s / step ratio (library / official): {ratio(rows, 1):.2f}; "
          f"clips / s ratio: {ratio(rows, 2):.2f}")


if __name__ == "__main__":
    main()
