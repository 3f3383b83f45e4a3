"""A batched JAX simulator of a :class:`TabularMDP`, in the gymnax style: pure functions of an
explicit PRNG key (or of pre-drawn uniforms) and a static table built once.

Next states are drawn by inverse-CDF sampling from the sparse successor table, so a step costs
O(K) with K the most successors of any (state, action) (K = 4 on the paper's grids), not O(S).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.random import uniform
from pmaxent.tabular.mdp import TabularMDP


class Dynamics(NamedTuple):
    """Device-side tables of a TabularMDP (a pytree, so it can be closed over or passed to jit).

    successors: int32 [S, A, K]; cumulative: float32 [S, A, K] (last column 1).
    initial_states: int32 [K0]; initial_cumulative: float32 [K0], the support of mu and its CDF.
    """

    successors: jax.Array
    cumulative: jax.Array
    initial_states: jax.Array
    initial_cumulative: jax.Array


def make_dynamics(mdp: TabularMDP) -> Dynamics:
    successors, cumulative = mdp.successor_table()
    support = np.flatnonzero(mdp.mu > 0)
    cum = np.cumsum(mdp.mu[support])
    cum = (cum / cum[-1]).astype(np.float32)
    cum[-1] = 1.0
    # converted by NumPy and put on the device as they are: a conversion by jax.numpy is a program
    tables = (np.asarray(successors, np.int32), np.asarray(cumulative, np.float32), support.astype(np.int32), cum)
    return Dynamics(*jax.device_put(tables))


def _inverse_cdf(cumulative: jax.Array, u: jax.Array) -> jax.Array:
    """Index k of the first cumulative[..., k] > u (cumulative: [..., K], u: [...])."""
    return jnp.sum((u[..., None] >= cumulative[..., :-1]).astype(jnp.int32), axis=-1)


def reset_from_uniform(dyn: Dynamics, u: jax.Array) -> jax.Array:
    """Initial states for uniforms ``u`` of any shape: int32 states of the same shape."""
    if dyn.initial_states.shape[0] == 1:
        return jnp.full(u.shape, dyn.initial_states[0])
    return dyn.initial_states[_inverse_cdf(dyn.initial_cumulative, u)]


def step_from_uniform(dyn: Dynamics, states: jax.Array, actions: jax.Array, u: jax.Array) -> jax.Array:
    """Next states for states, actions and uniforms of one shape (e.g. [B, m]).

    Gathers use flat indices and mode="clip" (indices are in range by construction), which
    XLA's CPU backend runs markedly faster than multi-dimensional or bounds-checked gathers.
    """
    n_actions, width = dyn.successors.shape[1:]
    row = states * n_actions + actions
    if width == 1:
        return jnp.take(dyn.successors.reshape(-1), row, mode="clip")
    cumulative = jnp.take(dyn.cumulative.reshape(-1, width), row, axis=0, mode="clip")
    return jnp.take(dyn.successors.reshape(-1), row * width + _inverse_cdf(cumulative, u), mode="clip")


def reset(dyn: Dynamics, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Initial states int32 ``shape`` (e.g. [B, m]) drawn from mu."""
    return reset_from_uniform(dyn, uniform(key, shape, "jax"))


def step(dyn: Dynamics, key: jax.Array, states: jax.Array, actions: jax.Array) -> jax.Array:
    """Next states drawn from P[states, actions, :] (all arrays of one shape)."""
    return step_from_uniform(dyn, states, actions, uniform(key, states.shape, "jax"))


def rollout_actions(dyn: Dynamics, key: jax.Array, actions: jax.Array) -> jax.Array:
    """States visited under an open-loop action sequence.

    Args:
        actions: int32 [T, *batch].
    Returns:
        states: int32 [T+1, *batch] (s_0 .. s_T).
    """
    key_reset, key_steps = jax.random.split(key)
    s0 = reset(dyn, key_reset, actions.shape[1:])

    def body(states, inputs):
        a, u = inputs
        nxt = step_from_uniform(dyn, states, a, u)
        return nxt, nxt

    uniforms = uniform(key_steps, actions.shape, "jax")
    _, rest = jax.lax.scan(body, s0, (actions, uniforms))
    return jnp.concatenate([s0[None], rest], axis=0)
