"""The theory of the paper made runnable (SPEC sections 9 and 10).

* Theorem 4.1: the concentration bound of the plug-in entropy, the sample size it asks for,
  and a Monte-Carlo estimate of the probability it bounds.
* Why parallel helps: the deviation of the pooled plug-in entropy when m specialised agents each
  draw from their own region, against identical agents and against one agent alone.
* The mixture decomposition H(mix) = mean H(d_i) + mean KL(d_i || mix) (``pmaxent.tabular.entropy``).
* Parallel Frank-Wolfe (Algorithm 2) on any :class:`TabularMDP`: exact and Monte-Carlo density
  oracles, a dynamic-programming planning oracle, mixtures of non-stationary deterministic
  policies, and the step size of Theorem A.2.
* The maximum state entropy of an MDP, solved independently as a convex program over occupancy
  measures, and the experiment "iterations to reach eps of it against the number of agents".

Conventions (SPEC section 2): an episode has T actions and T + 1 states s_0 .. s_T, and the state
distribution of a policy is the average of the T + 1 marginals. Entropies are in nats.
Shapes: S states, A actions, T horizon, N agents, K mixture components.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
from pathlib import Path
from typing import Callable, Sequence

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.tabular.entropy import entropy_from_counts, mixture_decomposition
from pmaxent.tabular.simulator import Dynamics, make_dynamics, reset_from_uniform, step_from_uniform
from pmaxent.tabular.mdp import TabularMDP, make
from pmaxent.progress import progress_bar

__all__ = [
    "AgentMixture",
    "FrankWolfeResult",
    "OptimalEntropy",
    "ParallelSamplingCurves",
    "bernoulli_concentration_terms",
    "concentration_bound",
    "deviation_probability",
    "entropy_curves",
    "exact_state_distribution",
    "frank_wolfe",
    "gradient_bound",
    "iterations_to_eps",
    "mixture_decomposition",
    "monte_carlo_state_distribution",
    "optimal_entropy",
    "parallel_sampling_curves",
    "plan",
    "rollout_deterministic",
    "run_concentration",
    "run_frank_wolfe",
    "run_theory",
    "sample_mixture_policy",
    "samples_needed",
    "smoothed_entropy",
    "smoothed_entropy_gradient",
    "smoothness_constant",
    "specialised_distributions",
    "theorem_iterations",
    "theorem_step_size",
    "variance_term",
    "write_table_csv",
]

_PROBABILITY_TOLERANCE = 1e-6


# --------------------------------------------------------------------------------------------
# Theorem 4.1: concentration of the plug-in entropy
# --------------------------------------------------------------------------------------------


def _probability_vector(d, name: str = "d") -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 1 or d.size < 1:
        raise ValueError(f"{name} must be a 1-D probability vector; got shape {d.shape}")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"{name} has a negative or non-finite entry")
    if abs(d.sum() - 1.0) > _PROBABILITY_TOLERANCE:
        raise ValueError(f"{name} must sum to 1; it sums to {d.sum():.6g}")
    return d


def _check_eps(eps: float) -> float:
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a positive number; got {eps}")
    return float(eps)


def _check_sample_sizes(n, name: str = "n") -> np.ndarray:
    n_arr = np.asarray(n, dtype=np.float64)
    if n_arr.size == 0 or not np.all(np.isfinite(n_arr)) or np.any(n_arr < 1) or np.any(n_arr != np.round(n_arr)):
        raise ValueError(f"{name} must be a positive integer (or an array of them); got {n}")
    return n_arr


def _entropy_np(d: np.ndarray) -> np.ndarray:
    """H(d) in nats for d [..., S] -> [...] (0 log 0 = 0)."""
    d = np.asarray(d, dtype=np.float64)
    return -np.sum(np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0)), 0.0), axis=-1)


def variance_term(d) -> float:
    """Var(d) = sum_s d(s) (1 - d(s)) of Theorem 4.1 (SPEC section 9), for d [S]."""
    d = _probability_vector(d)
    return float(np.sum(d * (1.0 - d)))


def concentration_bound(d, n, eps: float):
    """Theorem 4.1: P(H(d) - H(d_n) > eps) <= 2 S exp(-n eps^2 Var(d) / (2 S^3 H(d)^2)).

    S is ``len(d)``, the number of categories of d, including categories of probability zero
    (they loosen the bound; pass the restriction of d to its support for the tighter one).
    For a point mass H(d) = Var(d) = 0 and the formula reads 0/0; its limit along d -> point
    mass is 0, which is also the true probability (d_n = d), so 0 is returned.

    Args:
        d: probability vector [S].
        n: number of i.i.d. samples, a positive integer or an array of them [K].
        eps: deviation, > 0 (nats).
    Returns:
        the bound (not clipped at 1), a float or an array [K] like ``n``.
    """
    d = _probability_vector(d)
    n_arr = _check_sample_sizes(n)
    eps = _check_eps(eps)
    n_categories = d.size
    h = float(_entropy_np(d))
    if h == 0.0:
        bound = np.zeros_like(n_arr)
    else:
        rate = eps**2 * variance_term(d) / (2.0 * n_categories**3 * h**2)
        bound = 2.0 * n_categories * np.exp(-n_arr * rate)
    return float(bound) if np.ndim(n) == 0 else bound


def samples_needed(d, eps: float, delta: float) -> int:
    """Theorem 4.1 inverted: n >= 2 S^3 H(d)^2 / (eps^2 Var(d)) ln(2 S / delta) gives
    P(H(d) - H(d_n) > eps) <= delta. S = ``len(d)`` as in :func:`concentration_bound`.

    Args:
        d: probability vector [S].
        eps: deviation, > 0.
        delta: confidence parameter in (0, 1).
    Returns:
        the smallest integer n meeting the inequality (0 for a point mass, see
        :func:`concentration_bound`).
    """
    d = _probability_vector(d)
    eps = _check_eps(eps)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1); got {delta}")
    h = float(_entropy_np(d))
    if h == 0.0:
        return 0
    n_categories = d.size
    n = 2.0 * n_categories**3 * h**2 / (eps**2 * variance_term(d)) * math.log(2.0 * n_categories / delta)
    return max(1, math.ceil(n))


# Compiling the binomial sampler inside jax.random.multinomial takes seconds. For these few
# draws over a handful of categories XLA's unoptimised backend is faster end to end (it compiles
# in half the time); the why-parallel sampler below draws a hundred times more and is not.
@functools.partial(jax.jit, static_argnames="n_trials", compiler_options={"xla_backend_optimization_level": 0})
def _deviation_rate(
    key: jax.Array, index: jax.Array, n: jax.Array, probs: jax.Array, target: jax.Array, eps: jax.Array, n_trials: int
) -> jax.Array:
    """Fraction of n_trials multinomial draws of n samples of probs [S] whose plug-in entropy
    is more than eps below target, with randomness fold_in(key, index). n and index are traced,
    so one compilation serves every sample size (compiling the binomial sampler is slow)."""
    counts = jax.random.multinomial(jax.random.fold_in(key, index), n, probs, shape=(n_trials, probs.shape[-1]))
    return jnp.mean(target - entropy_from_counts(counts) > eps)


def deviation_probability(key: jax.Array, d, n, eps: float, n_trials: int = 2000):
    """Monte-Carlo estimate of P(H(d) - H(d_n) > eps), the probability bounded by Theorem 4.1.

    Each trial draws the counts of n i.i.d. samples of d (multinomial, vectorized over trials in
    JAX) and computes the plug-in entropy H(d_n).

    Args:
        key: JAX PRNG key.
        d: probability vector [S].
        n: samples per trial, a positive integer or an array of them [K].
        eps: deviation, > 0.
        n_trials: Monte-Carlo trials per sample size.
    Returns:
        the estimated probability, a float or an array [K] like ``n``; its standard error is
        at most 0.5 / sqrt(n_trials).
    """
    d = _probability_vector(d)
    n_arr = _check_sample_sizes(n)
    eps = _check_eps(eps)
    if n_trials < 1:
        raise ValueError(f"n_trials must be positive; got {n_trials}")
    probs, target = jnp.asarray(d, jnp.float32), jnp.float32(_entropy_np(d))
    estimates = [
        float(_deviation_rate(key, i, jnp.float32(n_value), probs, target, jnp.float32(eps), n_trials))
        for i, n_value in enumerate(n_arr.reshape(-1))
    ]
    result = np.asarray(estimates).reshape(n_arr.shape)
    return float(result) if np.ndim(n) == 0 else result


def bernoulli_concentration_terms(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H(p), Var(p) and Var(p) / H(p)^2 of a Bernoulli(p) (the paper's Figure 4).

    Var is the Theorem 4.1 term sum_s d(s)(1 - d(s)) = 2 p (1 - p) for d = (p, 1 - p); the ratio
    is the factor in the exponent of the bound: larger means faster concentration.

    Args:
        p: success probabilities in (0, 1), any shape.
    Returns:
        (entropy, variance, ratio), each of p's shape.
    """
    p = np.asarray(p, dtype=np.float64)
    if np.any(p <= 0) or np.any(p >= 1):
        raise ValueError("p must lie strictly inside (0, 1): at 0 and 1 the ratio is 0/0")
    dists = np.stack([p, 1.0 - p], axis=-1)
    h = _entropy_np(dists)
    var = np.sum(dists * (1.0 - dists), axis=-1)
    return h, var, var / h**2


