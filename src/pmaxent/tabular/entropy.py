"""Entropy of empirical state distributions (plug-in estimator) and the mixture decomposition.

All entropies are Shannon entropies in nats. :class:`PluginEntropy` is the tabular
:class:`~pmaxent.core.components.EntropyEstimator` the trainer uses on tabular MDPs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.components import TeamEntropies


def state_counts(states: jax.Array, n_states: int) -> jax.Array:
    """Visit counts of the states in the last axis.

    A scatter-add: on a CPU it is several times faster than summing one-hot vectors.

    Args:
        states: int [..., N].
    Returns:
        counts: float32 [..., S].
    """
    lead, n = states.shape[:-1], states.shape[-1]
    rows = states.reshape(-1, n)
    row_index = jnp.broadcast_to(jnp.arange(rows.shape[0])[:, None], rows.shape)
    counts = jnp.zeros((rows.shape[0], n_states), jnp.float32).at[row_index, rows].add(1.0)
    return counts.reshape(lead + (n_states,))


def entropy_from_counts(counts: jax.Array) -> jax.Array:
    """H(counts / sum(counts)) = log n - (1/n) sum_s c_s log c_s, for counts [..., S] -> [...]."""
    total = counts.sum(axis=-1)
    return jnp.log(total) - jnp.sum(jax.scipy.special.xlogy(counts, counts), axis=-1) / total


def entropy(dist: jax.Array) -> jax.Array:
    """H(d) = -sum_s d(s) log d(s) for probability vectors dist [..., S] -> [...]."""
    return -jnp.sum(jax.scipy.special.xlogy(dist, dist), axis=-1)


def entropy_np(dist) -> np.ndarray:
    """The NumPy twin of :func:`entropy`, in float64: H(d) for dist [..., S] -> [...] (0 log 0 = 0).

    For counts c, ``entropy_np(c / c.sum(-1, keepdims=True))`` is :func:`entropy_from_counts` (c).
    """
    d = np.asarray(dist, dtype=np.float64)
    return -np.sum(np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0), axis=-1)


def mixture_decomposition(dists: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """H(mix) = (1/m) sum_i H(d_i) + (1/m) sum_i KL(d_i || mix), mix = (1/m) sum_i d_i (SPEC sec. 9).

    Args:
        dists: [..., m, S], each row a probability vector.
    Returns:
        (mixture entropy, mean per-agent entropy, mean KL to the mixture), each [...].
    """
    mix = dists.mean(axis=-2)
    per_agent = entropy(dists)
    log_ratio = jnp.where(
        dists > 0,
        jnp.log(jnp.where(dists > 0, dists, 1.0)) - jnp.log(jnp.where(dists > 0, mix[..., None, :], 1.0)),
        0.0,
    )
    kl = jnp.sum(dists * log_ratio, axis=-1)
    return entropy(mix), per_agent.mean(axis=-1), kl.mean(axis=-1)


class PluginEntropy:
    """Plug-in (empirical) entropies of team samples, computed per visit.

    With c(s) the count of state s among n visits, H = log n - (1/n) sum_s c(s) log c(s)
    = log n - (1/n) sum_visits log c(s_visit): every quantity is a sum over the B*m*N visits,
    so the cost does not grow with the number of states S beyond zeroing the count tables.
    Leaving agent i out changes only the states it visited:
    sum_s f(c - c_i) = sum_s f(c) - sum_{visits v of i} [f(c(s_v)) - f(c(s_v) - c_i(s_v))] / c_i(s_v),
    with f(x) = x log x.

    Args:
        n_states: S, the number of discrete states.
    """

    extra_metrics = ("support",)

    def __init__(self, n_states: int):
        self.n_states = n_states

    def __call__(self, states: jax.Array) -> TeamEntropies:
        """states: int [B, m, N] -> TeamEntropies, with extras["support"] [B] the number of distinct
        states in each pooled sample."""
        batch, m, n = states.shape
        pooled_counts = state_counts(states.reshape(batch, m * n), self.n_states)
        agent_counts = state_counts(states, self.n_states)
        c_pool = jnp.take_along_axis(pooled_counts, states.reshape(batch, m * n), axis=-1).reshape(batch, m, n)
        c_agent = jnp.take_along_axis(agent_counts, states, axis=-1)
        log_pool = jnp.log(c_pool)
        sum_flogf = log_pool.sum(axis=(1, 2))
        team = jnp.log(m * n) - sum_flogf / (m * n)
        agents = jnp.log(n) - jnp.log(c_agent).sum(axis=-1) / n
        removed = (c_pool * log_pool - jax.scipy.special.xlogy(c_pool - c_agent, c_pool - c_agent)) / c_agent
        rest = sum_flogf[:, None] - removed.sum(axis=-1)
        without = jnp.log(max(m - 1, 1) * n) - rest / (max(m - 1, 1) * n) if m > 1 else jnp.zeros((batch, m))
        support = jnp.sum(1.0 / c_pool, axis=(1, 2))
        return TeamEntropies(team, agents, without, {"support": support})
