"""k-NN (Kozachenko-Leonenko) entropy: the pure-JAX exact searches of :mod:`pmaxent.continuous.knn`
against scipy's cKDTree, on MEPOL's GridWorld sample size (20 trajectories x 1,200 steps =
24,000 2-D points, k = 50).

Reports, in one run on the same points, for a GridWorld-like sample (half the points in the
start room, half spread over the arena, 5% repeated) and a uniform one:

- the median wall time of ``knn_entropy`` (compile excluded) with the slab sweep (default,
  :mod:`pmaxent.continuous.neighbours`) and with brute force, and of cKDTree (build + query of
  k + 1 neighbours + the same formula), and the three entropies;
- the sweep's query blocks that failed its exactness test and were searched again in a box or
  by brute force;
- memory: the largest intermediate of each search, computed analytically (sweep: one block's
  block x span x window float32 distances, its box search block x box_size, brute force
  block x N), and the growth of the process's peak RSS over each JAX search (ru_maxrss, JAX
  searches first, sweep before brute force, so each reading adds that search's peak);
- the median time of a full ``KNNEntropy`` call (team, agents and without_agent from one
  brute-force search in blocks) for B = 4 team samples of m = 4 agents with N = 1,200 points each.

Usage:
    python benchmarks/bench_knn.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import statistics
import time
from functools import partial

import jax
import numpy as np
from scipy.spatial import cKDTree

from pmaxent.continuous.knn import DEFAULT_CHUNK_SIZE, KNNEntropy, kl_constant, knn_entropy
from pmaxent.continuous.neighbours import SWEEP_BLOCK, nearest, plan

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


def samples(rng) -> dict[str, np.ndarray]:
    gridworld = np.concatenate(
        [rng.uniform(-6, -4, (N_POINTS // 2, 2)), rng.uniform(-6, 6, (N_POINTS - N_POINTS // 2, 2))]
    )
    gridworld[: N_POINTS // 20] = gridworld[N_POINTS // 20 : N_POINTS // 10]  # 5% repeated points
    return {
        "gridworld-like": gridworld.astype(np.float32),
        "uniform": rng.uniform(-6, 6, (N_POINTS, 2)).astype(np.float32),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    sizes = plan(N_POINTS, K)
    n_blocks = sizes.n_slabs * sizes.slab // sizes.block
    memory_mb = {
        "sweep": sizes.block * sizes.span * sizes.window * 4 / 2**20,
        "box": sizes.block * sizes.box_size * 4 / 2**20,
        "sweep_brute_fallback": sizes.block * N_POINTS * 4 / 2**20,
        "brute": DEFAULT_CHUNK_SIZE * N_POINTS * 4 / 2**20,
    }

    float(
        knn_entropy(np.asarray(rng.uniform(size=(500, 2)), np.float32), K)
    )  # start JAX's runtime before the RSS baseline
    results = {}
    for name, points in samples(rng).items():
        row = {}
        for search, chunk in (("sweep", SWEEP_BLOCK), ("brute", DEFAULT_CHUNK_SIZE)):
            rss = max_rss_mb()
            row[search] = median_time(partial(knn_entropy, points, K, chunk_size=chunk, search=search), args.repeats)
            row[search + "_entropy"] = float(knn_entropy(points, K, chunk_size=chunk, search=search))
            row[search + "_rss_growth_mb"] = max_rss_mb() - rss
        found = nearest(points, K)
        row.update(boxed=int(found.boxed), brute_blocks=int(found.fallback), blocks=n_blocks)
        # the conversion to float64 is part of what is timed, as in every call
        row["ckdtree"] = median_time(lambda points=points: ckdtree_entropy(points.astype(np.float64), K), args.repeats)
        row["ckdtree_entropy"] = ckdtree_entropy(points.astype(np.float64), K)
        results[name] = row

    team = rng.uniform(-6, 6, (4, 4, 1200, 2)).astype(np.float32)
    estimator = KNNEntropy(K)
    team_seconds = median_time(lambda: estimator(team), args.repeats)

    print(
        f"k-NN entropy of {N_POINTS} 2-D points, k = {K}; {platform.processor() or platform.machine()}, "
        f"{jax.device_count()} JAX device(s), {datetime.date.today()}, median of {args.repeats} runs (compile excluded)"
    )
    print(
        f"sweep: {sizes}; largest intermediates: sweep {memory_mb['sweep']:.2f} MB, box search {memory_mb['box']:.2f} "
        f"MB, its brute-force fallback {memory_mb['sweep_brute_fallback']:.1f} MB, brute force (block "
        f"{DEFAULT_CHUNK_SIZE}) {memory_mb['brute']:.1f} MB (float32 distances)"
    )
    print(f"{'sample':<16}{'search':<14}{'seconds':>9}{'entropy':>11}{'peak RSS +MB':>14}  blocks searched again")
    for name, row in results.items():
        print(
            f"{name:<16}{'JAX sweep':<14}{row['sweep']:>9.3f}{row['sweep_entropy']:>11.5f}"
            f"{row['sweep_rss_growth_mb']:>14.1f}  {row['boxed']} box + {row['brute_blocks']} brute of {row['blocks']} "
            f"({(row['boxed'] + row['brute_blocks']) / row['blocks']:.0%})"
        )
        print(
            f"{'':<16}{'JAX brute':<14}{row['brute']:>9.3f}{row['brute_entropy']:>11.5f}"
            f"{row['brute_rss_growth_mb']:>14.1f}"
        )
        print(
            f"{'':<16}{'scipy cKDTree':<14}{row['ckdtree']:>9.3f}{row['ckdtree_entropy']:>11.5f}{'-':>14}"
            f"  sweep / cKDTree time: {row['sweep'] / row['ckdtree']:.2f}"
        )
    print(
        f"KNNEntropy(k={K}) on features [B, m, N, d] = [4, 4, 1200, 2] (team, agents and without_agent, "
        f"brute force in blocks of {DEFAULT_CHUNK_SIZE}): {team_seconds:.3f} s"
    )

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "n_points": N_POINTS,
                    "k": K,
                    "plan": sizes._asdict(),
                    "memory_mb": memory_mb,
                    "samples": results,
                    "team_seconds": team_seconds,
                    "team_shape": [4, 4, 1200, 2],
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
