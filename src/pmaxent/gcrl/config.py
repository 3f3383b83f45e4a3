"""The settings of a goal-conditioned offline learner: OGBench's hyperparameters in one place."""

from __future__ import annotations

import dataclasses
import math

from pmaxent.core.config import check_layer_sizes, check_positive_int

AGENTS = ("gcivl", "gciql")
ACTOR_LOSSES = ("awr", "ddpgbc")


@dataclasses.dataclass(frozen=True)
class GCConfig:
    """A GCIVL or GCIQL learner (OGBench's defaults, except the network sizes and batch, which are
    chosen for a CPU by measurement: docs, offline learning)."""

    agent: str = "gcivl"
    """gcivl (implicit V-learning, AWR extraction) or gciql (implicit Q-learning)."""
    steps: int = 50_000
    """Gradient steps per agent."""
    batch_size: int = 256
    """Transitions per gradient step (OGBench: 1,024)."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer sizes of the value, critic and actor networks (OGBench: 512-512-512)."""
    layer_norm: bool = True
    """Layer normalization in the value and critic networks."""
    lr: float = 3e-4
    """Adam's step size."""
    discount: float = 0.99
    """gamma."""
    tau: float = 0.005
    """Rate of the target network's Polyak average."""
    expectile: float = 0.9
    """The expectile of the value loss."""
    actor_loss: str = "awr"
    """GCIQL's policy extraction: awr or ddpgbc (GCIVL always uses AWR)."""
    alpha: float = 10.0
    """AWR's inverse temperature (OGBench: 10 for GCIVL); DDPG+BC's BC coefficient (0.3 for GCIQL)."""
    value_p_curgoal: float = 0.2
    """Probability that a value goal is the current state."""
    value_p_trajgoal: float = 0.5
    """Probability that a value goal is a later state of the same trajectory (geometric offset)."""
    value_p_randomgoal: float = 0.3
    """Probability that a value goal is a random state of the dataset."""
    actor_p_curgoal: float = 0.0
    """Probability that an actor goal is the current state."""
    actor_p_trajgoal: float = 1.0
    """Probability that an actor goal is a later state of the same trajectory (uniform offset)."""
    actor_p_randomgoal: float = 0.0
    """Probability that an actor goal is a random state of the dataset."""

    def __post_init__(self):
        if self.agent not in AGENTS:
            raise ValueError(f"unknown goal-conditioned agent {self.agent!r}; choose from {', '.join(AGENTS)}")
        if self.actor_loss not in ACTOR_LOSSES:
            raise ValueError(f"unknown actor loss {self.actor_loss!r}; choose from {', '.join(ACTOR_LOSSES)}")
        if self.agent == "gcivl" and self.actor_loss != "awr":
            raise ValueError("GCIVL has no Q function: its actor loss is awr")
        for name in ("steps", "batch_size"):
            check_positive_int(name, getattr(self, name))
        check_layer_sizes("hidden", self.hidden)
        for name, low, high in (("discount", 0, 1), ("tau", 0, 1), ("expectile", 0, 1)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and low < value < high):
                raise ValueError(f"{name} must lie in ({low}, {high}); got {value!r}")
        for name in ("lr", "alpha"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and positive; got {value!r}")
        for who in ("value", "actor"):
            parts = [getattr(self, f"{who}_p_{kind}goal") for kind in ("cur", "traj", "random")]
            if any(p < 0 for p in parts) or not math.isclose(sum(parts), 1.0):
                raise ValueError(f"the {who} goal probabilities must be non-negative and sum to 1; got {parts}")
        object.__setattr__(self, "hidden", tuple(self.hidden))


GCIQL = GCConfig(agent="gciql", actor_loss="ddpgbc", alpha=0.3)
"""OGBench's GCIQL: DDPG+BC extraction with BC coefficient 0.3."""
