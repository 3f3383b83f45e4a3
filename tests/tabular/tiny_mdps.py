"""Tiny MDPs whose joint trajectories can be enumerated: exact ground truth for the estimators."""

import numpy as np

from pmaxent.tabular import TabularMDP


def three_state_mdp(horizon: int = 2) -> TabularMDP:
    """3 states, 2 actions, stochastic, start in state 0."""
    P = np.zeros((3, 2, 3))
    P[0, 0] = [0.5, 0.5, 0.0]
    P[0, 1] = [0.0, 0.3, 0.7]
    P[1, 0] = [1.0, 0.0, 0.0]
    P[1, 1] = [0.0, 0.0, 1.0]
    P[2, 0] = [0.0, 1.0, 0.0]
    P[2, 1] = [0.2, 0.0, 0.8]
    return TabularMDP(P=P, mu=np.array([1.0, 0.0, 0.0]), horizon=horizon)
