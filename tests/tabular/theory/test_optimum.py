"""The maximum state entropy by the convex program
(``pmaxent.tabular.theory.optimum``), against independent ground truth.

Expected numbers are worked out by hand (in the comments), by exact enumeration, or by brute
force over every deterministic policy of a tiny MDP; none is produced by the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from tiny_mdps import entropy, free_choice_mdp

from pmaxent.tabular.theory import (
    exact_state_distribution,
    optimal_entropy,
)

# ------------------------------------------------------------------ the convex program


def test_optimal_entropy_by_hand():
    # Free choice over S = 4 states, T = 3: the 4 visited states can all differ -> H = ln 4.
    assert optimal_entropy(free_choice_mdp(4, 3)).value == pytest.approx(math.log(4), abs=1e-6)
    # Free choice over 3 states, T = 1: d = (1/2) delta_0 + (1/2) q; the best q is (0, 1/2, 1/2),
    # so d = (1/2, 1/4, 1/4) and H = (1/2) ln 2 + (1/2) ln 4 = 1.5 ln 2.
    result = optimal_entropy(free_choice_mdp(3, 1))
    assert result.value == pytest.approx(1.5 * math.log(2), abs=1e-6)
    np.testing.assert_allclose(result.state_distribution, [0.5, 0.25, 0.25], atol=1e-5)


def test_optimal_entropy_beats_every_policy_and_is_attained(tiny_mdp, all_tiny_policies):
    result = optimal_entropy(tiny_mdp)
    deterministic = [entropy(d) for d in exact_state_distribution(tiny_mdp, all_tiny_policies)]
    rng = np.random.default_rng(0)
    stochastic = rng.dirichlet(np.ones(2), size=(300, tiny_mdp.horizon, tiny_mdp.n_states))
    randomised = [entropy(d) for d in exact_state_distribution(tiny_mdp, stochastic)]
    assert result.value >= max(deterministic + randomised) - 1e-7
    # The policy read off the occupancy attains the value (an independent forward recursion).
    attained = exact_state_distribution(tiny_mdp, result.policy)
    np.testing.assert_allclose(attained, result.state_distribution, atol=1e-6)
    assert entropy(attained) == pytest.approx(result.value, abs=1e-6)
    # Flow: every time step of the occupancy carries probability 1.
    np.testing.assert_allclose(result.occupancy.sum(axis=(1, 2)), 1.0, atol=1e-6)
