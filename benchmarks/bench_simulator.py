"""Raw throughput of the batched JAX simulator, in environment steps per second.

A batch of copies (40 team samples x 6 agents, and 5 seeds x 40 x 6) takes uniformly random
actions for T steps (the paper's horizon: 8 room, 10 maze) in a ``lax.scan`` inside ``jit``;
one timed call runs many such episodes back to back (so dispatch overhead does not count),
after a warm-up call that compiles. The variants compare

- how next states are drawn: inverse CDF on the sparse successor table (what pmaxent does,
  O(K) per step with K <= 4 successors) against ``jax.random.categorical`` over the dense
  row log P[s, a, :] (O(S) per step);
- how randomness is generated: one block of uniforms per episode from a threefry or an rbg
  key (``jax.random.key(seed, impl="rbg")``), against splitting a threefry key at every step;
- how a block is drawn: as a flat vector reshaped to the batch, or directly in the batch's
  shape. Both give the same numbers, but on XLA:CPU threefry over a multi-dimensional shape
  compiles several times slower, hence the compile-time column.

and, for reference, a Gymnasium environment stepped in a Python loop (one copy).

Usage:
    python benchmarks/bench_simulator.py [--json results.json] [--seconds 0.3]

Compiling the 20 JAX variants is most of the script's run time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

import pmaxent  # noqa: F401  (registers the Gymnasium ids)
from pmaxent.tabular import make, make_dynamics, registered_id
from pmaxent.tabular.simulator import Dynamics, reset_from_uniform, step_from_uniform

ENVS = ("room-stoc", "maze-stoc")
#: Batch shapes of one call: B = 40 team samples of m = 6 agents, and that for 5 seeds at once.
BATCH_SHAPES = ((40, 6), (5, 40, 6))


def _uniform(key: jax.Array, shape: tuple[int, ...], flat: bool = True) -> jax.Array:
    """Uniforms of ``shape``; ``flat`` draws a vector and reshapes it (same values, faster compile)."""
    if flat:
        return jax.random.uniform(key, (int(np.prod(shape)),)).reshape(shape)
    return jax.random.uniform(key, shape)


def _uniform_actions(u: jax.Array, n_actions: int) -> jax.Array:
    return jnp.minimum((u * n_actions).astype(jnp.int32), n_actions - 1)


def _inverse_cdf_episode(dyn: Dynamics, n_actions: int, horizon: int, batch: tuple[int, ...], flat: bool = True):
    """One episode from a single block of uniforms, as pmaxent.core.rollout does: key -> final states."""

    def episode(key):
        u = _uniform(key, (2 * horizon + 1, *batch), flat)
        s0 = reset_from_uniform(dyn, u[0])

        def body(states, us):
            return step_from_uniform(dyn, states, _uniform_actions(us[0], n_actions), us[1]), None

        final, _ = jax.lax.scan(body, s0, u[1:].reshape(horizon, 2, *batch))
        return final

    return episode


def _inverse_cdf_split_episode(dyn: Dynamics, n_actions: int, horizon: int, batch: tuple[int, ...]):
    """Inverse CDF, but a fresh key split off at every step (the textbook gymnax pattern)."""

    def episode(key):
        key, key_reset = jax.random.split(key)
        s0 = reset_from_uniform(dyn, _uniform(key_reset, batch))

        def body(carry, _):
            states, key = carry
            key, key_step = jax.random.split(key)
            u = _uniform(key_step, (2, *batch))
            return (step_from_uniform(dyn, states, _uniform_actions(u[0], n_actions), u[1]), key), None

        (final, _), _ = jax.lax.scan(body, (s0, key), None, length=horizon)
        return final

    return episode


def _categorical_episode(log_p: jax.Array, start: int, n_actions: int, horizon: int, batch: tuple[int, ...]):
    """Next states by ``jax.random.categorical`` over the dense row log P[s, a, :]."""

    def episode(key):
        s0 = jnp.full(batch, start, jnp.int32)

        def body(carry, _):
            states, key = carry
            key, key_action, key_move = jax.random.split(key, 3)
            actions = _uniform_actions(_uniform(key_action, batch), n_actions)
            # Rows flattened to [copies, S]: Gumbel noise over a 2-D shape compiles faster (see above).
            logits = log_p[states, actions].reshape(-1, log_p.shape[-1])
            nxt = jax.random.categorical(key_move, logits).astype(jnp.int32).reshape(batch)
            return (nxt, key), None

        (final, _), _ = jax.lax.scan(body, (s0, key), None, length=horizon)
        return final

    return episode


def _many_episodes(episode: Callable[[jax.Array], jax.Array]):
    """Jitted ``run(key, n)``: n episodes back to back. n is traced (a while loop), so one
    compilation serves every call size; the summed final states keep XLA from dropping the
    work as dead code."""

    @jax.jit
    def run(key, n_episodes):
        def body(i, total):
            return total + jnp.sum(episode(jax.random.fold_in(key, i)))

        return jax.lax.fori_loop(0, n_episodes, body, jnp.int32(0))

    return run


def _time_calls(run, key, seconds: float) -> tuple[float, int, float]:
    """(seconds of the first, compiling call; episodes and seconds of the fastest of 3 timed calls).

    After the warm-up call, the episode count doubles until one call takes 1/20 of the budget,
    then is scaled so that 3 calls fill it. The fastest call is kept because the CPU is
    shared: other processes only ever slow a call down.
    """

    def timed(n):
        start = time.perf_counter()
        run(key, n).block_until_ready()
        return time.perf_counter() - start

    compile_seconds = timed(1)
    n = 1
    while (elapsed := timed(n)) < seconds / 20:
        n *= 2
    n = max(1, int(n * seconds / 3 / elapsed))
    return compile_seconds, n, min(timed(n) for _ in range(3))


def bench_jax(name: str, batch: tuple[int, ...], seconds: float) -> list[dict]:
    mdp = make(name)
    dyn = make_dynamics(mdp)
    horizon, n_actions = mdp.horizon, mdp.n_actions
    with np.errstate(divide="ignore"):
        log_p = jnp.asarray(np.log(mdp.P), jnp.float32)
    sparse, sparse_shaped = (_inverse_cdf_episode(dyn, n_actions, horizon, batch, flat) for flat in (True, False))
    sparse_split = _inverse_cdf_split_episode(dyn, n_actions, horizon, batch)
    dense = _categorical_episode(log_p, mdp.start_state, n_actions, horizon, batch)
    # (sampler, randomness label, episode function, PRNG implementation of the key)
    variants = [
        ("inverse-cdf", "threefry, block", sparse, "threefry2x32"),
        ("inverse-cdf", "threefry, shaped block", sparse_shaped, "threefry2x32"),
        ("inverse-cdf", "rbg, block", sparse, "rbg"),
        ("inverse-cdf", "threefry, split/step", sparse_split, "threefry2x32"),
        ("categorical", "threefry, split/step", dense, "threefry2x32"),
    ]
    copies = int(np.prod(batch))
    results = []
    for sampler, rng, episode, impl in variants:
        key = jax.random.key(0, impl=impl)
        compile_seconds, episodes, elapsed = _time_calls(_many_episodes(episode), key, seconds)
        steps = episodes * horizon * copies
        results.append(
            dict(env=name, batch=list(batch), copies=copies, sampler=sampler, rng=rng, steps=steps,
                 seconds=elapsed, steps_per_second=steps / elapsed, compile_seconds=compile_seconds)
        )  # fmt: skip
    return results


def bench_gymnasium(name: str, seconds: float, unwrapped: bool) -> dict:
    """One copy stepped with pre-drawn random actions, reset whenever the episode ends."""
    env = gymnasium.make(registered_id(name))
    horizon = env.spec.max_episode_steps
    if unwrapped:
        env = env.unwrapped
    actions = np.random.default_rng(0).integers(0, env.action_space.n, size=100_000).tolist()
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1_000):
            _, _, terminated, truncated, _ = env.step(actions[steps % len(actions)])
            steps += 1
            # The raw env never ends an episode; cut it at T like the TimeLimit wrapper does.
            if terminated or truncated or (unwrapped and steps % horizon == 0):
                env.reset()
    elapsed = time.perf_counter() - start
    label = "env.unwrapped.step" if unwrapped else "gym.make(...).step"
    return dict(env=name, batch=[1], copies=1, sampler=label, rng="numpy PCG64", steps=steps,
                seconds=elapsed, steps_per_second=steps / elapsed, compile_seconds=None)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--seconds", type=float, default=0.3, help="timed seconds per measurement (default 0.3)")
    args = parser.parse_args()

    started = time.perf_counter()
    results = []
    for name in ENVS:
        for batch in BATCH_SHAPES:
            results += bench_jax(name, batch, args.seconds)
        results += [bench_gymnasium(name, args.seconds, unwrapped) for unwrapped in (False, True)]

    header = f"{'env':<10} {'batch':<8} {'sampler':<19} {'randomness':<23} {'steps/s':>12} {'compile s':>10}"
    print(header)
    print("-" * len(header))
    for r in results:
        batch = "x".join(map(str, r["batch"]))
        compiled = "" if r["compile_seconds"] is None else f"{r['compile_seconds']:.2f}"
        rate = f"{r['steps_per_second']:,.0f}"
        print(f"{r['env']:<10} {batch:<8} {r['sampler']:<19} {r['rng']:<23} {rate:>12} {compiled:>10}")
    print(f"\nfastest of 3 timed calls per row; total wall time {time.perf_counter() - started:.1f} s")

    if args.json:
        meta = dict(jax=jax.__version__, backend=jax.default_backend(), devices=[str(d) for d in jax.devices()],
                    cpu_count=os.cpu_count(), machine=platform.machine(), seconds_per_measurement=args.seconds,
                    timing="fastest of 3 calls, each running many episodes")  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, results=results), f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
