"""Time and peak memory of scoring one long, memory-mapped video.

Surveillance videos run to 100,000 clips (a day of one camera is about
160,000 16-frame clips). For every model and refinement step this script
scores (models: ``score_clips``) or transforms (steps) one video of each
``--lengths`` clips at ``--n-features`` float32 features, read from a
memory-mapped ``.npy`` file, each in a fresh process, and prints wall time,
the resident memory once the estimator is loaded, and the process's peak
resident memory while scoring (``VmHWM``, restarted after loading: the
unpickling's brief peak is not the scoring's; file pages of the memory map
that were read count, so the floor at 100k x 2048 is the loaded estimator
plus the file's 0.8 GB). The estimators are fitted once beforehand on a small
synthetic set (one epoch: the cost of scoring does not depend on training).

A run that exceeds ``--timeout`` seconds is stopped; its row gives the peak
memory reached until then and the longer lengths of that step are skipped.
Time should grow linearly with the length for every step and every model
without global attention or a complete graph; for RTFM (non-local block:
linear, by associativity), BN-WVAD (global attention) and the cross-batch
model (complete graph) the attention / graph part is quadratic by definition.

    python benchmarks/bench_long_video.py [--lengths 1000 10000 100000]
        [--n-features 2048] [--timeout 300] [--only NAME ...]
"""

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _fitted_steps(n_features):
    """Every model and refinement step, fitted on a small synthetic set."""
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
    from sklearn_wsvad.refine import (
        ClipNormalizer,
        ClipStandardScaler,
        FeatureNormClusterUndersampler,
    )

    data = make_wsvad_videos(n_videos=24, n_features=n_features, random_state=0)
    videos = [v.astype(np.float32) for v in data.videos]
    snippets = SnippetReformer(n_snippets=32).fit_transform(videos)
    steps = {
        "FeatureNormClusterUndersampler": FeatureNormClusterUndersampler(random_state=0),
        "SnippetReformer(32, snippets)": SnippetReformer(n_snippets=32, inference="snippets"),
        "ClipStandardScaler": ClipStandardScaler(),
        "ClipNormalizer": ClipNormalizer(),
    }
    for step in steps.values():
        step.fit(videos, data.target)
    for cls in (MagnitudeMILDetector, MILRankingDetector, NGMILDetector, RTFMDetector,
                BNWVADDetector, CrossBatchClusteringDetector, CLIPTSADetector):
        steps[cls.__name__] = cls(max_epochs=1, random_state=0).fit(snippets, data.target)
    text = np.random.default_rng(0).normal(size=(7, 512))  # random class text, CLIP's width
    steps["VadCLIPDetector"] = VadCLIPDetector(text_embeddings=text, max_epochs=1,
                                               random_state=0).fit(snippets, data.target)
    steps["DSANetDetector"] = DSANetDetector(text_embeddings=text, max_epochs=1,
                                             random_state=0).fit(snippets, data.target)
    return steps


def _write_video(path, n_clips, n_features, chunk=8192):
    """A float32 ``.npy`` video written in chunks (never whole in memory)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                    shape=(n_clips, n_features))
    rng = np.random.default_rng(0)
    for start in range(0, n_clips, chunk):
        stop = min(start + chunk, n_clips)
        out[start:stop] = 1.0 + rng.standard_normal((stop - start, n_features))
    out.flush()
    del out


def _rss_mb(field="VmHWM", pid="self"):
    """``VmHWM`` (peak resident memory) or ``VmRSS`` of a process, in MB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _reset_peak():
    """Restart this process's ``VmHWM`` from its current resident memory
    (Linux: ``5`` written to ``/proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def worker(pickled, video_path, n_clips, threads):
    """Score (or transform) ``n_clips`` of the memory-mapped video; print seconds."""
    import torch

    torch.set_num_threads(threads)
    with open(pickled, "rb") as f:
        step = pickle.load(f)
    video = np.load(video_path, mmap_mode="r")[:n_clips]
    loaded = _rss_mb("VmRSS")
    # the peak counts from here: unpickling a model (its bytes and the objects
    # built from them at once) briefly needs more than the loaded model holds
    _reset_peak()
    start = time.perf_counter()
    if hasattr(step, "score_clips"):
        out = step.score_clips([video])
    else:
        out = step.transform([video])
        out = [np.asarray(o).sum() for o in out]  # a lazy result is computed here
    seconds = time.perf_counter() - start
    assert len(out) == 1
    # this process's own high-water mark (ru_maxrss would carry the parent's
    # across exec)
    print(f"{seconds:.6f} {_rss_mb('VmHWM'):.1f} {loaded:.1f}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--n-features", type=int, default=2048)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="*", default=None,
                        help="names of the steps to run (default: all)")
    parser.add_argument("--worker", nargs=3, metavar=("PICKLE", "VIDEO", "N_CLIPS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]), args.threads)
        return

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        video_path = scratch / "video.npy"
        _write_video(video_path, max(args.lengths), args.n_features)
        steps = _fitted_steps(args.n_features)
        if args.only:
            steps = {k: v for k, v in steps.items() if k in args.only}
        print(f"one video of {args.lengths} clips x {args.n_features} float32 features, "
              f"memory-mapped ({os.path.getsize(video_path) / 2**30:.2f} GiB on disk); "
              f"{args.threads} torch thread(s), timeout {args.timeout:.0f} s")
        print(f"| {'step':<32} | {'clips':>7} | {'seconds':>9} | {'loaded (MB)':>11} "
              f"| {'peak RSS (MB)':>13} | {'time growth':>11} |")
        print(f"|{'-' * 34}|{'-' * 9}|{'-' * 11}|{'-' * 13}|{'-' * 15}|{'-' * 13}|")
        for name, step in steps.items():
            pickled = scratch / "step.pkl"
            with open(pickled, "wb") as f:
                pickle.dump(step, f)
            previous = None
            for n in sorted(args.lengths):
                cmd = [sys.executable, __file__, "--threads", str(args.threads),
                       "--worker", str(pickled), str(video_path), str(n)]
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
                start, peak = time.perf_counter(), 0.0
                while proc.poll() is None and time.perf_counter() - start < args.timeout:
                    time.sleep(0.05)
                if proc.poll() is None:
                    peak = _rss_mb("VmHWM", proc.pid)  # since the scoring started
                    proc.kill()
                    proc.wait()
                    print(f"| {name:<32} | {n:>7} | {'> ' + str(int(args.timeout)):>9} "
                          f"| {'-':>11} | {peak:>13.0f} | {'-':>11} |", flush=True)
                    break
                out, err = proc.communicate()
                if proc.returncode != 0:
                    print(f"| {name:<32} | {n:>7} | {'error':>9} | {'-':>11} | {peak:>13.0f} | "
                          f"{err.strip().splitlines()[-1][:60]} |", flush=True)
                    break
                seconds, peak, loaded = map(float, out.strip().splitlines()[-1].split())
                growth = "-" if previous is None else (
                    f"{seconds / previous[1]:.1f}x / {n / previous[0]:.0f}x")
                print(f"| {name:<32} | {n:>7} | {seconds:>9.3f} | {loaded:>11.0f} | {peak:>13.0f} "
                      f"| {growth:>11} |", flush=True)
                previous = (n, seconds)


if __name__ == "__main__":
    main()
