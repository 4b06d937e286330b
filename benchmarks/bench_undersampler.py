"""Speed of FeatureNormClusterUndersampler on a UCF-Crime-sized feature set.

Random float32 features (the clustering cost does not depend on their values):
1,600 videos, ~700k clips, d=2048 by default (5.7 GB in memory). Prints the
time of
  * just computing the clip norms (the floor: every value must be read once),
  * the undersampler's fit (norms + exact 1-D K-means + kept indices),
  * fit_transform (fit + copying the kept clips),
  * a per-video scikit-learn KMeans(n_init=10) loop on the same norms,
and the ratios the foundation issue targets (fit vs KMeans loop >= 50x,
fit vs norms <= 2x).

    python benchmarks/bench_undersampler.py [--n-videos 1600] [--n-features 2048]
"""

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans

from sklearn_wsvad.refine import FeatureNormClusterUndersampler, clip_norms
from sklearn_wsvad.refine._undersampler import _cluster_norms


def _best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-videos", type=int, default=1600)
    parser.add_argument("--mean-clips", type=int, default=440)
    parser.add_argument("--n-features", type=int, default=2048)
    parser.add_argument("--n-clusters", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    lengths = rng.integers(args.mean_clips // 4, args.mean_clips * 7 // 4, args.n_videos)
    videos = [rng.standard_normal((n, args.n_features), dtype=np.float32) for n in lengths]
    y = np.arange(args.n_videos) % 2
    n_clips = int(lengths.sum())
    gb = n_clips * args.n_features * 4 / 1e9
    print(f"{args.n_videos} videos, {n_clips:,} clips, d={args.n_features} ({gb:.1f} GB float32)")

    t_norms = _best_of(lambda: [clip_norms(v) for v in videos], args.repeat)
    sampler = FeatureNormClusterUndersampler(n_clusters=args.n_clusters)
    t_fit = _best_of(lambda: sampler.fit(videos, y), args.repeat)
    t_fit2 = _best_of(lambda: FeatureNormClusterUndersampler(
        n_clusters=args.n_clusters, n_jobs=2).fit(videos, y), args.repeat)
    t_fit_transform = _best_of(lambda: sampler.fit_transform(videos, y), args.repeat)

    norms = [clip_norms(v) for v in videos]
    t_exact = _best_of(lambda: [_cluster_norms(n, args.n_clusters, algorithm="exact")
                                for n in norms], args.repeat)
    t0 = time.perf_counter()
    for n in norms:
        KMeans(n_clusters=args.n_clusters, n_init=10, random_state=0).fit(n[:, None])
    t_kmeans_only = time.perf_counter() - t0
    t_kmeans = t_kmeans_only + t_norms

    print(f"clip norms only              : {t_norms:8.2f} s")
    print(f"undersampler fit (exact)     : {t_fit:8.2f} s")
    print(f"undersampler fit, n_jobs=2   : {t_fit2:8.2f} s")
    print(f"undersampler fit_transform   : {t_fit_transform:8.2f} s")
    print(f"norms + KMeans(n_init=10) loop: {t_kmeans:7.2f} s")
    print(f"clustering only, exact 1-D   : {t_exact:8.2f} s")
    print(f"clustering only, KMeans loop : {t_kmeans_only:8.2f} s")
    print(f"speed-up of fit over norms + KMeans loop : {t_kmeans / t_fit:6.1f}x  (target >= 50x)")
    print(f"speed-up of clustering, exact vs KMeans  : {t_kmeans_only / t_exact:6.1f}x")
    print(f"upper bound of the first ratio (norms cost, clustering free): "
          f"{t_kmeans / t_norms:6.1f}x")
    print(f"fit / norms only                     : {t_fit / t_norms:6.2f}x  (target <= 2x)")
    print(f"fit_transform / norms only           : {t_fit_transform / t_norms:6.2f}x")


if __name__ == "__main__":
    main()
