"""BNWVADDetector against the official BN-WVAD code (cool-xuan/BN-WVAD) on the same features.

Given a local checkout of the official repository (``--repo``), for each
seed this script

1. draws one multi-crop synthetic split (``layouts.make_multicrop_split``:
   a regime of ``make_wsvad_regime`` with 5 views per clip, XD-Violence's
   crop count, which the official test loop hard-codes) and writes it in the
   per-crop layout the code reads (``layouts.write_per_crop_layout``), with
   its ``list/XD_Train.list`` (abnormal crop files first) and
   ``list/XD_Test.list`` in a scratch working directory;
2. trains the official ``WSAD`` model with the official ``train()`` step
   (``LossComputer``, gradient clipping at 1.0), ``XDVideo`` dataset
   (``--n-segments`` floor-pooled segments per crop file, each crop file a
   training video), ``main.py``'s loop and optimizer (Adam, lr 1e-4,
   weight decay 5e-5, ``--batch-size`` normal + ``--batch-size`` abnormal
   crop files per step, loaders re-created when exhausted,
   ``parity_common.run_steps``; XD-Violence's ratios 0.2 / 0.4) for
   ``--steps`` steps, then scores every test clip with
   ``test.get_predicts`` (the 5 crops of a video in one batch, the crop-mean
   ``distance_sum * normal_scores``, 16 frames per clip);
3. trains ``SnippetReformer(--n-segments, boundaries="floor") ->
   BNWVADDetector`` for the same number of steps (whole epochs; the crops
   of a video train as separate bags, ``batch_size`` = 2 x ``--batch-size``
   bags, as the official code) and scores the same clips (crop mean), twice:
   with the official settings (``rho_s=0.2, rho_b=0.4, input_scaling=None``)
   and with the library's defaults (the paper's UCF-Crime ratios 0.1 / 0.2,
   standardised input);

and prints frame AUC and the trapezoid AP the code publishes (mean ± std
over seeds), seconds per training step and test clips per second for both,
with library / official ratios from the same run.

The official code is not a dependency: it is imported from ``--repo``, which
needs ``einops`` installed (its attention uses it). Runtime shims that change
no number: ``ipdb`` (imported, unused) is stubbed; ``Tensor.cuda()`` returns
the tensor when torch has no CUDA (its attention and ``train()`` call it);
its dataset reads the lists written here from the working directory and
splits the train list at the number of abnormal crop files (the code
hard-codes XD-Violence's 9525). The model is never moved with ``.cuda()``.

The official model is 512 wide (the library's default ``dim=512``,
``dim_head=128``). At the paper's 64 + 64 videos x 200 segments a step takes
several seconds on one CPU core; the defaults here (16 + 16, 64 segments)
keep three seeds at a few hundred steps to about half an hour, and both
codes run at the same settings.

Example::

    git clone https://github.com/cool-xuan/BN-WVAD /tmp/BN-WVAD
    pip install einops
    python benchmarks/parity/bnwvad.py --repo /tmp/BN-WVAD --seeds 3 --steps 300
"""

import contextlib
import functools
import os
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from layouts import make_multicrop_split, write_per_crop_layout, write_xd_lists  # noqa: E402,E501
from parity_common import (  # noqa: E402
    add_run_options,
    fit_and_score_floor,
    library_runs,
    make_parser,
    mean_std_column,
    paired_loaders,
    print_table,
    print_versus_official,
    run_steps,
    steps_column,
    timing_columns,
)

from sklearn_wsvad import frame_average_precision_score, frame_roc_auc_score  # noqa: E402
from sklearn_wsvad.models import BNWVADDetector  # noqa: E402

N_CROPS = 5  # test.get_predicts averages batches of 5 crop files
#: the official code's settings, as BNWVADDetector parameters
OFFICIAL_PARAMS = dict(rho_s=0.2, rho_b=0.4, input_scaling=None)


def import_official(repo):
    """The official ``train``, ``test``, ``dataset_loader``, ``losses`` and ``models``."""
    repo = Path(repo).resolve()
    if not (repo / "train.py").exists() or not (repo / "models" / "translayer.py").exists():
        raise SystemExit(f"{repo} is not a checkout of cool-xuan/BN-WVAD")
    try:
        import einops  # noqa: F401
    except ImportError:
        raise SystemExit("the official BN-WVAD code needs einops: pip install einops") from None
    sys.modules.setdefault("ipdb", types.ModuleType("ipdb"))
    if not torch.cuda.is_available():
        torch.Tensor.cuda = lambda self, *args, **kwargs: self
    sys.path.insert(0, str(repo))
    import dataset_loader
    import losses
    import models
    import test as official_test
    import train as official_train

    return types.SimpleNamespace(train=official_train, test=official_test,
                                 dataset=dataset_loader, losses=losses, models=models)


