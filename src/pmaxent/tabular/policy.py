"""The tabular softmax team policy of the paper (SPEC section 4), a
:class:`~pmaxent.core.components.TeamPolicy`.

One table per agent: theta [m, S, A], or [m, T, S, A] for the time-indexed (non-stationary)
variant; pi_i(a | s) = softmax(theta[i, s])[a].
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from pmaxent.core.random import uniform

INITIALISATIONS = ("uniform", "zeros")


@dataclasses.dataclass(frozen=True)
class TabularSoftmax:
    """Tabular softmax policy, one table per agent.

    Args:
        n_states: S.
        n_actions: A.
        horizon: T (used by the time-indexed variant).
        time_indexed: theta [m, T, S, A] instead of [m, S, A].
        initialisation: "uniform" (theta ~ U[-1, 1], the authors' default) or "zeros".
    """

    n_states: int
    n_actions: int
    horizon: int
    time_indexed: bool = False
    initialisation: str = "uniform"
    noise = 1

    def __post_init__(self):
        if self.initialisation not in INITIALISATIONS:
            raise ValueError(f"unknown initialisation {self.initialisation!r}; choose from {INITIALISATIONS}")

    def table_shape(self, n_agents: int) -> tuple[int, ...]:
        middle = (self.horizon,) if self.time_indexed else ()
        return (n_agents, *middle, self.n_states, self.n_actions)

    def init(self, key: jax.Array, n_agents: int) -> jax.Array:
        shape = self.table_shape(n_agents)
        if self.initialisation == "zeros":
            return jnp.zeros(shape, jnp.float32)
        return 2.0 * uniform(key, shape, "jax") - 1.0

    def probs(self, params: jax.Array) -> jax.Array:
        """Action probabilities, same shape as params."""
        return jax.nn.softmax(params, axis=-1)

    def prepare(self, params: jax.Array, uniform: bool | jax.Array = False) -> jax.Array:
        """Cumulative action probabilities; all-zero tables (the uniform policy) where ``uniform``."""
        return jnp.cumsum(self.probs(jnp.where(uniform, 0.0, params)), axis=-1)

    def act(self, prepared: jax.Array, states: jax.Array, t: jax.Array, u: jax.Array) -> jax.Array:
        """Actions int32 [..., m] for states [..., m] at step t, by inverse CDF of uniforms u [..., m, 1]."""
        # flat row index + mode="clip": the fastest gather on XLA's CPU backend
        u = u[..., 0]
        m = prepared.shape[0]
        first_row = jnp.arange(m) * (self.horizon if self.time_indexed else 1)
        row = first_row + (t if self.time_indexed else 0)
        row = row * self.n_states + states
        cumulative = jnp.take(prepared.reshape(-1, self.n_actions), row, axis=0, mode="clip")
        below = u[..., None] * cumulative[..., -1:] >= cumulative[..., :-1]
        return jnp.sum(below.astype(jnp.int32), axis=-1)

    def log_prob(self, params: jax.Array, states: jax.Array, actions: jax.Array) -> jax.Array:
        """log pi_i(a_t | s_t) for states, actions int [..., m, T] -> [..., m, T]."""
        logp = jax.nn.log_softmax(params, axis=-1)
        m = params.shape[0]
        agents = jnp.arange(m)[:, None]
        if self.time_indexed:
            steps = jnp.arange(states.shape[-1])
            rows = logp[agents, steps, states]
        else:
            rows = logp[agents, states]
        return jnp.take_along_axis(rows, actions[..., None], axis=-1)[..., 0]

    def weighted_score(self, params: jax.Array, states: jax.Array, actions: jax.Array, weights: jax.Array) -> jax.Array:
        """Closed form of the softmax score, grad_theta[s] log pi(a | s) = e_a - pi(. | s):
        scatter the weights into (s, a) and (s) tables instead of differentiating a gather,
        which is several times faster on a CPU. states, actions [N, m, T]; weights [N, m]."""
        n, m, horizon = states.shape
        w = jnp.broadcast_to(weights[..., None], states.shape)
        agents = jnp.broadcast_to(jnp.arange(m)[None, :, None], states.shape)
        if self.time_indexed:
            steps = jnp.broadcast_to(jnp.arange(horizon), states.shape)
            action_weight = jnp.zeros_like(params).at[agents, steps, states, actions].add(w)
        else:
            action_weight = jnp.zeros_like(params).at[agents, states, actions].add(w)
        return action_weight - self.probs(params) * action_weight.sum(axis=-1, keepdims=True)
