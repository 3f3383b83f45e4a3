"""Continuous training throughput: the JAX trainer against a per-step NumPy loop with sklearn
neighbours (the way MEPOL's code samples and estimates), in the same process.

    python benchmarks/bench_continuous.py [--json out.json] [--quick] [--k 4]

Where the machine sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (they slow a current NumPy), unset
both for this command (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...) so that the NumPy
loop runs OpenBLAS's own kernels.

For m in {1, 4, 16} agents on gridworld-continuous (B = 10 team samples of T = 100 steps,
64-64 ReLU networks, k = 4 unless --k says otherwise, parallel method, one seed):
1. JAX: agent-steps per second of whole PGPSE updates (rollout + k-NN entropies of the team,
   of each agent and without each agent + gradient + Adam), compilation excluded;
2. NumPy: the same rollout as a Python loop over steps with NumPy networks and world, and the
   same entropies with sklearn's NearestNeighbors, agent-steps per second. It computes no
   gradient, so the ratio understates the speed-up of a full update;
3. the team k-NN search of one update alone (B samples of m x (T + 1) uniform points, median of
   10 calls), to show how much of an update it is.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from pmaxent.devices import use_all_cpu_cores

use_all_cpu_cores()

import jax  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import digamma, gammaln  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402

from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.knn import team_knn_distances  # noqa: E402
from pmaxent.devices import Lanes  # noqa: E402
from pmaxent.runs import _initial_states, make_chunk_runner  # noqa: E402

HORIZON, BATCH, HIDDEN = 100, 10, (64, 64)


def jax_throughput(agents: int, updates: int, k: int) -> dict:
    config = ContinuousTrainConfig(agents=agents, batch_size=BATCH, horizon=HORIZON, k=k, hidden=HIDDEN, methods=("parallel",), seeds=(0,), updates=updates, chunk=updates)
    components = config.make_components()
    lanes = Lanes((1, 1))
    run = make_chunk_runner(config, components, lanes)
    states = lanes.pack(_initial_states(config, components))
    start = time.perf_counter()
    states, metrics = run(states, updates)
    jax.block_until_ready(metrics)
    compile_and_first = time.perf_counter() - start
    start = time.perf_counter()
    states, metrics = run(states, updates)
    jax.block_until_ready(metrics)
    seconds = time.perf_counter() - start
    steps = BATCH * agents * HORIZON * updates
    return {"agents": agents, "updates": updates, "seconds": round(seconds, 3), "agent_steps_per_second": steps / seconds, "first_call_with_compile_seconds": round(compile_and_first, 2)}


def search_seconds(agents: int, k: int) -> float:
    """Median wall time of the team search of one update (B samples of m x (T + 1) points)."""
    points = jax.random.uniform(jax.random.key(0), (BATCH, agents, HORIZON + 1, 2), minval=-6, maxval=6)
    search = jax.jit(lambda x: team_knn_distances(x, k))
    jax.block_until_ready(search(points))
    times = []
    for _ in range(10):
        start = time.perf_counter()
        jax.block_until_ready(search(points))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _knn_entropy(points: np.ndarray, k: int) -> float:
    n, d = points.shape
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    rho = np.maximum(distances[:, k], 1e-5)
    log_volume = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)
    return digamma(n) - digamma(k) + log_volume + d * np.log(rho).mean()


def numpy_throughput(agents: int, updates: int, k: int) -> dict:
    """Per-step loop: every step, every copy, a NumPy forward pass and a NumPy world step."""
    from pmaxent.continuous import worlds

    world = worlds.make("gridworld-continuous")
    walls = np.asarray(world.walls)
    rng = np.random.default_rng(0)
    sizes = (2, *HIDDEN, 2)
    nets = [[(rng.normal(0, 1 / np.sqrt(a), (a, b)), np.zeros(b)) for a, b in zip(sizes[:-1], sizes[1:])] for _ in range(agents)]
    start = time.perf_counter()
    for _ in range(updates):
        samples = np.zeros((BATCH, agents, HORIZON + 1, 2))
        for b in range(BATCH):
            for i in range(agents):
                position = rng.uniform(-6, -4, 2)
                samples[b, i, 0] = position
                for t in range(HORIZON):
                    h = position
                    for layer, (w, bias) in enumerate(nets[i]):
                        h = h @ w + bias
                        if layer < len(nets[i]) - 1:
                            h = np.maximum(h, 0)
                    action = np.clip(h + np.exp(-1.5) * rng.normal(size=2), -0.2, 0.2)
                    proposal = position + action
                    inside = np.any((walls[:, 0] <= proposal[0]) & (proposal[0] <= walls[:, 1]) & (walls[:, 2] <= proposal[1]) & (proposal[1] <= walls[:, 3]))
                    if not inside and np.all(np.abs(proposal) < 6):
                        position = proposal
                    samples[b, i, t + 1] = position
            team = samples[b].reshape(-1, 2)
            _knn_entropy(team, k)
            for i in range(agents):
                _knn_entropy(samples[b, i], k)
                if agents > 1:
                    _knn_entropy(np.delete(samples[b], i, axis=0).reshape(-1, 2), k)
    seconds = time.perf_counter() - start
    steps = BATCH * agents * HORIZON * updates
    return {"agents": agents, "updates": updates, "seconds": round(seconds, 3), "agent_steps_per_second": steps / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--quick", action="store_true", help="fewer updates (a smoke run)")
    parser.add_argument("--k", type=int, default=4, help="k of the k-NN entropies (the training default is ContinuousTrainConfig.k)")
    args = parser.parse_args()
    results = {"k": args.k, "machine": {"processor": platform.processor() or platform.machine(), "devices": [str(d) for d in jax.devices()], "jax": jax.__version__}, "rows": []}
    print(f"gridworld-continuous, B = {BATCH}, T = {HORIZON}, k = {args.k}, networks {HIDDEN}")
    numpy_throughput(1, 1, args.k)  # untimed: the first sklearn and NumPy calls of a process pay their set-up
    for agents in (1, 4, 16):
        jax_row = jax_throughput(agents, 5 if args.quick else 30, args.k)
        numpy_row = numpy_throughput(agents, 1 if args.quick else 3, args.k)
        ratio = jax_row["agent_steps_per_second"] / numpy_row["agent_steps_per_second"]
        search = search_seconds(agents, args.k)
        update = BATCH * agents * HORIZON / jax_row["agent_steps_per_second"]
        results["rows"].append({"jax": jax_row, "numpy": numpy_row, "ratio": ratio, "team_search_seconds": search, "update_seconds": update})
        print(f"  m = {agents:2d}: JAX {jax_row['agent_steps_per_second'] / 1e3:8.1f} k agent-steps/s (whole updates)   "
              f"NumPy + sklearn {numpy_row['agent_steps_per_second'] / 1e3:6.1f} k (rollout and entropies only)   ratio {ratio:5.0f}x   "
              f"team search {search * 1e3:.1f} of {update * 1e3:.1f} ms per update")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
