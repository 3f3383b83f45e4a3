"""The KL estimate between agents: about 0 for identical agents on trajectory points (where the
entropy gap is not), the closed form for independent Gaussians, large for disjoint agents."""

import numpy as np
import pytest

from pmaxent.continuous.divergence import agent_divergences, mean_divergence
from pmaxent.continuous.knn import knn_entropy


def _walks(rng, samples, agents, steps, start, scale=0.05):
    """Random walks [S, m, N, 2] from ``start`` per agent: consecutive points close together."""
    origin = rng.normal(size=(samples, agents, 1, 2)) + np.asarray(start, float)[None, :, None]
    return origin + np.cumsum(rng.normal(scale=scale, size=(samples, agents, steps, 2)), axis=2)


def test_identical_agents_on_trajectory_points_read_zero_where_the_entropy_gap_does_not():
    rng = np.random.default_rng(0)
    divergences, gaps = [], []
    for _ in range(30):
        points = _walks(rng, 12, 4, 60, np.zeros((4, 2)))
        divergences.append(mean_divergence(points, k=10))
        team = float(knn_entropy(points.reshape(-1, 2).astype(np.float32), 10))
        agents = [float(knn_entropy(points[:, i].reshape(-1, 2).astype(np.float32), 10)) for i in range(4)]
        gaps.append(team - np.mean(agents))
    # 30 draws of 4 identical agents: the estimate is centred on 0 (measured: -0.03, standard error 0.05), while
    # the team's entropy minus the agents' mean reads about 1 nat of "diversity" (path geometry, sample sizes)
    assert abs(np.mean(divergences)) < 3 * np.std(divergences) / np.sqrt(30)
    assert np.mean(gaps) > 0.5


def test_independent_gaussian_points_give_the_closed_form():
    rng = np.random.default_rng(1)
    shift = np.array([1.0, 0.0])
    points = rng.normal(size=(10, 2, 300, 2))
    points[:, 1] += shift
    # KL(N(0, I) || N(mu, I)) = |mu|^2 / 2 both ways
    divergences = agent_divergences(points, k=5)
    assert divergences[0, 1] == pytest.approx(0.5, abs=0.06) and divergences[1, 0] == pytest.approx(0.5, abs=0.06)
    assert divergences[0, 0] == 0 and divergences[1, 1] == 0


def test_disjoint_agents_read_far_apart():
    rng = np.random.default_rng(2)
    points = _walks(rng, 6, 3, 60, [[0, 0], [20, 0], [0, 20]])
    divergences = agent_divergences(points, k=10)
    off_diagonal = divergences[~np.eye(3, dtype=bool)]
    assert off_diagonal.min() > 5


def test_bad_shapes_and_k_are_refused():
    with pytest.raises(ValueError, match="at least 2 trajectories"):
        agent_divergences(np.zeros((1, 2, 5, 2)), 1)
    with pytest.raises(ValueError, match="k must lie"):
        agent_divergences(np.zeros((2, 2, 5, 2)), 6)
    with pytest.raises(ValueError, match="must be"):
        agent_divergences(np.zeros((2, 5, 2)), 1)
