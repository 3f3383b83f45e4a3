"""The exact and Monte-Carlo density oracles, mixture sampling and the planning oracle
(``pmaxent.tabular.theory.distributions``), against independent ground truth.

Expected numbers are worked out by hand (in the comments), by exact enumeration, or by brute
force over every deterministic policy of a tiny MDP; none is produced by the code under test.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from tiny_mdps import free_choice_mdp

from pmaxent.tabular import make
from pmaxent.tabular.theory import (
    exact_state_distribution,
    monte_carlo_state_distribution,
    plan,
    sample_mixture_policy,
)

# ------------------------------------------------------------------ density and planning oracles


def test_exact_distribution_by_hand_on_room_det(room):
    # Always "right" (2) from the start (2, 5) = 27: 28, 29, 30, 31, 32 = (2, 10), then the wall
    # of the grid keeps it at 32 for the remaining 3 steps. T + 1 = 9 states: 27..31 once, 32 four times.
    policy = np.full((room.horizon, room.n_states), 2)
    expected = np.zeros(room.n_states)
    expected[[27, 28, 29, 30, 31]] = 1 / 9
    expected[32] = 4 / 9
    np.testing.assert_allclose(exact_state_distribution(room, policy), expected, atol=1e-12)


def test_exact_distribution_by_hand_with_a_stochastic_policy():
    # Free choice over 3 states from state 0, T = 2, policy: a = 0 or 1 with probability 1/2.
    # p_0 = (1, 0, 0), p_1 = p_2 = (1/2, 1/2, 0) -> d = (2, 1, 0) / 3.
    mdp = free_choice_mdp(3, 2)
    policy = np.zeros((2, 3, 3))
    policy[:, :, :2] = 0.5
    np.testing.assert_allclose(exact_state_distribution(mdp, policy), [2 / 3, 1 / 3, 0.0], atol=1e-12)


def test_exact_distribution_rejects_bad_policies(room):
    with pytest.raises(ValueError, match="shape"):
        exact_state_distribution(room, np.zeros((3, room.n_states), int))
    with pytest.raises(ValueError, match="actions must lie"):
        exact_state_distribution(room, np.full((room.horizon, room.n_states), 4))
    with pytest.raises(ValueError, match="probability vectors"):
        exact_state_distribution(room, np.full((room.horizon, room.n_states, 4), 0.3))


def test_monte_carlo_oracle_agrees_with_the_exact_one():
    # A mixture of three random deterministic policies on the slippery room. The per-state
    # estimate averages n i.i.d. episode frequencies in [0, 1] with mean d(s), so its standard
    # error is at most sqrt(d(s) / n); unreachable states must get exactly 0.
    mdp = make("room-stoc")
    rng = np.random.default_rng(11)
    policies = rng.integers(0, 4, size=(3, mdp.horizon, mdp.n_states))
    weights = np.array([0.5, 0.3, 0.2])
    exact = weights @ exact_state_distribution(mdp, policies)
    n = 20_000
    estimate = monte_carlo_state_distribution(jax.random.PRNGKey(5), mdp, policies, weights, n)
    assert np.all(np.abs(estimate - exact) <= 5 * np.sqrt(exact / n) + 1e-7)
    assert np.all(estimate[exact == 0] == 0)


def test_sample_mixture_policy_draws_components_by_weight():
    policies = np.stack([np.full((2, 3), k) for k in range(3)])  # component k always plays k
    weights = np.array([0.7, 0.2, 0.1])
    tables = np.asarray(sample_mixture_policy(jax.random.PRNGKey(2), policies, weights, 10_000))
    assert tables.shape == (10_000, 2, 3)
    frequencies = np.bincount(tables[:, 0, 0], minlength=3) / 10_000
    assert np.all(np.abs(frequencies - weights) < 4 * np.sqrt(weights * (1 - weights) / 10_000))
    with pytest.raises(ValueError, match="sum to 1"):
        sample_mixture_policy(jax.random.PRNGKey(2), policies, [0.5, 0.2, 0.1], 10)


def test_rollouts_reject_out_of_range_actions(room):
    tables = np.full((2, room.horizon, room.n_states), 4)
    with pytest.raises(ValueError, match="actions in"):
        monte_carlo_state_distribution(jax.random.PRNGKey(0), room, tables, [0.5, 0.5], 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planning_oracle_matches_brute_force(tiny_mdp, all_tiny_policies, seed):
    reward = np.random.default_rng(seed).normal(size=tiny_mdp.n_states)
    values = exact_state_distribution(tiny_mdp, all_tiny_policies) @ reward
    planned = plan(tiny_mdp, reward)
    assert planned.shape == (tiny_mdp.horizon, tiny_mdp.n_states)
    assert exact_state_distribution(tiny_mdp, planned) @ reward == pytest.approx(values.max(), abs=1e-12)
    # A batch of rewards gives a batch of policies.
    assert plan(tiny_mdp, np.stack([reward, -reward])).shape == (2, tiny_mdp.horizon, tiny_mdp.n_states)


def test_planning_rejects_bad_rewards(tiny_mdp):
    with pytest.raises(ValueError, match="reward"):
        plan(tiny_mdp, np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="reward"):
        plan(tiny_mdp, np.ones(4))
