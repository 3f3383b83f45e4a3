"""Statistics of the reports' claims: mean and spread over seeds, 95% bootstrap intervals, and the
test that says whether a failure of "parallel scores highest" is significant.

With the handful of seeds a reproduction runs, a difference of means alone cannot tell a tie from
a win; the reports therefore give, for every configuration, the percentile bootstrap interval of
the parallel method's mean minus the best other method's (scipy's ``bootstrap``, seeds resampled
independently within each method) and read it as a win, a tie or a loss.
"""

from __future__ import annotations

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


def mean_interval(values) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of ``values`` (over seeds); NaN for fewer than 2."""
    return _bootstrap((np.asarray(values, float),), lambda x, axis=-1: np.mean(x, axis=axis))


def difference_interval(first, second) -> tuple[float, float]:
    """95% percentile bootstrap interval of mean(first) - mean(second), each resampled on its own."""
    return _bootstrap(
        (np.asarray(first, float), np.asarray(second, float)),
        lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
    )


def reading(interval: tuple[float, float]) -> str:
    """'higher', 'lower' or 'tie': where the difference's interval lies with respect to 0."""
    low, high = interval
    if not np.isfinite(low):
        return "undetermined (one seed)"
    return "higher" if low > 0 else "lower" if high < 0 else "tie"


def failure_note(failures: list[tuple[str, np.ndarray, np.ndarray]]) -> tuple[str, int]:
    """For configurations where parallel is not the highest: is it *significantly* lower?

    failures: (label, parallel values over seeds, best other method's values over seeds).
    Returns the text to report and the number of significant failures.
    """
    from scipy.stats import ttest_ind

    if not failures:
        return "", 0
    notes, significant = [], 0
    for label, parallel, other in failures:
        with warnings.catch_warnings():  # seeds with identical values leave the test undefined
            warnings.simplefilter("ignore", RuntimeWarning)
            p_value = float(ttest_ind(parallel, other, equal_var=False, alternative="less").pvalue)
        significant += p_value < SIGNIFICANCE
        notes.append(
            f"{label} p = {p_value:.2f}" if np.isfinite(p_value) else f"{label} undefined (no spread over seeds)"
        )
    return (
        f" Where parallel is not the highest, one-sided Welch t-test that it is lower: {', '.join(notes)}.",
        significant,
    )


def comparison_rows(
    claim: str,
    per_config: dict[tuple[str, int], dict[str, np.ndarray]],
    others: tuple[str, ...] = ("single", "random"),
    decimals: int = 3,
) -> list[str]:
    """Markdown rows (see :data:`COMPARISON_HEADER`) comparing parallel with the best of ``others``
    in every configuration: means ± std with their bootstrap intervals, and the interval of the
    difference read as higher / tie / lower.

    per_config: (env, m) -> method -> values over seeds.
    """
    rows = []
    for (env, m), values in per_config.items():
        best = max(others, key=lambda method, values=values: np.mean(values[method]))

        def cell(method, values=values):
            low, high = mean_interval(values[method])
            return (
                f"{method} {np.mean(values[method]):.{decimals}f} ± {np.std(values[method]):.{decimals}f} "
                f"[{low:.{decimals}f}, {high:.{decimals}f}]"
            )

        difference = difference_interval(values["parallel"], values[best])
        gap = np.mean(values["parallel"]) - np.mean(values[best])
        rows.append(
            f"| {claim} | {env} | {m} | {cell('parallel')} | {cell(best)} | {gap:+.{decimals}f} "
            f"[{difference[0]:+.{decimals}f}, {difference[1]:+.{decimals}f}] | {reading(difference)} |"
        )
    return rows


COMPARISON_HEADING = "### By configuration, with 95% bootstrap intervals over seeds"
"""The reports' heading of the comparison table (tools/readme_results.py finds the table by it)."""

COMPARISON_HEADER = [
    "| claim | world | m | parallel: mean ± std [95% CI] | best other | difference [95% CI] | parallel is |",
    "|---|---|---|---|---|---|---|",
]
"""Header of the table :func:`comparison_rows` fills."""


def comparison_table(rows: list[str]) -> list[str]:
    """The reports' comparison section: heading, how to read it, header and ``rows``
    (from :func:`comparison_rows`)."""
    return [
        COMPARISON_HEADING,
        "",
        "A difference whose interval contains 0 reads as a tie.",
        "",
        *COMPARISON_HEADER,
        *rows,
    ]
