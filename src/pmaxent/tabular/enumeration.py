"""Exact ground truth for tiny tabular problems: J_p = E[H(pooled empirical state distribution)]
and its gradient, by enumerating every joint trajectory of the team (SPEC section 5), with K >= 1
i.i.d. trajectories per agent pooled into each team sample.

The tests hold the PGPSE estimator (:mod:`pmaxent.core.pgpse`) to these numbers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.tabular.entropy import entropy_np
from pmaxent.tabular.mdp import TabularMDP
from pmaxent.tabular.policy import TabularSoftmax

#: Largest number of joint trajectories (single-agent trajectories ** (m K)) enumerated exactly.
MAX_JOINT_TRAJECTORIES = 2_000_000


def enumerate_trajectories(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every single-agent trajectory with non-zero probability under some policy.

    Returns:
        states: int32 [N, T+1]; actions: int32 [N, T];
        dynamics_prob: float64 [N], mu(s_0) prod_t P(s_{t+1} | s_t, a_t).
    """
    partial = [((int(s),), (), float(mu)) for s, mu in enumerate(mdp.mu) if mu > 0]
    for _ in range(mdp.horizon):
        grown = []
        for states, actions, prob in partial:
            for a in range(mdp.n_actions):
                for nxt in np.flatnonzero(mdp.P[states[-1], a]):
                    grown.append((states + (int(nxt),), actions + (a,), prob * mdp.P[states[-1], a, nxt]))
        partial = grown
        if len(partial) > MAX_JOINT_TRAJECTORIES:
            break
    states, actions, probs = zip(*partial, strict=True)
    return np.array(states, np.int32), np.array(actions, np.int32).reshape(len(partial), mdp.horizon), np.array(probs)


def _joint_entropy_table(state_count_table: np.ndarray, n_slots: int) -> np.ndarray:
    """H(pooled counts) for every combination of one trajectory per slot: [N] * n_slots."""
    n_traj = state_count_table.shape[0]
    pooled = np.zeros((1,) * n_slots + state_count_table.shape[1:])
    for i in range(n_slots):
        shape = [1] * n_slots + [state_count_table.shape[1]]
        shape[i] = n_traj
        pooled = pooled + state_count_table.reshape(shape)
    return entropy_np(pooled / pooled.sum(axis=-1, keepdims=True))


def make_exact_objective(mdp: TabularMDP, n_agents: int, time_indexed: bool = False, trajectories: int = 1):
    """Build J_p(theta) = E[H(pooled empirical distribution)] computed exactly, the pool holding
    K = ``trajectories`` i.i.d. trajectories of each of the m agents.

    The returned function maps theta [m, S, A] (or [m, T, S, A]) to J_p, and is differentiable.
    Raises ValueError when N ** (m K) joint trajectories exceed MAX_JOINT_TRAJECTORIES.
    """
    if trajectories < 1:
        raise ValueError(f"trajectories must be a positive integer; got {trajectories}")
    states, actions, dynamics_prob = enumerate_trajectories(mdp)
    n_slots = n_agents * trajectories  # slot j holds trajectory j % K of agent j // K
    n_joint = float(len(states)) ** n_slots
    if n_joint > MAX_JOINT_TRAJECTORIES:
        raise ValueError(
            f"exact enumeration needs {n_joint:.3g} joint trajectories ({len(states)} per agent, m = {n_agents}, "
            f"K = {trajectories}); the limit is {MAX_JOINT_TRAJECTORIES:,}: use a smaller MDP, horizon or team"
        )
    counts = np.stack([np.bincount(row, minlength=mdp.n_states) for row in states]).astype(np.float64)
    joint_entropy = jnp.asarray(_joint_entropy_table(counts, n_slots))
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions, mdp.horizon, time_indexed=time_indexed)
    states_j, actions_j = jnp.asarray(states[:, :-1]), jnp.asarray(actions)
    log_dynamics = jnp.log(jnp.asarray(dynamics_prob))

    def objective(theta: jax.Array) -> jax.Array:
        per_agent_states = jnp.broadcast_to(states_j, (n_agents,) + states_j.shape).transpose(1, 0, 2)
        per_agent_actions = jnp.broadcast_to(actions_j, (n_agents,) + actions_j.shape).transpose(1, 0, 2)
        logp = policy.log_prob(theta, per_agent_states, per_agent_actions).sum(axis=-1)  # [N, m]
        probs = jnp.exp(logp + log_dynamics[:, None])
        value = joint_entropy
        for slot in reversed(range(n_slots)):
            value = value @ probs[:, slot // trajectories]
        return value

    return objective


def exact_objective(mdp: TabularMDP, theta, trajectories: int = 1) -> float:
    """J_p = E[H(pooled empirical state distribution)] by enumeration, K = ``trajectories`` per
    agent; theta [m, S, A] or [m, T, S, A]."""
    theta = jnp.asarray(theta, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return make_exact_objective(mdp, theta.shape[0], theta.ndim == 4, trajectories)(theta)


def exact_gradient(mdp: TabularMDP, theta, trajectories: int = 1) -> jax.Array:
    """grad_theta J_p by autodiff of the enumeration, K = ``trajectories`` per agent; same shape as theta."""
    theta = jnp.asarray(theta, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return jax.grad(make_exact_objective(mdp, theta.shape[0], theta.ndim == 4, trajectories))(theta)
