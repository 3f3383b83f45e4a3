"""MEPOL: neighbourhoods, importance weights, the weighted entropy and KL against direct
computations, and its off-policy epoch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import digamma, gamma

from pmaxent.continuous.importance import importance_weights, knn_kl, neighbourhoods, weighted_entropy
from pmaxent.continuous.knn import knn_entropy
from pmaxent.mepol.algorithm import Mepol, MepolConfig

TINY = dict(trajectories=4, horizon=60, k=5, hidden=(16,), updates=2)


def _points(n=300, d=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 3, (n, d)).astype(np.float32)


def test_neighbourhoods_match_a_brute_force_search():
    points = _points()
    indices, rho = neighbourhoods(jnp.asarray(points), 5, chunk_size=64)
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1)
    order = np.argsort(dist, axis=1)
    np.testing.assert_array_equal(np.asarray(indices)[:, 0], np.arange(len(points)))  # the particle itself first
    np.testing.assert_array_equal(np.sort(np.asarray(indices), axis=1), np.sort(order[:, :5], axis=1))
    np.testing.assert_allclose(rho, dist[np.arange(len(points)), order[:, 5]], rtol=1e-5)


def test_importance_weights_are_normalised_cumulative_products_of_ratios():
    rng = np.random.default_rng(1)
    target, behaviour = rng.normal(-1, 0.3, (3, 7)), rng.normal(-1, 0.3, (3, 7))
    direct = np.array(
        [[np.prod(np.exp(target[n, : t + 1]) / np.exp(behaviour[n, : t + 1])) for t in range(7)] for n in range(3)]
    ).reshape(-1)
    np.testing.assert_allclose(importance_weights(jnp.asarray(target - behaviour)), direct / direct.sum(), rtol=1e-5)


def test_with_target_equal_to_behaviour_the_weighted_estimate_is_the_plain_knn_one():
    points = _points(n=400)
    n, k = len(points), 6
    indices, rho = neighbourhoods(jnp.asarray(points), k)
    weights = importance_weights(jnp.zeros((8, n // 8)))
    np.testing.assert_allclose(weights, 1 / n, rtol=1e-6)
    # MEPOL's on-policy form writes ln N where knn_entropy writes psi(N)
    expected = float(knn_entropy(points, k)) + np.log(n) - digamma(n)
    np.testing.assert_allclose(weighted_entropy(weights, indices, rho, 2), expected, rtol=1e-5)
    assert float(knn_kl(weights, indices)) == pytest.approx(0.0, abs=1e-5)


def test_weighted_entropy_and_kl_match_the_formulas_for_uneven_weights():
    points = _points(n=200, d=3, seed=2)
    k = 4
    weights = np.random.default_rng(3).uniform(0.1, 1, 200)
    weights /= weights.sum()
    dist = np.linalg.norm(points[:, None] - points[None], axis=-1)
    order = np.argsort(dist, axis=1)
    w_sum = weights[order[:, :k]].sum(axis=1)
    volume = np.pi**1.5 / gamma(2.5) * dist[np.arange(200), order[:, k]] ** 3
    expected = -np.sum(w_sum / k * np.log(w_sum / volume)) + np.log(k) - digamma(k)
    indices, rho = neighbourhoods(jnp.asarray(points), k)
    np.testing.assert_allclose(
        weighted_entropy(jnp.asarray(weights, jnp.float32), indices, rho, 3), expected, rtol=1e-4
    )
    kl = max(0.0, np.mean(np.log(k / (200 * w_sum))))
    np.testing.assert_allclose(knn_kl(jnp.asarray(weights, jnp.float32), indices), kl, rtol=1e-4, atol=1e-6)


def test_mepol_measures_the_behaviour_batch_like_the_knn_estimator():
    mepol = Mepol(MepolConfig(**TINY))
    params, _, key = mepol.init()
    particles, observations, actions = mepol.sample(params, key)
    assert particles.shape == (4 * 60, 2) and observations.shape == (4, 60, 2) and actions.shape == (4, 60, 2)
    indices, rho = neighbourhoods(particles, 5)
    entropy, kl = mepol.measure(
        params, mepol.log_probs(params, observations, actions), observations, actions, indices, rho
    )
    n = particles.shape[0]
    np.testing.assert_allclose(entropy, float(knn_entropy(particles, 5)) + np.log(n) - digamma(n), rtol=1e-5)
    assert float(kl) == pytest.approx(0.0, abs=1e-5)


def test_off_policy_steps_respect_the_kl_threshold_and_undo_what_breaks_it():
    history = Mepol(MepolConfig(**TINY, lr=1e-3)).run()
    assert np.all(history["off_iters"] <= 30) and np.all(history["kl"] <= 15)
    assert np.all(np.isfinite(history["entropy"])) and list(history["env_steps"]) == [240, 480]
    strict = Mepol(MepolConfig(**{**TINY, "updates": 1}, lr=1e-2, kl_threshold=1e-6, max_backtrack_try=2))
    params, opt_state, key = strict.init()
    after, _, stats = strict.epoch(params, opt_state, key)
    assert stats["kl"] <= 1e-6
    if stats["off_iters"] == 0:  # nothing accepted: the behaviour is kept
        for a, b in zip(jax.tree.leaves(after), jax.tree.leaves(params), strict=True):
            np.testing.assert_array_equal(a, b)
    assert stats["backtracks"] >= 1


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"k": 500, "trajectories": 2, "horizon": 100}, "k = 500 must be below"),
        ({"kl_threshold": -1.0}, "kl_threshold must be finite and positive"),
        ({"backtrack_coeff": 1.0}, "backtrack_coeff must exceed 1"),
    ],
)
def test_bad_mepol_settings_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        MepolConfig(**overrides)
