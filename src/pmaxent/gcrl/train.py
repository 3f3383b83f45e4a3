"""Training goal-conditioned learners, PureJaxRL style: :func:`make_learner` gives a pure
``init(key)`` and ``run(state, data, length)`` (a ``lax.scan`` of gradient steps), and
:func:`train_agents` trains many learners (datasets x seeds) at once, vmapped and sharded over the
devices as lanes, in chunks of steps under a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pmaxent.core.devices import Lanes
from pmaxent.core.progress import progress_bar
from pmaxent.gcrl import gciql, gcivl
from pmaxent.gcrl.config import GCConfig
from pmaxent.gcrl.data import GoalData, sample_batch
from pmaxent.gcrl.gcivl import actor_means

AGENTS = {"gcivl": gcivl, "gciql": gciql}
"""Agent name -> its module (``init``, ``loss``, ``TARGET``)."""
CHUNK = 2_000
"""Gradient steps per jitted call of :func:`train_agents` (between progress updates)."""


class LearnerState(NamedTuple):
    """params (the agent's networks), target (the target copy of ``params[TARGET]``), the
    optimizer's state, the key and the number of steps done."""

    params: dict
    target: Any
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array


def make_learner(config: GCConfig, obs_dim: int, action_dim: int) -> tuple[Callable, Callable]:
    """Pure ``init(key) -> LearnerState`` and ``run(state, data, length) -> (state, metrics)``:
    ``length`` gradient steps on ``data`` (a :class:`~pmaxent.gcrl.data.GoalData`), each on a fresh
    batch with hindsight goals; metrics are their means over the steps."""
    agent = AGENTS[config.agent]
    optimizer = optax.adam(config.lr)

    def init(key) -> LearnerState:
        init_key, run_key = jax.random.split(key)
        params = agent.init(init_key, obs_dim, action_dim, config)
        return LearnerState(params, params[agent.TARGET], optimizer.init(params), run_key, jnp.zeros((), jnp.int32))

    def update(state: LearnerState, data: GoalData):
        key, batch_key, loss_key = jax.random.split(state.key, 3)
        batch = sample_batch(batch_key, data, config)
        grads, metrics = jax.grad(agent.loss, has_aux=True)(state.params, state.target, batch, config, loss_key)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        target = optax.incremental_update(params[agent.TARGET], state.target, config.tau)
        return LearnerState(params, target, opt_state, key, state.step + 1), metrics

    def run(state: LearnerState, data: GoalData, length: int):
        state, metrics = jax.lax.scan(lambda s, _: update(s, data), state, None, length=length)
        return state, jax.tree.map(lambda m: m.mean(), metrics)

    return init, run


def act(params: dict, observations, goals, key: jax.Array | None = None, temperature=0.0) -> jax.Array:
    """Actions [B, a] for observations and goals [B, d], clipped to [-1, 1]: drawn from the actor's
    Gaussian with its standard deviation (1) scaled by ``temperature`` (OGBench's eval_temperature);
    at temperature 0 (or without a key) its mean."""
    mean = actor_means(params["actor"], observations, goals)
    if key is not None:
        mean = mean + temperature * jax.random.normal(key, mean.shape)
    return jnp.clip(mean, -1.0, 1.0)


def train_agents(
    config: GCConfig, data: GoalData, seeds, progress: bool = False, label: str = "offline"
) -> tuple[dict, dict[str, np.ndarray]]:
    """Train one learner per stacked dataset and seed, all at once.

    Args:
        data: datasets stacked along a leading axis [D, ...] (:func:`pmaxent.gcrl.data.stack`).
        seeds: [D] integer seeds, one per dataset's learner.
    Returns:
        (params with leaves [D, ...], metrics name -> [D, chunks], each chunk's mean).
    """
    seeds = np.asarray(seeds, np.int64).reshape(-1)
    count = len(seeds)
    obs_dim, action_dim = data.observations.shape[-1], data.actions.shape[-1]
    init, run = make_learner(config, obs_dim, action_dim)
    lanes = Lanes((count,))
    states = lanes.pack(jax.jit(jax.vmap(init))(jax.vmap(jax.random.key)(jnp.asarray(seeds, jnp.uint32))))
    packed = lanes.pack(data)
    run_lanes = jax.jit(jax.vmap(run, in_axes=(0, 0, None)), static_argnums=2, donate_argnums=0)
    history: dict[str, list] = {}
    lengths = [min(CHUNK, config.steps - start) for start in range(0, config.steps, CHUNK)]
    with progress_bar(config.steps, f"{label} {config.agent}", enabled=progress, unit="steps") as bar:
        for length in lengths:
            states, metrics = run_lanes(states, packed, length)
            for name, values in lanes.unpack(metrics).items():
                history.setdefault(name, []).append(values)
            bar.advance(length)
    params = lanes.unpack(states.params)
    return params, {name: np.stack(values, axis=-1) for name, values in history.items()}
