"""The theory module against independent ground truth.

Expected numbers are worked out by hand (in the comments), by exact enumeration, or by brute
force over every deterministic policy of a tiny MDP; none is produced by the code under test.
"""

from __future__ import annotations

import csv
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

from pmaxent.tabular import TabularMDP, make
from pmaxent.tabular.theory import (
    bernoulli_concentration_terms,
    concentration_bound,
    deviation_probability,
    exact_state_distribution,
    frank_wolfe,
    iterations_to_eps,
    mixture_decomposition,
    monte_carlo_state_distribution,
    optimal_entropy,
    parallel_sampling_curves,
    plan,
    sample_mixture_policy,
    samples_needed,
    smoothed_entropy,
    smoothed_entropy_gradient,
    smoothness_constant,
    specialised_distributions,
    theorem_iterations,
    theorem_step_size,
    variance_term,
)

TRIALS = 2000  # one value everywhere: every sampler shape compiles once


def entropy(d) -> float:
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


# ------------------------------------------------------------------ Theorem 4.1


def test_bound_matches_hand_computation():
    # d = (1/2, 1/2): S = 2, H = ln 2, H^2 = 0.480453, Var = 2 * 1/4 = 1/2.
    # n = 1000, eps = 0.1: exponent = 1000 * 0.01 * 0.5 / (2 * 8 * 0.480453) = 5 / 7.68725 = 0.65043,
    # bound = 2 S exp(-0.65043) = 4 * 0.521822 = 2.08729.
    assert concentration_bound([0.5, 0.5], 1000, 0.1) == pytest.approx(2.08729, rel=1e-5)
    # d uniform over 4: H^2 = ln(4)^2 = 1.921812, Var = 4 * 1/4 * 3/4 = 3/4; n = 1e5, eps = 0.2:
    # exponent = 1e5 * 0.04 * 0.75 / (2 * 64 * 1.921812) = 3000 / 245.992 = 12.19552,
    # bound = 8 exp(-12.19552) = 4.0424e-5.
    assert concentration_bound(np.full(4, 0.25), 100_000, 0.2) == pytest.approx(4.0424e-5, rel=1e-4)
    # Arrays of n give arrays; the bound falls as n grows.
    bounds = concentration_bound([0.5, 0.5], np.array([10, 100, 1000]), 0.1)
    assert bounds.shape == (3,) and np.all(np.diff(bounds) < 0)


def test_samples_needed_matches_hand_computation_and_inverts_the_bound():
    # d = (1/2, 1/2), eps = 0.1, delta = 0.05: 2 * 8 * 0.480453 / (0.01 * 0.5) * ln(2 * 2 / 0.05)
    # = 1537.45 * ln(80) = 1537.45 * 4.382027 = 6737.15 -> 6738.
    assert samples_needed([0.5, 0.5], 0.1, 0.05) == 6738
    for d in ([0.5, 0.5], [0.7, 0.2, 0.1], np.full(6, 1 / 6)):
        n = samples_needed(d, 0.2, 0.1)
        assert concentration_bound(d, n, 0.2) <= 0.1 < concentration_bound(d, n - 1, 0.2)


