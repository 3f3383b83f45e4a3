"""The settings of offline goal reaching in the continuous worlds (:mod:`pmaxent.continuous.offline`),
in one place: the learner, its budget and the judge."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from pmaxent.continuous.goals import GOAL_RADIUS, GOAL_SPACING
from pmaxent.core.config import check_layer_sizes, check_positive_int
from pmaxent.gcrl.config import GCIQL, GCConfig

JAX_ALGORITHMS = ("gcivl", "gciql")
"""pmaxent's learners (:mod:`pmaxent.gcrl`)."""
D3RLPY_ALGORITHMS = ("d3rlpy-iql", "d3rlpy-td3+bc")
"""The cross-check's learners (the offline extra)."""
ALGORITHMS = JAX_ALGORITHMS + D3RLPY_ALGORITHMS


@dataclasses.dataclass(frozen=True)
class ContinuousOfflineConfig:
    """Settings of offline goal reaching in the continuous worlds (learner settings not named here
    are :class:`~pmaxent.gcrl.config.GCConfig`'s, OGBench's)."""

    algorithm: str = "gcivl"
    """gcivl or gciql (pmaxent's JAX learners); d3rlpy-iql or d3rlpy-td3+bc (cross-check, offline extra)."""
    steps: int = 60_000
    """Gradient steps per dataset (one goal-conditioned agent per dataset)."""
    offline_batch_size: int = 256
    """Transitions per gradient step."""
    offline_hidden: tuple[int, ...] = (32, 32)
    """Hidden layer sizes of the actor, critic and value networks."""
    temperature: float = 1.0
    """Evaluation acts by the policy's Gaussian with its standard deviation scaled by this (0: its mean)."""
    goal_radius: float = GOAL_RADIUS
    """A goal is reached within this distance of it."""
    goal_spacing: float = GOAL_SPACING
    """Spacing of the goal grid of worlds without a map (map worlds: every floor cell but the start)."""
    eval_episodes: int = 10
    """Evaluation episodes per goal in the true world."""
    max_episode_steps: int = 400
    """An evaluation episode is cut after this many steps."""
    hindsight_draws: int = 8
    """d3rlpy only: hindsight goals drawn per transition into its fixed relabelled table."""
    workers: int = 0
    """d3rlpy only: processes training datasets at once (0: one per CPU core)."""

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown offline algorithm {self.algorithm!r}; choose from {', '.join(ALGORITHMS)}")
        for name in ("steps", "offline_batch_size", "eval_episodes", "max_episode_steps", "hindsight_draws"):
            check_positive_int(name, getattr(self, name))
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"workers must be 0 (one per core) or a positive integer; got {self.workers!r}")
        check_layer_sizes("offline_hidden", self.offline_hidden)
        for name in ("goal_radius", "goal_spacing"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and positive; got {value!r}")
        if not (isinstance(self.temperature, (int, float)) and np.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be finite and non-negative; got {self.temperature!r}")
        object.__setattr__(self, "offline_hidden", tuple(self.offline_hidden))

    @property
    def processes(self) -> int:
        return self.workers or os.cpu_count() or 1

    def learner(self) -> GCConfig:
        """The learner's settings: OGBench's GCIVL or GCIQL; for d3rlpy, IQL with AWR extraction."""
        if self.algorithm == "gciql":
            base = GCIQL
        elif self.algorithm in D3RLPY_ALGORITHMS:
            base = dataclasses.replace(GCIQL, actor_loss="awr", alpha=GCConfig.alpha)
        else:
            base = GCConfig()
        return dataclasses.replace(
            base, steps=self.steps, batch_size=self.offline_batch_size, hidden=self.offline_hidden
        )


QUICK_OFFLINE = ContinuousOfflineConfig(steps=100, offline_hidden=(32, 32), eval_episodes=2, max_episode_steps=50)
"""What the tests and ``pmaxent offline --quick`` run."""
