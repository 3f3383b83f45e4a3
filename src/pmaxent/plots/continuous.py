"""Pictures of continuous worlds: the walls over the arena and, optionally, each agent's visited
positions as a scatter in its own colour (the paper's Figure 10 in continuous space)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from pmaxent.continuous.worlds import ContinuousWorld  # noqa: E402
from pmaxent.plots import save_figure  # noqa: E402

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


def plot_world(
    world: ContinuousWorld,
    path: str | Path,
    points=None,
    colors: Sequence | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    point_size: float = 2.0,
    alpha: float = 0.35,
) -> Path:
    """Draw ``world`` (walls as filled rectangles over the arena, start boxes tinted) to ``path``.

    Args:
        world: the world to draw.
        path: output file (format from the suffix).
        points: optional visited positions per agent: an array [m, ..., 2] (all leading axes after
            the first are pooled, e.g. [m, K, T + 1, 2]), an array [N, 2] for one agent, or a
            list of per-agent arrays [N_i, 2].
        colors: one matplotlib colour per agent (default: the tab10 cycle).
        labels: one legend label per agent (default "agent 1", ...; no legend for one agent).
        title: figure title (default: the world's name).
        point_size, alpha: scatter marker size and opacity.
    """
    x0, x1, y0, y1 = world.bounds
    scale = min(_UNIT_INCHES, _MAX_INCHES / max(x1 - x0, y1 - y0))
    fig, ax = plt.subplots(figsize=((x1 - x0) * scale + 0.6, (y1 - y0) * scale + 0.6))
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=FLOOR_COLOUR, edgecolor=WALL_COLOUR, linewidth=2, zorder=0))
    for sx0, sx1, sy0, sy1 in world.starts:
        ax.add_patch(Rectangle((sx0, sy0), sx1 - sx0, sy1 - sy0, facecolor=START_COLOUR, edgecolor="none", zorder=1))
    if points is not None:
        agents = _agent_points(points)
        if colors is None:
            cycle = plt.get_cmap("tab10")
            colors = [cycle(i % 10) for i in range(len(agents))]
        if len(colors) < len(agents):
            raise ValueError(f"{len(agents)} agents but {len(colors)} colours")
        if labels is not None and len(labels) < len(agents):
            raise ValueError(f"{len(agents)} agents but {len(labels)} labels")
        for i, agent in enumerate(agents):
            label = labels[i] if labels is not None else f"agent {i + 1}"
            ax.scatter(agent[:, 0], agent[:, 1], s=point_size, color=colors[i], alpha=alpha, linewidths=0, label=label, zorder=2)
        if len(agents) > 1 or labels is not None:
            legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=4 / max(point_size, 0.1) ** 0.5, frameon=False)
            for handle in legend.legend_handles:
                handle.set_alpha(1.0)
    for wx0, wx1, wy0, wy1 in world.walls:
        ax.add_patch(Rectangle((wx0, wy0), wx1 - wx0, wy1 - wy0, facecolor=WALL_COLOUR, edgecolor="none", zorder=3))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_title(world.name if title is None else title)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return save_figure(fig, path)


__all__ = ["plot_world"]
