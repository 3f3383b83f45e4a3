"""Oracles on a :class:`TabularMDP` (SPEC sections 2 and 10): the exact state distribution of a
policy by forward recursion, planning by dynamic programming, and the Monte-Carlo density
oracle: mixtures of non-stationary deterministic policies sampled once per episode and rolled
out on the JAX simulator.

Conventions: an episode has T actions and T + 1 states s_0 .. s_T, and the state distribution of
a policy is the average of the T + 1 marginals. Shapes: S states, A actions, T horizon.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.tabular.mdp import TabularMDP
from pmaxent.tabular.simulator import Dynamics, make_dynamics, reset_from_uniform, step_from_uniform
from pmaxent.tabular.theory._checks import PROBABILITY_TOLERANCE


def _checked_policy(mdp: TabularMDP, policy) -> np.ndarray:
    """A policy checked against the MDP: int64 [..., T, S] (deterministic) or float64
    [..., T, S, A] (stochastic)."""
    policy = np.asarray(policy)
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    if np.issubdtype(policy.dtype, np.integer):
        if policy.ndim < 2 or policy.shape[-2:] != (T, S):
            raise ValueError(
                f"a deterministic policy must have shape [..., T, S] = [..., {T}, {S}]; got {policy.shape}"
            )
        if np.any(policy < 0) or np.any(policy >= A):
            raise ValueError(
                f"deterministic policy actions must lie in [0, {A}); got range [{policy.min()}, {policy.max()}]"
            )
        return policy.astype(np.int64)
    if np.issubdtype(policy.dtype, np.floating):
        if policy.ndim < 3 or policy.shape[-3:] != (T, S, A):
            raise ValueError(
                f"a stochastic policy must have shape [..., T, S, A] = [..., {T}, {S}, {A}]; got {policy.shape}"
            )
        row_sums = policy.sum(axis=-1)
        if (
            not np.all(np.isfinite(policy))
            or np.any(policy < 0)
            or np.any(np.abs(row_sums - 1.0) > PROBABILITY_TOLERANCE)
        ):
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
    if np.any(weights_np < 0) or np.any(np.abs(weights_np.sum(axis=-1) - 1.0) > PROBABILITY_TOLERANCE):
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
        raise ValueError(
            f"{name} must have shape [..., T, S] = [..., {mdp.horizon}, {mdp.n_states}]; got {tables.shape}"
        )
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
