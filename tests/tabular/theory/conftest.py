"""Fixtures shared by the theory tests: a tiny dense MDP, all its deterministic policies, and
the deterministic room with its maximum state entropy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pmaxent.tabular import TabularMDP, make
from pmaxent.tabular.theory import optimal_entropy


@pytest.fixture(scope="module")
def tiny_mdp() -> TabularMDP:
    """3 states, 2 actions, horizon 3, random dense kernel, non-degenerate start."""
    rng = np.random.default_rng(7)
    P = rng.dirichlet(np.ones(3), size=(3, 2))
    return TabularMDP(P=P, mu=np.array([0.6, 0.3, 0.1]), horizon=3, name="tiny")


@pytest.fixture(scope="module")
def all_tiny_policies(tiny_mdp) -> np.ndarray:
    """Every non-stationary deterministic policy of the tiny MDP: [2^(T S), T, S] = [512, 3, 3]."""
    T, S, A = tiny_mdp.horizon, tiny_mdp.n_states, tiny_mdp.n_actions
    return np.array(list(itertools.product(range(A), repeat=T * S))).reshape(-1, T, S)


@pytest.fixture(scope="module")
def room():
    return make("room-det")


@pytest.fixture(scope="module")
def room_optimum(room):
    return optimal_entropy(room)
