"""Gradient steps per second of the offline goal-conditioned learners: pmaxent's JAX IQL (GCIQL with
AWR extraction) against d3rlpy's IQL, the same networks, batch and hindsight goals, on one dataset
and on all of a suite's datasets at once (JAX: one program, the datasets as lanes; d3rlpy: one fit
per dataset in ``workers`` processes).

    python benchmarks/bench_offline.py --steps 2000 --datasets 1 12          # both, side by side
    farm-bench -n 3 -- python benchmarks/bench_offline.py --backend jax --datasets 12 \\
        --vs 'python benchmarks/bench_offline.py --backend d3rlpy --datasets 12'

Each dataset is scripted shortest-path data in GridWorldContinuous (100 trajectories x 200 steps,
different seeds). Steps per second count every dataset's steps (datasets x steps / seconds); the
JAX time excludes compilation (timed apart), d3rlpy's counts its fits only (not building its
relabelled dataset), their seconds summed and divided by the worker processes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax
import numpy as np

from pmaxent.continuous import worlds
from pmaxent.continuous.offline_config import ContinuousOfflineConfig
from pmaxent.continuous.paths import shortest_path_data
from pmaxent.core.devices import use_all_cpu_cores
from pmaxent.gcrl.data import from_trajectories, stack
from pmaxent.gcrl.train import make_learner


def _datasets(count: int):
    world = worlds.make("gridworld-continuous")
    return [from_trajectories(*shortest_path_data(world, 100, 200, seed=i), world.max_step) for i in range(count)]


def jax_rate(config: ContinuousOfflineConfig, count: int, steps: int) -> dict:
    learner = config.learner()
    data = stack(_datasets(count))
    init, run = make_learner(learner, 2, 2)
    states = jax.vmap(init)(jax.vmap(jax.random.key)(np.arange(count, dtype=np.uint32)))
    program = jax.jit(jax.vmap(lambda s, d: run(s, d, steps)))
    start = time.perf_counter()
    compiled = program.lower(states, data).compile()
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(compiled(states, data))
    seconds = time.perf_counter() - start
    return {"compile_s": compile_seconds, "seconds": seconds, "steps_per_s": count * steps / seconds}


def d3rlpy_rate(config: ContinuousOfflineConfig, count: int, steps: int) -> dict:
    import concurrent.futures
    import multiprocessing

    config = dataclasses.replace(config, steps=steps)
    processes = min(config.processes, count)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
        list(pool.map(_warm, range(processes)))  # imports PyTorch and d3rlpy in every worker first
        start = time.perf_counter()
        fits = list(pool.map(_fit_seconds, _datasets(count), [config] * count, range(count)))
        seconds = time.perf_counter() - start
    # the fits' own seconds, summed over the workers' share: what the processes spent stepping
    stepping = sum(fits) / processes
    return {"seconds": seconds, "stepping_s": stepping, "steps_per_s": count * steps / stepping}


def _warm(_):
    import torch

    from pmaxent.continuous.offline_d3rlpy import _import_d3rlpy

    _import_d3rlpy()
    torch.set_num_threads(1)


def _fit_seconds(data, config, seed) -> float:
    from pmaxent.continuous.offline_d3rlpy import fit_learner, relabelled_dataset

    dataset = relabelled_dataset(data, config, seed)
    start = time.perf_counter()
    fit_learner(dataset, config, seed)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("both", "jax", "d3rlpy"), default="both")
    parser.add_argument("--datasets", type=int, nargs="+", default=[1, 12], help="datasets trained at once")
    parser.add_argument("--steps", type=int, default=2000, help="gradient steps per dataset")
    parser.add_argument("--hidden", type=int, nargs="+", default=list(ContinuousOfflineConfig.offline_hidden))
    parser.add_argument("--batch", type=int, default=ContinuousOfflineConfig.offline_batch_size)
    args = parser.parse_args()
    use_all_cpu_cores()
    config = ContinuousOfflineConfig(
        algorithm="d3rlpy-iql", steps=args.steps, offline_hidden=tuple(args.hidden), offline_batch_size=args.batch
    )
    for count in args.datasets:
        row = {"datasets": count, "steps": args.steps, "hidden": args.hidden, "batch": args.batch}
        if args.backend in ("both", "jax"):
            row["jax"] = jax_rate(config, count, args.steps)
        if args.backend in ("both", "d3rlpy"):
            row["d3rlpy"] = d3rlpy_rate(config, count, args.steps)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
