"""The importance-weighted k-NN estimators of a team (SPEC section 12): target = behaviour gives
the on-policy estimate, the weights against a direct computation, the KL against a closed form,
and off-policy team steps that stay inside their trust region."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import digamma

from pmaxent import families
from pmaxent.continuous import offpolicy
from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.importance import (
    knn_kl,
    neighbourhoods,
    normalised,
    team_entropy_and_kls,
    team_log_weights,
)
from pmaxent.continuous.knn import knn_entropy, log_unit_ball_volume
from pmaxent.continuous.offpolicy import agent_neighbourhoods, brute_neighbourhoods


def _team_sample(m=3, points=40, d=2, seed=0):
    x = np.asarray(jax.random.normal(jax.random.key(seed), (m, points, d)))
    team = brute_neighbourhoods(jnp.asarray(x.reshape(m * points, d)), 5)
    agents = jax.vmap(lambda p: brute_neighbourhoods(p, 5))(jnp.asarray(x))
    return x, team, agents


def test_with_target_equal_to_behaviour_the_team_estimate_is_the_on_policy_one():
    m, points, d, k = 3, 40, 2, 5
    x, team, agents = _team_sample(m, points, d)
    entropy, kls = team_entropy_and_kls(jnp.zeros((m, points - 1)), team, agents, d)
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


def test_off_policy_team_steps_stay_in_their_trust_region_and_learn():
    """Learning: the team's training entropy rises by 0.25 nats over 40 updates on seeds 0-3 here
    (seeds 0-1: +0.29, 2-3: +0.22, 4-5: +0.36); the bound is +0.15."""
    config = ContinuousTrainConfig(
        agents=4, batch_size=2, updates=40, chunk=40, seeds=(0, 1, 2, 3), off_policy_steps=5, kl_threshold=0.2,
        policy="population", methods=("parallel", "single"),
    )  # fmt: skip
    run = families.run_training(config, progress=False)
    assert np.all(run.metrics["kl"] <= 0.2 + 1e-6) and np.all(run.metrics["off_steps"] >= 1)
    assert run.metrics["off_steps"].mean() > 2  # more than one step per batch on average
    first, last = run.metrics["entropy"][0, :, :5].mean(), run.metrics["entropy"][0, :, -5:].mean()
    assert last > first + 0.15, (first, last)
    with pytest.raises(ValueError, match="one trajectory per agent"):
        ContinuousTrainConfig(off_policy_steps=2, trajectories=2)
