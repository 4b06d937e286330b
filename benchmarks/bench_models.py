"""Training and inference speed of the MIL models on CPU.

A 300-video synthetic set (``make_wsvad_videos``, I3D-sized 2048-D features by
default). Per model it prints
  * training time per epoch on the 32-snippet training videos (the canonical
    pipeline's input; the reformer runs once, outside the timing),
  * inference throughput of ``score_clips`` on every clip of every video,
    and as a ratio to the model's bare torch module run on the same clips
    (one video per forward call, input scaled, no validation or batching:
    the library's overhead; the target is >= 0.8),
and training time and throughput as ratios to the core paper's
MagnitudeMILDetector measured in the same run. VadCLIP and DSANet get random
class text embeddings (7 x 512) and no classes: only their speed is measured
(DSANet with the official 8-block SG-NM decoder, and with 2 blocks). The cross-batch clustering
model is also timed without its clustering branch (backbone only), to show
what the batch K-means costs.

    python benchmarks/bench_models.py [--n-videos 300] [--n-features 2048] [--epochs 3]
        [--only VadCLIPDetector DSANetDetector "decoder_depth=2"]
"""

import argparse
import functools
import time

import numpy as np
import torch

from sklearn_wsvad import SnippetReformer
from sklearn_wsvad.datasets import make_wsvad_videos
from sklearn_wsvad.models import (
    BNWVADDetector,
    CLIPTSADetector,
    CrossBatchClusteringDetector,
    DSANetDetector,
    MagnitudeMILDetector,
    MILRankingDetector,
    NGMILDetector,
    RTFMDetector,
    VadCLIPDetector,
)

#: Class text embeddings for VadCLIP (7 classes, CLIP's width; random unit rows:
#: the benchmark times the model, the data carries no classes)
_TEXT = np.random.default_rng(0).normal(size=(7, 512))
_TEXT /= np.linalg.norm(_TEXT, axis=1, keepdims=True)

MODELS = {
    "MagnitudeMILDetector": MagnitudeMILDetector,
    "MILRankingDetector": MILRankingDetector,
    "RTFMDetector": RTFMDetector,
    "NGMILDetector": NGMILDetector,
    "BNWVADDetector": BNWVADDetector,
    "CrossBatchClustering": CrossBatchClusteringDetector,
    # the same GCN without batch clustering, cross-batch memory and guidance:
    # the difference is the cost of the clustering branch
    "  backbone only": functools.partial(CrossBatchClusteringDetector, lambda_1=0.0,
                                         cross_batch=False, guidance=False),
    "CLIPTSADetector": CLIPTSADetector,
    "VadCLIPDetector": functools.partial(VadCLIPDetector, text_embeddings=_TEXT),
    "DSANetDetector": functools.partial(DSANetDetector, text_embeddings=_TEXT),
    "  decoder_depth=2": functools.partial(DSANetDetector, text_embeddings=_TEXT,
                                           decoder_depth=2),
}


def bare_module_throughput(est, videos):
    """Clips per second of ``est.module_`` alone, one video per forward call
    (VadCLIP, DSANet: one forward call per piece of ``max_length`` steps, their
    test protocol)."""
    module = est.module_.eval()
    device = torch.device(est.device)
    stats = None
    if est.input_mean_ is not None:
        stats = [torch.as_tensor(a, dtype=torch.float32, device=device)
                 for a in (est.input_mean_, est.input_scale_)]
    piece = getattr(est, "max_length", None)
    start = time.perf_counter()
    with torch.no_grad():
        for video in videos:
            x = torch.as_tensor(np.asarray(video, dtype=np.float32), device=device)[None]
            if stats is not None:
                x = (x - stats[0]) / stats[1]
            for part in (x.split(piece, dim=1) if piece else [x]):
                module(part, torch.ones(part.shape[:2], dtype=torch.bool, device=device))
    return sum(len(v) for v in videos) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-videos", type=int, default=300)
    parser.add_argument("--n-features", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", nargs="*", default=None,
                        help="names of the models to time (default: all); the reference "
                             "MagnitudeMILDetector is always timed first")
    args = parser.parse_args()
    models = MODELS if not args.only else {
        name: cls for i, (name, cls) in enumerate(MODELS.items())
        if i == 0 or name.strip() in args.only}

    data = make_wsvad_videos(n_videos=args.n_videos, n_features=args.n_features,
                             random_state=0)
    snippets = SnippetReformer(n_snippets=32).fit_transform(data.videos, data.target)
    n_clips = sum(len(v) for v in data.videos)
    print(f"{args.n_videos} videos, {n_clips:,} clips, d={args.n_features}, "
          f"{torch.get_num_threads()} torch threads, device={args.device}")
    print(f"{'model':<22} {'s / epoch':>10} {'clips / s':>12} {'epoch ratio':>12} "
          f"{'speed ratio':>12} {'vs bare module':>15}")
    reference = None
    for name, cls in models.items():
        est = cls(max_epochs=args.epochs, device=args.device, random_state=0)
        t = time.perf_counter()
        est.fit(snippets, data.target)
        per_epoch = (time.perf_counter() - t) / args.epochs
        t = time.perf_counter()
        est.score_clips(data.videos)
        clips_per_s = n_clips / (time.perf_counter() - t)
        bare = bare_module_throughput(est, data.videos)
        if reference is None:
            reference = (per_epoch, clips_per_s)
        print(f"{name:<22} {per_epoch:>10.3f} {clips_per_s:>12,.0f} "
              f"{per_epoch / reference[0]:>11.2f}x {clips_per_s / reference[1]:>11.2f}x "
              f"{clips_per_s / bare:>14.2f}x")


if __name__ == "__main__":
    main()