# --------------------------------------------------------------------------------------------
# Why parallel helps: specialised agents against identical ones and a lone agent
# --------------------------------------------------------------------------------------------


def specialised_distributions(n_states: int, n_agents: int, leak: float = 0.05) -> np.ndarray:
    """m agents with nearly disjoint supports: the states are split into m contiguous blocks;
    agent i puts 1 - leak uniformly on block i and leak uniformly on the other states.

    Returns:
        dists [m, S], each row a probability vector. With leak = 0 the supports are disjoint
        and the mixture entropy is log m plus the mean agent entropy (SPEC section 9).
    """
    if n_agents < 1 or n_states < n_agents:
        raise ValueError(f"need 1 <= n_agents <= n_states; got n_agents={n_agents}, n_states={n_states}")
    if not 0.0 <= leak < 1.0:
        raise ValueError(f"leak must lie in [0, 1); got {leak}")
    if n_agents == 1 and leak > 0:
        raise ValueError("a single agent has no other region to leak into; use leak=0")
    dists = np.zeros((n_agents, n_states))
    for agent, block in enumerate(np.array_split(np.arange(n_states), n_agents)):
        outside = np.setdiff1d(np.arange(n_states), block)
        dists[agent, block] = (1.0 - leak) / len(block)
        if len(outside):
            dists[agent, outside] = leak / len(outside)
    return dists


@dataclasses.dataclass(frozen=True)
class ParallelSamplingCurves:
    """Deviation probabilities P(H(mix) - H(pooled plug-in) > eps) against samples per agent k.

    Attributes:
        samples_per_agent: k [K].
        specialised: m specialists, agent i draws k samples from its own d_i; m k pooled samples.
        identical: m identical agents, each draws k samples from the mixture; m k pooled
            samples (the same law as m k i.i.d. samples of the mixture).
        single: one agent alone covering everything: k samples from the mixture (the data one
            agent collects in the time each team member collects its k).
        mixture_entropy, mean_agent_entropy, mean_kl: the decomposition of H(mix).
        n_agents, eps, n_trials: the settings.
    """

    samples_per_agent: np.ndarray
    specialised: np.ndarray
    identical: np.ndarray
    single: np.ndarray
    mixture_entropy: float
    mean_agent_entropy: float
    mean_kl: float
    n_agents: int
    eps: float
    n_trials: int


@functools.partial(jax.jit, static_argnames="n_trials")
def _pooled_deviation_rates(
    key: jax.Array, index: jax.Array, k: jax.Array, dists: jax.Array, mixture: jax.Array, target: jax.Array,
    eps: jax.Array, n_trials: int,
) -> jax.Array:
    """[specialised, identical, single] deviation rates for k samples per agent (see
    :func:`parallel_sampling_curves`), with randomness fold_in(key, index); dists [m, S]."""
    n_agents = dists.shape[0]
    # Rows 0..m-1: the specialists; rows m..2m-1: identical agents, all following the mixture
    # (the first of them alone is the lone agent). One multinomial call: one compiled sampler.
    probs = jnp.concatenate([dists, jnp.broadcast_to(mixture, dists.shape)])
    counts = jax.random.multinomial(jax.random.fold_in(key, index), k, probs, shape=(n_trials, *probs.shape))
    specialists, identical = counts[:, :n_agents], counts[:, n_agents:]
    pooled = jnp.stack([specialists.sum(axis=1), identical.sum(axis=1), identical[:, 0]])
    return jnp.mean(target - entropy_from_counts(pooled) > eps, axis=1)


