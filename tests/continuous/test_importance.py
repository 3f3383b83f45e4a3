"""The importance-weighted k-NN estimators of a team (SPEC section 12): target = behaviour gives
the on-policy estimate, the weights (own-agent and team-mixture) against a direct computation and
a closed-form expectation, every agent's likelihood of every trajectory, the KL against a closed
form, and off-policy team steps that stay inside their trust region."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import digamma

from pmaxent import families
from pmaxent.continuous import importance, offpolicy
from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.importance import (
    cross_log_probs,
    knn_kl,
    mixture_log_likelihoods,
    mixture_prefix_log_likelihoods,
    neighbourhoods,
    normalised,
    team_entropy_and_kls,
    team_log_weights,
    tiled_cross_log_prob,
)
from pmaxent.continuous.knn import knn_entropy, log_unit_ball_volume
from pmaxent.continuous.offpolicy import agent_neighbourhoods, brute_neighbourhoods
from pmaxent.continuous.policy import GaussianMLPTeam
from pmaxent.continuous.population import GaussianPopulation


def _team_sample(m=3, points=40, d=2, seed=0):
    x = np.asarray(jax.random.normal(jax.random.key(seed), (m, points, d)))
    team = brute_neighbourhoods(jnp.asarray(x.reshape(m * points, d)), 5)
    agents = jax.vmap(lambda p: brute_neighbourhoods(p, 5))(jnp.asarray(x))
    return x, team, agents


def _mixture_weights(target, behaviour, stride=1):
    """Team-mixture log weights from every agent's likelihoods of every trajectory [m, m, T]."""
    return mixture_prefix_log_likelihoods(target, stride) - mixture_prefix_log_likelihoods(behaviour, stride)


def test_with_target_equal_to_behaviour_the_team_estimate_is_the_on_policy_one():
    m, points, d, k = 3, 40, 2, 5
    x, team, agents = _team_sample(m, points, d)
    same = jnp.zeros((m, m, points - 1))
    assert np.all(np.asarray(_mixture_weights(same + 0.3, same + 0.3)) == 0.0)
    entropy, kls = team_entropy_and_kls(jnp.zeros((m, points)), jnp.zeros((m, points)), team, agents, d)
    n = m * points
    flat = x.reshape(n, d)
    rho = np.sort(np.linalg.norm(flat[:, None] - flat[None], axis=-1), axis=1)[:, k]  # k-th nearest other
    direct = math.log(n) - float(digamma(k)) + float(log_unit_ball_volume(d)) + d * np.mean(np.log(rho))
    assert float(entropy) == pytest.approx(direct, abs=1e-4)
    assert float(entropy) == pytest.approx(float(knn_entropy(jnp.asarray(flat), k)), abs=1.5 / n)  # psi(N) for ln N
    np.testing.assert_allclose(np.asarray(kls), 0.0, atol=1e-6)


def test_each_point_weighs_its_own_agents_trajectory_prefix():
    rng = np.random.default_rng(0)
    m, horizon, stride = 3, 9, 2
    log_ratios = rng.normal(0, 0.3, (m, horizon)).astype(np.float32)
    got = np.asarray(normalised(team_log_weights(jnp.asarray(log_ratios), stride)))
    direct = np.array([[np.prod(np.exp(log_ratios[i, :t])) for t in range(0, horizon + 1, stride)] for i in range(m)])
    np.testing.assert_allclose(got, direct / direct.sum(), rtol=1e-5)
    assert got.shape == (m, math.ceil((horizon + 1) / stride))


