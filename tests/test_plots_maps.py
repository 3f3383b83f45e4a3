"""Grid pictures: the maps, per-cell heatmaps and policy arrows write real images."""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import imread

from pmaxent.plots.maps import grid_heatmap, plot_map, plot_policies
from pmaxent.tabular import from_gymnasium, make

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path, min_width: int, min_height: int) -> np.ndarray:
    """A PNG of at least the given pixel size that is not one flat colour; returns its pixels."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert path.stat().st_size > 5_000
    pixels = imread(path)
    height, width = pixels.shape[:2]
    assert width >= min_width and height >= min_height, (width, height)
    assert pixels[..., :3].std() > 0.05  # walls, floor and marks, not a blank canvas
    return pixels


@pytest.mark.parametrize("name, goal", [("room-det", 44), ("maze-stoc", None)])
def test_plot_map(tmp_path, name, goal):
    mdp = make(name)
    path = plot_map(mdp, tmp_path / "figures" / f"{name}.png", title=name, goal=goal)
    assert path == tmp_path / "figures" / f"{name}.png"
    rows, cols = mdp.grid_shape
    pixels = assert_png(path, min_width=30 * cols, min_height=30 * rows)
    # The walls are drawn dark: a good share of the image is near-black.
    dark = (pixels[..., :3].mean(axis=-1) < 0.3).mean()
    assert 0.05 < dark < 0.7


def test_plot_map_rejects_bad_goal_and_non_grid(tmp_path):
    with pytest.raises(ValueError, match="goal 5 is not a floor cell"):
        plot_map(make("room-det"), tmp_path / "x.png", goal=5)
    grid_less = dataclasses.replace(make("room-det"), grid_shape=None)
    with pytest.raises(ValueError, match="not a grid world"):
        plot_map(grid_less, tmp_path / "x.png")


def test_grid_heatmap_masks_walls(tmp_path):
    mdp = make("maze-det")
    values = np.arange(mdp.n_states, dtype=float)
    values[~mdp.valid] = 1e9  # would dominate the colour scale if walls were not masked
    fig, ax = plt.subplots()
    image = grid_heatmap(ax, mdp, values, cmap="magma", label="visits")
    assert image.get_clim() == (1.0, 93.0)  # floor cells only: 1 .. 93
    assert image.get_array().mask.sum() == mdp.n_states - mdp.n_valid
    path = tmp_path / "heatmap.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    assert_png(path, min_width=200, min_height=200)

    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="values must have shape"):
        grid_heatmap(ax, mdp, np.zeros(99))
    plt.close(fig)


def test_grid_heatmap_accepts_a_rows_by_cols_array():
    mdp = make("room-det")
    fig, ax = plt.subplots()
    image = grid_heatmap(ax, mdp, np.ones((5, 11)), vmin=0, vmax=2, colorbar=False)
    assert image.get_clim() == (0.0, 2.0)
    plt.close(fig)


def _random_policies(n_agents: int, n_states: int, seed: int = 0) -> np.ndarray:
    logits = 3 * np.random.default_rng(seed).normal(size=(n_agents, n_states, 4))
    probs = np.exp(logits)
    return probs / probs.sum(-1, keepdims=True)


@pytest.mark.parametrize("name, n_agents", [("room-stoc", 2), ("maze-det", 4)])
def test_plot_policies(tmp_path, name, n_agents):
    mdp = make(name)
    probs = _random_policies(n_agents, mdp.n_states)
    probs[-1] = 0.25  # a uniform agent
    titles = [f"agent {i}" for i in range(n_agents)]
    path = plot_policies(mdp, probs, tmp_path / "policies.png", titles)
    assert path == tmp_path / "policies.png"
    rows, cols = mdp.grid_shape
    assert_png(path, min_width=30 * cols * min(n_agents, 3), min_height=30 * rows)


@pytest.mark.parametrize(
    "shape",
    [(55, 4), (2, 54, 4), (2, 55, 3), (2, 55, 5), (1, 2, 55, 4), (0, 55, 4)],
)
def test_plot_policies_rejects_wrong_shapes(tmp_path, shape):
    with pytest.raises(ValueError, match=r"probs must have shape \[m, S, A\] = \[m, 55, 4\]"):
        plot_policies(make("room-det"), np.full(shape, 0.25), tmp_path / "x.png", None)
    assert not (tmp_path / "x.png").exists()


def test_plot_policies_rejects_non_distributions_and_title_count(tmp_path):
    mdp = make("room-det")
    with pytest.raises(ValueError, match="sum to 1"):
        plot_policies(mdp, np.full((2, 55, 4), 0.3), tmp_path / "x.png", ["a", "b"])
    with pytest.raises(ValueError, match="got 1 titles for 2 agents"):
        plot_policies(mdp, np.full((2, 55, 4), 0.25), tmp_path / "x.png", ["a"])


def test_plot_map_of_a_gymnasium_grid(tmp_path):
    mdp = from_gymnasium("FrozenLake-v1")
    assert_png(plot_map(mdp, tmp_path / "frozenlake.png"), min_width=120, min_height=120)
