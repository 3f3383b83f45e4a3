"""Importance-weighted k-NN entropy and KL (MEPOL, Mutti et al. 2021; SPEC section 12): the
estimates of a target policy's entropy from a behaviour policy's particles, with each particle's
neighbourhood fixed per behaviour batch, for one agent (MEPOL) and for a team.

For a team sample, point j (agent i(j), state t(j) of its trajectory) weighs its own agent's
trajectory prefix, w_j = prod_{s < t(j)} pi_i(a_s | o_s) / pi'_i(a_s | o_s) (the state s_0 weighs
1), normalised over the sample's N pooled points; with W_j the weight of its k-NN ball and V_j the
ball's volume,

    H_k(pi | pi') = - sum_j (W_j / k) ln(W_j / V_j) + ln k - psi(k)       (:func:`weighted_entropy`)
    KL_k(pi' || pi) = (1 / N) sum_j ln((k / N) / W_j), at least 0          (:func:`knn_kl`)

With pi = pi' every weight is 1 / N and H_k is the Kozachenko-Leonenko estimate with ln N in place
of psi(N); the KL is 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, logsumexp

from pmaxent.continuous.knn import MIN_DISTANCE, log_unit_ball_volume
from pmaxent.continuous.neighbours import SWEEP_BLOCK, nearest


def neighbourhoods(points: jax.Array, k: int, chunk_size: int = SWEEP_BLOCK) -> tuple[jax.Array, jax.Array]:
    """Each particle's neighbourhood: points [N, d] -> (indices [N, k]: the particle itself, then its
    k - 1 nearest others in no particular order; rho [N] the distance to its k-th nearest other
    particle), by the exact slab sweep of :mod:`pmaxent.continuous.neighbours` (``chunk_size``
    queries per block). Among others at equal distance, which ones fill the neighbourhood is arbitrary."""
    found = nearest(points, k, chunk_size, with_index=True)
    return found.index, jnp.sqrt(found.sq)


def importance_weights(log_ratios: jax.Array) -> jax.Array:
    """Normalised per-particle weights: log_ratios [n_traj, T] of ln pi'(a_t|o_t) - ln pi(a_t|o_t)
    -> [n_traj * T], w ~ exp(cumsum over t), summing to 1 (computed in log space)."""
    log_w = jnp.cumsum(log_ratios, axis=1).reshape(-1)
    return jnp.exp(log_w - logsumexp(log_w))


def weighted_entropy(
    weights: jax.Array, indices: jax.Array, rho: jax.Array, d: int, min_distance: float = MIN_DISTANCE
) -> jax.Array:
    """MEPOL's importance-weighted k-NN entropy (nats): weights [N], indices [N, k], rho [N]."""
    k = indices.shape[1]
    w_sum = weights[indices].sum(axis=1)
    log_volume = log_unit_ball_volume(d) + d * jnp.log(jnp.maximum(rho, min_distance))
    return -jnp.sum((w_sum / k) * (jnp.log(w_sum) - log_volume)) + jnp.log(k) - digamma(jnp.float32(k))


def knn_kl(weights: jax.Array, indices: jax.Array) -> jax.Array:
    """MEPOL's k-NN estimate of KL(behaviour || target), clipped at 0: weights [N], indices [N, k]."""
    n, k = indices.shape
    return jnp.maximum(0.0, jnp.mean(jnp.log(k / (n * weights[indices].sum(axis=1)))))


def team_log_weights(log_ratios: jax.Array, stride: int = 1) -> jax.Array:
    """Unnormalised log weights of a team sample's points: log_ratios [m, T] of
    ln pi(a_t | o_t) - ln pi'(a_t | o_t) -> [m, P], P = ceil((T + 1) / stride), the weight of the
    state s_t every stride-th t (s_0 first) being the sum of the log ratios of the actions before it."""
    prefix = jnp.concatenate([jnp.zeros_like(log_ratios[:, :1]), jnp.cumsum(log_ratios, axis=1)], axis=1)
    return prefix[:, ::stride]


def normalised(log_weights: jax.Array) -> jax.Array:
    """Weights summing to 1 from log weights of any shape (computed in log space)."""
    return jnp.exp(log_weights - logsumexp(log_weights))


def team_entropy_and_kls(
    log_ratios: jax.Array,
    team_neighbourhood: tuple[jax.Array, jax.Array],
    agent_neighbourhoods: tuple[jax.Array, jax.Array],
    d: int,
    stride: int = 1,
) -> tuple[jax.Array, jax.Array]:
    """The importance-weighted k-NN entropy of one team sample and each agent's k-NN KL.

    Args:
        log_ratios: [m, T], ln pi_i(a_t | o_t) - ln pi'_i(a_t | o_t) of the target pi against the
            behaviour pi' on the sample's own actions.
        team_neighbourhood: (indices [m P, k], rho [m P]) of the pooled points (agent-major).
        agent_neighbourhoods: (indices [m, P, k], rho [m, P]) of each agent's own points, indices
            into that agent's P points.
        d: dimension of the points.
    Returns:
        (H_k of the pooled sample, KL_k of each agent [m] on its own points, its weights
        normalised over them).
    """
    log_w = team_log_weights(log_ratios, stride)
    indices, rho = team_neighbourhood
    entropy = weighted_entropy(normalised(log_w).reshape(-1), indices, rho, d)
    agent_indices, _ = agent_neighbourhoods
    kls = jax.vmap(lambda lw, idx: knn_kl(normalised(lw), idx))(log_w, agent_indices)
    return entropy, kls
