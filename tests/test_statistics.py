"""The claims' statistics: the bootstrap interval the continuous-defaults tables quote, and the
procedure of SPEC section 13 (tests per configuration, Holm, power, rliable's aggregates)."""

import numpy as np
import pytest

from pmaxent.statistics import difference_interval, mean_interval


@pytest.mark.parametrize("shift", [1.0, 0.0, -1.0])
def test_the_difference_interval_holds_the_difference_and_excludes_zero_for_a_clear_one(shift):
    rng = np.random.default_rng(2)
    first, second = rng.normal(shift, 0.3, 5), rng.normal(0.0, 0.3, 5)
    low, high = difference_interval(first, second)
    assert low <= first.mean() - second.mean() <= high
    assert (low > 0) == (shift > 0) and (high < 0) == (shift < 0)
    assert np.isnan(difference_interval([0.5], [0.4])[0])
    assert difference_interval([0.7, 0.7], [0.5, 0.5]) == pytest.approx((0.2, 0.2))


# --- the claims procedure (SPEC section 13) ---------------------------------------------------


def test_holm_matches_a_hand_computed_step_down_and_statsmodels(monkeypatch):
    import gc

    from statsmodels.stats.multitest import multipletests

    from pmaxent.statistics import holm

    # sorted p 0.01, 0.02, 0.04, 0.30 over 4: 0.04, max(0.06, 0.04), max(0.08, 0.06), max(0.30, 0.08)
    np.testing.assert_allclose(holm([0.04, 0.01, 0.30, 0.02]), [0.08, 0.04, 0.30, 0.06])
    # statsmodels' Holm runs a full garbage collection per call: seconds each in a test worker
    # that has compiled many programs (minutes for these 50 families), and nothing to its result.
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)
    families = np.random.default_rng(5).uniform(0, 0.2, (50, 6))
    expected = np.stack([multipletests(row, method="holm")[1] for row in families])
    np.testing.assert_allclose(holm(families), expected)


def null_and_effect_draws(rng, experiments, configurations, seeds, shift):
    method = rng.normal(shift, 1.0, (experiments, configurations, seeds))
    other = rng.normal(0.0, 1.0, (experiments, configurations, seeds))
    return method, other


@pytest.mark.parametrize("test, experiments", [("welch", 4000), ("permutation", 300)])
def test_the_procedure_keeps_its_false_positive_rate_under_the_null(test, experiments):
    """Over many simulated experiments with no difference anywhere (4 configurations, 10 seeds
    each), the share of experiments in which any configuration reads "holds" or "does not hold"
    (the family-wise error Holm controls) is at most the nominal 5%, within Monte Carlo error."""
    from pmaxent.statistics import SIGNIFICANCE, _p_values, holm, verdicts

    rng = np.random.default_rng(0)
    method, other = null_and_effect_draws(rng, experiments, 4, 10, 0.0)
    adjusted = holm(_p_values(method, other, test, seed=1))
    decided = verdicts(method.mean(-1) - other.mean(-1), adjusted) != "not enough evidence"
    rate = decided.any(axis=1).mean()
    assert rate <= SIGNIFICANCE + 3 * np.sqrt(SIGNIFICANCE * (1 - SIGNIFICANCE) / experiments)


def test_a_known_effect_is_found_at_the_power_the_seed_count_promises():
    """With the seeds seeds_for_power asks for a standardized effect of 1.2 over 4 configurations,
    the effect is found ("holds") in at least 80% of simulated experiments, in every configuration,
    and never read as "does not hold"."""
    from pmaxent.statistics import _p_values, holm, seeds_for_power, verdicts

    seeds = seeds_for_power(1.2, configurations=4)
    assert seeds >= 10
    rng = np.random.default_rng(1)
    method, other = null_and_effect_draws(rng, 2000, 4, seeds, 1.2)
    read = verdicts(method.mean(-1) - other.mean(-1), holm(_p_values(method, other, "welch", 0)))
    found = (read == "holds").mean(axis=0)
    assert np.all(found >= 0.8 - 3 * np.sqrt(0.8 * 0.2 / 2000)), found
    assert not np.any(read == "does not hold")
    # and fewer seeds than asked for find it less often
    small = null_and_effect_draws(np.random.default_rng(2), 2000, 4, 4, 1.2)
    fewer = verdicts(small[0].mean(-1) - small[1].mean(-1), holm(_p_values(*small, "welch", 0)))
    assert (fewer == "holds").mean() < 0.6


def test_compare_reports_effect_interval_seeds_won_and_verdicts():
    from pmaxent.statistics import compare

    rng = np.random.default_rng(3)
    method = {"ahead": rng.normal(2.0, 0.3, 12), "tied": rng.normal(0.0, 1.0, 12), "behind": rng.normal(-2, 0.3, 12)}
    other = {"ahead": rng.normal(0.0, 0.3, 12), "tied": rng.normal(0.0, 1.0, 12), "behind": rng.normal(0, 0.3, 12)}
    result = compare(method, other)
    assert [result[n].verdict for n in method] == ["holds", "not enough evidence", "does not hold"]
    ahead = result["ahead"]
    assert ahead.interval[0] < ahead.effect < ahead.interval[1] and ahead.interval[0] > 0
    assert ahead.won == 12 and ahead.seeds == 12 and ahead.standardized > 3
    assert ahead.adjusted >= ahead.p_value
    permuted = compare(method, other, test="permutation")
    assert [permuted[n].verdict for n in method] == ["holds", "not enough evidence", "does not hold"]


def test_rliable_aggregates_order_methods_as_their_scores():
    from pmaxent.statistics import aggregate, probability_of_improvement

    rng = np.random.default_rng(4)
    better, worse = rng.normal(1.0, 0.2, (10, 3)), rng.normal(0.5, 0.2, (10, 3))
    iqm = aggregate({"better": better, "worse": worse}, reps=500)
    assert iqm["better"][1] <= iqm["better"][0] <= iqm["better"][2]
    assert iqm["better"][1] > iqm["worse"][2]  # intervals apart
    p, low, high = probability_of_improvement(better, worse, reps=500)
    assert p > 0.9 and low <= p <= high
    p_same, low, high = probability_of_improvement(better, better[::-1], reps=500)
    assert low <= 0.5 <= high


def test_mean_interval_is_students_t_interval():
    # mean 2, sample std 1, n = 3: 2 -/+ t(0.975, 2) / sqrt(3), t(0.975, 2) = 4.3027 from the tables
    low, high = mean_interval([1.0, 2.0, 3.0])
    assert low == pytest.approx(2 - 4.3027 / np.sqrt(3), abs=1e-3)
    assert high == pytest.approx(2 + 4.3027 / np.sqrt(3), abs=1e-3)
    assert mean_interval([0.5, 0.5]) == (0.5, 0.5)
    assert all(np.isnan(mean_interval([1.0])))
