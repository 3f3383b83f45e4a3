"""Figures of the datasets and of offline RL on them (the paper's Figures 2, 3, 8 and 9).

Every function takes the numbers to draw and an output path (format from the suffix) and
returns the path. Families are drawn in the order parallel, single, random, in the colours of
the learning curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.patches import Rectangle

from pmaxent.plots import GridMap, save_figure, subplots
from pmaxent.plots.maps import START_COLOUR, grid_heatmap
from pmaxent.plots.training import METHOD_COLOURS, METHOD_LABELS

_FAMILY_ORDER = ("parallel", "single", "random")


def _ordered(families: Mapping[str, object]) -> list[str]:
    """Families in the paper's order, unknown ones after them; ValueError if there are none."""
    if not families:
        raise ValueError("nothing to plot: no dataset family given")
    return [f for f in _FAMILY_ORDER if f in families] + [f for f in families if f not in _FAMILY_ORDER]


def plot_dataset_entropy(
    normalized_entropy: Mapping[str, Mapping[str, Sequence[float]]],
    path: str | Path,
    title: str | None = None,
    normalized: bool = True,
) -> Path:
    """Figure 2: dataset normalized entropy per family, mean and std over seeds, a panel per environment.

    Args:
        normalized_entropy: {env: {family: [n_seeds] normalized entropies}}.
        path: output image.
        normalized: False: the values are raw entropies in nats (a world with no finite volume to
            normalise by, e.g. the Ant's position); the axis is then not clamped to [0, 1].
    """
    if not normalized_entropy:
        raise ValueError("nothing to plot: no environment given")
    fig, axes = subplots(
        1, len(normalized_entropy), figsize=(2.8 * len(normalized_entropy) + 0.4, 3.2), squeeze=False, sharey=True
    )
    for ax, (env, by_family) in zip(axes.flat, normalized_entropy.items(), strict=True):
        families = _ordered(by_family)
        values = [np.asarray(by_family[f], float) for f in families]
        ax.bar(
            np.arange(len(families)), [v.mean() for v in values], yerr=[v.std() for v in values], capsize=4,
            color=[METHOD_COLOURS.get(f, "tab:purple") for f in families],
        )  # fmt: skip
        ax.set_xticks(np.arange(len(families)), families)
        ax.set_title(env, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        if normalized:
            lowest = min(float(v.min()) for v in values)
            ax.set_ylim(max(0.0, lowest - 0.1), 1.0)
    axes[0, 0].set_ylabel("dataset normalized entropy" if normalized else "dataset entropy (nats)")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_occupancy_heatmaps(
    mdp: GridMap, occupancy: Mapping[str, np.ndarray], path: str | Path, title: str | None = None
) -> Path:
    """Figure 8: state occupancy of the datasets on the grid, a panel per family (walls dark).

    Args:
        mdp: the grid world.
        occupancy: {family: float [S]}, e.g. the empirical state distribution averaged over seeds.
        path: output image.
    """
    families = _ordered(occupancy)
    top = max(float(np.max(np.asarray(occupancy[f])[mdp.valid])) for f in families)
    fig, axes = _grid_panels(mdp, len(families))
    for ax, family in zip(axes, families, strict=True):
        # A light low end keeps unvisited floor cells distinct from the dark walls.
        image = grid_heatmap(ax, mdp, occupancy[family], cmap="YlOrRd", vmin=0.0, vmax=top, colorbar=False)
        ax.set_title(METHOD_LABELS.get(family, family), fontsize=9)
    fig.colorbar(image, ax=list(axes), label="state occupancy", fraction=0.03, pad=0.02)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_offline_success_bars(success: Mapping[str, np.ndarray], path: str | Path, title: str | None = None) -> Path:
    """Figure 3: offline success rate per goal, sorted, a panel per family, dashed line at the mean.

    Args:
        success: {family: float [G]} success per goal (averaged over seeds).
        path: output image.
    """
    families = _ordered(success)
    fig, axes = subplots(1, len(families), figsize=(3.4 * len(families), 3.0), squeeze=False, sharey=True)
    for ax, family in zip(axes.flat, families, strict=True):
        rates = np.sort(np.asarray(success[family], float))[::-1]
        colour = METHOD_COLOURS.get(family, "tab:purple")
        ax.bar(np.arange(len(rates)), rates, width=0.75, color=colour)
        ax.axhline(rates.mean(), color=colour, linestyle="--", linewidth=1.5, label=f"mean {rates.mean():.2f}")
        ax.set_title(METHOD_LABELS.get(family, family), fontsize=9)
        ax.set_xlabel("goals, sorted")
        ax.set_xticks([])
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8, loc="upper right")
    axes[0, 0].set_ylabel("success rate")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_offline_success_heatmaps(
    mdp: GridMap, goals: Sequence[int], success: Mapping[str, np.ndarray], path: str | Path, title: str | None = None
) -> Path:
    """Figure 9: offline success rate of each goal cell on the grid, a panel per family.

    Walls are dark; the start (never a goal) is marked 'S' and left blank.

    Args:
        mdp: the grid world.
        goals: int [G] goal states.
        success: {family: float [G]} success per goal, in the order of ``goals``.
        path: output image.
    """
    families = _ordered(success)
    goals = np.asarray(goals, int)
    fig, axes = _grid_panels(mdp, len(families))
    for ax, family in zip(axes, families, strict=True):
        rates = np.asarray(success[family], float)
        if rates.shape != goals.shape:
            raise ValueError(f"{family}: {rates.shape[0] if rates.ndim else 0} success rates for {len(goals)} goals")
        cells = np.zeros(mdp.n_states)
        cells[goals] = rates
        image = grid_heatmap(ax, mdp, cells, cmap="viridis", vmin=0.0, vmax=1.0, colorbar=False)
        # Start cells are no goal: cover their (meaningless) colour, under the 'S' drawn above.
        for start in np.flatnonzero(mdp.mu > 0):
            row, col = divmod(int(start), mdp.grid_shape[1])
            ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, color=START_COLOUR, zorder=1))
        ax.set_title(f"{METHOD_LABELS.get(family, family)}: {rates.mean():.2f}", fontsize=9)
    fig.colorbar(image, ax=list(axes), label="success rate", fraction=0.03, pad=0.02)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def _grid_panels(mdp: GridMap, count: int):
    """A row of ``count`` axes sized to the grid."""
    if mdp.grid_shape is None:
        raise ValueError(f"{mdp.name} is not a grid world; there is no heatmap to draw")
    rows, cols = mdp.grid_shape
    fig, axes = subplots(
        1, count, figsize=(count * (cols * 0.32 + 0.3) + 1.0, rows * 0.32 + 0.7), squeeze=False, layout="constrained"
    )
    return fig, list(axes.flat)


__all__ = [
    "plot_dataset_entropy",
    "plot_occupancy_heatmaps",
    "plot_offline_success_bars",
    "plot_offline_success_heatmaps",
]
