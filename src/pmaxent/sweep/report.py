"""A sweep's tables and report: every run's final measures (per method and seed, and per run), the
mean of each setting with its 95% interval, and comparisons read as SPEC section 13 reads claims
(Welch's test, Holm's correction across the settings compared, "holds / does not hold / not enough
evidence")."""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pmaxent.core.tables import read_csv, write_csv
from pmaxent.statistics import CONFIDENCE, EVIDENCE_SEEDS, SIGNIFICANCE, compare
from pmaxent.sweep.spec import Run, SweepSpec

FINAL_FILE = "final.csv"
"""RUN/final.csv: the run's final measures, one row per method and seed (its family's ``measure``)."""
MEASURES_FILE, TABLE_FILE, REPORT_FILE = "measures.csv", "sweep.csv", "report.md"
PRIMARY = ("normalized_entropy", "entropy")
"""The measure the comparisons test: the first of these a sweep's runs report (else their first)."""


def write_final(run_dir: Path, measures: dict[str, dict[str, np.ndarray]], seeds: Sequence[int]) -> None:
    """RUN/final.csv from method -> measure -> values over ``seeds``."""
    names = list(next(iter(measures.values())))
    rows = [
        (method, seed, *(float(values[name][i]) for name in names))
        for method, values in measures.items()
        for i, seed in enumerate(seeds)
    ]
    write_csv(run_dir / FINAL_FILE, ("method", "seed", *names), rows)


def write_tables(out: Path, runs: list[Run]) -> list[dict]:
    """OUT/measures.csv (one row per run, method and seed) and OUT/sweep.csv (one row per run: its
    settings and each method's mean measures over its seeds); returns the rows of measures.csv."""
    fields = list(runs[0].setting)
    rows = []
    for run in runs:
        for row in read_csv(out / "runs" / run.name / FINAL_FILE):
            rows.append({"run": run.name, **run.setting, **row})
    names = [k for k in rows[0] if k not in ("run", "method", "seed", *fields)]
    write_csv(out / MEASURES_FILE, ("run", *fields, "method", "seed", *names), rows)
    methods = list(dict.fromkeys(row["method"] for row in rows))
    table = []
    for run in runs:
        mine = [row for row in rows if row["run"] == run.name]
        means = {
            f"{method}_{name}": np.mean([float(r[name]) for r in mine if r["method"] == method])
            for method in methods
            for name in names
        }
        table.append({"run": run.name, **run.setting, "seeds": " ".join(map(str, run.config.seeds)), **means})
    columns = ("run", *fields, "seeds", *(f"{m}_{n}" for m in methods for n in names))
    write_csv(out / TABLE_FILE, columns, table)
    return rows


def mean_interval(values: np.ndarray) -> str:
    """'mean [low, high]': the mean over seeds with its Student-t interval at :data:`CONFIDENCE`."""
    from scipy import stats

    values = np.asarray(values, float)
    if len(values) < 2:
        return f"{values.mean():.3f} (1 seed)"
    sem = values.std(ddof=1) / math.sqrt(len(values))
    low, high = stats.t.interval(CONFIDENCE, len(values) - 1, loc=values.mean(), scale=sem) if sem else (values[0],) * 2
    return f"{values.mean():.3f} [{low:.3f}, {high:.3f}]"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def write_report(out: Path, spec: SweepSpec, runs: list[Run], rows: list[dict]) -> Path:
    """OUT/report.md: per measure, every setting's methods with intervals; per other method the
    first method against it in every setting; the best setting against the others."""
    labels = list(dict.fromkeys(setting_label(run.setting) for run in runs))
    methods = list(dict.fromkeys(row["method"] for row in rows))
    names = [k for k in rows[0] if k not in ("run", "method", "seed", *runs[0].setting)]
    values = collections.defaultdict(list)  # (setting, method, measure) -> values over every seed of the setting
    label_of = {run.name: setting_label(run.setting) for run in runs}
    for row in rows:
        for name in names:
            values[label_of[row["run"]], row["method"], name].append(float(row[name]))
    values = {key: np.array(v) for key, v in values.items()}
    usable = [n for n in names if all(np.isfinite(values[label, methods[0], n]).all() for label in labels)]
    primary = next((n for n in PRIMARY if n in usable), (usable or names)[0])
    lines = [
        "# Sweep report",
        "",
        f"{len(runs)} runs: {len(labels)} settings x {len(spec.seeds)} seeds "
        f"({_count(len(runs) // len(labels), 'run')} per setting). Every run's final measures are in "
        f"{MEASURES_FILE} (per method and seed) and {TABLE_FILE} (per run).",
        "",
        f"Shared settings: {', '.join(f'{k} = {v!r}' for k, v in spec.base.items()) or 'the config defaults'}.",
        "",
    ]
    if len(spec.seeds) < EVIDENCE_SEEDS:
        lines += [
            f"Fewer than {EVIDENCE_SEEDS} seeds per setting: SPEC section 13 reads no claim from so few; the verdicts "
            "below are indicative only.",
            "",
        ]
    for name in names:
        lines += [f"## {name}", "", f"Mean over seeds [{CONFIDENCE:.0%} interval].", ""]
        lines += ["| setting | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
        for label in labels:
            cells = [mean_interval(values[label, method, name]) for method in methods]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += _comparisons(labels, methods, primary, values)
    path = out / REPORT_FILE
    path.write_text("\n".join(lines) + "\n")
    return path


def _comparisons(labels: list[str], methods: list[str], measure: str, values: dict) -> list[str]:
    """Welch's tests of ``measure`` with Holm's correction: the first method against each other
    method across the settings, and each method's best setting against its other settings."""
    header = ["| setting | difference [95% interval] | seeds won | p (Holm) | verdict |", "|---|---|---|---|---|"]
    lines = [
        f"## Comparisons of {measure}",
        "",
        f"Welch's test per setting, Holm's correction across the settings of a table, level {SIGNIFICANCE}.",
        "",
    ]
    first = methods[0]
    for other in methods[1:]:
        results = compare(
            {label: values[label, first, measure] for label in labels},
            {label: values[label, other, measure] for label in labels},
        )
        lines += [f"### {first} against {other}", "", *header]
        lines += [_row(label, result) for label, result in results.items()] + [""]
    if len(labels) > 1:
        for method in methods:
            means = [values[label, method, measure].mean() for label in labels]
            best = labels[int(np.argmax(means))]
            others = [label for label in labels if label != best]
            results = compare(
                {label: values[best, method, measure] for label in others},
                {label: values[label, method, measure] for label in others},
            )
            lines += [f"### {method}: its best setting ({best}) against each other setting", "", *header]
            lines += [_row(label, result) for label, result in results.items()] + [""]
    return lines


def _row(label: str, result) -> str:
    low, high = result.interval
    return (
        f"| {label} | {result.effect:+.3f} [{low:+.3f}, {high:+.3f}] | {result.won}/{result.seeds} | "
        f"{result.adjusted:.3g} | {result.verdict} |"
    )


def setting_label(setting: dict) -> str:
    """A setting as the report shows it: 'lr = 0.05, agents = 2' (or 'base' for an empty grid)."""
    return ", ".join(f"{k} = {v}" for k, v in setting.items()) or "base"
