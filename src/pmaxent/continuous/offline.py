"""Offline goal reaching on continuous exploration datasets.

The question of ExORL and of the paper's Figures 3 and 9, in continuous space, asked as OGBench
asks it: one goal-conditioned agent learns offline from each reward-free dataset of ``pmaxent
collect``, its goals being states the dataset reached (OGBench's hindsight goals, never the
evaluation goals); it is then judged in the true world on every goal of the world
(:func:`pmaxent.continuous.goals.goal_points`), ``eval_episodes`` episodes per goal from the start
distribution, each cut after ``max_episode_steps`` steps; the success rate of a goal is the
fraction of episodes that come within the radius of it.

The learners are pmaxent's JAX GCIVL and GCIQL (:mod:`pmaxent.gcrl`; every dataset's agent
trained at once by :mod:`pmaxent.continuous.goal_reaching`), or d3rlpy's IQL and TD3+BC as an
independent cross-check on PyTorch (:mod:`pmaxent.continuous.offline_d3rlpy`, the ``offline``
extra). Evaluation acts by the learned policy at ``temperature`` (1: the Gaussian as learned).
The settings are :class:`~pmaxent.continuous.offline_config.ContinuousOfflineConfig`.
"""

from __future__ import annotations

import importlib.util
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import jax
import numpy as np

from pmaxent.continuous.goals import goal_points
from pmaxent.continuous.offline_config import (
    D3RLPY_ALGORITHMS,
    JAX_ALGORITHMS,
    ContinuousOfflineConfig,
)
from pmaxent.continuous.worlds import ContinuousWorld
from pmaxent.core.tables import write_csv
from pmaxent.datasets import DATASET_METHODS
from pmaxent.gcrl.data import from_trajectories
from pmaxent.offline import OfflineResult

if TYPE_CHECKING:
    from pmaxent.core.runs import TrainedRun


def d3rlpy_available() -> bool:
    """Whether d3rlpy (the ``offline`` extra) is installed."""
    return importlib.util.find_spec("d3rlpy") is not None


def _learner_seed(seed: int, family: str, dataset_seed: int) -> int:
    return zlib.crc32(f"{seed}/{family}/{dataset_seed}".encode()) & 0x7FFFFFFF


def evaluate_continuous_datasets(
    world: ContinuousWorld,
    datasets_by_family: Mapping[str, Sequence],
    config: ContinuousOfflineConfig = ContinuousOfflineConfig(),
    *,
    seed: int = 0,
    goals: np.ndarray | None = None,
    show_progress: bool = False,
) -> OfflineResult:
    """Offline goal reaching on every dataset (anything with ``observations`` [E, T+1, 2],
    ``actions`` [E, T, 2] and ``seed``, e.g. :class:`~pmaxent.continuous.datasets.ContinuousDataset`).

    Returns an :class:`~pmaxent.offline.OfflineResult` whose ``variant`` is the
    algorithm, ``goals`` float [G, 2] and ``success[family]`` float [n_datasets, G].
    """
    if config.algorithm in D3RLPY_ALGORITHMS and not d3rlpy_available():
        raise ValueError(
            f"{config.algorithm} uses d3rlpy, which is not installed: pip install 'pmaxent[offline]' "
            f"(or use {' or '.join(JAX_ALGORITHMS)})"
        )
    goals = (
        goal_points(world, config.goal_spacing, config.goal_radius)
        if goals is None
        else np.asarray(goals, np.float32).reshape(-1, 2)
    )
    families = [family for family in DATASET_METHODS if len(datasets_by_family.get(family, ()))]
    families += [family for family in datasets_by_family if family not in families and len(datasets_by_family[family])]
    if not families:
        raise ValueError("no dataset to learn from")
    listed = [(family, d) for family in families for d in datasets_by_family[family]]
    for _, d in listed:
        shape = np.shape(d.observations)
        if len(shape) != 3 or shape[-1] != 2:
            raise ValueError(f"datasets must hold positions [E, T+1, 2]; got observations of shape {shape}")
    data = [from_trajectories(d.observations, d.actions, world.max_step) for _, d in listed]
    seeds = [_learner_seed(seed, family, d.seed) for family, d in listed]
    if config.algorithm in JAX_ALGORITHMS:
        from pmaxent.continuous.goal_reaching import learn_and_judge

        success = learn_and_judge(world, data, seeds, goals, config, jax.random.key(seed), show_progress)
    else:
        from pmaxent.continuous.offline_d3rlpy import Job, run_jobs

        jobs = [Job(world, d, goals, config, s) for d, s in zip(data, seeds, strict=True)]
        success = run_jobs(jobs, min(config.processes, len(jobs)), show_progress)
    bounds = np.cumsum([0] + [len(datasets_by_family[family]) for family in families])
    return OfflineResult(
        variant=config.algorithm,
        env=world.name,
        goals=goals,
        success={family: success[bounds[i] : bounds[i + 1]] for i, family in enumerate(families)},
        seeds={family: tuple(int(d.seed) for d in datasets_by_family[family]) for family in families},
    )


CSV_FIELDS = ("env", "variant", "method", "seed", "goal", "goal_x", "goal_y", "success")


def write_offline_csv(path: Path | str, result: OfflineResult) -> Path:
    """One row per family, dataset (training seed) and goal."""
    rows = (
        (result.env, result.variant, family, seed, index, float(x), float(y), rate)
        for family, success in result.success.items()
        for seed, row in zip(result.seeds[family], success, strict=True)
        for index, ((x, y), rate) in enumerate(zip(result.goals.tolist(), row.tolist(), strict=True))
    )
    return write_csv(path, CSV_FIELDS, rows)


def evaluate_continuous_run(
    run: TrainedRun | Path | str,
    config: ContinuousOfflineConfig = ContinuousOfflineConfig(),
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    trajectories: int = 1,
    show_progress: bool = True,
) -> OfflineResult:
    """Offline goal reaching on the stored datasets of a continuous run (``pmaxent collect``);
    writes RUN/offline.csv, RUN/figures/fig3_offline_success.png (mean success per family) and
    RUN/figures/fig9_offline_heatmaps.png (success per goal over the world)."""
    from pmaxent.continuous.datasets import as_run, load_continuous_run_datasets
    from pmaxent.plots.continuous import plot_goal_success
    from pmaxent.plots.datasets import plot_offline_success_bars

    run = as_run(run)
    run_dir = run.run_dir
    world, datasets_by_family = load_continuous_run_datasets(run, methods, trajectories=trajectories)
    result = evaluate_continuous_datasets(world, datasets_by_family, config, seed=seed, show_progress=show_progress)
    write_offline_csv(run_dir / "offline.csv", result)
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    title = f"{world.name}: offline {config.algorithm}, {len(result.goals)} goals"
    plot_offline_success_bars(
        {family: result.success[family].mean(axis=1) for family in result.success},
        figures / "fig3_offline_success.png",
        title=title,
    )
    plot_goal_success(
        world,
        result.goals,
        {family: result.per_goal(family) for family in result.success},
        figures / "fig9_offline_heatmaps.png",
        radius=config.goal_radius,
        title=title,
    )
    return result
