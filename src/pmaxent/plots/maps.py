"""Pictures on the grid: the maps (the paper's Figures 5 and 6), per-cell heatmaps, and learned
policies drawn as arrows (Figure 10).

Cells are drawn with ``imshow`` so cell (row, col) is centred at x = col, y = row and row 0 is at
the top. Actions follow the environment: 0 left, 1 down, 2 right, 3 up.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.patheffects as path_effects
import numpy as np
from matplotlib.colors import to_rgb

from pmaxent.maps import ACTION_MOVES
from pmaxent.plots import GridMap, save_figure, subplots

WALL_COLOUR = "#3a3a3a"
FLOOR_COLOUR = "#f4f4f4"
START_COLOUR = "#a9c8f5"
GOAL_COLOUR = "#9bd99b"
GRID_LINE_COLOUR = "#c8c8c8"
ARROW_COLOUR = "#1f4e9c"

#: Inches per cell: large enough for a letter and four arrows, small enough for a 10 x 10 maze.
_CELL_INCHES = 0.42
#: Arrows start this far (in cells) from the centre, so four short arrows of a near-uniform
#: policy stay four separate heads instead of merging into a blot.
_ARROW_OFFSET = 0.1
#: Length in cells of the arrow of an action of probability 1 (it ends just inside the cell).
_ARROW_MAX_LENGTH = 0.37
#: Arrow shaft width in cells; heads are a few shaft widths, so they scale with the cells.
_ARROW_WIDTH = 0.04
#: Actions below this probability get no arrow: they would be specks that clutter the cell.
_MIN_ARROW_PROB = 0.05


def _grid_shape(mdp: GridMap) -> tuple[int, int]:
    if mdp.grid_shape is None:
        raise ValueError(f"{mdp.name} is not a grid world; there is no map to draw")
    return mdp.grid_shape


def _cell_colours(mdp: GridMap, goal: int | None = None) -> np.ndarray:
    """RGB image [rows, cols, 3]: walls dark, floor light, start and goal tinted."""
    rows, cols = _grid_shape(mdp)
    image = np.empty((mdp.n_states, 3))
    image[:] = to_rgb(FLOOR_COLOUR)
    image[~mdp.valid] = to_rgb(WALL_COLOUR)
    image[mdp.mu > 0] = to_rgb(START_COLOUR)
    if goal is not None:
        image[goal] = to_rgb(GOAL_COLOUR)
    return image.reshape(rows, cols, 3)


def _frame(ax, rows: int, cols: int) -> None:
    """Thin lines between cells, no ticks, equal aspect, row 0 at the top."""
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color=GRID_LINE_COLOUR, linewidth=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("equal")


def _letter(ax, state: int, cols: int, text: str, size: float) -> None:
    """A bold letter in the middle of a cell, outlined so it reads on any background colour."""
    r, c = divmod(int(state), cols)
    ax.text(
        c, r, text, ha="center", va="center", fontsize=size, fontweight="bold", color="black",
        path_effects=[path_effects.withStroke(linewidth=2, foreground="white")],
    )  # fmt: skip


def _check_goal(mdp: GridMap, goal: int | None) -> None:
    if goal is not None and not (0 <= goal < mdp.n_states and mdp.valid[goal]):
        raise ValueError(f"goal {goal} is not a floor cell of {mdp.name}")


def plot_map(
    mdp: GridMap, path: str | Path, title: str | None = None, goal: int | None = None, show_indices: bool = True
) -> Path:
    """Draw a grid world: walls dark, floor light, start 'S', optional goal 'G'.

    Args:
        mdp: a grid world (``grid_shape`` set).
        path: where to write the image (format from the suffix, e.g. .png or .pdf).
        title: figure title; defaults to the environment's name.
        goal: a floor cell to mark 'G' (e.g. state 44 in the room), or None.
        show_indices: write each cell's state index small in its top-left corner.
    Returns:
        path.
    """
    rows, cols = _grid_shape(mdp)
    _check_goal(mdp, goal)
    fig, ax = subplots(figsize=(cols * _CELL_INCHES + 0.4, rows * _CELL_INCHES + 0.6))
    ax.imshow(_cell_colours(mdp, goal), interpolation="nearest")
    _frame(ax, rows, cols)
    if show_indices:
        for s in range(mdp.n_states):
            r, c = divmod(s, cols)
            colour = "#9a9a9a" if mdp.valid[s] else "#7a7a7a"
            ax.text(c - 0.44, r - 0.42, str(s), ha="left", va="top", fontsize=4.5, color=colour)
    for start in np.flatnonzero(mdp.mu > 0):
        _letter(ax, start, cols, "S", 10)
    if goal is not None:
        _letter(ax, goal, cols, "G", 10)
    ax.set_title(mdp.name if title is None else title, fontsize=10)
    return save_figure(fig, path)


def grid_heatmap(
    ax,
    mdp: GridMap,
    values,
    cmap: str = "viridis",
    label: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar: bool = True,
    mark_start: bool = True,
):
    """Draw one value per cell on the grid, walls masked out in the wall colour.

    Args:
        ax: a matplotlib Axes.
        mdp: a grid world.
        values: [S] (one per state) or [rows, cols]; wall entries are ignored.
        cmap: a matplotlib colormap name.
        label: colorbar label.
        vmin, vmax: colour limits (default: range of the floor values); pass the same limits to
            several heatmaps that should be compared by colour.
        colorbar: add a colorbar next to ax.
        mark_start: write 'S' on the start cell.
    Returns:
        the image artist (a ScalarMappable, e.g. for one shared colorbar).
    """
    rows, cols = _grid_shape(mdp)
    values = np.asarray(values, dtype=float)
    if values.shape not in ((mdp.n_states,), (rows, cols)):
        raise ValueError(f"values must have shape [S] = ({mdp.n_states},) or {(rows, cols)}; got {values.shape}")
    masked = np.ma.masked_array(values.reshape(rows, cols), mask=~mdp.valid.reshape(rows, cols))
    colours = matplotlib.colormaps.get_cmap(cmap).with_extremes(bad=WALL_COLOUR)
    image = ax.imshow(masked, cmap=colours, vmin=vmin, vmax=vmax, interpolation="nearest")
    _frame(ax, rows, cols)
    if mark_start:
        for start in np.flatnonzero(mdp.mu > 0):
            _letter(ax, start, cols, "S", 8)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=label, fraction=0.046, pad=0.03)
    return image


def plot_policies(mdp: GridMap, probs, path: str | Path, titles: list[str] | None = None) -> Path:
    """Action probabilities of m agents as arrows on the grid (the paper's Figure 10).

    In each floor cell, one arrow per action (left, down, right, up) points out from near the
    cell centre with length proportional to its probability; a deterministic action reaches
    almost to the cell edge, a uniform policy shows four short arrows.

    Args:
        mdp: a grid world with 4 actions.
        probs: [m, S, 4] action probabilities per agent and state (rows of floor cells sum to 1).
        path: where to write the image.
        titles: one title per agent (default "agent 1" .. "agent m").
    Returns:
        path.
    """
    rows, cols = _grid_shape(mdp)
    probs = np.asarray(probs, dtype=float)
    expected = f"[m, S, A] = [m, {mdp.n_states}, {len(ACTION_MOVES)}]"
    if probs.ndim != 3 or probs.shape[1:] != (mdp.n_states, len(ACTION_MOVES)) or probs.shape[0] < 1:
        raise ValueError(f"probs must have shape {expected}; got {probs.shape}")
    floor_rows = probs[:, mdp.valid]
    # Loose tolerance: float32 softmax output of a trained policy is a distribution up to rounding.
    is_distribution = np.all(floor_rows >= 0) and np.allclose(floor_rows.sum(-1), 1, atol=1e-3)
    if not is_distribution:
        raise ValueError("probs of floor cells must be non-negative and sum to 1 over actions")
    n_agents = probs.shape[0]
    titles = [f"agent {i + 1}" for i in range(n_agents)] if titles is None else list(titles)
    if len(titles) != n_agents:
        raise ValueError(f"got {len(titles)} titles for {n_agents} agents")

    # At most three panels a row, rows filled evenly (4 agents: 2 x 2, 6 agents: 2 x 3).
    n_rows = math.ceil(n_agents / 3)
    n_cols = math.ceil(n_agents / n_rows)
    width, height = cols * _CELL_INCHES, rows * _CELL_INCHES + 0.3
    fig, axes = subplots(n_rows, n_cols, figsize=(n_cols * width, n_rows * height), squeeze=False, layout="constrained")

    # Arrow origins next to cell centres and unit directions in data coordinates (y grows downwards).
    floor = np.flatnonzero(mdp.valid)
    cell_r, cell_c = np.divmod(floor, cols)
    moves = np.asarray(ACTION_MOVES, dtype=float)  # (d_row, d_col) per action
    background = _cell_colours(mdp)
    for agent, ax in enumerate(axes.flat):
        if agent >= n_agents:
            ax.axis("off")
            continue
        ax.imshow(background, interpolation="nearest")
        _frame(ax, rows, cols)
        length = _ARROW_MAX_LENGTH * probs[agent][floor]  # [floor cells, 4]
        cell, action = np.nonzero(probs[agent][floor] >= _MIN_ARROW_PROB)
        ax.quiver(
            cell_c[cell] + _ARROW_OFFSET * moves[action, 1], cell_r[cell] + _ARROW_OFFSET * moves[action, 0],
            moves[action, 1] * length[cell, action], moves[action, 0] * length[cell, action],
            angles="xy", scale_units="xy", scale=1, units="xy", color=ARROW_COLOUR,
            width=_ARROW_WIDTH, headwidth=3, headlength=2.5, headaxislength=2.2, minlength=0,
        )  # fmt: skip
        ax.set_title(titles[agent], fontsize=9)
    return save_figure(fig, path)


__all__ = ["plot_map", "grid_heatmap", "plot_policies"]
