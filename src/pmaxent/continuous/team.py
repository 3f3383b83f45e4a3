"""Where a trained team goes: positions sampled with a run's parameters, and the team picture
every continuous run writes (RUN/team.png)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

from pmaxent.core.rollout import sample_team

TEAM_FILE = "team.png"


def _feature_sampler(run, trajectories: int):
    """One jitted ``(params, key, uniform) -> features [K, m, T+1, ...]`` for every method of a
    run: called eagerly, the rollout's ops ran one small program each (most of a short run's
    team picture)."""
    env, policy = run.components.env, run.components.policy

    def sample(params, key, uniform):
        samples = sample_team(env, policy, params, key, trajectories, "jax", uniform)
        return jax.vmap(jax.vmap(jax.vmap(env.features)))(samples.states)

    return jax.jit(sample)


def team_positions(run, method: str, seed_index: int = 0, trajectories: int = 1, seed: int = 0) -> np.ndarray:
    """Entropy features of ``trajectories`` trajectories of every agent of a trained method's team:
    float [m, trajectories * (T + 1), ...] (positions in the navigation worlds)."""
    return _positions(_feature_sampler(run, trajectories), run, method, seed_index, seed)


def _positions(sampler, run, method: str, seed_index: int, seed: int) -> np.ndarray:
    """:func:`team_positions` with a :func:`_feature_sampler` of the run (one for all methods)."""
    from pmaxent.core.runs import team_params

    params = jax.tree.map(lambda leaf: leaf[seed_index], team_params(run, method))
    features = np.asarray(sampler(params, jax.random.key(seed), np.asarray(method == "random")))  # [K, m, T+1, ...]
    return np.swapaxes(features, 0, 1).reshape((features.shape[1], -1) + features.shape[3:])


def write_team_picture(run, path: Path | None = None, trajectories: int = 4) -> Path:
    """One panel per method of the run (training seed 0): each agent's positions in its own colour,
    over the world's walls (an MJX point mass: over those of the kinematic world it was built from)."""
    from pmaxent.plots.continuous import plot_teams

    sampler = _feature_sampler(run, trajectories)
    teams = {method: _positions(sampler, run, method, 0, 0) for method in run.config.methods}
    drawing = getattr(run.world, "drawing", None)
    world = run.world if drawing is None else dataclasses.replace(drawing, name=run.world.name)
    return plot_teams(world, teams, path or run.run_dir / TEAM_FILE)


def team_figures(run) -> None:
    """The figures every continuous run writes beside its learning curve: the team picture, in a
    world with a floor plan (a navigation world, or an MJX point mass among its walls)."""
    from pmaxent.continuous.worlds import ContinuousWorld

    if isinstance(run.world, ContinuousWorld) or getattr(run.world, "drawing", None) is not None:
        write_team_picture(run)
