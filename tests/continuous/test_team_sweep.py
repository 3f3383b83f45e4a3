"""The sweep's team search against independent ground truth: sorted neighbour lists against a
full distance matrix, the pooled and own distances against the all-pairs search, and the
leave-one-agent-out sums against a float64 k-d tree (scipy) on the sample without each agent."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial import cKDTree

from pmaxent.continuous.knn import MIN_DISTANCE, KNNEntropy, team_knn_distances
from pmaxent.continuous.neighbours import squared_distances
from pmaxent.continuous.team_sweep import sorted_neighbours, team_sweep


def walks(m: int, n: int, seed: int) -> np.ndarray:
    """Trajectory-like team samples: random walks from one start, a third of the moves rejected
    (repeated points), on a 0.01 grid (many exact copies), [m, n, 2] float32."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.05, (m, n, 2))
    steps[rng.random((m, n)) < 0.3] = 0.0
    points = np.cumsum(steps, axis=1)
    points[:, 0] = 0.0
    return np.round(points, 2).astype(np.float32)


def uniform(m: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, (m, n, 2)).astype(np.float32)


def clustered(m: int, n: int, seed: int) -> np.ndarray:
    """Most points in a tiny dense cluster, a few spread wide: the sweep's windows cannot cover the
    cluster's slabs, so its fallbacks (box and brute force) run."""
    rng = np.random.default_rng(seed)
    points = rng.normal(0.0, 1e-3, (m, n, 2))
    far = rng.random((m, n)) < 0.2
    points[far] = rng.uniform(-50.0, 50.0, (int(far.sum()), 2))
    return points.astype(np.float32)


def full_matrix(points: np.ndarray) -> np.ndarray:
    sq = np.array(jax.jit(squared_distances)(jnp.asarray(points), jnp.asarray(points)))
    np.fill_diagonal(sq, np.inf)
    return sq


@pytest.mark.parametrize("sample", [walks, uniform, clustered])
def test_sorted_neighbours_equal_a_full_distance_matrix(sample):
    points = sample(24, 40, 0).reshape(-1, 2)
    length = 20
    found = sorted_neighbours(jnp.asarray(points), length, box_size=64)  # small boxes: some overflow
    sq = full_matrix(points)
    np.testing.assert_array_equal(np.asarray(found.sq), np.sort(sq, axis=1)[:, :length])
    # the ids name points at those distances, each point once
    ids = np.asarray(found.ids)
    np.testing.assert_array_equal(sq[np.arange(len(points))[:, None], ids], np.asarray(found.sq))
    assert all(len(set(row)) == length for row in ids)
    if sample is clustered:
        assert int(found.boxed) > 0 and int(found.brute) > 0  # both fallbacks were exercised


def without_sums(features: np.ndarray, k: int) -> np.ndarray:
    """For each agent j, the sum over the other agents' points of ln max(rho, MIN_DISTANCE) in the
    sample without agent j, in float64 by a k-d tree."""
    m, n, d = features.shape
    points = features.reshape(-1, d).astype(np.float64)
    labels = np.repeat(np.arange(m), n)
    sums = []
    for j in range(m):
        rest = points[labels != j]
        distance, _ = cKDTree(rest).query(rest, k + 1)
        sums.append(np.sum(np.log(np.maximum(distance[:, k], MIN_DISTANCE))))
    return np.array(sums)


@pytest.mark.parametrize("sample,k", [(walks, 15), (uniform, 5), (clustered, 3)])
def test_team_sweep_equals_all_pairs_and_a_kd_tree(sample, k):
    features = sample(24, 40, 1)
    found = team_sweep(jnp.asarray(features), k, MIN_DISTANCE)
    team, own, _ = team_knn_distances(jnp.asarray(features)[None], k)
    np.testing.assert_array_equal(np.asarray(found.team), np.asarray(team[0]))
    np.testing.assert_array_equal(np.asarray(found.own), np.asarray(own[0]))
    expected = without_sums(features, k)
    # float32 sums of about 900 terms of size up to 10: a few units in the last place of the total
    np.testing.assert_allclose(np.asarray(found.without_log), expected, rtol=0, atol=2e-6 * np.abs(expected).max())


def test_team_sweep_under_vmap_equals_each_sample_alone():
    batch = jnp.asarray(np.stack([walks(16, 30, 2), clustered(16, 30, 3)]))
    together = jax.jit(jax.vmap(lambda f: team_sweep(f, 4, MIN_DISTANCE)))(batch)
    for b in range(2):
        alone = team_sweep(batch[b], 4, MIN_DISTANCE)
        np.testing.assert_array_equal(np.asarray(together.team[b]), np.asarray(alone.team))
        np.testing.assert_array_equal(np.asarray(together.own[b]), np.asarray(alone.own))
        np.testing.assert_allclose(np.asarray(together.without_log[b]), np.asarray(alone.without_log), rtol=1e-6)


def test_the_estimator_gives_the_same_entropies_by_either_search():
    features = jnp.asarray(np.stack([walks(12, 40, 4), uniform(12, 40, 5)]))
    swept = KNNEntropy(6, search="sweep")(features)
    paired = KNNEntropy(6, search="all-pairs")(features)
    np.testing.assert_array_equal(np.asarray(swept.team), np.asarray(paired.team))
    np.testing.assert_array_equal(np.asarray(swept.agents), np.asarray(paired.agents))
    np.testing.assert_allclose(np.asarray(swept.without_agent), np.asarray(paired.without_agent), atol=1e-5)
    with pytest.raises(ValueError, match="unknown search"):
        KNNEntropy(6, search="kd-tree")


def test_off_policy_neighbourhoods_by_the_sweep_equal_brute_force():
    from pmaxent.continuous.offpolicy import brute_neighbourhoods, swept_neighbourhoods

    points = jnp.asarray(uniform(8, 40, 6).reshape(-1, 2))  # no ties: the neighbourhoods are unique
    swept_index, swept_rho = swept_neighbourhoods(points, 7)
    brute_index, brute_rho = brute_neighbourhoods(points, 7)
    # brute force sums the squared differences in another order: equal to float32 rounding
    np.testing.assert_allclose(np.asarray(swept_rho), np.asarray(brute_rho), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(swept_index)[:, 0], np.arange(points.shape[0]))
    np.testing.assert_array_equal(np.sort(np.asarray(swept_index), axis=1), np.sort(np.asarray(brute_index), axis=1))
