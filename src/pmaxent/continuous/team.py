"""Where a trained team goes: positions sampled with a run's parameters, and the team picture
every continuous run writes (RUN/team.png)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from pmaxent.rollout import sample_team

TEAM_FILE = "team.png"


def team_positions(run, method: str, seed_index: int = 0, trajectories: int = 1, seed: int = 0) -> np.ndarray:
    """Entropy features of ``trajectories`` trajectories of every agent of a trained method's team:
    float [m, trajectories * (T + 1), ...] (positions in the navigation worlds)."""
    from pmaxent.train import team_params

    params = jax.tree.map(lambda leaf: leaf[seed_index], team_params(run, method))
    env, policy = run.components.env, run.components.policy
    samples = sample_team(env, policy, params, jax.random.key(seed), trajectories, "jax", method == "random")
    features = np.asarray(jax.vmap(jax.vmap(jax.vmap(env.features)))(samples.states))  # [K, m, T+1, ...]
    return np.swapaxes(features, 0, 1).reshape((features.shape[1], -1) + features.shape[3:])


def write_team_picture(run, path: Path | None = None, trajectories: int = 4) -> Path:
    """One panel per method of the run (training seed 0): each agent's positions in its own colour,
    over the world's walls (an MJX point mass: over those of the kinematic world it was built from)."""
    from pmaxent.plots.continuous import plot_teams

    teams = {method: team_positions(run, method, trajectories=trajectories) for method in run.config.methods}
    drawing = getattr(run.world, "drawing", None)
    world = run.world if drawing is None else dataclasses.replace(drawing, name=run.world.name)
    return plot_teams(world, teams, path or run.run_dir / TEAM_FILE)
