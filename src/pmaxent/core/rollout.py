"""Sampling trajectories of a team: m agents, each in its own copy of the environment."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from pmaxent.core.components import Environment, Params, TeamPolicy, agent_count
from pmaxent.core.random import uniform


def map_copies(f, n_axes: int = 2):
    """``f`` of one copy mapped over ``n_axes`` leading axes (e.g. [B, m])."""
    for _ in range(n_axes):
        f = jax.vmap(f)
    return f


class TeamSamples(NamedTuple):
    """A batch of team samples.

    states: the environment's state pytree with leading axes [B, m, T+1] (s_0 .. s_T of each
    agent's trajectory; int32 [B, m, T+1] on a tabular MDP).
    actions: [B, m, T, ...].
    """

    states: Any
    actions: jax.Array


def sample_team(
    env: Environment,
    policy: TeamPolicy,
    params: Params,
    key: jax.Array,
    batch_size: int,
    generator: str = "hash",
    uniform_actions: bool | jax.Array = False,
) -> TeamSamples:
    """B team samples: each of the m agents of ``params`` runs one trajectory of T actions.

    One block of uniforms [R + T (P + E), B, m] is drawn per call (R = env.reset_noise,
    P = policy.noise, E = env.step_noise), row-major in that order; ``generator`` names how (see
    :mod:`pmaxent.core.random`). ``uniform_actions`` (may be traced) makes the team act uniformly at
    random: the random baseline.
    """
    n_agents = agent_count(policy, params)
    horizon, n_reset, n_act, n_step = env.horizon, env.reset_noise, policy.noise, env.step_noise
    prepared = policy.prepare(params, uniform_actions)
    block = uniform(key, (n_reset + horizon * (n_act + n_step), batch_size, n_agents), generator)
    u_reset = jnp.moveaxis(block[:n_reset], 0, -1)
    u_steps = jnp.moveaxis(block[n_reset:].reshape(horizon, n_act + n_step, batch_size, n_agents), 1, -1)
    s0 = map_copies(env.reset)(u_reset)
    act = jax.vmap(policy.act, in_axes=(None, 0, None, 0))  # over B

    def body(states, inputs):
        t, u = inputs
        actions = act(prepared, map_copies(env.observe)(states), t, u[..., :n_act])
        nxt = map_copies(env.step)(states, actions, u[..., n_act:])
        return nxt, (nxt, actions)

    _, (states, actions) = jax.lax.scan(body, s0, (jnp.arange(horizon), u_steps))
    states = jax.tree.map(lambda first, rest: jnp.moveaxis(jnp.concatenate([first[None], rest]), 0, 2), s0, states)
    return TeamSamples(states, jnp.moveaxis(actions, 0, 2))
