"""The MEPOL family: one agent trained by MEPOL's off-policy steps, in the continuous family's
worlds; its datasets and offline evaluation are those of the continuous family."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pmaxent.continuous.family import ContinuousFamily, collect_summary, evaluate_offline
from pmaxent.core.components import Components
from pmaxent.core.family import Collected, Family
from pmaxent.core.runs import TrainedRun
from pmaxent.mepol.algorithm import MepolConfig


class MepolFamily(Family):
    """MEPOL (Mutti et al., AAAI 2021) as a baseline: `pmaxent train --method mepol`."""

    name = "mepol"
    config_class = MepolConfig
    offline_config_class = ContinuousFamily.offline_config_class

    def env_names(self) -> tuple[str, ...]:
        return ContinuousFamily().env_names()

    def owns(self, env: str) -> bool:
        return ContinuousFamily().owns(env)

    def train(
        self,
        config: MepolConfig,
        out_dir: str | Path | None = None,
        *,
        resume: bool = False,
        progress: bool = True,
        plot: bool = True,
        components: Components | None = None,
    ) -> TrainedRun:
        from pmaxent.mepol.runs import run_mepol

        return run_mepol(config, out_dir, resume=resume, progress=progress, plot=plot, components=components)

    def figures(self, run: TrainedRun) -> None:
        ContinuousFamily().figures(run)

    def collect(
        self, run_dir: Path, methods: Sequence[str] | None, trajectories: int, overwrite: bool, progress: bool
    ) -> Collected:
        return collect_summary(self.load(run_dir), methods, trajectories, overwrite, progress)

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
