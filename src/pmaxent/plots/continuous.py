"""Pictures of continuous worlds: the walls over the arena and, optionally, each agent's visited
positions as a scatter in its own colour (the paper's Figure 10 in continuous space)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from pmaxent.plots import FloorPlan, save_figure

WALL_COLOUR = "#3a3a3a"
FLOOR_COLOUR = "#f4f4f4"
START_COLOUR = "#a9c8f5"
#: Inches per unit of length; GridWorldContinuous (12 units) is then about 5 inches wide.
_UNIT_INCHES = 0.42
_MAX_INCHES = 7.0


def _agent_points(points) -> list[np.ndarray]:
    """Per-agent point arrays [N_i, 2] from an array [m, ..., 2] / [N, 2] or a list of arrays."""
    if isinstance(points, np.ndarray) or hasattr(points, "shape"):
        points = np.asarray(points, np.float64)
        if points.ndim == 2:
            points = points[None]
        if points.ndim < 2 or points.shape[-1] != 2:
            raise ValueError(f"points must be [m, ..., 2] (or [N, 2] for one agent); got shape {points.shape}")
        return [agent.reshape(-1, 2) for agent in points]
    agents = [np.asarray(agent, np.float64).reshape(-1, 2) for agent in points]
    return agents


LEGEND_AGENTS = 10
"""Most agents a team picture names in a legend; a larger team's colours tell agents apart only."""


def agent_colours(m: int) -> list:
    """One colour per agent: tab10's for up to 10 agents, else m hues of a cyclic map taken in a
    scrambled order, so that agents with neighbouring indices do not get neighbouring hues."""
    if m <= 10:
        cycle = matplotlib.colormaps["tab10"]
        return [cycle(i) for i in range(m)]
    hues = matplotlib.colormaps["hsv"]
    step = next(s for s in range(int(m * 0.382), m) if np.gcd(s, m) == 1)  # a stride coprime with m
    return [hues(((i * step) % m) / m) for i in range(m)]


def draw_world(
    ax,
    world: FloorPlan,
    points=None,
    colors: Sequence | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    point_size: float = 2.0,
    alpha: float = 0.35,
    legend: bool = True,
) -> None:
    """Draw ``world`` on a matplotlib axis: walls as filled rectangles over the arena, start boxes
    tinted, and optionally each agent's visited positions in its own colour.

    Args:
        points: visited positions per agent: an array [m, ..., 2] (all leading axes after the first
            are pooled, e.g. [m, K, T + 1, 2]), an array [N, 2] for one agent, or a list of
            per-agent arrays [N_i, 2].
        colors: one matplotlib colour per agent (default: :func:`agent_colours`).
        labels: one legend label per agent (default "agent 1", ...; no legend for one agent).
        title: axis title (default: the world's name).
        point_size, alpha: scatter marker size and opacity.
        legend: draw the legend of the agents (teams of at most LEGEND_AGENTS, or given labels).
    """
    x0, x1, y0, y1 = world.bounds
    ax.add_patch(
        Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=FLOOR_COLOUR, edgecolor=WALL_COLOUR, linewidth=2, zorder=0)
    )
    for sx0, sx1, sy0, sy1 in world.starts:
        ax.add_patch(Rectangle((sx0, sy0), sx1 - sx0, sy1 - sy0, facecolor=START_COLOUR, edgecolor="none", zorder=1))
    if points is not None:
        agents = _agent_points(points)
        if colors is None:
            colors = agent_colours(len(agents))
        if len(colors) < len(agents):
            raise ValueError(f"{len(agents)} agents but {len(colors)} colours")
        if labels is not None and len(labels) < len(agents):
            raise ValueError(f"{len(agents)} agents but {len(labels)} labels")
        for i, agent in enumerate(agents):
            label = labels[i] if labels is not None else f"agent {i + 1}"
            ax.scatter(
                agent[:, 0],
                agent[:, 1],
                s=point_size,
                color=colors[i],
                alpha=alpha,
                linewidths=0,
                label=label,
                zorder=2,
            )
        if legend and (1 < len(agents) <= LEGEND_AGENTS or labels is not None):
            drawn = ax.legend(
                loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=4 / max(point_size, 0.1) ** 0.5, frameon=False
            )
            for handle in drawn.legend_handles:
                handle.set_alpha(1.0)
    for wx0, wx1, wy0, wy1 in world.walls:
        ax.add_patch(Rectangle((wx0, wy0), wx1 - wx0, wy1 - wy0, facecolor=WALL_COLOUR, edgecolor="none", zorder=3))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_title(world.name if title is None else title)


def _panel_inches(world: FloorPlan) -> tuple[float, float]:
    x0, x1, y0, y1 = world.bounds
    scale = min(_UNIT_INCHES, _MAX_INCHES / max(x1 - x0, y1 - y0))
    return (x1 - x0) * scale + 0.6, (y1 - y0) * scale + 0.6


def plot_world(world: FloorPlan, path: str | Path, points=None, **draw_options) -> Path:
    """One picture of ``world`` (see :func:`draw_world` for ``points`` and the options) in ``path``."""
    fig = Figure(figsize=_panel_inches(world))
    ax = fig.subplots()
    draw_world(ax, world, points, **draw_options)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return save_figure(fig, path)


def plot_teams(world: FloorPlan, teams: dict[str, np.ndarray], path: str | Path) -> Path:
    """One panel per method: where each agent of its team went ({method: points [m, ..., 2]}),
    each agent in its own colour (the paper's Figure 10 in continuous space)."""
    width, height = _panel_inches(world)
    fig = Figure(figsize=(width * len(teams) + 1.2, height))
    axes = np.atleast_1d(fig.subplots(1, len(teams)))
    for ax, (method, points) in zip(axes, teams.items(), strict=True):
        draw_world(ax, world, points, title=f"{world.name}: {method}", legend=ax is axes[-1])
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, path)


def plot_goal_success(
    world: FloorPlan,
    goals: np.ndarray,
    success: dict[str, np.ndarray],
    path: str | Path,
    radius: float,
    title: str | None = None,
) -> Path:
    """The paper's Figure 9 in continuous space: a panel per family, each goal's disc of
    ``radius`` coloured by its success rate.

    Args:
        goals: float [G, 2] goal points.
        success: {family: float [G]} success per goal (averaged over seeds), in the order of ``goals``.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Circle

    goals = np.asarray(goals, float).reshape(-1, 2)
    width, height = _panel_inches(world)
    fig = Figure(figsize=(width * len(success) + 1.2, height), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(success)))
    colours = matplotlib.colormaps["viridis"]
    for ax, (family, rates) in zip(axes, success.items(), strict=True):
        rates = np.asarray(rates, float)
        if rates.shape != (len(goals),):
            raise ValueError(f"{family}: {rates.size} success rates for {len(goals)} goals")
        draw_world(ax, world, title=f"{family}: mean {rates.mean():.2f}", legend=False)
        for (x, y), rate in zip(goals, rates, strict=True):
            ax.add_patch(Circle((x, y), radius, facecolor=colours(rate), edgecolor="black", linewidth=0.4, zorder=4))
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(
        ScalarMappable(Normalize(0.0, 1.0), colours), ax=list(axes), label="success rate", fraction=0.03, pad=0.02
    )
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


__all__ = ["draw_world", "plot_goal_success", "plot_teams", "plot_world"]
