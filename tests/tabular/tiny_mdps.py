"""Tiny MDPs whose joint trajectories can be enumerated: exact ground truth for the estimators;
and a reference entropy, written independently of the library's."""

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


def entropy(d) -> float:
    """H(d) in nats of a probability vector, 0 log 0 = 0."""
    d = np.asarray(d, float)
    d = d[d > 0]
    return float(-(d * np.log(d)).sum())


def free_choice_mdp(n_states: int, horizon: int) -> TabularMDP:
    """Action a moves to state a from anywhere; the episode starts in state 0."""
    P = np.zeros((n_states, n_states, n_states))
    for s in range(n_states):
        P[s, np.arange(n_states), np.arange(n_states)] = 1.0
    mu = np.eye(n_states)[0]
    return TabularMDP(P=P, mu=mu, horizon=horizon, name="free-choice")
