"""``wsvad`` console entry point."""

import argparse
import sys
import time

from .. import __version__
from ..datasets import REGIMES
from ._reproduce import (
    CLIP_REGIMES,
    DATASETS,
    MODELS,
    format_table1,
    format_table2,
    format_table3,
    reproduce,
    write_figures,
    write_tables,
)


def _parser():
    parser = argparse.ArgumentParser(
        prog="wsvad", description="Weakly supervised video anomaly detection tools.")
    parser.add_argument("--version", action="version", version=f"wsvad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser(
        "reproduce",
        help="rerun the core paper's Tables 1-2 and Figures 1-2 on synthetic or real features",
        description="Feature-norm clustering under-sampling (Lee & Seo, 2026): cluster "
                    "distribution (Table 1), AUC/EER of the baseline and the four Top/Bot "
                    "configurations (Table 2), ROC curves (Figure 1) and score histograms "
                    "(Figure 2), on synthetic data of any regime or, with --dataset and "
                    "--data-home, on a benchmark's released features. The feature scaling "
                    "is fitted on all training clips before refinement, so the five "
                    "configurations differ only in the clips kept for training.")
    rep.add_argument("--model", default="magnitude", choices=sorted(MODELS),
                     help="MIL classifier trained on every configuration: magnitude (the "
                          "paper's), sultani (MIL ranking), rtfm, ngmil, bnwvad (200 snippets, "
                          "a 128-wide enhancer), crossbatch (cross-batch clustering "
                          "guidance), cliptsa (CLIP-TSA, for CLIP features), vadclip "
                          "(VadCLIP: text embeddings and classes, --dataset synthetic-clip; "
                          "adds the fine-grained Table 3) or dsanet (DSANet, as vadclip; a "
                          "2-block SG-NM decoder) (default: magnitude)")
    rep.add_argument("--dataset", default=None, choices=sorted(DATASETS),
                     help="synthetic data (default; synthetic-clip for --model vadclip and "
                          "dsanet), "
                          "synthetic-clip (CLIP-like features with anomaly classes and class "
                          "text embeddings) or a benchmark's released features, read from "
                          "--data-home")
    rep.add_argument("--regime", default=None, choices=[*REGIMES, *CLIP_REGIMES],
                     help="synthetic data regime: paper (the paper's hypothesis built in, "
                          "default), higher_norm, similar_norm, lower_norm (anomalies with "
                          "larger, similar or smaller feature norms, half the test videos "
                          "from unseen scenes) or scene_bias (abnormal training videos "
                          "concentrated in a few scenes); for synthetic-clip: aligned "
                          "(default: anomaly clips near their class's text embedding) or "
                          "misaligned (no relation to the text)")
    rep.add_argument("--data-home", default=None,
                     help="folder holding ucf_crime/, shanghaitech/ or xd_violence/ with the "
                          "released list and annotation files and the .npy features")
    rep.add_argument("--crops", default="mean", choices=["mean", "first", "stack"],
                     help="how multi-crop features are loaded: averaged (default), the "
                          "centre crop, or stacked (the official 10-crop / 5-crop protocol; "
                          "--model rtfm or bnwvad)")
    rep.add_argument("--seeds", type=int, default=3, help="number of seeds (default: 3)")
    rep.add_argument("--n-videos", type=int, default=300,
                     help="synthetic videos per seed, 40%% of them for testing (default: 300)")
    rep.add_argument("--n-features", type=int, default=None,
                     help="feature dimension (default: 64; synthetic-clip 512)")
    rep.add_argument("--n-clusters", type=int, default=10, help="K (default: 10)")
    rep.add_argument("--n-top", type=int, default=3, help="majority clusters (default: 3)")
    rep.add_argument("--n-snippets", type=int, default=None,
                     help="training snippets per video (default: the model's, 32; bnwvad 200)")
    rep.add_argument("--max-epochs", type=int, default=30, help="training epochs (default: 30)")
    rep.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    rep.add_argument("--threads", type=_threads, default="auto",
                     help="CPU threads per fit: a number, -1 for all CPUs, or auto (default: "
                          "auto, half the CPUs)")
    rep.add_argument("--output-dir", default="wsvad_reproduce",
                     help="where the figures and the tables (CSV, JSON) go "
                          "(default: ./wsvad_reproduce)")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _run(args):
    return reproduce(
        model=args.model, n_seeds=args.seeds, n_videos=args.n_videos,
        n_features=args.n_features, n_clusters=args.n_clusters, n_top=args.n_top,
        n_snippets=args.n_snippets, max_epochs=args.max_epochs, device=args.device,
        dataset=args.dataset, regime=args.regime, data_home=args.data_home, crops=args.crops,
        progress=not args.quiet, n_threads=args.threads,
    )


