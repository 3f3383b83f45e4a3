"""Bootstrap intervals and their reading, against closed forms and constructed cases."""

import numpy as np
import pytest

from pmaxent.statistics import (
    COMPARISON_HEADER,
    comparison_rows,
    difference_interval,
    failure_note,
    mean_interval,
    reading,
)


def test_mean_interval_matches_the_normal_approximation_on_a_large_sample():
    values = np.random.default_rng(1).normal(3.0, 2.0, 400)
    low, high = mean_interval(values)
    half_width = 1.96 * values.std(ddof=1) / np.sqrt(len(values))
    assert low < values.mean() < high
    assert abs((high - low) / 2 - half_width) < 0.1 * half_width


def test_degenerate_samples():
    assert mean_interval([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert np.isnan(mean_interval([0.5])[0])
    assert reading(difference_interval([0.7, 0.7], [0.5, 0.5])) == "higher"
    assert reading(mean_interval([1.0])) == "undetermined (one seed)"


@pytest.mark.parametrize("shift, expected", [(1.0, "higher"), (0.0, "tie"), (-1.0, "lower")])
def test_difference_reads_as_win_tie_or_loss(shift, expected):
    rng = np.random.default_rng(2)
    parallel, other = rng.normal(shift, 0.3, 5), rng.normal(0.0, 0.3, 5)
    if expected == "tie":
        parallel = other[::-1] + 0.01  # same values, another order: means 0.01 apart
    interval = difference_interval(parallel, other)
    assert interval[0] <= parallel.mean() - other.mean() <= interval[1]
    assert reading(interval) == expected


def test_comparison_rows_pick_the_best_other_method_and_read_ties():
    per_config = {
        ("room", 2): {
            "parallel": np.array([0.80, 0.82, 0.81]),
            "single": np.array([0.70, 0.71, 0.69]),
            "random": np.array([0.5, 0.5, 0.52]),
        },
        ("maze", 4): {
            "parallel": np.array([0.60, 0.70, 0.65]),
            "single": np.array([0.58, 0.72, 0.66]),
            "random": np.array([0.1, 0.1, 0.1]),
        },
    }
    rows = comparison_rows("(b) x", per_config)
    assert len(rows) == 2 and all(row.count("|") == COMPARISON_HEADER[0].count("|") for row in rows)
    assert "single 0.700" in rows[0] and rows[0].endswith("| higher |")
    assert "single 0.653" in rows[1] and rows[1].endswith("| tie |")


def test_failure_note_counts_only_significant_failures():
    rng = np.random.default_rng(3)
    clear = ("clear", rng.normal(0.0, 0.01, 5), rng.normal(1.0, 0.01, 5))
    tie = ("tie", np.array([0.5, 0.6, 0.55]), np.array([0.56, 0.52, 0.57]))
    note, significant = failure_note([clear, tie])
    assert significant == 1 and "clear p = 0.00" in note and "tie p = " in note