def test_team_mixture_weights_are_the_mixtures_ratio_of_each_trajectory_prefix():
    rng = np.random.default_rng(1)
    m, horizon, stride = 3, 7, 3
    target, behaviour = rng.normal(-1.0, 0.5, (2, m, m, horizon))
    got = np.asarray(_mixture_weights(jnp.asarray(target), jnp.asarray(behaviour), stride))
    prefix = lambda lp, j, t: sum(np.exp(lp[j, i, :t].sum()) for i in range(m))  # noqa: E731
    direct = [
        [np.log(prefix(target, j, t) / prefix(behaviour, j, t)) for t in range(0, horizon + 1, stride)]
        for j in range(m)
    ]
    np.testing.assert_allclose(got, direct, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("weighting", ["own-agent", "team-mixture"])
def test_a_team_samples_weights_estimate_the_target_mixtures_expectation(weighting):
    """Two agents, one step each: agent l's behaviour acts a ~ N(mu'_l, 1) and its next state is a.
    Weighted over 4,000 team samples, the states' mean square is the target mixture's,
    (1/2) sum_i (mu_i^2 + 1), either way; within 3 standard errors of 200 repetitions."""
    behaviour_means, target_means = np.array([0.0, 0.5]), np.array([0.3, 1.0])
    rng = np.random.default_rng(2)
    estimates = []
    for _ in range(200):
        actions = behaviour_means[None, :] + rng.standard_normal((4000, 2))  # [sample, agent j]
        log_density = lambda a, means: -0.5 * (a[:, :, None, None] - means[None, None, :, None]) ** 2  # noqa: E731
        target, behaviour = log_density(actions, target_means), log_density(actions, behaviour_means)  # [., j, i, 1]
        if weighting == "own-agent":
            own = lambda lp: np.diagonal(lp, axis1=1, axis2=2).swapaxes(1, 2)  # noqa: E731
            log_w = jax.vmap(team_log_weights)(jnp.asarray(own(target) - own(behaviour)))
        else:
            log_w = jax.vmap(_mixture_weights)(jnp.asarray(target), jnp.asarray(behaviour))
        weights = np.asarray(normalised(log_w[:, :, 1]))  # the state after the action
        estimates.append(np.sum(weights * actions**2))
    closed_form = np.mean(target_means**2 + 1)
    assert abs(np.mean(estimates) - closed_form) < 3 * np.std(estimates) / np.sqrt(len(estimates)) + 1e-3


def test_every_agents_likelihood_of_every_trajectory():
    """cross[j, i, t] is agent i's log-likelihood of trajectory j's action t, for one network per
    agent (by tiling) and for a population without embeddings (trunk once per state) alike."""
    n, horizon, obs_dim = 4, 6, 3
    key_obs, key_act = jax.random.split(jax.random.key(7))
    observations = jax.random.uniform(key_obs, (n, horizon, obs_dim), minval=-1.0, maxval=1.0)
    actions = 0.1 * jax.random.normal(key_act, (n, horizon, 2))
    box = dict(obs_low=(-1.0,) * obs_dim, obs_high=(1.0,) * obs_dim)
    policies = [
        GaussianMLPTeam(obs_dim, (-0.2, -0.2), (0.2, 0.2), (16,)),
        GaussianPopulation(obs_dim, (-0.2, -0.2), (0.2, 0.2), (16, 16), embedding=0, **box),
        GaussianPopulation(obs_dim, (-0.2, -0.2), (0.2, 0.2), (16,), embedding=0, heads=False, **box),
        GaussianPopulation(obs_dim, (-0.2, -0.2), (0.2, 0.2), (16,), embedding=4, **box),
    ]
    for policy in policies:
        params = policy.init(jax.random.key(8), n)
        params["log_std"] = params["log_std"] + jnp.linspace(-0.3, 0.3, n)[:, None]  # agents that differ
        cross = np.asarray(cross_log_probs(policy, params, observations, actions))
        np.testing.assert_allclose(
            cross, np.asarray(tiled_cross_log_prob(policy, params, observations, actions)), rtol=1e-5
        )
        for j in range(n):
            tiled = lambda x: jnp.broadcast_to(x[j][None], (n, *x.shape[1:]))  # noqa: E731, B023
            direct = np.asarray(policy.log_prob(params, tiled(observations), tiled(actions)))
            np.testing.assert_allclose(cross[j], direct, rtol=1e-5)
        own = np.asarray(policy.log_prob(params, observations, actions))
        np.testing.assert_allclose(np.diagonal(cross, axis1=0, axis2=1).T, own, rtol=1e-5)


def test_mixture_likelihoods_in_bounded_groups_are_the_whole_computations_values_and_gradients(monkeypatch):
    """Seven trajectories under five agents, two trajectories at a time (recomputed in the backward
    pass), give the values and gradients of all seven at once."""
    policy = GaussianMLPTeam(2, (-0.2, -0.2), (0.2, 0.2), (8,))
    params = policy.init(jax.random.key(9), 5)
    observations = jax.random.uniform(jax.random.key(10), (7, 6, 2))
    actions = 0.1 * jax.random.normal(jax.random.key(11), (7, 6, 2))

    def both(params):
        return jax.value_and_grad(lambda p: mixture_log_likelihoods(policy, p, observations, actions, 2).sum())(params)

    whole = both(params)
    monkeypatch.setattr(importance, "MIXTURE_PAIRS", 2 * 5 * 6)
    grouped = both(params)
    np.testing.assert_allclose(float(grouped[0]), float(whole[0]), rtol=1e-6)
    for a, b in zip(jax.tree.leaves(grouped[1]), jax.tree.leaves(whole[1]), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)


def test_the_knn_kl_of_reweighted_uniform_points_is_the_closed_form():
    """Behaviour: uniform on [0, 1]; target: density 2x, as importance weights 2x / 1. Then
    KL(behaviour || target) = -ln 2 - int_0^1 ln x dx = 1 - ln 2."""
    n, k = 20_000, 20
    x = np.asarray(jax.random.uniform(jax.random.key(3), (n, 1)))
    indices, _ = neighbourhoods(jnp.asarray(x), k)
    kl = float(knn_kl(normalised(jnp.log(2 * jnp.asarray(x[:, 0]))), indices))
    assert kl == pytest.approx(1 - math.log(2), abs=0.03)


def test_agents_neighbourhoods_in_bounded_batches_are_each_agents_own(monkeypatch):
    """Five agents' points searched two at a time (the memory bound) give each agent's nearest
    others among its own points, as a direct numpy computation finds them."""
    k, per_agent = 4, 30
    points = np.asarray(jax.random.uniform(jax.random.key(5), (5, per_agent, 2)))
    monkeypatch.setattr(offpolicy, "AGENT_SEARCH_PAIRS", 2 * per_agent * per_agent)
    indices, rho = agent_neighbourhoods(jnp.asarray(points), k)
    for agent in range(5):
        distances = np.linalg.norm(points[agent][:, None] - points[agent][None], axis=-1)
        np.fill_diagonal(distances, np.inf)
        order = np.argsort(distances, axis=1)
        np.testing.assert_array_equal(np.asarray(indices[agent, :, 0]), np.arange(per_agent))
        np.testing.assert_array_equal(
            np.sort(np.asarray(indices[agent, :, 1:]), axis=1), np.sort(order[:, : k - 1], axis=1)
        )
        np.testing.assert_allclose(np.asarray(rho[agent]), distances[np.arange(per_agent), order[:, k - 1]], rtol=1e-5)


@pytest.mark.parametrize("importance", ["own-agent", "team-mixture"])
def test_off_policy_team_steps_stay_in_their_trust_region_and_learn(importance):
    """Learning: the team's training entropy rises over 40 updates on seeds 0-3 here (own-agent:
    +0.25 nats; seeds 0-1: +0.29, 2-3: +0.22, 4-5: +0.36); the bound is +0.15."""
    config = ContinuousTrainConfig(
        agents=4, batch_size=2, updates=40, chunk=40, seeds=(0, 1, 2, 3), off_policy_steps=5, kl_threshold=0.2,
        policy="population", methods=("parallel", "single"), importance=importance,
    )  # fmt: skip
    run = families.run_training(config, progress=False)
    assert np.all(run.metrics["kl"] <= 0.2 + 1e-6) and np.all(run.metrics["off_steps"] >= 1)
    assert run.metrics["off_steps"].mean() > 2  # more than one step per batch on average
    first, last = run.metrics["entropy"][0, :, :5].mean(), run.metrics["entropy"][0, :, -5:].mean()
    assert last > first + 0.15, (first, last)
    with pytest.raises(ValueError, match="one trajectory per agent"):
        ContinuousTrainConfig(off_policy_steps=2, trajectories=2)
    with pytest.raises(ValueError, match="unknown importance 'mixture'"):
        ContinuousTrainConfig(off_policy_steps=2, importance="mixture")
    with pytest.raises(ValueError, match="weighs off-policy steps"):
        ContinuousTrainConfig(importance="team-mixture")