def parallel_sampling_curves(
    key: jax.Array, dists, samples_per_agent, eps: float, n_trials: int = 2000
) -> ParallelSamplingCurves:
    """Why parallel helps: how often the pooled plug-in entropy falls eps below H(mixture).

    Every setting estimates the same target, the entropy of the mixture mix = (1/m) sum_i d_i.
    Specialists sample each region exactly k times (stratified), so the share of each region
    in the pool is exact; identical agents leave it to chance; a lone agent has m times fewer
    samples. See :class:`ParallelSamplingCurves` for the three settings.

    Args:
        key: JAX PRNG key.
        dists: the agents' distributions [m, S] (e.g. :func:`specialised_distributions`).
        samples_per_agent: k, positive integers [K].
        eps: deviation, > 0.
        n_trials: Monte-Carlo trials per k.
    """
    dists = np.asarray(dists, dtype=np.float64)
    if dists.ndim != 2:
        raise ValueError(f"dists must have shape [m, S]; got {dists.shape}")
    for i, row in enumerate(dists):
        _probability_vector(row, name=f"dists[{i}]")
    k_values = _check_sample_sizes(samples_per_agent, "samples_per_agent").reshape(-1)
    eps = _check_eps(eps)
    if n_trials < 1:
        raise ValueError(f"n_trials must be positive; got {n_trials}")
    n_agents = dists.shape[0]
    mixture = dists.mean(axis=0)
    rates = np.asarray([
        _pooled_deviation_rates(
            key, i, jnp.float32(k), jnp.asarray(dists, jnp.float32), jnp.asarray(mixture, jnp.float32),
            jnp.float32(_entropy_np(mixture)), jnp.float32(eps), n_trials,
        )
        for i, k in enumerate(k_values)
    ])  # [K, 3]
    h_mix, h_agents, kl = (float(x) for x in jax.jit(mixture_decomposition)(jnp.asarray(dists)))
    return ParallelSamplingCurves(
        samples_per_agent=k_values.astype(int),
        specialised=rates[:, 0],
        identical=rates[:, 1],
        single=rates[:, 2],
        mixture_entropy=h_mix,
        mean_agent_entropy=h_agents,
        mean_kl=kl,
        n_agents=n_agents,
        eps=eps,
        n_trials=n_trials,
    )


# --------------------------------------------------------------------------------------------
# Oracles on a TabularMDP: exact and Monte-Carlo state distributions, planning
# --------------------------------------------------------------------------------------------


def _checked_policy(mdp: TabularMDP, policy) -> np.ndarray:
    """A policy checked against the MDP: int64 [..., T, S] (deterministic) or float64
    [..., T, S, A] (stochastic)."""
    policy = np.asarray(policy)
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    if np.issubdtype(policy.dtype, np.integer):
        if policy.ndim < 2 or policy.shape[-2:] != (T, S):
            raise ValueError(f"a deterministic policy must have shape [..., T, S] = [..., {T}, {S}]; got {policy.shape}")
        if np.any(policy < 0) or np.any(policy >= A):
            raise ValueError(f"deterministic policy actions must lie in [0, {A}); got range [{policy.min()}, {policy.max()}]")
        return policy.astype(np.int64)
    if np.issubdtype(policy.dtype, np.floating):
        if policy.ndim < 3 or policy.shape[-3:] != (T, S, A):
            raise ValueError(f"a stochastic policy must have shape [..., T, S, A] = [..., {T}, {S}, {A}]; got {policy.shape}")
        row_sums = policy.sum(axis=-1)
        if not np.all(np.isfinite(policy)) or np.any(policy < 0) or np.any(np.abs(row_sums - 1.0) > _PROBABILITY_TOLERANCE):
            raise ValueError("stochastic policy rows must be probability vectors over actions")
        return policy.astype(np.float64)
    raise ValueError(f"policy must be an integer [..., T, S] or float [..., T, S, A] array; got dtype {policy.dtype}")


