"""Settings of a training run in a tabular world (SPEC section 5)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from pmaxent.core.components import Components
from pmaxent.core.train import TrainConfig

PAPER_SEEDS = (0, 1, 2, 42, 133)
"""The paper's training seeds."""

INITIALISATIONS = ("uniform", "zeros")


@dataclasses.dataclass(frozen=True)
class TabularTrainConfig(TrainConfig):
    """Every setting of a training run in a tabular world.

    Defaults are the paper's (SPEC section 5) except ``baseline``: the counterfactual baseline
    "both" lowers the gradient variance by orders of magnitude and never learned worse in the
    estimator study (docs). :func:`paper_config` gives the paper's estimator.
    """

    family: ClassVar[str] = "tabular"

    env: str = "room-det"
    """Environment: a paper name (room-det, room-stoc, maze-det, maze-stoc) or a label for `layout`."""
    horizon: int | None = None
    """T override (paper: 8 room, 10 maze; custom maps 10)."""
    slip: float | None = None
    """Slip probability override (paper: 0 for -det, 0.2 for -stoc; custom maps default 0)."""
    methods: tuple[str, ...] = ("parallel", "single", "random")
    """Which of parallel, single (one shared table, K' = m), random (uniform, untrained) to run."""
    trajectories: int = 1
    """K, trajectories per agent in each team sample (1 in the paper)."""
    seeds: tuple[int, ...] = PAPER_SEEDS
    """Training seeds, all run at once (vmapped)."""
    lr: float = 0.1
    """Step size alpha (constant in the authors' code; see lr_decay)."""
    lr_decay: float = 1.0
    """Per-update multiplicative decay of the step size (the paper's text says 0.999)."""
    optimizer: str = "sgd"
    """'sgd' (plain gradient ascent, the paper) or 'adam'."""
    time_indexed: bool = False
    """Non-stationary tables theta [m, T, S, A] instead of [m, S, A]."""
    init: str = "uniform"
    """Initial tables: 'uniform' in [-1, 1] (authors' default) or 'zeros'."""

    def __post_init__(self):
        super().__post_init__()
        if self.init not in INITIALISATIONS:
            raise ValueError(f"unknown init {self.init!r}; choose from {', '.join(INITIALISATIONS)}")

    def make_world(self):
        """The :class:`pmaxent.tabular.mdp.TabularMDP` this config names (or its text map)."""
        from pmaxent.tabular import mdp

        if self.layout is not None:
            return mdp.from_map(self.layout, slip=self.slip or 0.0, horizon=self.horizon or 10, name=self.env)
        return mdp.make(self.env, slip=self.slip, horizon=self.horizon)

    def make_components(self) -> Components:
        """The MDP's environment, a softmax team of tables and the plug-in entropy estimator."""
        from pmaxent.tabular.environment import tabular_components

        return tabular_components(self.make_world(), self.time_indexed, self.init)


def paper_config(env: str = "room-det", agents: int = 6, **overrides) -> TabularTrainConfig:
    """The paper's setting: B = 40, K = 1, 10,000 updates, seeds 0 1 2 42 133, constant lr 0.1,
    no baseline."""
    return TabularTrainConfig(env=env, agents=agents, **{"baseline": "none", **overrides})