def test_variance_and_point_mass_limits():
    assert variance_term([0.7, 0.2, 0.1]) == pytest.approx(0.7 * 0.3 + 0.2 * 0.8 + 0.1 * 0.9)
    # A point mass: d_n = d always, so the probability and the limit of the bound are 0.
    assert concentration_bound([0.0, 1.0, 0.0], 10, 0.1) == 0.0
    assert samples_needed([1.0, 0.0], 0.1, 0.05) == 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: concentration_bound([0.5, 0.6], 10, 0.1), "sum to 1"),
        (lambda: concentration_bound([1.5, -0.5], 10, 0.1), "negative"),
        (lambda: concentration_bound([[0.5, 0.5]], 10, 0.1), "1-D"),
        (lambda: concentration_bound([0.5, 0.5], 0, 0.1), "positive integer"),
        (lambda: concentration_bound([0.5, 0.5], 2.5, 0.1), "positive integer"),
        (lambda: concentration_bound([0.5, 0.5], 10, 0.0), "eps"),
        (lambda: samples_needed([0.5, 0.5], 0.1, 1.0), "delta"),
        (lambda: samples_needed([0.5, 0.5], 0.1, 0.0), "delta"),
        (lambda: samples_needed([0.5, 0.5], -0.1, 0.5), "eps"),
        (lambda: bernoulli_concentration_terms([0.0, 0.5]), "strictly inside"),
        (lambda: specialised_distributions(3, 4), "n_agents"),
    ],
)
def test_bad_inputs_raise_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bernoulli_terms_at_one_half():
    # p = 1/2: H = ln 2, Var = 2 * 1/4 = 1/2, Var / H^2 = 0.5 / 0.480453 = 1.040684.
    h, var, ratio = bernoulli_concentration_terms(np.array([0.5]))
    assert h[0] == pytest.approx(math.log(2)) and var[0] == pytest.approx(0.5)
    assert ratio[0] == pytest.approx(1.040684, rel=1e-6)
    # The ratio blows up towards the edges (the paper's Figure 4).
    _, _, ratios = bernoulli_concentration_terms(np.array([0.01, 0.1, 0.5]))
    assert ratios[0] > ratios[1] > ratios[2]


def test_deviation_probability_matches_exact_enumeration():
    # d over 3 categories, n = 6: enumerate the 28 count vectors and sum the multinomial
    # probabilities of those whose plug-in entropy is more than eps below H(d).
    d, n, eps = np.array([0.5, 0.3, 0.2]), 6, 0.15
    exact = 0.0
    for c0 in range(n + 1):
        for c1 in range(n + 1 - c0):
            counts = (c0, c1, n - c0 - c1)
            weight = math.factorial(n) / math.prod(math.factorial(c) for c in counts)
            probability = weight * math.prod(p**c for p, c in zip(d, counts))
            if entropy(d) - entropy(np.array(counts) / n) > eps:
                exact += probability
    estimate = deviation_probability(jax.random.PRNGKey(0), d, n, eps, TRIALS)
    assert abs(estimate - exact) < 4 * math.sqrt(exact * (1 - exact) / TRIALS)


def test_monte_carlo_probability_never_exceeds_the_bound():
    # The bound is loose by orders of magnitude, so this can only catch gross errors (e.g. a
    # bound or a probability off by a large factor); the enumeration test above checks the
    # estimator itself.
    sample_sizes = np.array([10, 100, 1_000, 10_000, 100_000, 1_000_000])
    for i, d in enumerate((np.full(3, 1 / 3), np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.5, 0.0]))):
        for eps in (0.05, 0.2, 0.5):
            estimates = deviation_probability(jax.random.PRNGKey(i), d, sample_sizes, eps, TRIALS)
            bounds = concentration_bound(d, sample_sizes, eps)
            assert np.all(estimates <= np.minimum(bounds, 1.0) + 3 * 0.5 / math.sqrt(TRIALS))


# ------------------------------------------------------------------ why parallel helps, decomposition


def test_parallel_sampling_limits_with_one_state_per_agent():
    # m = 4 agents, 4 states, agent i always in state i; the mixture is uniform, H(mix) = ln 4.
    # Specialists: the pooled sample is exactly uniform, never a deviation. The lone agent
    # (k draws of the mixture) sees at most k = 1 or 2 distinct states, H <= ln 2: always a
    # deviation. Identical agents with k = 1 pool 4 draws of the mixture: a deviation unless all
    # 4 states appear, probability 1 - 4! / 4^4 = 0.90625.
    dists = specialised_distributions(4, 4, leak=0.0)
    np.testing.assert_array_equal(dists, np.eye(4))
    curves = parallel_sampling_curves(jax.random.PRNGKey(1), dists, [1, 2], eps=0.1, n_trials=TRIALS)
    np.testing.assert_array_equal(curves.specialised, [0.0, 0.0])
    np.testing.assert_array_equal(curves.single, [1.0, 1.0])
    assert abs(curves.identical[0] - 0.90625) < 4 * math.sqrt(0.90625 * 0.09375 / TRIALS)
    assert curves.mixture_entropy == pytest.approx(math.log(4), abs=1e-6)
    assert curves.mean_kl == pytest.approx(math.log(4), abs=1e-6)


