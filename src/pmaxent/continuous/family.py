"""The continuous family: pmaxent's navigation worlds and text maps, MJX worlds and any
Gymnasium environment with Box spaces; Gaussian MLP teams and the k-NN entropy (SPEC section 11)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.host_gymnasium import parse_gym_name
from pmaxent.continuous.offline_config import ContinuousOfflineConfig
from pmaxent.core.family import Collected, Family, SummaryTable
from pmaxent.core.runs import TrainedRun


class ContinuousFamily(Family):
    """Continuous states: PGPSE teams of Gaussian MLPs, goal-conditioned offline RL, its suite."""

    name = "continuous"
    config_class = ContinuousTrainConfig
    offline_config_class = ContinuousOfflineConfig
    suites = ("continuous",)

    def env_names(self) -> tuple[str, ...]:
        from pmaxent.continuous.mjx_worlds import MJX_NAMES
        from pmaxent.continuous.ogbench_mazes import MAZES
        from pmaxent.continuous.worlds import CONTINUOUS_ENVS

        return (*CONTINUOUS_ENVS, *MJX_NAMES, *MAZES)

    def owns(self, env: str) -> bool:
        return parse_gym_name(env) is not None or super().owns(env)

    def make_env(self, name: str, **options):
        from pmaxent.continuous import mjx_worlds, ogbench_mazes, worlds

        if name.strip() in mjx_worlds.MJX_NAMES:
            return mjx_worlds.make(name.strip(), **options)
        if name.strip() in ogbench_mazes.MAZES:
            return ogbench_mazes.maze_world(name.strip(), **options)
        return worlds.make(name, **options)

    def draw(self, env: str, path: Path, layout: Sequence[str] | None = None, goal: int | None = None) -> str:
        from pmaxent.continuous import worlds
        from pmaxent.plots.continuous import plot_world

        if goal is not None:
            raise ValueError("--goal marks a cell of a tabular map; continuous worlds have no cells to mark")
        world = worlds.from_map(layout, name=env) if layout is not None else self.make_env(env)
        path = plot_world(world, path)
        x0, x1, y0, y1 = world.bounds
        return (
            f"{world.name}: [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}], {len(world.walls)} walls, horizon {world.horizon} -> "
            f"{path}"
        )

    def figures(self, run: TrainedRun) -> None:
        from pmaxent.continuous.team import team_figures

        team_figures(run)

    def measure(self, run: TrainedRun) -> dict[str, dict[str, np.ndarray]]:
        """The yardstick of the claims (fresh rollouts, :mod:`pmaxent.continuous.evaluation`); a world
        stepped on the host (gym:ID) has none: its training metrics at the end."""
        from pmaxent.continuous.evaluation import yardstick
        from pmaxent.core.components import HostEnvironment

        if isinstance(run.components.env, HostEnvironment):
            return super().measure(run)
        return {
            method: yardstick(run.components, run.params[method], run.config.seeds, uniform=method == "random")
            for method in run.config.methods
        }

    def collect(
        self, run_dir: Path, methods: Sequence[str] | None, trajectories: int, overwrite: bool, progress: bool
    ) -> Collected:
        return collect_summary(self.load(run_dir), methods, trajectories, overwrite, progress)

    def export(self, run_dir: Path, out: Path, methods: Sequence[str] | None, trajectories: int) -> list[Path]:
        from pmaxent.continuous.datasets import export_ogbench

        return export_ogbench(self.load(run_dir), out, methods, trajectories)

    def evaluate(
        self,
        run_dir: Path,
        options: dict,
        *,
        seed: int,
        methods: Sequence[str] | None,
        trajectories: int,
        quick: bool,
        progress: bool,
    ) -> dict:
        return evaluate_offline(
            self.load(run_dir),
            options,
            seed=seed,
            methods=methods,
            trajectories=trajectories,
            quick=quick,
            progress=progress,
        )

    def reproduce(
        self,
        suite: str,
        out_dir: Path,
        *,
        quick: bool,
        progress: bool,
        skip: Sequence[str] = (),
        seeds: int | None = None,
        address: str | None = None,
    ) -> Path:
        from pmaxent.continuous.suite import QUICK_CONTINUOUS, ContinuousSuiteConfig, reproduce_continuous

        if skip:
            raise ValueError(f"the continuous suite has no optional stage {', '.join(skip)}")
        config = QUICK_CONTINUOUS if quick else ContinuousSuiteConfig()
        if seeds is not None:
            config = dataclasses.replace(config, seeds=tuple(range(seeds)))
        return reproduce_continuous(out_dir, config, progress=progress, address=address)


def collect_summary(
    run: TrainedRun, methods: Sequence[str] | None, trajectories: int, overwrite: bool, progress: bool
) -> Collected:
    """Collect a run's datasets in a continuous world and summarise them (k-NN entropy, coverage)."""
    from pmaxent.continuous.datasets import collect_continuous_run
    from pmaxent.datasets import datasets_root

    collected = collect_continuous_run(
        run, methods, trajectories=trajectories, overwrite=overwrite, show_progress=progress
    )
    # a world without a finite feature volume (the Ant, most gym:ID worlds) reports raw entropy; one without
    # coverage leaves it out
    normalized = all(np.isfinite(d.normalized_entropy) for group in collected.values() for d in group)
    covered = any(np.isfinite(d.coverage) for group in collected.values() for d in group)
    columns = (
        "method",
        "datasets",
        "episodes each",
        "normalized entropy (k-NN)" if normalized else "entropy (k-NN, nats)",
        *(("coverage",) if covered else ()),
    )
    rows = []
    for method, group in collected.items():
        entropy = np.array([d.normalized_entropy if normalized else d.entropy for d in group])
        coverage = np.array([d.coverage for d in group])
        cells = (f"{coverage.mean():.3f} ± {coverage.std():.3f}",) if covered else ()
        rows.append(
            (
                method,
                str(len(group)),
                str(group[0].observations.shape[0]),
                f"{entropy.mean():.3f} ± {entropy.std():.3f}",
                *cells,
            )
        )
    note = f"Minari root: {datasets_root(run.run_dir)} (set MINARI_DATASETS_PATH to it)"
    return Collected(collected, SummaryTable(f"datasets of {run.run_dir}", columns, tuple(rows), note))


def evaluate_offline(
    run: TrainedRun,
    options: dict,
    *,
    seed: int,
    methods: Sequence[str] | None,
    trajectories: int,
    quick: bool,
    progress: bool,
) -> dict:
    """Goal-conditioned offline RL on a continuous run's datasets, one agent per dataset."""
    import dataclasses

    from pmaxent.continuous.offline import evaluate_continuous_run
    from pmaxent.continuous.offline_config import QUICK_OFFLINE

    config = dataclasses.replace(QUICK_OFFLINE if quick else ContinuousOfflineConfig(), **options)
    result = evaluate_continuous_run(
        run, config, seed=seed, methods=methods, trajectories=trajectories, show_progress=progress
    )
    return {f"{config.algorithm} ({len(result.goals)} goals)": result}
