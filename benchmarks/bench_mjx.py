"""MJX worlds on this machine: compile time and steps per second of the physical point-mass Room
(room-det-mjx) at several batch sizes, and the cost of one training update.

    python benchmarks/bench_mjx.py [--batches 1,64,1024] [--json out.json]

A GPU changes only the install (``jax[cuda]``): the same jitted, vmapped code runs there.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from pmaxent.devices import use_all_cpu_cores

use_all_cpu_cores()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from pmaxent.continuous import mjx_worlds  # noqa: E402
from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.train import init_state, make_update  # noqa: E402


def step_throughput(batch: int, steps: int = 50) -> dict:
    env = mjx_worlds.mjx_environment(mjx_worlds.make("room-det-mjx"))
    states = jax.vmap(env.reset)(jnp.full((batch, env.reset_noise), 0.5))
    actions = jnp.tile(jnp.array([1.0, 0.3]), (batch, 1))
    run = jax.jit(lambda s: jax.lax.fori_loop(0, steps, lambda _, x: jax.vmap(env.step)(x, actions, jnp.zeros((batch, 0))), s))
    start = time.perf_counter()
    jax.block_until_ready(run(states))
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(run(states))
    seconds = time.perf_counter() - start
    return {"batch": batch, "compile_and_first_seconds": round(compile_seconds, 2), "actions_per_second": batch * steps / seconds}


def update_cost(agents: int = 4, batch: int = 10, horizon: int = 32) -> dict:
    config = ContinuousTrainConfig(env="room-det-mjx", agents=agents, batch_size=batch, horizon=horizon, methods=("parallel",), seeds=(0,))
    components = config.make_components()
    update = jax.jit(make_update(config, components))
    state = init_state(config, components, jax.random.key(0))
    start = time.perf_counter()
    state, metrics = update(state, False, True)
    jax.block_until_ready(metrics)
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(5):
        state, metrics = update(state, False, True)
    jax.block_until_ready(metrics)
    return {"agents": agents, "batch": batch, "horizon": horizon, "compile_and_first_seconds": round(compile_seconds, 2), "seconds_per_update": (time.perf_counter() - start) / 5}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,64,1024", help="comma-separated numbers of copies")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    print(f"room-det-mjx (point mass, frame skip 5); {platform.machine()}, {len(jax.devices())} JAX device(s) ({jax.default_backend()}), JAX {jax.__version__}")
    steps = [step_throughput(int(b)) for b in args.batches.split(",")]
    for r in steps:
        print(f"  {r['batch']:5d} copies: {r['actions_per_second'] / 1e3:8.1f} k actions/s ({r['actions_per_second'] * 5 / 1e3:.1f} k physics steps/s), compile + first call {r['compile_and_first_seconds']} s")
    update = update_cost()
    print(f"  one PGPSE update (m = {update['agents']}, B = {update['batch']}, T = {update['horizon']}): {update['seconds_per_update'] * 1e3:.0f} ms, compile + first {update['compile_and_first_seconds']} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": steps, "update": update}, f, indent=2)


if __name__ == "__main__":
    main()
