"""k-NN (Kozachenko-Leonenko) entropy: the pure-JAX exact search of :mod:`pmaxent.continuous.knn`
against scipy's cKDTree, on MEPOL's GridWorld sample size (20 trajectories x 1,200 steps =
24,000 2-D points, k = 50).

Reports, in one run on the same points:

- the median wall time of ``knn_entropy`` (compile excluded) for several chunk sizes, and of
  cKDTree (build + query of k + 1 neighbours + the same formula);
- the memory of the JAX path: the largest intermediate, computed analytically (one block of
  chunk x N float32 distances plus its top-k output), and the growth of the process's peak RSS
  during the JAX runs (ru_maxrss, measured before cKDTree runs);
- the median time of a full ``KNNEntropy`` call (team, agents and without_agent from one search)
  for B = 4 team samples of m = 4 agents with N = 1,200 points each; its largest intermediate is
  one block of chunk x m N float32 distances.

Usage:
    python benchmarks/bench_knn.py [--chunks 64,128,256] [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time

import jax
import numpy as np
from scipy.spatial import cKDTree

from pmaxent.continuous.knn import DEFAULT_CHUNK_SIZE, KNNEntropy, kl_constant, knn_entropy

N_POINTS = 24_000
K = 50


def median_time(fn, repeats: int) -> float:
    jax.block_until_ready(fn())  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def ckdtree_entropy(points: np.ndarray, k: int) -> float:
    n, d = points.shape
    rho = cKDTree(points).query(points, k + 1)[0][:, k]
    return kl_constant(n, k, d) + d * float(np.mean(np.log(np.maximum(rho, 1e-5))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", default="32,64,128,256,512", help="comma-separated chunk sizes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    chunks = [int(c) for c in args.chunks.split(",")]

    rng = np.random.default_rng(0)
    # a GridWorld-like sample: a clump in the start room plus a spread-out tail, and repeats
    points = np.concatenate([rng.uniform(-6, -4, (N_POINTS // 2, 2)), rng.uniform(-6, 6, (N_POINTS - N_POINTS // 2, 2))])
    points[: N_POINTS // 20] = points[N_POINTS // 20 : N_POINTS // 10]  # 5% repeated points
    points = points.astype(np.float32)

    float(knn_entropy(points[:500], K))  # start JAX's runtime before the RSS baseline
    rss_start = max_rss_mb()
    rows = []
    for c in sorted(chunks):  # ascending, so each peak-RSS reading adds that chunk size's peak
        seconds = median_time(lambda c=c: knn_entropy(points, K, chunk_size=c), args.repeats)
        value = float(knn_entropy(points, K, chunk_size=c))
        block_mb = c * N_POINTS * 4 / 2**20
        rows.append({"chunk_size": c, "seconds": seconds, "entropy": value, "block_mb": block_mb,
                     "peak_rss_growth_mb": max_rss_mb() - rss_start})
    rss_jax = max_rss_mb() - rss_start

    tree_seconds = median_time(lambda: ckdtree_entropy(points.astype(np.float64), K), args.repeats)
    tree_value = ckdtree_entropy(points.astype(np.float64), K)

    team = rng.uniform(-6, 6, (4, 4, 1200, 2)).astype(np.float32)
    team_rows = []
    for c in chunks:
        estimator = KNNEntropy(K, chunk_size=c)
        team_rows.append({"chunk_size": c, "seconds": median_time(lambda: estimator(team), args.repeats),
                          "block_mb": c * 4 * 1200 * 4 / 2**20})

    print(f"k-NN entropy of {N_POINTS} 2-D points, k = {K}; {platform.processor() or platform.machine()}, "
          f"{jax.device_count()} JAX device(s), median of {args.repeats} runs (compile excluded)")
    print(f"{'method':<24}{'seconds':>10}{'entropy':>12}{'largest block MB':>18}{'peak RSS +MB':>14}")
    for row in rows:
        mark = " (default)" if row["chunk_size"] == DEFAULT_CHUNK_SIZE else ""
        print(f"{'JAX chunk ' + str(row['chunk_size']) + mark:<24}{row['seconds']:>10.3f}{row['entropy']:>12.5f}"
              f"{row['block_mb']:>18.1f}{row['peak_rss_growth_mb']:>14.1f}")
    print(f"{'scipy cKDTree':<24}{tree_seconds:>10.3f}{tree_value:>12.5f}{'-':>18}{'-':>14}")
    print("largest block = chunk x N float32 distances; peak RSS +MB = growth of the process's peak RSS since "
          "JAX started, cumulative over the chunk sizes (includes compilation)")
    print(f"KNNEntropy(k={K}) on features [B, m, N, d] = [4, 4, 1200, 2] (team, agents and without_agent):")
    print(f"{'chunk size':<24}{'seconds':>10}{'largest block MB':>18}")
    for row in team_rows:
        mark = " (default)" if row["chunk_size"] == DEFAULT_CHUNK_SIZE else ""
        print(f"{str(row['chunk_size']) + mark:<24}{row['seconds']:>10.3f}{row['block_mb']:>18.1f}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n_points": N_POINTS, "k": K, "jax": rows, "ckdtree_seconds": tree_seconds, "ckdtree_entropy": tree_value,
                       "jax_peak_rss_growth_mb": rss_jax, "team_calls": team_rows, "team_shape": [4, 4, 1200, 2],
                       "default_chunk_size": DEFAULT_CHUNK_SIZE}, f, indent=2)


if __name__ == "__main__":
    main()
