"""The tabular family: the paper's gridworlds and text maps, softmax tables, the plug-in entropy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pmaxent.core.family import Collected, Family, SummaryTable
from pmaxent.tabular.config import TabularTrainConfig
from pmaxent.tabular.offline import OfflineChoice


class TabularFamily(Family):
    """SPEC sections 3-8: finite MDPs, tabular teams, offline Q-learning, the paper's suite."""

    name = "tabular"
    config_class = TabularTrainConfig
    offline_config_class = OfflineChoice
    suites = ("paper",)

    def env_names(self) -> tuple[str, ...]:
        from pmaxent.tabular.mdp import PAPER_ENVS

        return tuple(PAPER_ENVS)

    def commands(self) -> dict:
        from pmaxent.tabular.theory.cli import app

        return {"theory": (app, "The paper's theory: concentration bound, parallel Frank-Wolfe.")}

    def make_env(self, name: str, **options):
        from pmaxent.tabular.mdp import make

        return make(name, **options)

    def draw(self, env: str, path: Path, layout: Sequence[str] | None = None, goal: int | None = None) -> str:
        from pmaxent.plots.maps import plot_map
        from pmaxent.tabular.mdp import from_map, make

        mdp = from_map(layout, name=env) if layout is not None else make(env)
        path = plot_map(mdp, path, title=mdp.name, goal=goal)
        return (
            f"{mdp.name}: {mdp.grid_shape[0]} x {mdp.grid_shape[1]}, {mdp.n_valid} cells, start {mdp.start_state}, "
            f"horizon {mdp.horizon} -> {path}"
        )

    def collect(
        self, run_dir: Path, methods: Sequence[str] | None, trajectories: int, overwrite: bool, progress: bool
    ) -> Collected:
        from pmaxent.datasets import datasets_root
        from pmaxent.tabular.run_datasets import collect_run, dataset_metrics

        mdp, collected = collect_run(
            run_dir, methods, trajectories=trajectories, overwrite=overwrite, show_progress=progress
        )
        rows = []
        for method, group in collected.items():
            metrics = dataset_metrics(group, mdp)
            entropy, support = metrics.normalized_entropy, metrics.support
            rows.append(
                (
                    method,
                    str(len(group)),
                    str(group[0].n_episodes),
                    f"{entropy.mean():.3f} ± {entropy.std():.3f}",
                    f"{support.mean():.1f} ± {support.std():.1f}",
                )
            )
        columns = ("method", "datasets", "episodes each", "normalized entropy", "support")
        note = f"Minari root: {datasets_root(run_dir)} (set MINARI_DATASETS_PATH to it for minari.load_dataset)"
        return Collected(collected, SummaryTable(f"datasets of {run_dir} ({mdp.name})", columns, tuple(rows), note))

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
        from pmaxent.tabular.offline import evaluate_run

        if quick:
            raise ValueError(f"--quick applies to continuous runs only; {run_dir} is a tabular run")
        choice = OfflineChoice(**options)
        return evaluate_run(
            run_dir, choice.variant, seed=seed, methods=methods, trajectories=trajectories, show_progress=progress
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
        import dataclasses

        from pmaxent.tabular.paper import QUICK, ReproduceConfig, reproduce

        unknown = set(skip) - {"theory"}
        if unknown:
            raise ValueError(f"the paper suite has no optional stage {', '.join(sorted(unknown))}; it can skip: theory")
        config = dataclasses.replace(QUICK if quick else ReproduceConfig(), theory="theory" not in skip)
        if seeds is not None:
            config = dataclasses.replace(config, seeds=tuple(range(seeds)))
        return reproduce(out_dir, config, progress=progress, address=address)
