"""Statistics of the reports' claims: mean and spread over seeds, 95% bootstrap intervals, and the
test that says whether a failure of "parallel scores highest" is significant.

With the handful of seeds a reproduction runs, a difference of means alone cannot tell a tie from
a win; the reports therefore give, for every configuration, the percentile bootstrap interval of
the parallel method's mean minus the best other method's (scipy's ``bootstrap``, seeds resampled
independently within each method) and read it as a win, a tie or a loss.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

CONFIDENCE = 0.95
"""Level of the bootstrap intervals."""
RESAMPLES = 9_999
"""Bootstrap resamples per interval."""
SIGNIFICANCE = 0.05
"""Level of the one-sided Welch t-test applied where a claim fails in a configuration."""


def mean_std(values) -> str:
    """'mean ± std' of values over seeds, 3 decimals."""
    values = np.asarray(values, float)
    return f"{values.mean():.3f} ± {values.std():.3f}"


def _bootstrap(samples: tuple[np.ndarray, ...], statistic) -> tuple[float, float]:
    from scipy.stats import bootstrap

    if any(len(s) < 2 for s in samples):
        return float("nan"), float("nan")
    if all(np.ptp(s) == 0 for s in samples):  # no spread: every resample gives the same value
        value = float(statistic(*samples))
        return value, value
    with warnings.catch_warnings():  # percentile intervals of very small samples warn of their own width
        warnings.simplefilter("ignore")
        result = bootstrap(
            samples,
            statistic,
            confidence_level=CONFIDENCE,
            n_resamples=RESAMPLES,
            method="percentile",
            rng=np.random.default_rng(0),
            vectorized=True,
        )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def difference_interval(first, second) -> tuple[float, float]:
    """95% percentile bootstrap interval of mean(first) - mean(second), each resampled on its own."""
    return _bootstrap(
        (np.asarray(first, float), np.asarray(second, float)),
        lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
    )


def mean_interval(values) -> tuple[float, float]:
    """95% Student t interval of the mean of values over seeds (scipy's one-sample t-test; NaN for
    fewer than 2 values): wide for few seeds, as it should be."""
    from scipy.stats import ttest_1samp

    values = np.asarray(values, float)
    if len(values) < 2:
        return float("nan"), float("nan")
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    interval = ttest_1samp(values, 0.0).confidence_interval(CONFIDENCE)
    return float(interval.low), float(interval.high)


# --- Claims a reviewer accepts (SPEC section 13): tests per configuration with a Holm correction,
# effect sizes with intervals, aggregates across worlds with rliable, and the seeds a claim needs.

EVIDENCE_SEEDS = 10
"""The fewest evaluation seeds a claim is tested on (SPEC section 13)."""

VERDICTS = ("holds", "does not hold", "not enough evidence")


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One configuration's comparison of a method with another over evaluation seeds.

    ``effect`` is the difference of means (method minus other) with its ``interval`` (Welch's, at
    :data:`CONFIDENCE`), ``standardized`` Hedges' g, ``won`` the seeds (paired by index) on which
    the method scored higher, ``p_value`` the two-sided test's and ``adjusted`` after Holm's
    correction across the configurations compared together; ``verdict`` one of :data:`VERDICTS`."""

    effect: float
    interval: tuple[float, float]
    standardized: float
    won: int
    seeds: int
    p_value: float
    adjusted: float
    verdict: str


def _p_values(first: np.ndarray, second: np.ndarray, test: str, seed: int) -> np.ndarray:
    """Two-sided p-values of mean(first) = mean(second) along the last axis (leading axes: batches)."""
    from scipy import stats

    if test == "welch":
        return np.asarray(stats.ttest_ind(first, second, axis=-1, equal_var=False).pvalue, float)
    if test == "permutation":
        result = stats.permutation_test(
            (first, second),
            lambda a, b, axis: np.mean(a, axis=axis) - np.mean(b, axis=axis),
            permutation_type="independent",
            vectorized=True,
            axis=-1,
            n_resamples=RESAMPLES,
            rng=np.random.default_rng(seed),
        )
        return np.asarray(result.pvalue, float)
    raise ValueError(f"unknown test {test!r}; choose 'welch' or 'permutation'")


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of p-values [..., C] across the last axis: the i-th smallest of
    C is multiplied by C - i + 1, made non-decreasing in that order and capped at 1. Vectorized over
    the leading axes (statsmodels' ``multipletests`` adjusts one family per call, far too slowly
    for the simulations that check the procedure; a test checks the two agree)."""
    p_values = np.asarray(p_values, float)
    count = p_values.shape[-1]
    order = np.argsort(p_values, axis=-1)
    ranked = np.take_along_axis(p_values, order, axis=-1) * (count - np.arange(count))
    adjusted = np.minimum(np.maximum.accumulate(ranked, axis=-1), 1.0)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out


def verdicts(effects, adjusted, alpha: float = SIGNIFICANCE) -> np.ndarray:
    """'holds' where the adjusted two-sided test rejects equality and the method is ahead, 'does not
    hold' where it rejects and the method is behind, 'not enough evidence' otherwise."""
    effects, adjusted = np.asarray(effects, float), np.asarray(adjusted, float)
    significant = adjusted < alpha
    return np.where(significant & (effects > 0), VERDICTS[0], np.where(significant, VERDICTS[1], VERDICTS[2]))


