"""Training throughput of PGPSE: JAX against a per-step NumPy loop, the paper grid's wall time.

    python benchmarks/bench_train.py [--json out.json] [--quick]

Measures, on this machine:
1. agent-steps per second of the paper configuration (room-det, m = 6, B = 40, the 5 paper
   seeds vmapped, 10,000 updates; parallel method, the paper's estimator), excluding compilation;
2. the same with each random-number generator (the hashed counter of pmaxent.core.random against
   JAX's threefry2x32, rbg and unsafe_rbg), on fewer updates;
3. the same training written as most research code does: a NumPy/Python loop with one
   ``rng.choice`` per agent and step, timed on a few updates; and the ratio;
4. wall time of the whole paper grid (4 environments x m in {2, 4, 6} x {parallel, single} x
   5 seeds x 10,000 updates), compilation included;
5. peak memory (max RSS) of the process.
One JAX device per CPU core is used (see pmaxent.core.devices), so the lanes are sharded over cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time

from pmaxent.core.devices import use_all_cpu_cores

use_all_cpu_cores()

import jax  # noqa: E402
import numpy as np  # noqa: E402

from pmaxent import tabular  # noqa: E402
from pmaxent.core.devices import Lanes  # noqa: E402
from pmaxent.core.runs import _initial_states, make_chunk_runner, run_training  # noqa: E402
from pmaxent.tabular.config import TabularTrainConfig, paper_config  # noqa: E402


def agent_steps(config: TabularTrainConfig, updates: int) -> int:
    horizon = config.make_components().env.horizon
    return (
        len(config.methods)
        * len(config.seeds)
        * config.batch_size
        * config.trajectories
        * config.agents
        * horizon
        * updates
    )


def jax_throughput(config: TabularTrainConfig) -> dict:
    """Steady-state speed of the chunked trainer (compile excluded) and its compile time."""
    components = config.make_components()
    lanes = Lanes((len(config.methods), len(config.seeds)))
    run = make_chunk_runner(config, components, lanes)
    states = lanes.pack(_initial_states(config, components))
    start = time.perf_counter()
    states, metrics = run(states, config.chunk)
    jax.block_until_ready(metrics)
    compile_and_first = time.perf_counter() - start
    n_chunks = config.updates // config.chunk - 1
    start = time.perf_counter()
    for _ in range(n_chunks):
        states, metrics = run(states, config.chunk)
    jax.block_until_ready(metrics)
    seconds = time.perf_counter() - start
    steps = agent_steps(config, n_chunks * config.chunk)
    return {
        "rng": config.rng,
        "updates_timed": n_chunks * config.chunk,
        "seconds": round(seconds, 3),
        "agent_steps_per_second": steps / seconds,
        "updates_per_second": n_chunks * config.chunk / seconds,
        "first_chunk_with_compile_seconds": round(compile_and_first, 2),
    }


def numpy_loop_throughput(mdp, agents: int, batch_size: int, seeds: int, updates: int, lr: float = 0.1) -> dict:
    """PGPSE as a plain per-step loop: one rng.choice per action and per transition."""
    rng = np.random.default_rng(0)
    n_states, n_actions, horizon = mdp.n_states, mdp.n_actions, mdp.horizon
    start_state = mdp.start_state
    theta = rng.uniform(-1, 1, (seeds, agents, n_states, n_actions))
    start = time.perf_counter()
    for _ in range(updates):
        for seed in range(seeds):
            probs = np.exp(theta[seed]) / np.exp(theta[seed]).sum(-1, keepdims=True)
            grad = np.zeros_like(theta[seed])
            for _ in range(batch_size):
                visits, scores = [], []
                for i in range(agents):
                    s = start_state
                    trajectory, score = [s], np.zeros((n_states, n_actions))
                    for _ in range(horizon):
                        a = rng.choice(n_actions, p=probs[i, s])
                        score[s] -= probs[i, s]
                        score[s, a] += 1
                        s = rng.choice(n_states, p=mdp.P[s, a])
                        trajectory.append(s)
                    visits += trajectory
                    scores.append(score)
                counts = np.bincount(visits, minlength=n_states) / len(visits)
                counts = counts[counts > 0]
                entropy = -np.sum(counts * np.log(counts))
                for i in range(agents):
                    grad[i] += entropy * scores[i] / batch_size
            theta[seed] += lr * grad
    seconds = time.perf_counter() - start
    steps = seeds * batch_size * agents * horizon * updates
    return {"updates_timed": updates, "seconds": round(seconds, 3), "agent_steps_per_second": steps / seconds}


def paper_grid(updates: int) -> dict:
    """Train every (env, m) of the paper with both methods and 5 seeds; wall time, compile included."""
    start = time.perf_counter()
    per_run = {}
    total_steps = 0
    for env in tabular.ENV_NAMES:
        for m in (2, 4, 6):
            config = paper_config(env, m, methods=("parallel", "single"), updates=updates)
            run_start = time.perf_counter()
            run_training(config, progress=False, plot=False)
            per_run[f"{env} m={m}"] = round(time.perf_counter() - run_start, 2)
            total_steps += agent_steps(config, updates)
    seconds = time.perf_counter() - start
    return {
        "updates": updates,
        "seconds": round(seconds, 1),
        "agent_steps": total_steps,
        "agent_steps_per_second": total_steps / seconds,
        "per_run_seconds": per_run,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--quick", action="store_true", help="fewer updates everywhere (a smoke run)")
    args = parser.parse_args()
    updates = 1000 if args.quick else 10_000
    results = {
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "devices": [str(d) for d in jax.devices()],
            "jax": jax.__version__,
        },
    }
    paper = paper_config("room-det", 6, methods=("parallel",), updates=updates)
    results["paper_config"] = jax_throughput(paper)
    print(
        f"paper configuration (room-det, m=6, B=40, 5 seeds, {updates} updates): "
        f"{results['paper_config']['agent_steps_per_second'] / 1e6:.1f} M agent-steps/s, "
        f"{results['paper_config']['updates_per_second']:.0f} updates/s (first chunk incl. compile "
        f"{results['paper_config']['first_chunk_with_compile_seconds']} s)"
    )
    results["rng"] = []
    for rng in ("hash", "threefry2x32", "rbg", "unsafe_rbg"):  # same config, half the updates
        config = paper_config("room-det", 6, methods=("parallel",), updates=updates // 2, rng=rng)
        row = jax_throughput(config)
        results["rng"].append(row)
        print(f"  rng {rng:13s} {row['agent_steps_per_second'] / 1e6:6.1f} M agent-steps/s")
    mdp = tabular.make("room-det")
    loop = numpy_loop_throughput(mdp, agents=6, batch_size=40, seeds=5, updates=2 if args.quick else 10)
    loop["ratio_jax_over_numpy"] = results["paper_config"]["agent_steps_per_second"] / loop["agent_steps_per_second"]
    results["numpy_loop"] = loop
    print(
        f"NumPy per-step loop: {loop['agent_steps_per_second'] / 1e3:.1f} k agent-steps/s -> JAX is "
        f"{loop['ratio_jax_over_numpy']:,.0f}x faster"
    )
    grid = paper_grid(updates)
    results["paper_grid"] = grid
    print(
        f"paper grid (4 envs x m 2,4,6 x parallel+single x 5 seeds x {updates} updates): {grid['seconds']:.1f} s "
        f"({grid['agent_steps_per_second'] / 1e6:.1f} M agent-steps/s overall, compilation included)"
    )
    results["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {results['peak_memory_mb']:.0f} MB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