def _state_marginals(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """Forward recursion p_{t+1}(s') = sum_{s,a} p_t(s) pi_t(a|s) P(s'|s,a), p_0 = mu.

    policy: a checked policy (see :func:`_checked_policy`) -> marginals [..., T + 1, S].
    """
    S, A = mdp.n_states, mdp.n_actions
    deterministic = np.issubdtype(policy.dtype, np.integer)
    batch = policy.shape[:-2] if deterministic else policy.shape[:-3]
    kernel = mdp.P.reshape(S * A, S)
    marginal = np.broadcast_to(mdp.mu, batch + (S,))
    marginals = [marginal]
    for t in range(mdp.horizon):
        if deterministic:
            # Gathering the rows P[s, pi_t(s), :] avoids a one-hot [S, A] product per step.
            transition = mdp.P[np.arange(S), policy[..., t, :]]  # [..., S, S]
            marginal = np.matmul(marginal[..., None, :], transition)[..., 0, :]
        else:
            marginal = (marginal[..., :, None] * policy[..., t, :, :]).reshape(batch + (S * A,)) @ kernel
        marginals.append(marginal)
    return np.stack(marginals, axis=-2)


def exact_state_distribution(mdp: TabularMDP, policy) -> np.ndarray:
    """d_pi = (1 / (T + 1)) sum_{t=0}^{T} Pr(s_t = s) by forward recursion (SPEC sections 2, 10).

    Args:
        mdp: the MDP.
        policy: non-stationary deterministic, int [..., T, S] (action at time t in state s), or
            stochastic, float [..., T, S, A]; leading axes are a batch of policies.
    Returns:
        the state distribution, float64 [..., S].
    """
    return _state_marginals(mdp, _checked_policy(mdp, policy)).mean(axis=-2)


def plan(mdp: TabularMDP, reward) -> np.ndarray:
    """Planning oracle: the best non-stationary deterministic policy for a state reward.

    Maximises E[sum_{t=0}^{T} r(s_t)] = (T + 1) <r, d_pi> by backward dynamic programming, so
    the policy maximises the linearisation <r, d_pi> of an objective of d_pi (the s_0 term does
    not depend on the policy). Ties go to the lowest action index.

    Args:
        mdp: the MDP.
        reward: r, float [..., S]; leading axes are a batch of rewards.
    Returns:
        policy int64 [..., T, S]: the action at time t = 0 .. T-1 in state s.
    """
    reward = np.asarray(reward, dtype=np.float64)
    if reward.ndim < 1 or reward.shape[-1] != mdp.n_states or not np.all(np.isfinite(reward)):
        raise ValueError(f"reward must be a finite array [..., S] with S = {mdp.n_states}; got shape {reward.shape}")
    S, A = mdp.n_states, mdp.n_actions
    kernel_t = mdp.P.reshape(S * A, S).T
    value = reward  # V_T(s) = r(s)
    actions = []
    for _ in range(mdp.horizon):
        q = reward[..., :, None] + (value @ kernel_t).reshape(reward.shape[:-1] + (S, A))
        actions.append(np.argmax(q, axis=-1))
        value = q.max(axis=-1)
    return np.stack(actions[::-1], axis=-2)


@functools.lru_cache(maxsize=16)
def _dynamics(mdp: TabularMDP) -> Dynamics:
    """Device tables of an MDP, built once per MDP object (TabularMDP hashes by identity)."""
    return make_dynamics(mdp)


def sample_mixture_policy(key: jax.Array, policies, weights, n_episodes: int) -> jax.Array:
    """Turn a mixture of policies into one policy per episode, component drawn by weight.

    Running episode e with the returned policy e is running the mixture: a mixture of policies
    drawn once per episode induces the same mixture of state distributions (SPEC section 10).

    Args:
        key: JAX PRNG key.
        policies: int [..., K, T, S], the components (leading axes, e.g. agents, are a batch).
        weights: [..., K], non-negative, summing to 1 (zero weights pad ragged mixtures).
        n_episodes: episodes per mixture.
    Returns:
        int32 [..., n_episodes, T, S].
    """
    policies = jnp.asarray(policies, jnp.int32)
    weights_np = np.asarray(weights, dtype=np.float64)
    if policies.ndim < 3 or weights_np.shape != policies.shape[:-2]:
        raise ValueError(f"weights must have shape [..., K] = {policies.shape[:-2]}; got {weights_np.shape}")
    if np.any(weights_np < 0) or np.any(np.abs(weights_np.sum(axis=-1) - 1.0) > _PROBABILITY_TOLERANCE):
        raise ValueError("mixture weights must be non-negative and sum to 1")
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be positive; got {n_episodes}")
    return _sample_tables(key, policies, jnp.log(jnp.asarray(weights_np, jnp.float32)), n_episodes)


@functools.partial(jax.jit, static_argnames="n_episodes")
def _sample_tables(key: jax.Array, policies: jax.Array, log_weights: jax.Array, n_episodes: int) -> jax.Array:
    """Per-episode tables [..., n_episodes, T, S] drawn from policies [..., K, T, S]."""
    batch = policies.shape[:-3]
    components = jax.random.categorical(key, log_weights[..., None, :], axis=-1, shape=batch + (n_episodes,))
    return jnp.take_along_axis(policies, components[..., None, None], axis=-3)


@jax.jit
def _rollout_tables(dyn: Dynamics, key: jax.Array, episode_policies: jax.Array) -> jax.Array:
    """States int32 [..., T + 1] of episodes run with policy tables int32 [..., T, S]."""
    batch = episode_policies.shape[:-2]
    horizon = episode_policies.shape[-2]
    key_reset, key_steps = jax.random.split(key)
    s0 = reset_from_uniform(dyn, jax.random.uniform(key_reset, batch))

    def step(states, inputs):
        table, u = inputs
        actions = jnp.take_along_axis(table, states[..., None], axis=-1)[..., 0]
        nxt = step_from_uniform(dyn, states, actions, u)
        return nxt, nxt

    tables = jnp.moveaxis(episode_policies, -2, 0)
    uniforms = jax.random.uniform(key_steps, (horizon,) + batch)
    _, rest = jax.lax.scan(step, s0, (tables, uniforms))
    return jnp.moveaxis(jnp.concatenate([s0[None], rest], axis=0), 0, -1)


def rollout_deterministic(key: jax.Array, mdp: TabularMDP, episode_policies) -> jax.Array:
    """Sample episodes, each with its own non-stationary deterministic policy.

    Args:
        key: JAX PRNG key.
        mdp: the MDP.
        episode_policies: int [..., T, S] (e.g. from :func:`sample_mixture_policy`).
    Returns:
        states int32 [..., T + 1], s_0 .. s_T of each episode.
    """
    _check_policy_tables(mdp, episode_policies, "episode policies")
    return _rollout_tables(_dynamics(mdp), key, jnp.asarray(episode_policies, jnp.int32))


def _check_policy_tables(mdp: TabularMDP, tables, name: str) -> None:
    """Deterministic policy tables must be [..., T, S] with actions in [0, A): JAX indexing would
    silently clamp an out-of-range action."""
    tables = np.asarray(tables)
    if tables.ndim < 2 or tables.shape[-2:] != (mdp.horizon, mdp.n_states):
        raise ValueError(f"{name} must have shape [..., T, S] = [..., {mdp.horizon}, {mdp.n_states}]; got {tables.shape}")
    if not np.issubdtype(tables.dtype, np.integer) or np.any(tables < 0) or np.any(tables >= mdp.n_actions):
        raise ValueError(f"{name} must hold integer actions in [0, {mdp.n_actions})")


def monte_carlo_state_distribution(key: jax.Array, mdp: TabularMDP, policies, weights, n_episodes: int) -> np.ndarray:
    """Monte-Carlo density oracle: the empirical distribution of the T + 1 states of each of
    n episodes of a mixture of deterministic policies (one component drawn per episode).

    Args:
        key: JAX PRNG key.
        mdp: the MDP.
        policies: int [..., K, T, S]; weights: [..., K] (see :func:`sample_mixture_policy`).
        n_episodes: n, episodes per mixture.
    Returns:
        the estimate, float64 [..., S]; its expectation is the mixture's exact state distribution.
    """
    _check_policy_tables(mdp, policies, "mixture policies")
    key_components, key_rollout = jax.random.split(key)
    episode_policies = sample_mixture_policy(key_components, policies, weights, n_episodes)
    states = rollout_deterministic(key_rollout, mdp, episode_policies)
    return np.asarray(_visit_frequencies(states, mdp.n_states), dtype=np.float64)


@functools.partial(jax.jit, static_argnums=1)
def _visit_frequencies(states: jax.Array, n_states: int) -> jax.Array:
    """Empirical distribution [..., S] of the states [..., n, T + 1] of n episodes, pooled."""
    flat = states.reshape(states.shape[:-2] + (-1,))
    return jax.nn.one_hot(flat, n_states, dtype=jnp.float32).mean(axis=-2)


# --------------------------------------------------------------------------------------------
# Smoothed entropy and the constants of Theorem A.2
# --------------------------------------------------------------------------------------------


def smoothed_entropy(d, sigma: float) -> np.ndarray:
    """H_sigma(d) = -sum_s d(s) log(d(s) + sigma) (SPEC section 10), d [..., S] -> [...].

    H_sigma <= H, and H - H_sigma = sum d log(1 + sigma / d) <= log(1 + S sigma) (Jensen).
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    d = np.asarray(d, dtype=np.float64)
    return -np.sum(d * np.log(d + sigma), axis=-1)


def smoothed_entropy_gradient(d, sigma: float) -> np.ndarray:
    """dH_sigma/dd(s) = -log(d(s) + sigma) - d(s) / (d(s) + sigma), d [..., S] -> [..., S]:
    the state reward of a Frank-Wolfe step."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    d = np.asarray(d, dtype=np.float64)
    return -np.log(d + sigma) - d / (d + sigma)


def smoothness_constant(sigma: float) -> float:
    """beta = 2 / sigma, the smoothness constant of H_sigma on the simplex.

    The Hessian of H_sigma is diagonal with entries -(d + 2 sigma) / (d + sigma)^2, largest in
    magnitude at d = 0 where it is 2 / sigma; so |H_sigma(y) - H_sigma(x) - <grad, y - x>|
    <= (beta / 2) ||y - x||_2^2.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    return 2.0 / sigma


def gradient_bound(sigma: float) -> float:
    """B = max over d in [0, 1] of |dH_sigma/dd|: the gradient decreases in d from log(1 / sigma)
    at d = 0 to -log(1 + sigma) - 1 / (1 + sigma) at d = 1."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    return max(math.log(1.0 / sigma), math.log1p(sigma) + 1.0 / (1.0 + sigma))


def theorem_step_size(n_agents: int, eps: float, n_states: int, sigma: float) -> float:
    """Theorem A.2: eta = 0.1 N eps / (|S| beta), beta = :func:`smoothness_constant` (sigma).

    |S| is the size of the state space (``mdp.n_valid`` for a grid). Capped at 1, the largest
    step a mixture update allows.
    """
    _check_eps(eps)
    return min(1.0, 0.1 * n_agents * eps / (n_states * smoothness_constant(sigma)))


def theorem_iterations(n_agents: int, eps: float, n_states: int, sigma: float) -> int:
    """Theorem A.2: 10 beta |S| / (eps N) log(10 B / eps) iterations suffice for eps-optimality
    (beta = :func:`smoothness_constant`, B = :func:`gradient_bound`)."""
    _check_eps(eps)
    beta, bound = smoothness_constant(sigma), gradient_bound(sigma)
    return math.ceil(10.0 * beta * n_states / (eps * n_agents) * math.log(10.0 * bound / eps))


# --------------------------------------------------------------------------------------------
# Parallel Frank-Wolfe (Algorithm 2)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AgentMixture:
    """One agent's mixture of non-stationary deterministic policies.

    Attributes:
        policies: int32 [K, T, S]; weights: [K], summing to 1. A policy planned more than once
            is stored once with the sum of its weights (the same mixture).
        state_distributions: [K, S], the exact state distribution of each component.
    """

    policies: np.ndarray
    weights: np.ndarray
    state_distributions: np.ndarray

    def state_distribution(self) -> np.ndarray:
        """The mixture's state distribution [S] = sum_k weights[k] d_k."""
        return self.weights @ self.state_distributions


class _PlannedComponents:
    """The components every agent adds, C <- (C, pi_new), alpha <- ((1 - eta) alpha, eta),
    with a repeated plan merged into its earlier entry."""

    def __init__(self):
        self._index: dict[bytes, int] = {}
        self.policies: list[np.ndarray] = []
        self.distributions: list[np.ndarray] = []
        self.weights = np.zeros(0)

    def add(self, policy: np.ndarray, distribution: np.ndarray, eta: float) -> None:
        self.weights *= 1.0 - eta
        position = self._index.setdefault(policy.tobytes(), len(self.policies))
        if position == len(self.policies):
            self.policies.append(policy)
            self.distributions.append(distribution)
            self.weights = np.append(self.weights, eta)
        else:
            self.weights[position] += eta

    def __len__(self) -> int:
        return len(self.policies)


@dataclasses.dataclass(frozen=True)
class FrankWolfeResult:
    """What :func:`frank_wolfe` returns; I = iterations run (fewer than asked if it stopped early).

    Attributes:
        mixtures: the N agents' mixtures.
        joint_distributions: [I + 1, S], the exact state distribution of the joint mixture
            (1/N) sum_i mix_i before iteration 1 and after each iteration.
        entropy: [I + 1], H of those; smoothed_entropy: [I + 1], H_sigma of those.
        gap: [I], the Frank-Wolfe gap g_t = max_pi <grad H_sigma(x_t), d_pi - x_t> at the exact
            joint x_t, a certificate: H_sigma(x_t) <= max H_sigma <= H_sigma(x_t) + g_t.
        eta, sigma, density_oracle, n_episodes: the settings.
    """

    mixtures: list[AgentMixture]
    joint_distributions: np.ndarray
    entropy: np.ndarray
    smoothed_entropy: np.ndarray
    gap: np.ndarray
    eta: float
    sigma: float
    density_oracle: str
    n_episodes: int

    @property
    def n_agents(self) -> int:
        return len(self.mixtures)

    @property
    def iterations(self) -> int:
        return len(self.gap)

    @property
    def joint_distribution(self) -> np.ndarray:
        """The final joint state distribution [S]."""
        return self.joint_distributions[-1]


DENSITY_ORACLES = ("exact", "monte-carlo")


def frank_wolfe(
    mdp: TabularMDP,
    n_agents: int = 1,
    eta: float = 0.05,
    iterations: int = 200,
    sigma: float = 1e-3,
    density_oracle: str = "exact",
    n_episodes: int = 50,
    seed: int = 0,
    stop_at_entropy: float | None = None,
) -> FrankWolfeResult:
    """Parallel Frank-Wolfe for max_pi H(d_pi) (SPEC section 10, the paper's Algorithm 2).

    Each of N agents keeps a mixture C^i of non-stationary deterministic policies with weights
    alpha^i, started from one uniformly random deterministic policy per agent (so the agents
    start apart). Every iteration:

    1. estimate the density of the joint mixture (1/N) sum_i mix_i: exactly, or from the team's
       pooled sample of n episodes per agent, each agent running its own mixture (one
       component drawn per episode);
    2. take the reward r = grad H_sigma at the estimate and plan against it (:func:`plan`);
       every agent holds the same estimate, so one plan serves all of them;
    3. every agent updates C^i <- (C^i, pi_new), alpha^i <- ((1 - eta) alpha^i, eta).

    Because the joint is the mean of the agents' mixtures, step 3 moves it to
    (1 - eta) x + eta d_{pi_new}: the number of agents enters through the admissible step size
    of Theorem A.2 (:func:`theorem_step_size`), the start, and the Monte-Carlo sample size.

    Args:
        mdp: the MDP (its horizon is T).
        n_agents: N.
        eta: constant step size in (0, 1].
        iterations: the most iterations to run.
        sigma: smoothing of H_sigma, > 0.
        density_oracle: "exact" (forward recursion) or "monte-carlo".
        n_episodes: episodes per agent per iteration of the Monte-Carlo oracle.
        seed: seeds the initial policies and the Monte-Carlo oracle.
        stop_at_entropy: stop after the first iteration whose exact joint entropy reaches this.
    """
    if n_agents < 1:
        raise ValueError(f"n_agents must be positive; got {n_agents}")
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"eta must lie in (0, 1]; got {eta}")
    if iterations < 0:
        raise ValueError(f"iterations must be non-negative; got {iterations}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    if density_oracle not in DENSITY_ORACLES:
        raise ValueError(f"unknown density oracle {density_oracle!r}; choose from {DENSITY_ORACLES}")
    if density_oracle == "monte-carlo" and n_episodes < 1:
        raise ValueError(f"n_episodes must be positive; got {n_episodes}")

    rng = np.random.default_rng(seed)
    initial_policies = rng.integers(0, mdp.n_actions, size=(n_agents, mdp.horizon, mdp.n_states), dtype=np.int32)
    initial_distributions = exact_state_distribution(mdp, initial_policies)  # [N, S]
    # Every agent adds the same plans, so agent i's mixture is its initial policy with weight
    # (1 - eta)^t followed by the shared components: one list serves all agents.
    initial_weight = 1.0
    planned = _PlannedComponents()

    joint = initial_distributions.mean(axis=0)
    joints, gaps = [joint], []
    for iteration in range(iterations):
        if stop_at_entropy is not None and _entropy_np(joint) >= stop_at_entropy:
            break
        exact_reward = smoothed_entropy_gradient(joint, sigma)
        best_policy = plan(mdp, exact_reward).astype(np.int32)
        best_distribution = exact_state_distribution(mdp, best_policy)
        gaps.append(float(exact_reward @ (best_distribution - joint)))
        if density_oracle == "exact":
            new_policy, new_distribution = best_policy, best_distribution
        else:
            policies, weights = _padded_mixtures(initial_policies, initial_weight, planned, iterations + 1)
            estimate = monte_carlo_state_distribution(
                jax.random.fold_in(jax.random.PRNGKey(seed), iteration), mdp, policies, weights, n_episodes
            ).mean(axis=0)
            new_policy = plan(mdp, smoothed_entropy_gradient(estimate, sigma)).astype(np.int32)
            new_distribution = exact_state_distribution(mdp, new_policy)
        planned.add(new_policy, new_distribution, eta)
        initial_weight *= 1.0 - eta
        joint = (1.0 - eta) * joint + eta * new_distribution
        joints.append(joint)

    joints = np.stack(joints)
    mixtures = [
        AgentMixture(
            policies=np.stack([initial_policies[i], *planned.policies]),
            weights=np.append(initial_weight, planned.weights),
            state_distributions=np.stack([initial_distributions[i], *planned.distributions]),
        )
        for i in range(n_agents)
    ]
    return FrankWolfeResult(
        mixtures=mixtures,
        joint_distributions=joints,
        entropy=_entropy_np(joints),
        smoothed_entropy=smoothed_entropy(joints, sigma),
        gap=np.asarray(gaps, dtype=np.float64),
        eta=float(eta),
        sigma=float(sigma),
        density_oracle=density_oracle,
        n_episodes=int(n_episodes),
    )


def _padded_mixtures(
    initial_policies: np.ndarray, initial_weight: float, planned: _PlannedComponents, capacity: int
) -> tuple[np.ndarray, np.ndarray]:
    """All agents' mixtures as policies [N, capacity, T, S] and weights [N, capacity], padded
    with zero weights to a size fixed for the whole run, so the sampler compiles once."""
    n_agents = initial_policies.shape[0]
    shared = np.zeros((capacity - 1,) + initial_policies.shape[1:], np.int32)
    shared_weights = np.zeros(capacity - 1)
    if len(planned):
        shared[: len(planned)] = np.stack(planned.policies)
        shared_weights[: len(planned)] = planned.weights
    policies = np.concatenate([initial_policies[:, None], np.broadcast_to(shared, (n_agents,) + shared.shape)], axis=1)
    weights = np.append(initial_weight, shared_weights)
    return policies, np.broadcast_to(weights / weights.sum(), (n_agents, capacity))


# --------------------------------------------------------------------------------------------
# The optimum, independently: a convex program over occupancy measures
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OptimalEntropy:
    """Solution of :func:`optimal_entropy`.

    Attributes:
        value: max_pi H(d_pi) in nats (or max H_sigma when solved with sigma > 0).
        state_distribution: the maximising d [S] = (1 / (T + 1)) sum_t Pr(s_t = s).
        occupancy: x [T, S, A], x[t, s, a] = Pr(s_t = s, a_t = a).
        final_distribution: Pr(s_T = s) [S].
        policy: [T, S, A], pi_t(a | s) = x[t, s, a] / sum_a x[t, s, a] (uniform where the state
            is not reached), a policy that attains the optimum.
    """

    value: float
    state_distribution: np.ndarray
    occupancy: np.ndarray
    final_distribution: np.ndarray
    policy: np.ndarray


def optimal_entropy(mdp: TabularMDP, sigma: float = 0.0) -> OptimalEntropy:
    """max over (non-stationary, stochastic) policies of H(d_pi), by a convex program solved with
    Clarabel (SPEC section 10 states the objective; this is an independent check of Frank-Wolfe).

    Variables x_t(s, a) >= 0 for t < T and d_T(s) >= 0, with the flow constraints
    sum_a x_0(s, a) = mu(s), sum_a x_{t+1}(s, a) = sum_{s', a'} P[s', a', s] x_t(s', a'), and
    d_T(s) = sum_{s', a'} P[s', a', s] x_{T-1}(s', a'); maximise sum_s entr(d(s)) where
    d = (sum_t sum_a x_t(., a) + d_T) / (T + 1). Every feasible x is the occupancy of a policy,
    so the optimum is max_pi H(d_pi).

    With sigma > 0 the objective is H_sigma(d) = sum_s entr(d + sigma) + sigma log(d + sigma),
    the smoothed entropy that Frank-Wolfe ascends.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative; got {sigma}")
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    kernel_t = mdp.P.reshape(S * A, S).T  # [S, S*A]: inflow into s of each (s', a')
    action_sum = np.kron(np.eye(S), np.ones((1, A)))  # [S, S*A]: sum over a of x(s, a)
    x = [cp.Variable(S * A, nonneg=True) for _ in range(T)]  # index s * A + a
    final = cp.Variable(S, nonneg=True)
    constraints = [action_sum @ x[0] == mdp.mu]
    constraints += [action_sum @ x[t + 1] == kernel_t @ x[t] for t in range(T - 1)]
    constraints.append(final == kernel_t @ x[T - 1])
    d = (sum(action_sum @ x_t for x_t in x) + final) / (T + 1)
    if sigma > 0:
        objective = cp.sum(cp.entr(d + sigma) + sigma * cp.log(d + sigma))
    else:
        objective = cp.sum(cp.entr(d))
    problem = cp.Problem(cp.Maximize(objective), constraints)
    problem.solve(solver=cp.CLARABEL)
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"the convex program ended with status {problem.status!r}")
    occupancy = np.clip(np.stack([x_t.value.reshape(S, A) for x_t in x]), 0.0, None)
    final_distribution = np.clip(final.value, 0.0, None)
    state_distribution = (occupancy.sum(axis=2).sum(axis=0) + final_distribution) / (T + 1)
    state_mass = occupancy.sum(axis=2, keepdims=True)
    policy = np.where(state_mass > 1e-12, occupancy / np.where(state_mass > 1e-12, state_mass, 1.0), 1.0 / A)
    return OptimalEntropy(
        value=float(problem.value),
        state_distribution=state_distribution,
        occupancy=occupancy,
        final_distribution=final_distribution,
        policy=policy,
    )


# --------------------------------------------------------------------------------------------
# Experiments: iterations to eps-optimality against N, and every theory figure
# --------------------------------------------------------------------------------------------

#: Columns of the iterations-to-eps table, in CSV order.
TABLE_COLUMNS = (
    "env", "n_agents", "step_rule", "eta", "iterations", "reached", "cap",
    "entropy_at_stop", "optimum", "eps", "sigma", "theorem_iterations", "density_oracle", "n_episodes",
)


def _first_iteration_reaching(result: FrankWolfeResult, target: float) -> int | None:
    hits = np.flatnonzero(result.entropy >= target)
    return int(hits[0]) if len(hits) else None


def iterations_to_eps(
    env_names: Sequence[str] = ("room-det", "maze-det"),
    agent_counts: Sequence[int] = (1, 2, 4, 8, 16),
    eps: float = 0.05,
    sigma: float = 1e-3,
    tuned_steps: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2),
    max_iterations: int = 400,
    theorem_max_iterations: int = 200,
    density_oracle: str = "exact",
    n_episodes: int = 50,
    seed: int = 0,
    csv_path: str | Path | None = None,
    show_progress: bool = False,
) -> list[dict]:
    """Iterations of parallel Frank-Wolfe until H(joint) >= max_pi H(d_pi) - eps, against N.

    The optimum comes from :func:`optimal_entropy`. Two step-size rules per (env, N):

    * "theorem": eta = 0.1 N eps / (|S| beta) of Theorem A.2 with beta = 2 / sigma
      (:func:`smoothness_constant`) and |S| = ``mdp.n_valid``, run for at most
      ``theorem_max_iterations``; the row also gives the iteration count the theorem guarantees;
    * "tuned": the constant step of ``tuned_steps`` that reaches eps in the fewest iterations
      (at most ``max_iterations`` each); if none does, the one ending highest.

    A run that does not reach eps within its cap has ``iterations = None`` and
    ``reached = False`` (written "not reached" in the CSV).

    Returns:
        rows, one dict per (env, N, rule) with the keys :data:`TABLE_COLUMNS`.
    """
    _check_eps(eps)
    if not agent_counts or min(agent_counts) < 1:
        raise ValueError(f"agent_counts must be positive integers; got {agent_counts}")
    if not tuned_steps or not all(0.0 < eta <= 1.0 for eta in tuned_steps):
        raise ValueError(f"tuned_steps must lie in (0, 1]; got {tuned_steps}")
    mdps = [make(name) for name in env_names]
    rows = []
    runs = len(mdps) * len(agent_counts) * (1 + len(tuned_steps))
    with progress_bar(runs, "Frank-Wolfe runs", enabled=show_progress) as bar:
        for mdp in mdps:
            optimum = optimal_entropy(mdp).value
            target = optimum - eps
            for n_agents in agent_counts:
                common = {
                    "env": mdp.name, "n_agents": n_agents, "optimum": optimum, "eps": eps, "sigma": sigma,
                    "density_oracle": density_oracle, "n_episodes": n_episodes if density_oracle == "monte-carlo" else None,
                }

                def run(eta: float, cap: int) -> FrankWolfeResult:
                    result = frank_wolfe(
                        mdp, n_agents, eta, cap, sigma, density_oracle, n_episodes, seed, stop_at_entropy=target
                    )
                    bar.advance()
                    return result

                eta = theorem_step_size(n_agents, eps, mdp.n_valid, sigma)
                result = run(eta, theorem_max_iterations)
                reached = _first_iteration_reaching(result, target)
                rows.append(common | {
                    "step_rule": "theorem", "eta": eta, "iterations": reached, "reached": reached is not None,
                    "cap": theorem_max_iterations, "entropy_at_stop": float(result.entropy[-1]),
                    "theorem_iterations": theorem_iterations(n_agents, eps, mdp.n_valid, sigma),
                })

                tuned = []
                for eta in tuned_steps:
                    result = run(eta, max_iterations)
                    tuned.append((eta, _first_iteration_reaching(result, target), float(result.entropy[-1])))
                reached_runs = [t for t in tuned if t[1] is not None]
                eta, reached, final = (
                    min(reached_runs, key=lambda t: t[1]) if reached_runs else max(tuned, key=lambda t: t[2])
                )
                rows.append(common | {
                    "step_rule": "tuned", "eta": eta, "iterations": reached, "reached": reached is not None,
                    "cap": max_iterations, "entropy_at_stop": final, "theorem_iterations": None,
                })
    if csv_path is not None:
        write_table_csv(rows, csv_path)
    return rows


def write_table_csv(rows: Sequence[dict], path: str | Path) -> Path:
    """Write an iterations-to-eps table; an unreached run's iterations read "not reached"."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS)
        writer.writeheader()
        for row in rows:
            cells = {column: row.get(column) for column in TABLE_COLUMNS}
            if cells["iterations"] is None:
                cells["iterations"] = "not reached"
            writer.writerow({column: "" if value is None else value for column, value in cells.items()})
    return path


def _write_csv(path: Path, header: Sequence[str], rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


#: Distributions of the bound-against-truth figure: uniform and skewed over 5 categories.
UNIFORM_5 = np.full(5, 0.2)
SKEWED_5 = np.array([0.6, 0.2, 0.1, 0.06, 0.04])


def run_concentration(
    out_dir: str | Path,
    eps: float = 0.1,
    n_trials: int = 2000,
    n_agents: int = 4,
    n_states: int = 40,
    leak: float = 0.05,
    seed: int = 0,
    quick: bool = False,
) -> dict[str, Path]:
    """Figures and CSVs of Theorem 4.1 and of why parallel helps, written into ``out_dir``.

    * bound_vs_truth: P(H(d) - H(d_n) > eps) by Monte Carlo against the bound, as n grows, for
      the uniform and a skewed d over 5 categories;
    * bernoulli_terms: H(p), Var(p), Var(p) / H(p)^2 of a Bernoulli (the paper's Figure 4);
    * parallel_sampling: :func:`parallel_sampling_curves` for ``n_agents`` specialists over
      ``n_states`` states (:func:`specialised_distributions`).

    ``quick`` uses fewer sample sizes and at most 300 trials.
    """
    # Imported here: matplotlib is slow to import and only the figure writers need it.
    from pmaxent.plots import theory as plots

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = jax.random.PRNGKey(seed)
    if quick:
        n_trials = min(n_trials, 300)
    paths = {}

    sample_sizes = np.unique(np.round(np.logspace(1, 7, 7 if quick else 19)).astype(int))
    curves = {}
    for i, (label, d) in enumerate((("uniform", UNIFORM_5), ("skewed", SKEWED_5))):
        probability = deviation_probability(jax.random.fold_in(key, i), d, sample_sizes, eps, n_trials)
        curves[label] = (d, probability, concentration_bound(d, sample_sizes, eps))
    paths["bound_vs_truth_csv"] = _write_csv(
        out_dir / "bound_vs_truth.csv",
        ("distribution", "n", "monte_carlo_probability", "bound", "eps", "n_trials"),
        [
            (label, n, p, b, eps, n_trials)
            for label, (_, probs, bounds) in curves.items()
            for n, p, b in zip(sample_sizes, probs, bounds)
        ],
    )
    paths["bound_vs_truth"] = plots.plot_bound_vs_truth(sample_sizes, curves, eps, out_dir / "bound_vs_truth.png")

    p = np.linspace(0.005, 0.995, 199)
    h, var, ratio = bernoulli_concentration_terms(p)
    paths["bernoulli_terms_csv"] = _write_csv(
        out_dir / "bernoulli_terms.csv", ("p", "entropy", "variance", "ratio"), zip(p, h, var, ratio)
    )
    paths["bernoulli_terms"] = plots.plot_bernoulli_terms(p, h, var, ratio, out_dir / "bernoulli_terms.png")

    samples_per_agent = np.unique(np.round(np.logspace(0.5, 3, 6 if quick else 16)).astype(int))
    dists = specialised_distributions(n_states, n_agents, leak)
    sampling = parallel_sampling_curves(jax.random.fold_in(key, 2), dists, samples_per_agent, eps, n_trials)
    paths["parallel_sampling_csv"] = _write_csv(
        out_dir / "parallel_sampling.csv",
        ("samples_per_agent", "specialised", "identical", "single", "n_agents", "n_states", "leak", "eps", "n_trials"),
        [
            (k, a, b, c, n_agents, n_states, leak, eps, n_trials)
            for k, a, b, c in zip(sampling.samples_per_agent, sampling.specialised, sampling.identical, sampling.single)
        ],
    )
    paths["parallel_sampling"] = plots.plot_parallel_sampling(sampling, out_dir / "parallel_sampling.png")
    return paths


def entropy_curves(
    mdp: TabularMDP, agent_counts: Sequence[int], eta_for: Callable[[int], float], iterations: int,
    sigma: float = 1e-3, density_oracle: str = "exact", n_episodes: int = 50, seed: int = 0,
) -> dict[int, np.ndarray]:
    """Exact joint entropy per iteration [iterations + 1] of Frank-Wolfe for each N, with step
    ``eta_for(N)`` (a constant, or e.g. the Theorem A.2 step of N)."""
    return {
        n: frank_wolfe(mdp, n, eta_for(n), iterations, sigma, density_oracle, n_episodes, seed).entropy
        for n in agent_counts
    }


def run_frank_wolfe(
    out_dir: str | Path,
    env_names: Sequence[str] = ("room-det", "maze-det"),
    agent_counts: Sequence[int] = (1, 2, 4, 8, 16),
    eps: float = 0.05,
    sigma: float = 1e-3,
    tuned_steps: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2),
    max_iterations: int = 400,
    theorem_max_iterations: int = 200,
    density_oracle: str = "exact",
    n_episodes: int = 50,
    seed: int = 0,
    show_progress: bool = False,
) -> tuple[dict[str, Path], list[dict]]:
    """The iterations-to-eps table (CSV) and the Frank-Wolfe figure, written into ``out_dir``.

    The figure shows, on the first environment, the joint entropy per iteration for every N
    with the best tuned step of N = ``agent_counts[0]`` and with the Theorem A.2 step, and the
    iterations to eps against N for both rules on every environment.
    """
    from pmaxent.plots import theory as plots

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = iterations_to_eps(
        env_names, agent_counts, eps, sigma, tuned_steps, max_iterations, theorem_max_iterations,
        density_oracle, n_episodes, seed, out_dir / "iterations_to_eps.csv", show_progress,
    )
    first = make(env_names[0])
    tuned_eta = next(r["eta"] for r in rows if r["env"] == first.name and r["step_rule"] == "tuned")
    curves = {
        "tuned": entropy_curves(
            first, agent_counts, lambda n: tuned_eta, max_iterations, sigma, density_oracle, n_episodes, seed
        ),
        "theorem": entropy_curves(
            first, agent_counts, lambda n: theorem_step_size(n, eps, first.n_valid, sigma), theorem_max_iterations,
            sigma, density_oracle, n_episodes, seed,
        ),
    }
    paths = {
        "iterations_to_eps_csv": out_dir / "iterations_to_eps.csv",
        "frank_wolfe": plots.plot_frank_wolfe(curves, tuned_eta, rows, first.name, out_dir / "frank_wolfe.png"),
    }
    return paths, rows


def run_theory(out_dir: str | Path, quick: bool = False) -> dict[str, Path]:
    """Every theory figure and CSV into ``out_dir`` (the reproduction report calls this).

    ``quick`` shrinks Monte-Carlo trials, sample-size grids, the agent counts (1, 4, 16), the
    step grid and the iteration caps, so the whole run takes seconds.
    """
    paths = run_concentration(out_dir, quick=quick)
    if quick:
        fw_paths, _ = run_frank_wolfe(
            out_dir, agent_counts=(1, 4, 16), tuned_steps=(0.05, 0.1), max_iterations=150, theorem_max_iterations=20
        )
    else:
        fw_paths, _ = run_frank_wolfe(out_dir)
    return paths | fw_paths
