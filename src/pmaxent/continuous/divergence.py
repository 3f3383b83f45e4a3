"""How different the agents' state distributions are: a k-NN estimate of the KL divergence between
agents that is zero in expectation for identical agents, even on trajectory points.

The k-NN estimator of Wang, Kulkarni and Verdú (2009, eq. 5) of D(p || q) from x_1..x_n ~ p and
y_1..y_n' ~ q is

    D = (d / n) sum_i ln(nu_k(x_i) / rho_k(x_i)) + ln(n' / (n - 1)),

rho_k the distance from x_i to its k-th neighbour among the other x's, nu_k to its k-th among the
y's. On trajectory points it is biased: x_i's nearest x's are its own trajectory's neighbouring
steps, closer than any point of another trajectory, so even two agents with one distribution
read as far apart (the old "diversity", the team's entropy minus the agents' mean, has the same
flaw). Here both distances are taken to points of *other* trajectories: for a point of agent i's
s-th trajectory, rho_k among agent i's trajectories other than s, nu_k among agent j's trajectories
other than s. Both reference sets then hold (S - 1) N points of trajectories independent of the
query's, so when agents i and j have the same distribution over trajectories the two distances
are exchangeable and the estimate's expectation is exactly 0 (the ln n'/(n-1) term vanishes). For
independent points it is Wang et al.'s estimator on (S - 1) N points.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from pmaxent.continuous.knn import MIN_DISTANCE


def agent_divergences(points: np.ndarray, k: int, min_distance: float = MIN_DISTANCE) -> np.ndarray:
    """KL divergence estimates between every two agents.

    Args:
        points: [S, m, N, d] float: S team samples (trajectories per agent), m agents, N points per
            trajectory.
        k: neighbour rank, 1 <= k <= (S - 1) N.
        min_distance: floor on both distances (repeated points, as in the entropy estimator).
    Returns:
        D [m, m] float64, D[i, j] estimating KL(p_i || p_j) in nats; the diagonal is 0.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 4:
        raise ValueError(f"points must be [samples, agents, points, dimension]; got shape {points.shape}")
    samples, m, n, d = points.shape
    if samples < 2:
        raise ValueError("the divergence needs at least 2 trajectories per agent (the references exclude the query's)")
    if not 1 <= k <= (samples - 1) * n:
        raise ValueError(f"k must lie in [1, {(samples - 1) * n}]; got {k}")
    log_distance = np.empty((m, m, samples, n))  # [query agent, reference agent, trajectory, point]
    for s in range(samples):
        others = np.delete(points, s, axis=0)  # [S-1, m, N, d]
        for j in range(m):
            tree = cKDTree(others[:, j].reshape(-1, d))
            distances, _ = tree.query(points[s].reshape(-1, d), k=[k])
            log_distance[:, j, s] = np.log(np.maximum(distances[:, 0], min_distance)).reshape(m, n)
    own = np.einsum("iisn->isn", log_distance)  # rho: each agent's own other trajectories
    return d * (log_distance - own[:, None]).mean(axis=(2, 3))


def mean_divergence(points: np.ndarray, k: int) -> float:
    """The mean of :func:`agent_divergences` over ordered pairs of different agents (0 for one agent)."""
    divergences = agent_divergences(points, k)
    m = divergences.shape[0]
    return float(divergences.sum() / (m * (m - 1))) if m > 1 else 0.0
