"""The MEPOL family: one agent trained by MEPOL's off-policy steps, in the continuous family's
worlds; its worlds, figures, datasets and offline evaluation are the continuous family's."""

from __future__ import annotations

from pathlib import Path

from pmaxent.continuous.family import ContinuousFamily
from pmaxent.core.components import Components
from pmaxent.core.runs import TrainedRun
from pmaxent.mepol.algorithm import MepolConfig


class MepolFamily(ContinuousFamily):
    """MEPOL (Mutti et al., AAAI 2021) as a baseline: `pmaxent train --method mepol`."""

    name = "mepol"
    config_class = MepolConfig
    suites = ()

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
