"""The one CSV writer and reader of pmaxent's files: run metrics, dataset tables, offline results
and theory tables are all written by :func:`write_csv` and read by :func:`read_csv`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np


def _cell(value: Any, float_format: str | None) -> Any:
    if type(value) is float:  # the common case first: tables are mostly floats
        return value if float_format is None else format(value, float_format)
    if value is None:
        return ""
    if isinstance(value, np.generic):
        return _cell(value.item(), float_format)
    return value


def write_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any] | Sequence[Any]], float_format: str | None = None) -> Path:
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
