"""PGPSE: policy gradient for parallel state entropy (Algorithm 1 of the paper, SPEC section 5).

The estimator is REINFORCE on the team objective J_p = E[H(d_{n,p})]: every agent's score
sum_t grad log pi_i(a_t | s_t) is weighted by the entropy of the pooled empirical state
distribution of its team sample,

    grad_i J_p ~= (1/B) sum_b (sum_t grad log pi_i(a^i_{b,t} | s^i_{b,t})) * w_{b,i},
    w_{b,i} = H_b - baseline_{b,i}.

The paper uses no baseline (w = H_b). The counterfactual baselines below depend only on what
agent i's own trajectory in sample b does not influence, so the estimator stays unbiased.

This module also computes the objective and its gradient exactly, by enumerating every joint
trajectory of a tiny problem: the ground truth the tests hold the estimator to.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.entropy import EntropyEstimator, TeamEntropies
from pmaxent.envs.tabular import TabularMDP
from pmaxent.policies import Policy, TabularSoftmax
from pmaxent.rollout import TeamSamples

BASELINES = ("none", "loo-agent", "loo-sample", "both")


def leave_one_sample_out_mean(values: jax.Array) -> jax.Array:
    """Mean over the other team samples of the batch (RLOO): values [B, ...] -> [B, ...]."""
    n = values.shape[0]
    return (values.sum(axis=0, keepdims=True) - values) / (n - 1)


def entropy_weights(entropies: TeamEntropies, baseline: str = "none") -> jax.Array:
    """Weights w_{b,i} of the score of agent i in team sample b.

    Args:
        entropies: the batch's TeamEntropies (team [B], without_agent [B, m]).
        baseline: "none" (the paper: w = H_b), "loo-agent" (w = H_b - H_b^{-i}, agent i's
            marginal contribution), "loo-sample" (w = H_b - mean_{b' != b} H_b'), or "both"
            (RLOO applied to the marginal contributions).
    Returns:
        weights: float32 [B, m].
    """
    if baseline not in BASELINES:
        raise ValueError(f"unknown baseline {baseline!r}; choose from {BASELINES}")
    team = jnp.broadcast_to(entropies.team[:, None], entropies.without_agent.shape)
    if baseline == "none":
        return team
    if baseline == "loo-sample":
        return team - leave_one_sample_out_mean(team)
    contribution = team - entropies.without_agent
    if baseline == "loo-agent":
        return contribution
    return contribution - leave_one_sample_out_mean(contribution)


def group_trajectories(states: jax.Array, trajectories: int) -> jax.Array:
    """Pool each agent's K trajectories: states [B*K, m, N] (K consecutive rows per team
    sample) -> [B, m, K*N]."""
    bk, m, n = states.shape
    return states.reshape(bk // trajectories, trajectories, m, n).transpose(0, 2, 1, 3).reshape(bk // trajectories, m, -1)


def pgpse_gradient(
    policy: Policy,
    params: jax.Array,
    samples: TeamSamples,
    estimator: EntropyEstimator,
    baseline: str = "none",
    shared: bool | jax.Array = False,
    trajectories: int = 1,
) -> jax.Array:
    """The PGPSE gradient estimate for params [m, ...] from B*K trajectories per agent.

    With ``shared`` (the single-agent baseline, K' = m trajectories of one policy) the m tables
    are copies of one table, whose gradient is the sum of the m per-trajectory terms; it is
    returned broadcast to every copy so the copies stay equal under any optimizer.
    """
    entropies, _ = estimator(group_trajectories(samples.states, trajectories))
    return gradient_from_entropies(policy, params, samples, entropies, baseline, shared, trajectories)


def gradient_from_entropies(
    policy: Policy,
    params: jax.Array,
    samples: TeamSamples,
    entropies: TeamEntropies,
    baseline: str = "none",
    shared: bool | jax.Array = False,
    trajectories: int = 1,
) -> jax.Array:
    """:func:`pgpse_gradient` given the batch's entropies (computed once per update)."""
    weights = entropy_weights(entropies, baseline)
    n_teams = weights.shape[0]
    grad = policy.weighted_score(params, samples.states[..., :-1], samples.actions, jnp.repeat(weights, trajectories, axis=0)) / n_teams
    summed = jnp.broadcast_to(grad.sum(axis=0, keepdims=True), grad.shape)
    return jnp.where(shared, summed, grad)


def team_metrics(entropies: TeamEntropies, support: jax.Array, n_valid: int) -> dict[str, jax.Array]:
    """Batch means of the team metrics of SPEC section 5.

    entropy (nats) and normalized_entropy (H / log n_valid) of the pooled samples, support
    (distinct states), agent_entropy (mean per-agent entropy) and diversity, the mean KL of each
    agent's distribution to the team's. Every agent has the same number of visits, so the team
    distribution is the uniform mixture and, by the decomposition of SPEC section 9,
    diversity = entropy - agent_entropy.
    """
    team = entropies.team.mean()
    agent = entropies.agents.mean()
    return {
        "entropy": team,
        "normalized_entropy": team / jnp.log(n_valid),
        "support": support.mean(),
        "agent_entropy": agent,
        "diversity": team - agent,
    }


# ---------------------------------------------------------------------------------------------
# Exact ground truth by enumeration
# ---------------------------------------------------------------------------------------------

#: Largest number of joint trajectories (trajectories per agent ** m) enumerated exactly.
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
    states, actions, probs = zip(*partial)
    return np.array(states, np.int32), np.array(actions, np.int32).reshape(len(partial), mdp.horizon), np.array(probs)


def _joint_entropy_table(state_count_table: np.ndarray, n_agents: int) -> np.ndarray:
    """H(pooled counts) for every combination of one trajectory per agent: [N] * m."""
    n_traj = state_count_table.shape[0]
    pooled = np.zeros((1,) * n_agents + state_count_table.shape[1:])
    for i in range(n_agents):
        shape = [1] * n_agents + [state_count_table.shape[1]]
        shape[i] = n_traj
        pooled = pooled + state_count_table.reshape(shape)
    total = pooled.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(pooled > 0, pooled * np.log(np.where(pooled > 0, pooled, 1.0)), 0.0)
    return np.log(total) - plogp.sum(axis=-1) / total


def make_exact_objective(mdp: TabularMDP, n_agents: int, time_indexed: bool = False):
    """Build J_p(theta) = E[H(pooled empirical distribution)] computed exactly (K = 1).

    The returned function maps theta [m, S, A] (or [m, T, S, A]) to J_p, and is differentiable.
    Raises ValueError when N ** m joint trajectories exceed MAX_JOINT_TRAJECTORIES.
    """
    states, actions, dynamics_prob = enumerate_trajectories(mdp)
    n_joint = float(len(states)) ** n_agents
    if n_joint > MAX_JOINT_TRAJECTORIES:
        raise ValueError(
            f"exact enumeration needs {n_joint:.3g} joint trajectories ({len(states)} per agent, m = {n_agents}); "
            f"the limit is {MAX_JOINT_TRAJECTORIES:,}: use a smaller MDP, horizon or team"
        )
    counts = np.stack([np.bincount(row, minlength=mdp.n_states) for row in states]).astype(np.float64)
    joint_entropy = jnp.asarray(_joint_entropy_table(counts, n_agents))
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions, mdp.horizon, time_indexed=time_indexed)
    states_j, actions_j = jnp.asarray(states[:, :-1]), jnp.asarray(actions)
    log_dynamics = jnp.log(jnp.asarray(dynamics_prob))

    def objective(theta: jax.Array) -> jax.Array:
        per_agent_states = jnp.broadcast_to(states_j, (n_agents,) + states_j.shape).transpose(1, 0, 2)
        per_agent_actions = jnp.broadcast_to(actions_j, (n_agents,) + actions_j.shape).transpose(1, 0, 2)
        logp = policy.log_prob(theta, per_agent_states, per_agent_actions).sum(axis=-1)  # [N, m]
        probs = jnp.exp(logp + log_dynamics[:, None])
        value = joint_entropy
        for i in reversed(range(n_agents)):
            value = value @ probs[:, i]
        return value

    return objective


def exact_objective(mdp: TabularMDP, theta) -> float:
    """J_p = E[H(pooled empirical state distribution)] by enumeration; theta [m, S, A] or [m, T, S, A]."""
    theta = jnp.asarray(theta, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return make_exact_objective(mdp, theta.shape[0], theta.ndim == 4)(theta)


def exact_gradient(mdp: TabularMDP, theta) -> jax.Array:
    """grad_theta J_p by autodiff of the enumeration; same shape as theta."""
    theta = jnp.asarray(theta, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return jax.grad(make_exact_objective(mdp, theta.shape[0], theta.ndim == 4))(theta)


def count_trajectories(mdp: TabularMDP) -> int:
    """Number of single-agent trajectories with non-zero probability (for sizing enumeration)."""
    return len(enumerate_trajectories(mdp)[0])


__all__ = [
    "BASELINES", "entropy_weights", "pgpse_gradient", "gradient_from_entropies", "team_metrics", "exact_objective",
    "exact_gradient", "make_exact_objective", "enumerate_trajectories", "leave_one_sample_out_mean",
    "count_trajectories", "group_trajectories",
]
