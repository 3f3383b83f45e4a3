"""Learning curves: normalized entropy and support size against updates (the paper's Figures 1 and 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pmaxent.plots import save_figure, subplots

METHOD_COLOURS = {"parallel": "tab:blue", "single": "tab:orange", "latent": "tab:green", "random": "tab:gray"}
METHOD_LABELS = {
    "parallel": "parallel agents",
    "single": "single agent, K' = m",
    "latent": "single agent, latent modes",
    "random": "random policy",
}


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average along the last axis (valid part), to show trends under batch noise."""
    if window <= 1 or values.shape[-1] < window:
        return values
    kernel = np.ones(window) / window
    return np.apply_along_axis(lambda v: np.convolve(v, kernel, mode="valid"), -1, values)


def draw_curves(
    axes, curves: dict[str, dict[str, np.ndarray]], metrics=("normalized_entropy", "support"), smooth: int | None = None
) -> None:
    """Mean and std band over seeds of each method, one metric per axis.

    curves: {method: {metric: [n_seeds, updates]}}.
    """
    for ax, metric in zip(axes, metrics, strict=True):
        for method, values in curves.items():
            series = np.asarray(values[metric], float)
            window = smooth if smooth is not None else max(1, series.shape[-1] // 100)
            series = _smooth(series, window)
            x = np.arange(series.shape[-1]) + window
            mean, std = series.mean(axis=0), series.std(axis=0)
            colour = METHOD_COLOURS.get(method)
            ax.plot(x, mean, color=colour, label=METHOD_LABELS.get(method, method), lw=1.5)
            ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2, lw=0)
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("update")


def plot_learning_curves(
    curves: dict[str, dict[str, np.ndarray]],
    path: str | Path,
    title: str = "",
    metrics=("normalized_entropy", "support"),
) -> Path:
    """One panel per metric, top to bottom (default: normalized entropy and support size) of one
    environment and team size."""
    fig, axes = subplots(len(metrics), 1, figsize=(5.5, 2.5 * len(metrics)), sharex=True, squeeze=False)
    axes = axes[:, 0]
    draw_curves(axes, curves, metrics)
    axes[0].set_title(title)
    axes[0].legend(fontsize=8, loc="lower right")
    return save_figure(fig, path, dpi=120)


def plot_learning_grid(
    grid: dict[tuple[str, int], dict[str, dict[str, np.ndarray]]],
    path: str | Path,
    envs: list[str],
    agents: list[int],
    metrics=("normalized_entropy", "support"),
) -> Path:
    """The paper's Figure 1 / 7 layout: a column per (environment, m), a row per metric
    (default: entropy top, support bottom).

    grid: {(env, m): {method: {metric: [n_seeds, updates]}}}.
    """
    columns = [(env, m) for m in agents for env in envs if (env, m) in grid]
    fig, axes = subplots(
        len(metrics), len(columns), figsize=(3.2 * len(columns), 2.5 * len(metrics)), sharex="col", squeeze=False
    )
    for c, (env, m) in enumerate(columns):
        draw_curves(axes[:, c], grid[(env, m)], metrics)
        axes[0, c].set_title(f"{env}, m = {m}", fontsize=9)
        if c:
            for ax in axes[:, c]:
                ax.set_ylabel("")
    axes[0, 0].legend(fontsize=7, loc="lower right")
    return save_figure(fig, path, dpi=110)


def plot_checkpoint_curves(
    grid: dict[tuple[str, int], dict[str, tuple[np.ndarray, np.ndarray]]],
    path: str | Path,
    ylabel: str = "normalized entropy",
) -> Path:
    """A panel per (world, m): each method's score at its checkpoints, mean and std over seeds.

    grid: {(world, m): {method: (updates [U], values [n_seeds, U])}}.
    """
    columns = list(grid)
    fig, axes = subplots(1, len(columns), figsize=(3.2 * len(columns), 2.6), squeeze=False)
    for ax, key in zip(axes[0], columns, strict=True):
        for method, (updates, values) in grid[key].items():
            mean, std = values.mean(axis=0), values.std(axis=0)
            colour = METHOD_COLOURS.get(method)
            ax.plot(updates, mean, marker="o", ms=3, color=colour, label=METHOD_LABELS.get(method, method), lw=1.5)
            ax.fill_between(updates, mean - std, mean + std, color=colour, alpha=0.2, lw=0)
        ax.set_title(f"{key[0]}, m = {key[1]}", fontsize=9)
        ax.set_xlabel("update")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    return save_figure(fig, path, dpi=110)
