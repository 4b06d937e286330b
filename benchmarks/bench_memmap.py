"""Peak memory of a memory-mapped feature folder through the refinement pipeline.

Writes a synthetic folder of ``.npy`` clip features (5 GB by default: 1,000
videos x 640 clips x 2048-D float32, RTFM layout without crops), then, each in
a fresh process, measures peak resident memory (``ru_maxrss``) of
  * lazy: ``load_features`` (memory-mapped) -> fit
    ``FeatureNormClusterUndersampler -> SnippetReformer(32) -> ClipStandardScaler``
    -> iterate over ``transform`` of every video (every clip),
  * eager baseline: ``np.load`` of every file into a list (what a research
    repo does),
and prints both and their ratio.

    python benchmarks/bench_memmap.py [--gb 5] [--folder DIR] [--skip-eager]
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _write(folder, n_videos, n_clips, n_features):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n_videos):
        path = folder / f"{'Normal_' if i % 2 else 'Abnormal_'}{i:05d}_i3d.npy"
        if path.exists():
            continue
        video = rng.random((n_clips, n_features), dtype=np.float32)
        video *= rng.uniform(0.5, 1.5, size=(n_clips, 1)).astype(np.float32)
        np.save(path, video)


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure_lazy(folder):
    from sklearn.pipeline import make_pipeline

    from sklearn_wsvad import ClipStandardScaler, FeatureNormClusterUndersampler, SnippetReformer
    from sklearn_wsvad.datasets import load_features

    t = time.perf_counter()
    data = load_features(folder, labels=lambda name: int(name.startswith("Abnormal")))
    after_load = _peak_mb()
    pipe = make_pipeline(FeatureNormClusterUndersampler(), SnippetReformer(n_snippets=32),
                         ClipStandardScaler())
    pipe.fit(data.videos, data.target)
    after_fit = _peak_mb()
    total = 0.0
    for video in pipe.transform(data.videos):
        total += float(video[:, 0].sum())
    return {"after_load_mb": after_load, "after_fit_mb": after_fit, "peak_mb": _peak_mb(),
            "seconds": time.perf_counter() - t}


def _measure_eager(folder):
    t = time.perf_counter()
    videos = [np.load(p) for p in sorted(Path(folder).glob("*.npy"))]
    return {"peak_mb": _peak_mb(), "seconds": time.perf_counter() - t, "n": len(videos)}


def _child(mode, folder):
    out = subprocess.run([sys.executable, __file__, "--measure", mode, "--folder", str(folder)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=5.0)
    parser.add_argument("--n-clips", type=int, default=640)
    parser.add_argument("--n-features", type=int, default=2048)
    parser.add_argument("--folder", default=None, help="where the features go (kept)")
    parser.add_argument("--skip-eager", action="store_true")
    parser.add_argument("--measure", choices=["lazy", "eager"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        fn = _measure_lazy if args.measure == "lazy" else _measure_eager
        print(json.dumps(fn(args.folder)))
        return

    per_video = args.n_clips * args.n_features * 4
    n_videos = int(args.gb * 1e9 // per_video)
    folder = Path(args.folder or tempfile.mkdtemp(prefix="wsvad_memmap_"))
    t = time.perf_counter()
    _write(folder, n_videos, args.n_clips, args.n_features)
    size_gb = sum(p.stat().st_size for p in folder.glob("*.npy")) / 1e9
    print(f"{n_videos} videos x {args.n_clips} clips x {args.n_features} float32 = "
          f"{size_gb:.2f} GB in {folder} (written in {time.perf_counter() - t:.0f} s)")
    lazy = _child("lazy", folder)
    print(f"lazy (memory-mapped) load + pipeline fit + transform of every video: "
          f"peak RSS {lazy['peak_mb']:.0f} MB (after load {lazy['after_load_mb']:.0f} MB, "
          f"after fit {lazy['after_fit_mb']:.0f} MB), {lazy['seconds']:.1f} s")
    if not args.skip_eager:
        eager = _child("eager", folder)
        print(f"eager baseline (np.load every file): peak RSS {eager['peak_mb']:.0f} MB, "
              f"{eager['seconds']:.1f} s")
        print(f"lazy / eager peak memory: {lazy['peak_mb'] / eager['peak_mb']:.3f}")


if __name__ == "__main__":
    main()