@contextlib.contextmanager
def _working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _dataset(official, n_abnormal, mode, n_segments, n_features, is_normal=None):
    class ListVideo(official.dataset.XDVideo):
        def __init__(self):
            super().__init__(root_dir="", mode=mode, num_segments=n_segments,
                             len_feature=n_features, is_normal=None if mode == "Test" else True)
            if mode == "Train":  # its split at XD-Violence's 9525 abnormal files
                with open(os.path.join("list", "XD_Train.list"), encoding="utf-8") as f:
                    lines = [line.split() for line in f]
                self.vid_list = lines[n_abnormal:] if is_normal else lines[:n_abnormal]

    return ListVideo()


def run_official(official, workdir, n_abnormal, batch_size, steps, n_segments, n_features,
                 seed):
    from torch.utils.data import DataLoader

    torch.manual_seed(seed)  # its initialisation and its loaders' shuffling
    args = types.SimpleNamespace(ratio_sample=0.2, ratio_batch=0.4, ratios=[16, 32],
                                 kernel_sizes=[1, 1, 1])
    with _working_directory(workdir):
        net = official.models.WSAD(n_features, flag="Train", args=args)
        loaders = paired_loaders(
            lambda normal: _dataset(official, n_abnormal, "Train", n_segments, n_features,
                                    is_normal=normal),
            batch_size)
        criterion = official.losses.LossComputer()
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.999),
                                     weight_decay=5e-5)
        s_step = run_steps(loaders, steps, lambda normal, abnormal: official.train.train(
            net, normal, abnormal, optimizer, criterion))

        test = DataLoader(_dataset(official, n_abnormal, "Test", n_segments, n_features),
                          batch_size=N_CROPS, shuffle=False, num_workers=0)
        start = time.perf_counter()
        with torch.no_grad():
            net.eval()
            net.flag = "Test"
            frames = official.test.get_predicts(test, net)
        test_seconds = time.perf_counter() - start
    n_clips = frames.size // 16
    return frames, s_step, n_clips / test_seconds


def run_library(train, test, batch_size, steps, n_segments, seed, params):
    # the crops of a video train as separate bags
    return fit_and_score_floor(
        functools.partial(BNWVADDetector, batch_size=2 * batch_size, random_state=seed,
                          **params),
        train, test, steps, batch_size, n_snippets=n_segments, bags_per_video=N_CROPS)


def main(argv=None):
    parser = make_parser(__doc__, "cool-xuan/BN-WVAD")
    parser.add_argument("--regime", default="similar_norm")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16,
                        help="normal (and abnormal) crop files per step (the code's 64)")
    parser.add_argument("--n-segments", type=int, default=64,
                        help="training segments per crop file (the code's 200)")
    parser.add_argument("--n-features", type=int, default=128,
                        help="feature size (XD-Violence's I3D: 1024)")
    parser.add_argument("--n-train", type=int, default=100)
    parser.add_argument("--n-test", type=int, default=60)
    add_run_options(parser, no_defaults=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    runs = library_runs(OFFICIAL_PARAMS, {}, args.no_defaults)
    rows = {"official": [], **{name: [] for name in runs}}
    with tempfile.TemporaryDirectory() as scratch:
        official = import_official(args.repo)
        for seed in range(args.seeds):
            train, test = make_multicrop_split(
                args.regime, n_crops=N_CROPS, n_features=args.n_features,
                n_train=args.n_train, n_test=args.n_test, random_state=seed)
            workdir = Path(scratch) / f"seed{seed}"
            layout = write_per_crop_layout(workdir / "features", train, test)
            n_abnormal = write_xd_lists(workdir, layout)
            gt = np.load(layout.gt)
            frames, s_step, clips_s = run_official(official, workdir, n_abnormal,
                                                   args.batch_size, args.steps,
                                                   args.n_segments, args.n_features, seed)
            # the code's metrics: roc_curve + auc, auc(recall, precision)
            metrics = official.test.get_metrics(frames, gt)
            rows["official"].append((metrics["AUC"], metrics["AP"], s_step, clips_s,
                                     args.steps))
            for name, params in runs.items():
                scores, s_step, clips_s, steps = run_library(
                    train, test, args.batch_size, args.steps, args.n_segments, seed, params)
                auc = frame_roc_auc_score(test.frame_labels, scores)
                ap = frame_average_precision_score(test.frame_labels, scores,
                                                   method="trapezoid")
                rows[name].append((auc, ap, s_step, clips_s, steps))
            print(f"seed {seed}: " + ", ".join(f"{k} AUC {v[-1][0]:.3f}"
                                                for k, v in rows.items()), flush=True)

    print(f"\nBN-WVAD parity: regime={args.regime}, d={args.n_features}, {N_CROPS} crops, "
          f"{args.batch_size} + {args.batch_size} crop files per step, {args.n_segments} "
          f"segments, {args.seeds} seeds")
    print_table(rows, [steps_column(4), mean_std_column("frame AUC    ", 0),
                       mean_std_column("AP (trapezoid)", 1), *timing_columns(2, 3)])
    print_versus_official(rows, runs, auc=0, s_step=2, clips_s=3)


if __name__ == "__main__":
    main()
