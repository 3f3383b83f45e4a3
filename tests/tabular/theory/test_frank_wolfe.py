"""Parallel Frank-Wolfe and the constants of Theorem A.2
(``pmaxent.tabular.theory.frank_wolfe``), against independent ground truth.

Expected numbers are worked out by hand (in the comments), by exact enumeration, or by brute
force over every deterministic policy of a tiny MDP; none is produced by the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from tiny_mdps import entropy

from pmaxent.tabular.theory import (
    exact_state_distribution,
    frank_wolfe,
    optimal_entropy,
    smoothed_entropy,
    smoothed_entropy_gradient,
    smoothness_constant,
    theorem_iterations,
    theorem_step_size,
)

# ------------------------------------------------------------------ Frank-Wolfe


def test_smoothed_entropy_gradient_matches_finite_differences():
    d = np.random.default_rng(4).dirichlet(np.ones(6))
    sigma, h = 1e-2, 1e-7
    numeric = [(smoothed_entropy(d + h * e, sigma) - smoothed_entropy(d - h * e, sigma)) / (2 * h) for e in np.eye(6)]
    np.testing.assert_allclose(smoothed_entropy_gradient(d, sigma), numeric, rtol=1e-6)


def test_theorem_constants_by_hand():
    # beta = 2 / sigma = 2000; eta = 0.1 N eps / (|S| beta) = 0.1 * 2 * 0.05 / (43 * 2000) = 1.16279e-7.
    assert smoothness_constant(1e-3) == 2000
    assert theorem_step_size(2, 0.05, 43, 1e-3) == pytest.approx(1.16279e-7, rel=1e-5)
    assert theorem_iterations(1, 0.05, 43, 1e-3) == pytest.approx(2 * theorem_iterations(2, 0.05, 43, 1e-3), rel=1e-6)


def test_frank_wolfe_gap_certifies_the_convex_optimum(tiny_mdp):
    # For every iterate x_t: H_sigma(x_t) <= max H_sigma <= H_sigma(x_t) + gap_t, with max
    # H_sigma from the convex program; this fails if planning, the gradient or the density is wrong.
    sigma = 1e-2
    optimum = optimal_entropy(tiny_mdp, sigma=sigma).value
    result = frank_wolfe(tiny_mdp, n_agents=2, eta=0.1, iterations=60, sigma=sigma)
    assert np.all(result.smoothed_entropy <= optimum + 1e-6)
    assert np.all(optimum <= result.smoothed_entropy[:-1] + result.gap + 1e-6)


def test_frank_wolfe_steps_obey_the_smoothness_inequality(room):
    # H_sigma(x + eta (s - x)) >= H_sigma(x) + eta g - (beta / 2) eta^2 ||s - x||^2 at every step,
    # with s - x = (x_{t+1} - x_t) / eta for the exact oracle. So a step increases H_sigma whenever
    # eta <= 2 g / (beta ||s - x||^2): for a fixed eta, only while the gap g is large enough.
    eta, sigma = 0.01, 1e-2
    result = frank_wolfe(room, eta=eta, iterations=150, sigma=sigma)
    moves = np.diff(result.joint_distributions, axis=0)
    curvature = smoothness_constant(sigma) / 2 * np.sum(moves**2, axis=1)
    increase = np.diff(result.smoothed_entropy)
    assert np.all(increase >= eta * result.gap - curvature - 1e-9)
    guaranteed = eta * result.gap > curvature
    assert guaranteed.any() and np.all(increase[guaranteed] > 0)


def test_frank_wolfe_is_monotone_for_a_small_step_but_not_a_large_one(room):
    # What is true for a fixed step: with eta = 0.005 the entropy rises at every one of 300
    # iterations; with eta = 0.3 the iterate overshoots and the entropy falls at some iteration.
    small = frank_wolfe(room, eta=0.005, iterations=300)
    assert np.all(np.diff(small.smoothed_entropy) >= 0) and np.all(np.diff(small.entropy) >= 0)
    large = frank_wolfe(room, eta=0.3, iterations=100)
    assert np.any(np.diff(large.smoothed_entropy) < 0)


def test_frank_wolfe_reaches_the_convex_optimum(tiny_mdp, room, room_optimum):
    tiny_optimum = optimal_entropy(tiny_mdp).value
    tiny = frank_wolfe(tiny_mdp, n_agents=3, eta=0.02, iterations=400, sigma=1e-4)
    assert tiny_optimum - 0.01 <= tiny.entropy[-1] <= tiny_optimum + 1e-6
    result = frank_wolfe(room, n_agents=2, eta=0.02, iterations=400)
    assert room_optimum.value - 0.01 <= result.entropy[-1] <= room_optimum.value + 1e-6


def test_frank_wolfe_mixtures_are_consistent(room):
    eta, iterations = 0.1, 40
    result = frank_wolfe(room, n_agents=3, eta=eta, iterations=iterations)
    assert result.n_agents == 3 and result.iterations == iterations
    for mixture in result.mixtures:
        assert mixture.weights.sum() == pytest.approx(1.0)
        assert mixture.weights[0] == pytest.approx((1 - eta) ** iterations)  # the initial policy
        np.testing.assert_allclose(
            mixture.state_distributions, exact_state_distribution(room, mixture.policies), atol=1e-12
        )
    joint = np.mean([m.state_distribution() for m in result.mixtures], axis=0)
    np.testing.assert_allclose(joint, result.joint_distribution, atol=1e-12)
    assert result.entropy[-1] == pytest.approx(entropy(joint))


def test_frank_wolfe_stops_early_and_validates(room):
    result = frank_wolfe(room, eta=0.1, iterations=500, stop_at_entropy=3.0)
    assert result.entropy[-1] >= 3.0 > result.entropy[-2]
    with pytest.raises(ValueError, match="eta"):
        frank_wolfe(room, eta=0.0)
    with pytest.raises(ValueError, match="density oracle"):
        frank_wolfe(room, density_oracle="guess")


def test_frank_wolfe_with_the_monte_carlo_oracle(room, room_optimum):
    result = frank_wolfe(room, n_agents=4, eta=0.1, iterations=40, density_oracle="monte-carlo", n_episodes=10)
    assert result.entropy[-1] > room_optimum.value - 0.3
    assert result.entropy[-1] <= room_optimum.value + 1e-6