def _threads(text):
    """``--threads``: "auto", -1 or a positive integer."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"expected a positive number, -1 (all CPUs) or auto; got {text!r}")
    return value


def _check_numbers(parser, args):
    """One-line errors for numbers out of range (before any work)."""
    rules = [
        ("--seeds", args.seeds, args.seeds >= 1, "at least 1"),
        ("--n-videos", args.n_videos, args.n_videos >= 10, "at least 10"),
        ("--n-clusters", args.n_clusters, args.n_clusters >= 2, "at least 2"),
        ("--n-top", args.n_top, 1 <= args.n_top < args.n_clusters,
         f"between 1 and --n-clusters - 1 ({args.n_clusters - 1})"),
        ("--max-epochs", args.max_epochs, args.max_epochs >= 1, "at least 1"),
        ("--n-features", args.n_features, args.n_features is None or args.n_features >= 2,
         "at least 2"),
        ("--n-snippets", args.n_snippets, args.n_snippets is None or args.n_snippets >= 1,
         "at least 1"),
    ]
    for flag, value, ok, expected in rules:
        if not ok:
            parser.error(f"{flag} {value}: expected {expected}")
    if str(args.device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            parser.error(f"--device {args.device}: torch {torch.__version__} finds no CUDA "
                         "device; use --device cpu or install a CUDA build of torch")


def main(argv=None, stdout=None):
    """Run the command line; returns the exit status."""
    out = sys.stdout if stdout is None else stdout
    parser = _parser()
    args = parser.parse_args(argv)
    _check_numbers(parser, args)
    if args.dataset is None:
        args.dataset = "synthetic-clip" if MODELS[args.model].vision_language else "synthetic"
    synthetic = args.dataset in ("synthetic", "synthetic-clip")
    if args.regime is None:
        args.regime = "aligned" if args.dataset == "synthetic-clip" else "paper"
    regimes = CLIP_REGIMES if args.dataset == "synthetic-clip" else REGIMES
    if synthetic and args.regime not in regimes:
        parser.error(f"--regime {args.regime} is not a regime of --dataset {args.dataset}; "
                     f"choose one of {', '.join(regimes)}")
    if MODELS[args.model].vision_language and args.dataset != "synthetic-clip":
        parser.error(f"--model {args.model} needs class text embeddings and video classes: "
                     "use --dataset synthetic-clip")
    if not synthetic and args.data_home is None:
        parser.error(f"--dataset {args.dataset} reads local files: pass --data-home DIR")
    if synthetic and args.crops != "mean":
        parser.error("--crops applies to --dataset ucf-crime, shanghaitech or xd-violence; "
                     "synthetic videos have no crops")
    if args.crops == "stack" and args.model not in ("rtfm", "bnwvad"):
        parser.error(f"--crops stack keeps the crop axis, which --model {args.model} does not "
                     "take: use --model rtfm or bnwvad, or --crops mean")
    start = time.perf_counter()
    try:
        result = _run(args)
    except (FileNotFoundError, ValueError) as exc:  # the library's named errors, one line
        parser.exit(2, f"wsvad reproduce: error: {exc}\n")
    figures = write_figures(result["curves"], args.output_dir)
    out.write(format_table1(result["table1"], args.n_clusters, args.n_top) + "\n\n")
    out.write(format_table2(result["table2"], args.seeds, result["reference"]) + "\n\n")
    if result["table3"] is not None:
        out.write(format_table3(result["table3"], args.seeds) + "\n\n")
    out.write("".join(f"Figure {i}: {path}\n" for i, path in enumerate(figures, 1) if path))
    out.write("Tables: " + ", ".join(str(p) for p in write_tables(result, args.output_dir))
              + "\n")
    data = (f"dataset={args.dataset}, regime={args.regime}, {args.n_videos} videos per seed"
            if synthetic else f"dataset={args.dataset}")
    out.write(f"model={args.model}, {data}, {time.perf_counter() - start:.0f} s\n")
    if synthetic:
        out.write("Synthetic data: these numbers test the mechanism and are not expected to "
                  "match the paper's.\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
