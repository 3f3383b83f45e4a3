"""PGPSE against exact enumeration on tiny parallel MDPs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_mdps import three_state_mdp

from pmaxent.core.pgpse import BASELINES, autodiff_weighted_score, entropy_weights, pgpse_gradient
from pmaxent.core.rollout import sample_team
from pmaxent.tabular import TabularMDP
from pmaxent.tabular.entropy import PluginEntropy
from pmaxent.tabular.enumeration import exact_gradient, exact_objective, make_exact_objective
from pmaxent.tabular.environment import tabular_environment
from pmaxent.tabular.policy import TabularSoftmax


def _switch_mdp():
    """2 states; action 0 stays, action 1 switches; start in 0; T = 1."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    P[0, 1, 1] = P[1, 1, 0] = 1.0
    return TabularMDP(P=P, mu=np.array([1.0, 0.0]), horizon=1)


def _h(*probs):
    probs = np.array(probs)
    return -np.sum(probs * np.log(probs))


def test_exact_objective_matches_hand_computation():
    theta = np.zeros((2, 2, 2))
    theta[0, 0] = [0.0, 1.0]
    theta[1, 0] = [0.5, -0.5]
    p1 = np.exp(1.0) / (1 + np.exp(1.0))  # agent 1 switches with p1
    p2 = np.exp(-0.5) / (np.exp(0.5) + np.exp(-0.5))
    # pooled states {0,0,0,0}: H = 0; one agent switches: {0,0,0,1}; both: {0,1,0,1}
    expected = (p1 * (1 - p2) + p2 * (1 - p1)) * _h(0.75, 0.25) + p1 * p2 * np.log(2)
    assert float(exact_objective(_switch_mdp(), theta)) == pytest.approx(expected, rel=1e-5)


def test_exact_enumeration_refuses_large_problems():
    mdp = three_state_mdp(horizon=6)
    with pytest.raises(ValueError, match="joint trajectories"):
        make_exact_objective(mdp, n_agents=4)


@pytest.mark.parametrize("time_indexed", [False, True])
def test_closed_form_score_equals_the_trainers_autodiff_score(time_indexed):
    """The tabular policy's closed form and the generic vector-Jacobian product of the trainer,
    and both the gradient of the weighted log-likelihood written out by hand."""
    mdp = three_state_mdp()
    policy = TabularSoftmax(3, 2, mdp.horizon, time_indexed=time_indexed)
    params = policy.init(jax.random.key(0), 2)
    samples = sample_team(tabular_environment(mdp), policy, params, jax.random.key(1), 16)
    weights = jax.random.normal(jax.random.key(2), (16, 2))

    def weighted_log_likelihood(p):
        return jnp.sum(weights * policy.log_prob(p, samples.states[..., :-1], samples.actions).sum(-1))

    expected = jax.grad(weighted_log_likelihood)(params)
    closed_form = policy.weighted_score(params, samples.states[..., :-1], samples.actions, weights)
    autodiff = autodiff_weighted_score(policy, params, samples.states[..., :-1], samples.actions, weights)
    np.testing.assert_allclose(closed_form, expected, atol=1e-5)
    np.testing.assert_allclose(autodiff, closed_form, atol=1e-5)
    assert np.abs(expected).max() > 0.1


def _estimator_mean_and_se(mdp, policy, params, baseline, shared, n_batches=400, batch=256, seed=1, trajectories=1):
    """Mean, standard error and total variance of n_batches estimates, each from B = batch team
    samples of K = trajectories trajectories per agent (B*K rows, K consecutive rows per sample)."""
    env, estimator = tabular_environment(mdp), PluginEntropy(mdp.n_states)

    @jax.jit
    def one(key):
        samples = sample_team(env, policy, params, key, batch * trajectories)
        return pgpse_gradient(
            policy,
            params,
            samples.states[..., :-1],
            samples.actions,
            samples.states,
            estimator,
            baseline,
            shared,
            trajectories,
        )

    grads = jax.lax.map(one, jax.random.split(jax.random.key(seed), n_batches))
    grads = np.asarray(grads, np.float64)
    return grads.mean(0), grads.std(0) / np.sqrt(n_batches), grads.var(0).sum()


@pytest.mark.parametrize("baseline", BASELINES)
def test_estimator_is_unbiased(baseline):
    mdp = three_state_mdp()
    policy = TabularSoftmax(3, 2, mdp.horizon)
    params = policy.init(jax.random.key(3), 2)
    exact = np.asarray(exact_gradient(mdp, params), np.float64)
    mean, se, _ = _estimator_mean_and_se(mdp, policy, params, baseline, shared=False)
    # 5 standard errors per coordinate, plus float32 slack; rows of never-visited states are 0
    assert np.all(np.abs(mean - exact) <= 5 * se + 1e-4), (mean - exact) / np.maximum(se, 1e-12)
    assert np.abs(exact).max() > 10 * se.max(), "the test must be able to tell a wrong gradient"


