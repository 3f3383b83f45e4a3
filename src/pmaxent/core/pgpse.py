"""PGPSE: policy gradient for parallel state entropy (Algorithm 1 of the paper, SPEC sections 5, 11).

The estimator is REINFORCE on the team objective J_p = E[H(d_{n,p})]: every agent's score
sum_t grad log pi_i(a_t | s_t) is weighted by the entropy of the pooled sample of its team sample,

    grad_i J_p ~= (1/B) sum_b (sum_t grad log pi_i(a^i_{b,t} | s^i_{b,t})) * w_{b,i},
    w_{b,i} = H_b - baseline_{b,i}.

The paper uses no baseline (w = H_b). The counterfactual baselines below depend only on what
agent i's own trajectory in sample b does not influence, so the estimator stays unbiased.
Nothing here knows the environment, the policy or the estimator beyond their interfaces
(:mod:`pmaxent.core.components`). The exact objective of tiny tabular problems, the ground truth the
tests hold this estimator to, is in :mod:`pmaxent.tabular.enumeration`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pmaxent.core.components import EntropyEstimator, Params, TeamEntropies, TeamPolicy, single_tied_leaves

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


def group_trajectories(points: jax.Array, trajectories: int) -> jax.Array:
    """Pool each agent's K trajectories: points [B*K, m, N, ...] (K consecutive rows per team
    sample) -> [B, m, K*N, ...]."""
    bk, m, n = points.shape[:3]
    rest = points.shape[3:]
    grouped = points.reshape((bk // trajectories, trajectories, m, n) + rest)
    return jnp.swapaxes(grouped, 1, 2).reshape((bk // trajectories, m, trajectories * n) + rest)


def autodiff_weighted_score(
    policy: TeamPolicy, params: Params, observations, actions: jax.Array, weights: jax.Array
) -> Params:
    """sum_{b,t} w_{b,i} grad_{params_i} log pi_i(a_{b,t} | o_{b,t}), as one vector-Jacobian
    product of the log-probabilities [N, m, T] with cotangent w broadcast over t.

    observations [N, m, T, ...], actions [N, m, T, ...], weights [N, m] -> a pytree like params.
    """
    log_probs = lambda p: jax.vmap(policy.log_prob, in_axes=(None, 0, 0))(p, observations, actions)  # noqa: E731
    values, pullback = jax.vjp(log_probs, params)
    (score,) = pullback(jnp.broadcast_to(weights[..., None], values.shape).astype(values.dtype))
    return score


def weighted_score(policy: TeamPolicy, params: Params, observations, actions: jax.Array, weights: jax.Array) -> Params:
    """The weighted score of :func:`autodiff_weighted_score`, by the policy's own closed form
    (``policy.weighted_score``) where it has one."""
    closed_form = getattr(policy, "weighted_score", None)
    if closed_form is not None:
        return closed_form(params, observations, actions, weights)
    return autodiff_weighted_score(policy, params, observations, actions, weights)


def gradient_from_entropies(
    policy: TeamPolicy,
    params: Params,
    observations,
    actions: jax.Array,
    entropies: TeamEntropies,
    baseline: str = "none",
    shared: bool | jax.Array = False,
    trajectories: int = 1,
    modes: bool = False,
) -> Params:
    """The PGPSE gradient estimate for params (leaves [m, ...]) from B*K trajectories per agent.

    observations [B*K, m, T, ...] and actions [B*K, m, T, ...] are those the actions were taken
    in (s_0 .. s_{T-1}); entropies are of the B pooled team samples.

    With ``shared`` (the single-agent baseline, K' = m trajectories of one policy) the m agents'
    parameters are copies of one set, whose gradient is the sum of the m per-trajectory terms;
    it is returned broadcast to every copy so the copies stay equal under any optimizer (with
    ``modes``, every copy but the policy's latent codes: :func:`tie_shared`).
    """
    weights = entropy_weights(entropies, baseline)
    n_teams = weights.shape[0]
    grad = weighted_score(policy, params, observations, actions, jnp.repeat(weights, trajectories, axis=0))

    return tie_shared(policy, params, jax.tree.map(lambda g: g / n_teams, grad), shared, modes)


def tie_shared(
    policy: TeamPolicy, params: Params, grad: Params, shared: bool | jax.Array, modes: bool = False
) -> Params:
    """The gradient of the single-agent baseline where ``shared``: every per-agent leaf's m copies
    are one set, whose gradient is the sum of the m terms, broadcast to every copy so that the
    copies stay equal under any optimizer (a leaf all agents share sums every term already). With
    ``modes`` the policy's latent codes stay one per trajectory slot
    (:func:`pmaxent.core.components.single_tied_leaves`)."""

    def tie(g, per_agent):
        return jnp.where(shared, jnp.broadcast_to(g.sum(axis=0, keepdims=True), g.shape), g) if per_agent else g

    return jax.tree.map(tie, grad, single_tied_leaves(policy, params, modes))


def pgpse_gradient(
    policy: TeamPolicy,
    params: Params,
    observations,
    actions: jax.Array,
    features: jax.Array,
    estimator: EntropyEstimator,
    baseline: str = "none",
    shared: bool | jax.Array = False,
    trajectories: int = 1,
) -> Params:
    """:func:`gradient_from_entropies` with the entropies of features [B*K, m, T+1, ...]."""
    entropies = estimator(group_trajectories(features, trajectories))
    return gradient_from_entropies(policy, params, observations, actions, entropies, baseline, shared, trajectories)


def team_metrics(entropies: TeamEntropies, feature_volume: float | None) -> dict[str, jax.Array]:
    """Batch means of the team metrics of SPEC section 5.

    entropy (nats) and normalized_entropy (H / ln feature_volume; NaN where the volume is None,
    unknown) of the pooled samples, the estimator's extras (e.g. support), agent_entropy (mean
    per-agent entropy) and entropy_gap = entropy - agent_entropy. For exact distributions the gap
    is the agents' mean KL to their uniform mixture (SPEC section 9); for estimates from samples of
    different sizes (the pooled sample is m times each agent's) it is not: a k-NN estimate of it on
    trajectory points mostly measures the paths' geometry (docs: claims protocol). A proper k-NN
    estimate of the KL between agents is the yardstick's (pmaxent.continuous.divergence).
    """
    team = entropies.team.mean()
    agent = entropies.agents.mean()
    return {
        "entropy": team,
        "normalized_entropy": team / jnp.log(feature_volume)
        if feature_volume is not None
        else jnp.full_like(team, jnp.nan),
        **{name: value.mean() for name, value in entropies.extras.items()},
        "agent_entropy": agent,
        "entropy_gap": team - agent,
    }
