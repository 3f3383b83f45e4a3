"""Sampling trajectories of a team: m agents, each in its own copy of the environment."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from pmaxent.envs.simulator import Dynamics, reset_from_uniform, step_from_uniform
from pmaxent.policies import Policy
from pmaxent.random import uniform


class TeamSamples(NamedTuple):
    """A batch of team samples.

    states: int32 [B, m, T+1] (s_0 .. s_T of each agent's trajectory).
    actions: int32 [B, m, T].
    """

    states: jax.Array
    actions: jax.Array


def sample_team(
    dyn: Dynamics,
    policy: Policy,
    params: jax.Array,
    key: jax.Array,
    batch_size: int,
    horizon: int,
    generator: str = "hash",
) -> TeamSamples:
    """B team samples: each agent i of params [m, ...] runs one trajectory of T actions.

    One block of uniforms is drawn per call (two per agent and step: the action and the
    transition), which on a CPU is much cheaper than splitting keys inside the loop;
    ``generator`` names how (see :mod:`pmaxent.random`).
    """
    n_agents = params.shape[0]
    prepared = policy.prepare(params)
    u_reset, u_steps = jnp.split(uniform(key, (2 * horizon + 1, batch_size, n_agents), generator), [1])
    s0 = reset_from_uniform(dyn, u_reset[0])

    def body(states, inputs):
        t, u_action, u_move = inputs
        actions = policy.act(prepared, states, t, u_action)
        nxt = step_from_uniform(dyn, states, actions, u_move)
        return nxt, (nxt, actions)

    u_steps = u_steps.reshape(horizon, 2, batch_size, n_agents)
    _, (states, actions) = jax.lax.scan(body, s0, (jnp.arange(horizon), u_steps[:, 0], u_steps[:, 1]))
    states = jnp.concatenate([s0[None], states], axis=0)
    return TeamSamples(jnp.moveaxis(states, 0, -1), jnp.moveaxis(actions, 0, -1))
