"""What offline goal-reaching RL on a run's datasets finds, whatever the family: success rates per
dataset family (method), dataset and goal."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class OfflineResult:
    """Success rates of one variant on the datasets of several families.

    Attributes:
        variant: "paper" or "converged".
        env: environment name.
        goals: int32 [G].
        success: family -> float [n_datasets, G], success rate per dataset and goal.
        seeds: family -> training seed of each dataset.
    """

    variant: str
    env: str
    goals: np.ndarray
    success: dict[str, np.ndarray]
    seeds: dict[str, tuple[int, ...]]

    def per_goal(self, family: str) -> np.ndarray:
        """Success per goal averaged over the family's datasets (seeds): float [G]."""
        return self.success[family].mean(axis=0)

    def mean_success(self, family: str) -> float:
        """Mean over goals of :meth:`per_goal`."""
        return float(self.per_goal(family).mean())