def compare(
    method: dict[str, np.ndarray], other: dict[str, np.ndarray], test: str = "welch", alpha: float = SIGNIFICANCE
) -> dict[str, Comparison]:
    """Compare a method with another in each configuration ({name: scores over seeds}), the
    configurations' p-values Holm-corrected together.

    Args:
        method, other: per configuration, the two methods' scores over the evaluation seeds (the
            same seeds, so ``won`` pairs them by index).
        test: "welch" (Welch's t-test) or "permutation" (of the difference of means).
    """
    from scipy import stats

    names = list(method)
    p_values = np.array([_p_values(np.asarray(method[n], float), np.asarray(other[n], float), test, 0) for n in names])
    adjusted = holm(p_values)
    results = {}
    for name, p, q in zip(names, p_values, adjusted, strict=True):
        a, b = np.asarray(method[name], float), np.asarray(other[name], float)
        welch = stats.ttest_ind(a, b, equal_var=False)
        low, high = welch.confidence_interval(CONFIDENCE)
        pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
        correction = 1 - 3 / (4 * (len(a) + len(b)) - 9)
        g = (a.mean() - b.mean()) / pooled * correction if pooled > 0 else float("nan")
        effect = float(a.mean() - b.mean())
        results[name] = Comparison(
            effect, (float(low), float(high)), float(g), int(np.sum(a[: len(b)] > b[: len(a)])), len(a),
            float(p), float(q), str(verdicts(effect, q, alpha)),
        )  # fmt: skip
    return results


def seeds_for_power(
    effect_size: float, configurations: int = 1, alpha: float = SIGNIFICANCE, power: float = 0.8
) -> int:
    """Evaluation seeds per method for a two-sided Welch test to find a standardized effect of
    ``effect_size`` with probability ``power`` when Holm corrects across ``configurations`` (the
    first step of Holm's procedure, Bonferroni's level alpha / configurations, bounds it), and at
    least :data:`EVIDENCE_SEEDS` (statsmodels' power of the two-sample t-test)."""
    from statsmodels.stats.power import TTestIndPower

    needed = TTestIndPower().solve_power(effect_size=effect_size, alpha=alpha / configurations, power=power)
    return max(EVIDENCE_SEEDS, math.ceil(needed))


def aggregate(scores: dict[str, np.ndarray], reps: int = 2000, seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """Across worlds: each method's interquartile mean over runs x worlds with a stratified-bootstrap
    interval, rliable's (Agarwal et al. 2021). ``scores``: {method: [runs, worlds]} normalised
    scores. Returns {method: (iqm, low, high)}."""
    from rliable import library, metrics

    np.random.seed(seed)  # rliable's bootstrap draws from NumPy's global generator
    point, interval = library.get_interval_estimates(
        scores, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps, confidence_interval_size=CONFIDENCE
    )
    return {m: (float(point[m][0]), float(interval[m][0, 0]), float(interval[m][1, 0])) for m in scores}


def probability_of_improvement(
    method: np.ndarray, other: np.ndarray, reps: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """P(method > other) over runs and worlds ([runs, worlds] each), averaged over worlds, with its
    stratified-bootstrap interval (rliable's). Returns (probability, low, high)."""
    from rliable import library, metrics

    np.random.seed(seed)
    pair = {"pair": (np.asarray(method, float), np.asarray(other, float))}
    point, interval = library.get_interval_estimates(
        pair, metrics.probability_of_improvement, reps=reps, confidence_interval_size=CONFIDENCE
    )
    low, high = np.ravel(interval["pair"])
    return float(np.ravel(point["pair"])[0]), float(low), float(high)
