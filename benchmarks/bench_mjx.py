"""MJX worlds on this machine: compile time and steps per second of the physical point-mass Room
(room-det-mjx) and of MEPOL's Ant (ant-mjx) at several batch sizes, and the cost of one training
update in each.

    python benchmarks/bench_mjx.py [--batches 1,64,1024] [--ant-batches 1,20] [--ant-horizon 100] [--json out.json]

The Ant's update is MEPOL's setting (ant_config: m = 4, B = 5, 20 trajectories, k = 4, 400-300)
at T = --ant-horizon (MEPOL's T = 500 costs about 500 / T times as much: the rollout dominates).
A GPU changes only the install (``jax[cuda]``): the same jitted, vmapped code runs there.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from pmaxent.core.devices import use_all_cpu_cores

use_all_cpu_cores()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from pmaxent.continuous import mjx_worlds  # noqa: E402
from pmaxent.continuous.config import ContinuousTrainConfig, ant_config  # noqa: E402
from pmaxent.core.train import init_state, make_update  # noqa: E402


def step_throughput(batch: int, steps: int = 50, name: str = "room-det-mjx") -> dict:
    env = mjx_worlds.mjx_environment(mjx_worlds.make(name))
    states = jax.vmap(env.reset)(jnp.full((batch, env.reset_noise), 0.5))
    actions = jnp.tile(jnp.linspace(1.0, 0.3, env.action_space.shape[0]), (batch, 1))
    run = jax.jit(
        lambda s: jax.lax.fori_loop(0, steps, lambda _, x: jax.vmap(env.step)(x, actions, jnp.zeros((batch, 0))), s)
    )
    start = time.perf_counter()
    jax.block_until_ready(run(states))
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(run(states))
    seconds = time.perf_counter() - start
    return {
        "batch": batch,
        "compile_and_first_seconds": round(compile_seconds, 2),
        "actions_per_second": batch * steps / seconds,
    }


def update_cost(
    agents: int = 4, batch: int = 10, horizon: int = 32, config: ContinuousTrainConfig | None = None, repeats: int = 5
) -> dict:
    config = config or ContinuousTrainConfig(
        env="room-det-mjx", agents=agents, batch_size=batch, horizon=horizon, methods=("parallel",), seeds=(0,)
    )
    agents, batch, horizon = config.agents, config.batch_size, config.horizon
    components = config.make_components()
    update = jax.jit(make_update(config, components))
    state = init_state(config, components, jax.random.key(0))
    start = time.perf_counter()
    state, metrics = update(state, False, True)
    jax.block_until_ready(metrics)
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        state, metrics = update(state, False, True)
    jax.block_until_ready(metrics)
    seconds = (time.perf_counter() - start) / repeats
    return {
        "env": config.env,
        "agents": agents,
        "batch": batch,
        "horizon": horizon,
        "compile_and_first_seconds": round(compile_seconds, 2),
        "seconds_per_update": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="1,64,1024", help="comma-separated numbers of copies")
    parser.add_argument("--ant-batches", default="1,20", help="comma-separated numbers of Ant copies")
    parser.add_argument("--ant-horizon", type=int, default=100, help="T of the Ant's timed update")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    print(
        f"room-det-mjx (point mass, frame skip 5); {platform.machine()}, {len(jax.devices())} JAX device(s) "
        f"({jax.default_backend()}), JAX {jax.__version__}"
    )
    steps = [step_throughput(int(b)) for b in args.batches.split(",")]
    for r in steps:
        print(
            f"  {r['batch']:5d} copies: {r['actions_per_second'] / 1e3:8.1f} k actions/s "
            f"({r['actions_per_second'] * 5 / 1e3:.1f} k physics steps/s), compile + first call "
            f"{r['compile_and_first_seconds']} s"
        )
    update = update_cost()
    print(
        f"  one PGPSE update (m = {update['agents']}, B = {update['batch']}, T = {update['horizon']}): "
        f"{update['seconds_per_update'] * 1e3:.0f} ms, compile + first {update['compile_and_first_seconds']} s"
    )
    print("ant-mjx (Gymnasium's ant.xml, 8 motors, frame skip 5, RK4)")
    ant_steps = [step_throughput(int(b), steps=20, name="ant-mjx") for b in args.ant_batches.split(",")]
    for r in ant_steps:
        print(
            f"  {r['batch']:5d} copies: {r['actions_per_second']:8.1f} actions/s ({r['actions_per_second'] * 5:.0f} "
            f"physics steps/s), compile + first call {r['compile_and_first_seconds']} s"
        )
    ant_update = update_cost(config=ant_config(horizon=args.ant_horizon, methods=("parallel",), seeds=(0,)), repeats=1)
    print(
        f"  one PGPSE update (MEPOL's Ant setting, m = 4, B = 5, T = {args.ant_horizon}): "
        f"{ant_update['seconds_per_update']:.1f} s, compile + first {ant_update['compile_and_first_seconds']} s"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": steps, "update": update, "ant_steps": ant_steps, "ant_update": ant_update}, f, indent=2)


if __name__ == "__main__":
    main()
