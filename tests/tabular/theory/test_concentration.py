"""Theorem 4.1, its Monte-Carlo check, why parallel helps and the mixture decomposition
(``pmaxent.tabular.theory.concentration``), against independent ground truth.

Expected numbers are worked out by hand (in the comments), by exact enumeration, or by brute
force over every deterministic policy of a tiny MDP; none is produced by the code under test.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_mdps import entropy

from pmaxent.tabular.theory import (
    bernoulli_concentration_terms,
    concentration_bound,
    deviation_probability,
    mixture_decomposition,
    parallel_sampling_curves,
    samples_needed,
    specialised_distributions,
    variance_term,
)

TRIALS = 2000  # one value everywhere: every sampler shape compiles once


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
            probability = weight * math.prod(p**c for p, c in zip(d, counts, strict=True))
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
        dists[i, 4 * i : 4 * i + 4] = rng.dirichlet(np.ones(4))
    h_mix, h_agents, kl = mixture_decomposition(jnp.asarray(dists))
    assert float(h_mix - h_agents) == pytest.approx(math.log(m), abs=1e-5)
    assert float(kl) == pytest.approx(math.log(m), abs=1e-5)
