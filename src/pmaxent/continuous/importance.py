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

A team sample holds one trajectory of each agent, so its pooled points are drawn from the
behaviour mixture (1/m) sum_l pi'_l, and the team's entropy is that of the target mixture. Two
weightings are unbiased for it (:func:`team_log_weights`, :func:`mixture_log_likelihoods`):
each point by its own agent's ratio pi_i / pi'_i, or by the mixtures' ratio
sum_i pi_i / sum_l pi'_l, multiple importance sampling's balance heuristic (Veach and Guibas 1995).
With its own agent's ratio agent i's parameters move by its own trajectory only; with the
mixtures' they move by every trajectory j in proportion to pi_i(tau_j) / sum_l pi'_l(tau_j), so
agents that act alike learn from one another's samples, and agents that have specialised fall
back to their own.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, logsumexp

from pmaxent.continuous.knn import MIN_DISTANCE, log_unit_ball_volume
from pmaxent.continuous.neighbours import SWEEP_BLOCK, nearest
from pmaxent.core.components import agent_count

MIXTURE_PAIRS = 2**22
"""Most (trajectory, agent, step) log-likelihoods the team-mixture weights hold at once."""


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
    """Unnormalised log weights of a team sample's points by their own agents: log_ratios [m, T] of
    ln pi(a_t | o_t) - ln pi'(a_t | o_t) -> [m, P], P = ceil((T + 1) / stride), the weight of the
    state s_t every stride-th t (s_0 first) being the sum of the log ratios of the actions before it."""
    return trajectory_prefixes(log_ratios, stride)


def trajectory_prefixes(log_probs: jax.Array, stride: int = 1) -> jax.Array:
    """Log-likelihoods of trajectory prefixes: log_probs [..., T] of per-step log densities ->
    [..., P], P = ceil((T + 1) / stride), at every stride-th state (s_0 first: the empty prefix, 0)."""
    zero = jnp.zeros_like(log_probs[..., :1])
    return jnp.concatenate([zero, jnp.cumsum(log_probs, axis=-1)], axis=-1)[..., ::stride]


def mixture_prefix_log_likelihoods(cross: jax.Array, stride: int = 1) -> jax.Array:
    """The log-likelihood of each trajectory's prefixes under the sum of the team's policies:
    cross [n, m, T] of ln pi_i(a_t | o_t), every agent i (axis 1) on every trajectory j (axis 0)
    -> [n, P], ln sum_i pi_i(tau_j,<t) at every stride-th state (s_0 first: ln m).
    The team-mixture log weight of a point is its target's value less its behaviour's."""
    return logsumexp(trajectory_prefixes(cross, stride), axis=1)


def mixture_log_likelihoods(policy, params, observations: jax.Array, actions: jax.Array, stride: int = 1) -> jax.Array:
    """:func:`mixture_prefix_log_likelihoods` of trajectories under the policy's m agents:
    observations [n, T, ...], actions [n, T, ...] -> [n, P]. As many trajectories at once as keep
    their m T log-likelihoods within ``MIXTURE_PAIRS``; where that is fewer than all, each group's
    are recomputed in the backward pass rather than kept, so memory stays bounded at any m."""
    n, horizon = observations.shape[:2]
    group = MIXTURE_PAIRS // (agent_count(policy, params) * horizon)

    def some(p, o, a):  # [c, T, ...] -> [c, P]
        return mixture_prefix_log_likelihoods(cross_log_probs(policy, p, o, a), stride)

    if group >= n:
        return some(params, observations, actions)
    one = jax.checkpoint(lambda p, o, a: some(p, o[None], a[None])[0])
    return jax.lax.map(lambda oa: one(params, *oa), (observations, actions), batch_size=max(1, group))


def tiled_cross_log_prob(policy, params, observations: jax.Array, actions: jax.Array) -> jax.Array:
    """log pi_i(a_t | o_t) of every agent i on every trajectory j, by each agent's ``log_prob`` on
    each trajectory (n m T evaluations): observations [n, T, ...], actions [n, T, ...] -> [n, m, T]."""
    m = agent_count(policy, params)
    tiled = lambda x: jnp.broadcast_to(x[None], (m, *x.shape))  # noqa: E731
    return jax.vmap(lambda o, a: policy.log_prob(params, tiled(o), tiled(a)))(observations, actions)


def cross_log_probs(policy, params, observations: jax.Array, actions: jax.Array) -> jax.Array:
    """:func:`tiled_cross_log_prob`, by the policy's own ``cross_log_prob`` where it has a faster form
    (a population without embeddings runs its trunk once per state)."""
    faster = getattr(policy, "cross_log_prob", None)
    if faster is not None:
        return faster(params, observations, actions)
    return tiled_cross_log_prob(policy, params, observations, actions)


def normalised(log_weights: jax.Array) -> jax.Array:
    """Weights summing to 1 from log weights of any shape (computed in log space)."""
    return jnp.exp(log_weights - logsumexp(log_weights))


def team_entropy_and_kls(
    log_weights: jax.Array,
    agent_log_weights: jax.Array,
    team_neighbourhood: tuple[jax.Array, jax.Array],
    agent_neighbourhoods: tuple[jax.Array, jax.Array],
    d: int,
) -> tuple[jax.Array, jax.Array]:
    """The importance-weighted k-NN entropy of one team sample and each agent's k-NN KL.

    Args:
        log_weights: [m, P], unnormalised log weights of the sample's points for its entropy
            (:func:`team_log_weights`, or a target's :func:`mixture_log_likelihoods` less the behaviour's).
        agent_log_weights: [m, P], those of each agent's own points by its own ratio
            (:func:`team_log_weights`), for its KL.
        team_neighbourhood: (indices [m P, k], rho [m P]) of the pooled points (agent-major).
        agent_neighbourhoods: (indices [m, P, k], rho [m, P]) of each agent's own points, indices
            into that agent's P points.
        d: dimension of the points.
    Returns:
        (H_k of the pooled sample, KL_k of each agent [m] on its own points, its weights
        normalised over them).
    """
    indices, rho = team_neighbourhood
    entropy = weighted_entropy(normalised(log_weights).reshape(-1), indices, rho, d)
    agent_indices, _ = agent_neighbourhoods
    kls = jax.vmap(lambda lw, idx: knn_kl(normalised(lw), idx))(agent_log_weights, agent_indices)
    return entropy, kls
