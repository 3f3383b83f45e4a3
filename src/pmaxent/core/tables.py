"""The one CSV writer and reader of pmaxent's files: run metrics, dataset tables, offline results
and theory tables are all written by :func:`write_csv` and read by :func:`read_csv`; a run's
metrics.csv through :func:`write_metrics_csv` and :func:`read_metrics_csv`."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _cell(value: Any, float_format: str | None) -> Any:
    if type(value) is float:  # the common case first: tables are mostly floats
        return value if float_format is None else format(value, float_format)
    if value is None:
        return ""
    if isinstance(value, np.generic):
        return _cell(value.item(), float_format)
    return value


def write_csv(
    path: str | Path,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any] | Sequence[Any]],
    float_format: str | None = None,
) -> Path:
    """Write a header of ``columns`` and one line per row; return the path.

    A row is a mapping (missing columns are left empty) or a sequence in column order. None is
    written as an empty cell, NumPy scalars as Python numbers, floats with ``float_format``
    (e.g. ".6g") when given, else in full precision. Parent directories are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            values = [row.get(column) for column in columns] if isinstance(row, Mapping) else row
            writer.writerow([_cell(value, float_format) for value in values])
    return path


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a CSV file written by :func:`write_csv`, as dicts of strings."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_metrics_csv(
    path: str | Path, methods: Sequence[str], seeds: Sequence[int], metrics: Mapping[str, np.ndarray]
) -> Path:
    """A run's metrics.csv: one row per method, seed and update (counted from 1), a column per
    metric; metrics: name -> [n_methods, n_seeds, updates]."""
    names = list(metrics)
    rows = (
        (method, seed, update, *values)
        for i, method in enumerate(methods)
        for j, seed in enumerate(seeds)
        for update, values in enumerate(
            np.column_stack([metrics[k][i, j].astype(np.float64) for k in names]).tolist(), start=1
        )
    )
    return write_csv(path, ("method", "seed", "update", *names), rows, float_format=".6g")


def read_metrics_csv(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """metrics.csv -> {method: {metric: [n_seeds, updates]}} (seeds in file order)."""
    table = read_csv(path)
    names = [name for name in (table[0] if table else {}) if name not in ("method", "seed", "update")]
    rows: dict[str, dict[int, dict[str, list[float]]]] = {}
    for row in table:
        per_seed = rows.setdefault(row["method"], {}).setdefault(int(row["seed"]), {k: [] for k in names})
        for k in names:
            per_seed[k].append(float(row[k]))
    return {method: {k: np.array([s[k] for s in seeds.values()]) for k in names} for method, seeds in rows.items()}
