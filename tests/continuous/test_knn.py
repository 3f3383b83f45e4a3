"""Kozachenko-Leonenko k-NN entropy (pmaxent.continuous.knn): closed forms, exact neighbour
distances against scipy's cKDTree, the team / per-agent / leave-one-agent-out decomposition, bad
inputs, and the leave-one-agent-out baseline's unbiasedness."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
from scipy.spatial import cKDTree

from pmaxent.continuous.knn import (
    MIN_DISTANCE,
    NETWORK_MAX_NEIGHBOURS,
    TILE_POINTS,
    KNNEntropy,
    kl_constant,
    knn_distances,
    knn_entropy,
    log_unit_ball_volume,
    team_knn_distances,
)
from pmaxent.continuous.neighbours import SWEEP_BLOCK, kth_smallest, nearest, plan
from pmaxent.core.components import TeamEntropies

# Closed forms. Tolerances come from the estimator's sampling distribution at these sizes,
# measured once with cKDTree over 200 seeds (N = 2000): error = bias +- sd
#   k = 4  uniform [0, 2]^d: d=1  0.000 +- 0.016, d=2  0.027 +- 0.017, d=3  0.115 +- 0.017
#          (the cube's boundary truncates neighbour balls: a positive bias growing with d and k)
#          gaussian s = 1.5:  d=1 -0.003 +- 0.023, d=2 -0.014 +- 0.025, d=3 -0.036 +- 0.030
#   k = 1  uniform d=1        0.000 +- 0.033;      gaussian d=1 -0.004 +- 0.037
# Each tolerance is |bias| + 4 sd, rounded up; each test also checks that an estimator off by a
# visible mistake (ln V_d left out, ln k for psi(k), ln N for psi(N) is *not* such a mistake:
# it is MEPOL's form, 1/N off) would land outside it.
N_CLOSED = 2000
A_SIDE = 2.0
SIGMA = 1.5
UNIFORM = [(1, 4, 0.07), (2, 4, 0.10), (3, 4, 0.19), (1, 1, 0.14)]
GAUSSIAN = [(1, 4, 0.10), (2, 4, 0.12), (3, 4, 0.17), (1, 1, 0.16)]
SEEDS = (0, 1, 2)


def _check_closed_form(estimate, truth, tol, d, k):
    assert abs(estimate - truth) < tol, (estimate, truth, tol)
    # wrong estimators: without ln V_d; with ln k instead of psi(k) (a visible gap only for k = 1)
    assert abs(estimate - log_unit_ball_volume(d) - truth) > tol
    psi_gap = math.log(k) - float(scipy.special.digamma(k))
    if k == 1:
        assert abs(estimate - psi_gap - truth) > tol


@pytest.mark.parametrize("d,k,tol", UNIFORM)
def test_uniform_cube_gives_log_volume(d, k, tol):
    for seed in SEEDS:
        x = np.random.default_rng(seed).uniform(0, A_SIDE, (N_CLOSED, d)).astype(np.float32)
        _check_closed_form(float(knn_entropy(x, k)), d * math.log(A_SIDE), tol, d, k)


@pytest.mark.parametrize("d,k,tol", GAUSSIAN)
def test_gaussian_gives_closed_form(d, k, tol):
    truth = 0.5 * d * math.log(2 * math.pi * math.e * SIGMA**2)
    for seed in SEEDS:
        x = np.random.default_rng(100 + seed).normal(0, SIGMA, (N_CLOSED, d)).astype(np.float32)
        _check_closed_form(float(knn_entropy(x, k)), truth, tol, d, k)


def test_constants():
    assert log_unit_ball_volume(1) == pytest.approx(math.log(2))
    assert log_unit_ball_volume(2) == pytest.approx(math.log(math.pi))
    assert log_unit_ball_volume(3) == pytest.approx(math.log(4 * math.pi / 3))
    # psi(n) - psi(k) with psi(n) = -gamma + sum_{j < n} 1/j
    assert kl_constant(10, 3, 2) == pytest.approx(sum(1 / j for j in range(3, 10)) + math.log(math.pi))


def _with_duplicates(rng, n, d):
    """n points in R^d of which some repeat: a clump of 6 copies (more than k for most k tested),
    pairs, and a near-duplicate."""
    x = rng.normal(size=(n, d)).astype(np.float32)
    x[1:7] = x[0]
    x[10:20:2] = x[11:21:2]
    x[30] = x[31] + np.float32(1e-3)
    return x


@pytest.mark.parametrize("d", [1, 2, 3, 5])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_distances_match_ckdtree(d, k):
    rng = np.random.default_rng(10 * d + k)
    x = _with_duplicates(rng, 301, d)
    expected = cKDTree(x.astype(np.float64)).query(x.astype(np.float64), k + 1)[0][:, k]
    for chunk in (64, 301, 1000):  # 64 does not divide 301
        got = np.asarray(knn_distances(x, k, chunk_size=chunk))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    if k <= 6:  # the clump of 7 copies gives exact zeros, reproduced above
        assert np.sum(expected == 0) >= 7 and np.all(got[:7] == 0)


def test_repeated_points_are_floored():
    x = np.zeros((50, 2), np.float32)
    x[25:] = 1.0  # two clumps of 25 copies: every k-th neighbour (k < 25) is a copy
    h = float(knn_entropy(x, 5))
    assert np.isfinite(h)
    assert h == pytest.approx(kl_constant(50, 5, 2) + 2 * math.log(MIN_DISTANCE), rel=1e-5)
    assert float(knn_entropy(x, 5, min_distance=1e-3)) == pytest.approx(
        kl_constant(50, 5, 2) + 2 * math.log(1e-3), rel=1e-5
    )


def _direct(features, k):
    b, m, n, d = features.shape
    team = np.array([float(knn_entropy(features[i].reshape(m * n, d), k)) for i in range(b)])
    agents = np.array([[float(knn_entropy(features[i, j], k)) for j in range(m)] for i in range(b)])
    if m == 1:
        without = np.zeros((b, m))
    else:
        without = np.array(
            [
                [float(knn_entropy(np.delete(features[i], j, 0).reshape((m - 1) * n, d), k)) for j in range(m)]
                for i in range(b)
            ]
        )
    return team, agents, without


@pytest.mark.parametrize("m", [1, 2, 3, 6])
# the network with tiles of k + 1 = 4 points and of TILE_POINTS points (43 points per agent: the
# last tile padded), then jax.lax.top_k
@pytest.mark.parametrize("k", [3, TILE_POINTS + 2, NETWORK_MAX_NEIGHBOURS + 2])
@pytest.mark.parametrize("chunk_size", [17, None])
def test_team_agents_without_equal_direct_computations(m, k, chunk_size):
    rng = np.random.default_rng(m)
    features = rng.uniform(-1, 1, (2, m, 43, 2)).astype(np.float32)
    features[0, 0, :5] = features[0, 0, 5]  # repeats within an agent
    features[1, -1, :4] = features[1, 0, :4]  # and across agents
    out = KNNEntropy(k, chunk_size=chunk_size)(features)
    assert isinstance(out, TeamEntropies) and out.extras == {}
    assert out.team.shape == (2,) and out.agents.shape == (2, m) and out.without_agent.shape == (2, m)
    team, agents, without = _direct(features, k)
    np.testing.assert_allclose(out.team, team, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.agents, agents, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.without_agent, without, rtol=1e-5, atol=1e-5)


def test_team_distances_shapes_and_jit():
    features = np.random.default_rng(0).normal(size=(2, 3, 20, 3)).astype(np.float32)
    team, own, without = team_knn_distances(features, 2, chunk_size=7)
    assert team.shape == (2, 3, 20) and own.shape == (2, 3, 20) and without.shape == (2, 3, 20, 3)
    estimator = KNNEntropy(2, chunk_size=7)
    jitted = jax.jit(lambda f: estimator(f))(features)
    np.testing.assert_allclose(jitted.team, estimator(features).team, rtol=1e-6)
    assert KNNEntropy.extra_metrics == ()


def test_bad_inputs():
    x = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match="k must be an integer >= 1; got 0"):
        knn_entropy(x, 0)
    with pytest.raises(ValueError, match=r"k = 10 needs at least k \+ 1 = 11 points in the sample, which has 10"):
        knn_distances(x, 10)
    with pytest.raises(ValueError, match=r"\[N, d\]"):
        knn_entropy(np.zeros(10), 2)
    with pytest.raises(ValueError, match="chunk_size"):
        knn_distances(x, 2, chunk_size=0)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        KNNEntropy(0)
    with pytest.raises(ValueError, match=r"rank 4\); got shape \(3, 10, 2\)"):
        KNNEntropy(2)(np.zeros((3, 10, 2), np.float32))
    with pytest.raises(
        ValueError,
        match=r"k = 8 needs at least k \+ 1 = 9 points in one agent's sample \(N = 8 points per agent\), which has 8",
    ):
        KNNEntropy(8)(np.zeros((1, 3, 8, 2), np.float32))


def test_leave_one_agent_out_baseline_is_unbiased():
    """Two agents, each picking one of three fixed point sets with softmax(theta_i) probabilities.
    By enumeration of the 9 joint choices: the exact gradient of E[H_team] equals
    E[score_i (H_team - H_without_i)], and differs from E[score_i (H_team - H_agent_i)]
    (a baseline built from agent i's own points)."""
    rng = np.random.default_rng(0)
    n_sets, n, d, k = 3, 8, 2, 2
    point_sets = (
        rng.normal(size=(n_sets, n, d)).astype(np.float32) * np.array([0.3, 1.0, 2.0], np.float32)[:, None, None]
    )
    choices = list(itertools.product(range(n_sets), repeat=2))
    features = np.stack([np.stack([point_sets[c1], point_sets[c2]]) for c1, c2 in choices])  # [9, 2, n, d]
    out = KNNEntropy(k)(features)
    h_team, h_agent, h_without = (np.asarray(a, np.float64) for a in (out.team, out.agents, out.without_agent))
    theta = jnp.array([[0.3, -0.5, 0.1], [-0.2, 0.4, 0.7]])
    idx = np.array(choices)  # [9, 2]

    def expected_team_entropy(theta):
        logp = jax.nn.log_softmax(theta, axis=-1)
        joint = jnp.exp(logp[0, idx[:, 0]] + logp[1, idx[:, 1]])
        return jnp.sum(joint * h_team)

    exact = np.asarray(jax.grad(expected_team_entropy)(theta), np.float64)  # [2, 3]
    p = np.asarray(jax.nn.softmax(theta, axis=-1), np.float64)
    joint = p[0, idx[:, 0]] * p[1, idx[:, 1]]  # [9]

    def estimator_mean(baseline):  # baseline [9, 2] -> E[score_i (H_team - b_i)], [2, 3]
        grads = np.zeros((2, n_sets))
        for c, (choice, w) in enumerate(zip(idx, joint, strict=True)):
            for i in range(2):
                score = np.eye(n_sets)[choice[i]] - p[i]  # grad_theta_i log softmax(theta_i)[c_i]
                grads[i] += w * score * (h_team[c] - baseline[c, i])
        return grads

    np.testing.assert_allclose(estimator_mean(np.zeros((9, 2))), exact, atol=1e-5)
    np.testing.assert_allclose(estimator_mean(h_without), exact, atol=1e-5)
    own = estimator_mean(h_agent)
    assert np.max(np.abs(own - exact)) > 0.05, (own, exact)
    # the without-agent baseline depends only on the other agent's choice
    # H_without_1 depends only on agent 2's choice, and H_without_2 only on agent 1's
    grid = h_without.reshape(n_sets, n_sets, 2)  # [c1, c2, i]
    np.testing.assert_allclose(grid[:, :, 0], np.broadcast_to(grid[:1, :, 0], (n_sets, n_sets)), atol=1e-6)
    np.testing.assert_allclose(grid[:, :, 1], np.broadcast_to(grid[:, :1, 1], (n_sets, n_sets)), atol=1e-6)


def test_stride_keeps_every_stride_th_point_and_dimension_is_checked():
    features = np.random.default_rng(5).uniform(-1, 1, (2, 3, 41, 2)).astype(np.float32)
    strided = KNNEntropy(3, stride=4)(features)
    team, agents, without = _direct(features[:, :, ::4], 3)  # points 0, 4, ..., 40: 11 per agent
    np.testing.assert_allclose(strided.team, team, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(strided.agents, agents, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(strided.without_agent, without, rtol=1e-5, atol=1e-5)
    assert not np.allclose(strided.team, KNNEntropy(3)(features).team, atol=1e-3)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        KNNEntropy(3, stride=0)
    with pytest.raises(ValueError, match="features must be 3-dimensional"):
        KNNEntropy(3, dimension=3)(features)


# The slab sweep of pmaxent.continuous.neighbours (knn_distances' and MEPOL's default search)
# against cKDTree's k-th neighbour distances on data built to defeat it.


def _kth_reference(x, k):
    """cKDTree's distances to the k + 1 nearest points (the point itself first), float64."""
    return cKDTree(x.astype(np.float64)).query(x.astype(np.float64), k + 1)[0]


def _sweep_datasets():
    rng = np.random.default_rng(7)
    clustered = np.concatenate([rng.uniform(0, 0.01, (2850, 2)), rng.uniform(-5, 5, (150, 2))])
    line = np.stack([np.full(2000, 1.5), rng.uniform(-3, 3, 2000)], axis=1)  # every point shares x
    repeated = rng.uniform(-1, 1, (60, 2))[rng.integers(0, 60, 2400)]  # 60 places, ~40 copies each
    return {
        "uniform": rng.uniform(-6, 6, (3000, 2)),
        "clustered": clustered,
        "vertical line": line,
        "repeated": repeated,
        "identical": np.full((200, 2), 0.25),
        "below the window": rng.normal(size=(40, 2)),
        "3-d": rng.normal(size=(1500, 3)) * np.array([3.0, 1.0, 0.1]),
    }


@pytest.mark.parametrize("name", list(_sweep_datasets()))
@pytest.mark.parametrize("k", [1, 5, 50])
def test_sweep_distances_match_ckdtree(name, k):
    x = _sweep_datasets()[name].astype(np.float32)
    if k >= len(x):
        k = len(x) - 1
    expected = _kth_reference(x, k)[:, k]
    np.testing.assert_allclose(knn_distances(x, k), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(knn_distances(x, k, search="brute"), expected, rtol=1e-5, atol=1e-6)
    if name in ("identical",) or (name == "repeated" and k <= 5):
        assert np.all(np.asarray(knn_distances(x, k)) == 0)


def test_sweep_takes_the_box_search_and_the_brute_force_fallback_and_stays_exact():
    x = _sweep_datasets()["clustered"].astype(np.float32)
    k = 10
    expected = _kth_reference(x, k)
    default = nearest(x, k, with_index=True)
    assert int(default.boxed) > 0  # blocks near the spread points fail the sweep's test: box search
    tiny_box = nearest(x, k, with_index=True, sizes=plan(len(x), k, box_size=2 * (k + 1)))
    assert int(tiny_box.fallback) > int(default.fallback)  # boxes too full for 22 points: brute force
    uniform = _sweep_datasets()["uniform"].astype(np.float32)
    assert (
        int(nearest(uniform, k).boxed) < 0.5 * len(uniform) / SWEEP_BLOCK
    )  # most blocks of uniform data pass the sweep's test
    for found in (default, tiny_box):
        np.testing.assert_allclose(np.sqrt(found.sq), expected[:, k], rtol=1e-5, atol=1e-6)
        index = np.asarray(found.index)
        assert index.shape == (len(x), k)
        np.testing.assert_array_equal(index[:, 0], np.arange(len(x)))  # the point itself first
        assert all(len(set(row)) == k for row in index)  # k distinct points
        # its k - 1 others are k - 1 nearest (ties may pick other, equally near points)
        others = np.sort(np.linalg.norm(x[index[:, 1:]] - x[:, None], axis=-1), axis=1)
        np.testing.assert_allclose(others, expected[:, 1:k], rtol=1e-5, atol=1e-6)


def test_kth_smallest_is_exact():
    rng = np.random.default_rng(3)
    sq = rng.exponential(size=(20, 300)).astype(np.float32)
    sq[0, :10] = 0.0  # ties at zero
    sq[1, 5:] = np.inf
    for k in (1, 5, 11, 300):
        np.testing.assert_array_equal(kth_smallest(jnp.asarray(sq), k), np.sort(sq, axis=1)[:, k - 1])


def test_bad_search_is_named():
    with pytest.raises(ValueError, match=r"search must be one of \('sweep', 'brute'\); got 'kd'"):
        knn_entropy(np.zeros((10, 2), np.float32), 2, search="kd")
