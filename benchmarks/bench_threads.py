"""Fit time by ``n_threads``, on a quiet machine and next to other work.

Fits a model on the same data with ``n_threads=1`` and with every available
CPU (``n_threads=-1``), first alone, then while a competing process keeps
every CPU busy (a stand-in for "a machine with other work": another fit, a
notebook kernel, a browser). Prints the time of each fit and the ratio of the
all-CPU time to the one-thread time in each condition (above 1: more threads
are slower), and what ``n_threads="auto"`` resolves to here. This is the
measurement behind the default ``n_threads="auto"`` (half the CPUs).

    python benchmarks/bench_threads.py [--model MagnitudeMILDetector] [--n-features 1024]
"""

import argparse
import multiprocessing
import time

import numpy as np

from sklearn_wsvad import SnippetReformer, models
from sklearn_wsvad.datasets import make_wsvad_videos
from sklearn_wsvad.utils._runtime import available_cpus, resolve_threads


def _busy(stop):
    a = np.random.default_rng(0).normal(size=(400, 400))
    while not stop.is_set():
        a = np.tanh(a @ a.T / 400)


def _fit_time(cls, X, y, n_threads, epochs, repeat):
    times = []
    for _ in range(repeat):
        est = cls(max_epochs=epochs, n_threads=n_threads, progress_bar=False, random_state=0)
        start = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="MagnitudeMILDetector")
    parser.add_argument("--n-videos", type=int, default=200)
    parser.add_argument("--n-features", type=int, default=1024)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    cls = getattr(models, args.model)
    data = make_wsvad_videos(args.n_videos, n_features=args.n_features, random_state=0)
    X = SnippetReformer().fit_transform(data.videos, data.target)
    cpus = available_cpus()
    print(f"{args.model}, {args.n_videos} videos, d={args.n_features}, {args.max_epochs} "
          f"epochs; {cpus} CPUs; n_threads='auto' -> {resolve_threads('auto')}")
    for condition in ("quiet", "busy"):
        stop, workers = multiprocessing.Event(), []
        if condition == "busy":
            workers = [multiprocessing.Process(target=_busy, args=(stop,)) for _ in range(cpus)]
            for w in workers:
                w.start()
        try:
            one = _fit_time(cls, X, data.target, 1, args.max_epochs, args.repeat)
            every = _fit_time(cls, X, data.target, -1, args.max_epochs, args.repeat)
        finally:
            stop.set()
            for w in workers:
                w.join()
        print(f"{condition:<6} n_threads=1 {one:6.2f} s   n_threads=-1 ({cpus}) {every:6.2f} s"
              f"   ratio all/one {every / one:.2f}")


if __name__ == "__main__":
    main()
