"""Figures of the paper and of pmaxent's own experiments (matplotlib).

Figures are :class:`matplotlib.figure.Figure` objects made by :func:`subplots` and written by
:func:`save_figure`: no pyplot and no backend, so importing or calling these modules never
changes the plotting backend or the pyplot state of the program that uses pmaxent.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from matplotlib.figure import Figure


class GridMap(Protocol):
    """What a grid figure reads of a world: cells in row-major order (a tabular MDP has these)."""

    name: str
    n_states: int
    grid_shape: tuple[int, int] | None
    """(rows, columns), or None for a world that is not a grid."""
    valid: np.ndarray
    """bool [S], floor cells."""
    mu: np.ndarray
    """float [S], the initial state distribution (start cells > 0)."""


class FloorPlan(Protocol):
    """What a continuous figure reads of a world: rectangles (x0, x1, y0, y1) in its coordinates."""

    name: str
    bounds: tuple[float, float, float, float]
    starts: tuple[tuple[float, float, float, float], ...]
    walls: tuple[tuple[float, float, float, float], ...]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, layout=None, **kwargs) -> tuple[Figure, Any]:
    """Like ``pyplot.subplots``, without pyplot: a new :class:`Figure` (``figsize``, ``layout``)
    and its axes from :meth:`Figure.subplots` (``kwargs``: sharex, sharey, squeeze, ...)."""
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix; folders created) and return the path.

    A figure made with pyplot is also closed, so that pyplot forgets it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    return path