def test_specialised_distributions_have_the_stated_leak():
    dists = specialised_distributions(10, 3, leak=0.1)
    np.testing.assert_allclose(dists.sum(axis=1), 1.0)
    blocks = np.array_split(np.arange(10), 3)
    for agent, block in enumerate(blocks):
        assert dists[agent, block].sum() == pytest.approx(0.9)


def test_mixture_decomposition_identity_on_random_distributions():
    rng = np.random.default_rng(3)
    dists = rng.dirichlet(np.full(7, 0.5), size=(5, 3))  # [batch 5, m 3, S 7]
    h_mix, h_agents, kl = (np.asarray(x) for x in mixture_decomposition(jnp.asarray(dists)))
    mix = dists.mean(axis=1)
    expected_kl = np.mean(np.sum(dists * np.log(dists / mix[:, None, :]), axis=-1), axis=-1)
    np.testing.assert_allclose(h_mix, [entropy(m) for m in mix], atol=1e-5)
    np.testing.assert_allclose(h_agents, [np.mean([entropy(d) for d in row]) for row in dists], atol=1e-5)
    np.testing.assert_allclose(kl, expected_kl, atol=1e-5)
    np.testing.assert_allclose(h_mix, h_agents + kl, atol=1e-5)


@pytest.mark.parametrize("m", [2, 5])
def test_disjoint_supports_add_log_m(m):
    dists = np.zeros((m, 4 * m))
    rng = np.random.default_rng(m)
    for i in range(m):
        dists[i, 4 * i: 4 * i + 4] = rng.dirichlet(np.ones(4))
    h_mix, h_agents, kl = mixture_decomposition(jnp.asarray(dists))
    assert float(h_mix - h_agents) == pytest.approx(math.log(m), abs=1e-5)
    assert float(kl) == pytest.approx(math.log(m), abs=1e-5)


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
        np.testing.assert_allclose(mixture.state_distributions, exact_state_distribution(room, mixture.policies), atol=1e-12)
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


# ------------------------------------------------------------------ experiment and CLI


def test_iterations_table_and_csv(tmp_path):
    path = tmp_path / "table.csv"
    rows = iterations_to_eps(("room-det",), (1, 2), eps=0.1, tuned_steps=(0.1,), max_iterations=150,
                             theorem_max_iterations=5, csv_path=path)
    assert [(r["n_agents"], r["step_rule"]) for r in rows] == [(1, "theorem"), (1, "tuned"), (2, "theorem"), (2, "tuned")]
    theorem = [r for r in rows if r["step_rule"] == "theorem"]
    assert all(not r["reached"] and r["iterations"] is None for r in theorem)
    assert theorem[1]["eta"] == pytest.approx(2 * theorem[0]["eta"])
    tuned = [r for r in rows if r["step_rule"] == "tuned"]
    assert all(r["reached"] and 0 < r["iterations"] <= 150 for r in tuned)
    assert all(r["entropy_at_stop"] >= r["optimum"] - 0.1 for r in tuned)
    with path.open() as handle:
        written = list(csv.DictReader(handle))
    assert [w["iterations"] for w in written if w["step_rule"] == "theorem"] == ["not reached", "not reached"]


def test_cli_frank_wolfe_writes_figure_and_csv(tmp_path):
    from pmaxent.cli.theory import app

    result = CliRunner().invoke(app, [
        "frank-wolfe", "--out", str(tmp_path), "--envs", "room-det", "--agents", "1,2", "--steps", "0.1",
        "--iterations", "100", "--theorem-iterations", "3", "--no-progress",
    ])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "frank_wolfe.png").stat().st_size > 0
    assert (tmp_path / "iterations_to_eps.csv").exists()
    bad = CliRunner().invoke(app, ["frank-wolfe", "--out", str(tmp_path), "--agents", "one"])
    assert bad.exit_code != 0