@pytest.mark.parametrize("baseline", BASELINES)
def test_estimator_with_several_trajectories_per_agent_is_unbiased(baseline):
    """K = 2 trajectories per agent per team sample, pooled: the exact objective enumerates the
    m K = 4 trajectories of a team sample jointly (11^4 joint trajectories at T = 2)."""
    mdp = three_state_mdp()
    policy = TabularSoftmax(3, 2, mdp.horizon)
    params = policy.init(jax.random.key(3), 2)
    exact = np.asarray(exact_gradient(mdp, params, trajectories=2), np.float64)
    # A larger batch than for K = 1: with more visits per sample the gradient is smaller.
    mean, se, _ = _estimator_mean_and_se(mdp, policy, params, baseline, shared=False, batch=1024, trajectories=2)
    assert np.all(np.abs(mean - exact) <= 5 * se + 1e-4), (mean - exact) / np.maximum(se, 1e-12)
    assert np.abs(exact).max() > 10 * se.max(), "the test must be able to tell a wrong gradient"
    # ... including the gradient of the K = 1 objective, i.e. K ignored somewhere.
    exact_k1 = np.asarray(exact_gradient(mdp, params), np.float64)
    assert np.any(np.abs(mean - exact_k1) > 5 * se + 1e-4)


def test_exact_objective_with_several_trajectories_by_hand():
    # Switch MDP, T = 1, one agent with K = 2 trajectories: 4 visits, two of them in state 0.
    # The agent switches with probability p in each trajectory: H = 0 if neither switches,
    # H(3/4, 1/4) if one does, ln 2 if both do.
    theta = np.zeros((1, 2, 2))
    theta[0, 0] = [0.0, 1.0]
    p = np.exp(1.0) / (1 + np.exp(1.0))
    expected = 2 * p * (1 - p) * _h(0.75, 0.25) + p * p * np.log(2)
    assert float(exact_objective(_switch_mdp(), theta, trajectories=2)) == pytest.approx(expected, rel=1e-5)


def test_shared_table_estimator_is_gradient_of_tied_objective():
    """Single agent, K' = m: the gradient of J(theta, ..., theta) = sum of per-agent terms."""
    mdp = three_state_mdp()
    policy = TabularSoftmax(3, 2, mdp.horizon)
    one_table = policy.init(jax.random.key(4), 1)
    tied = jnp.broadcast_to(one_table, (2,) + one_table.shape[1:])
    objective = make_exact_objective(mdp, n_agents=2)
    exact_tied = jax.grad(lambda t: objective(jnp.broadcast_to(t, (2,) + t.shape)))(one_table[0])
    mean, se, _ = _estimator_mean_and_se(mdp, policy, tied, "none", shared=True)
    np.testing.assert_allclose(mean[0], mean[1])  # copies stay equal
    assert np.all(np.abs(mean[0] - exact_tied) <= 5 * se[0] + 1e-4)


def test_shared_gradient_is_sum_of_per_trajectory_terms():
    mdp = three_state_mdp()
    policy = TabularSoftmax(3, 2, mdp.horizon)
    params = jnp.broadcast_to(policy.init(jax.random.key(5), 1), (3, 3, 2))
    samples = sample_team(tabular_environment(mdp), policy, params, jax.random.key(6), 32)
    estimator = PluginEntropy(3)
    args = (policy, params, samples.states[..., :-1], samples.actions, samples.states, estimator)
    per_agent = pgpse_gradient(*args, shared=False)
    shared = pgpse_gradient(*args, shared=True)
    for i in range(3):
        np.testing.assert_allclose(shared[i], per_agent.sum(0), atol=1e-6)


def test_loo_agent_baseline_has_lower_variance_on_tiny_pmdp():
    mdp = three_state_mdp()
    policy = TabularSoftmax(3, 2, mdp.horizon)
    params = policy.init(jax.random.key(3), 2)
    _, _, var_paper = _estimator_mean_and_se(mdp, policy, params, "none", False, n_batches=200, batch=32)
    _, _, var_loo = _estimator_mean_and_se(mdp, policy, params, "loo-agent", False, n_batches=200, batch=32)
    assert var_loo < 0.8 * var_paper


def test_exact_gradient_ascent_increases_objective_monotonically():
    mdp = three_state_mdp()
    objective = make_exact_objective(mdp, n_agents=2)
    grad = jax.jit(jax.grad(objective))
    theta = TabularSoftmax(3, 2, mdp.horizon).init(jax.random.key(7), 2)
    values = [float(objective(theta))]
    for _ in range(60):
        theta = theta + 0.5 * grad(theta)
        values.append(float(objective(theta)))
    assert np.all(np.diff(values) >= -1e-6)
    assert values[-1] > values[0] + 0.05


def test_entropy_weights_baselines():
    states = jnp.array([[[0, 0], [0, 1]], [[2, 2], [2, 2]], [[0, 1], [2, 3]]])  # B = 3, m = 2, N = 2
    entropies = PluginEntropy(4)(states)
    support = entropies.extras["support"]
    np.testing.assert_allclose(entropies.team, [_h(0.75, 0.25), 0.0, np.log(4)], atol=1e-6)
    np.testing.assert_allclose(support, [2, 1, 4])
    np.testing.assert_allclose(
        entropies.without_agent, [[np.log(2), 0.0], [0.0, 0.0], [np.log(2), np.log(2)]], atol=1e-6
    )
    paper = entropy_weights(entropies, "none")
    np.testing.assert_allclose(paper, np.repeat(np.asarray(entropies.team)[:, None], 2, 1))
    loo_agent = entropy_weights(entropies, "loo-agent")
    np.testing.assert_allclose(loo_agent, paper - entropies.without_agent)
    loo_sample = entropy_weights(entropies, "loo-sample")
    team = np.asarray(entropies.team)
    np.testing.assert_allclose(loo_sample[:, 0], team - (team.sum() - team) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="baseline"):
        entropy_weights(entropies, "mean")
