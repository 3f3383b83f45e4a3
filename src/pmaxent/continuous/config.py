"""Settings of a training run in a continuous world (SPEC section 11)."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from pmaxent.core.components import Components
from pmaxent.core.config import check_layer_sizes
from pmaxent.core.train import TrainConfig

POINTS_PER_TRAJECTORY = 101
"""Default cap on the k-NN points one trajectory contributes (``point_stride``): the neighbour
search costs O((m K N)^2) per team sample, and consecutive states of a long trajectory lie
within one step of each other, so more points add cost faster than information."""


DEFAULT_K = 15
"""Default k of the k-NN estimator. A small k rewards spreading a trajectory's points locally more
than going somewhere new; the measured effect of k is in the docs (continuous defaults)."""


LR_DECAY = 0.998
"""Default per-update decay of Adam's step size, so that late updates settle instead of
overshooting (measured in the docs' continuous defaults)."""


LOG_STD_INIT = -1.5
"""Initial log standard deviation of the Gaussian policies: MEPOL's (a standard deviation close to
the largest move of its GridWorld)."""


PHYSICS = ("kinematic", "mjx")
POLICIES = ("networks", "population")
IMPORTANCE_WEIGHTS = ("own-agent", "team-mixture")


def check_physics(config) -> None:
    """``config.physics`` is known, and 'mjx' comes with a kinematic navigation world (its walls
    become MuJoCo geometry) and without the kinematic motion's slip and max_step."""
    if config.physics not in PHYSICS:
        raise ValueError(f"unknown physics {config.physics!r}; choose from {', '.join(PHYSICS)}")
    if config.physics == "mjx":
        from pmaxent.continuous.worlds import CONTINUOUS_ENVS

        if config.layout is None and config.env.strip() not in CONTINUOUS_ENVS:
            raise ValueError(
                f"physics 'mjx' applies to the navigation worlds ({', '.join(CONTINUOUS_ENVS)}) and text maps (--map); "
                f"{config.env!r} has its own dynamics"
            )
        if config.slip is not None or config.max_step is not None:
            raise ValueError(
                "slip and max_step apply to the kinematic motion, not to physics 'mjx' (a point mass driven by motors)"
            )


@dataclasses.dataclass(frozen=True)
class ContinuousTrainConfig(TrainConfig):
    """Every setting of a training run in a continuous world, with defaults under which a team of
    four splits gridworld-continuous's rooms between its agents (docs: continuous worlds).

    The k-NN estimator, a Gaussian MLP team, Adam and the counterfactual baselines are used.
    """

    family: ClassVar[str] = "continuous"
    lane_fields: ClassVar[tuple[str, ...]] = (*TrainConfig.lane_fields, "log_std_init")
    """The step size settings and the initial log std (only the initial parameters read it)."""

    env: str = "gridworld-continuous"
    """Environment: gridworld-continuous, {room,maze}-{det,stoc}-continuous, gym:ID (a registered Gymnasium id
    with Box spaces), or a label for `layout`."""
    horizon: int | None = None
    """T, steps per trajectory (default: the world's; gym:ID, its time limit)."""
    slip: float | None = None
    """Probability that a kinematic world's move is replaced by a random one (default: the world's)."""
    agents: int = 4
    """m, the number of parallel agents (and of trajectories of the single-agent baseline)."""
    batch_size: int = 10
    """B, team samples per update."""
    updates: int = 600
    """Number of gradient updates."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds, all run at once (vmapped)."""
    lr: float = 1e-2
    """Adam's initial step size."""
    lr_decay: float = LR_DECAY
    """Per-update multiplicative decay of Adam's step size."""
    optimizer: str = "adam"
    """'adam' or 'sgd'."""
    chunk: int = 50
    """Updates per jitted chunk; the state is checkpointed after every chunk."""
    lane_group: int = 1
    """Lanes (methods x seeds) each device computes at once, run one group after another on every device, so that
    a seed's numbers do not depend on what trains beside it (0: every lane at once, and one lane on one device
    with all its cores; faster for a single large lane, e.g. a population of a thousand agents)."""
    k: int = DEFAULT_K
    """k of the k-nearest-neighbour entropy estimator (needs k < the k-NN points per trajectory)."""
    knn_search: str = "auto"
    """How a team sample's neighbours are found, exactly: 'all-pairs', 'sweep' (cost near-linear in the pooled
    points, for low-dimensional features) or 'auto' (the sweep for large teams: knn.SWEEP_MIN_POINTS)."""
    point_stride: int | None = None
    """Every point_stride-th state of a trajectory is a k-NN point (default: the smallest stride leaving at most
    101 points per trajectory)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer sizes of each agent's policy network (MEPOL's GridWorld: 300, 300)."""
    log_std_init: float = LOG_STD_INIT
    """Initial log standard deviation of the Gaussian policies (MEPOL's -1.5)."""
    bounded_mean: bool = True
    """Squash each policy's mean into the action box with tanh (off: MEPOL's raw MLP mean)."""
    policy: str = "networks"
    """The team's policy: 'networks' (one MLP per agent) or 'population' (one shared trunk, per-agent
    embeddings and heads; stable at one trajectory per agent and update, and for thousands of agents)."""
    embedding: int = 8
    """population: size of each agent's learned embedding, an input of the shared trunk (0: none)."""
    heads: bool = True
    """population: one output layer per agent (off: one shared output layer)."""
    off_policy_steps: int = 0
    """Optimizer steps per behaviour batch on the importance-weighted k-NN team entropy, stopped by a per-agent
    k-NN KL trust region (SPEC section 12; needs trajectories = 1); 0: on-policy PGPSE, one step per batch."""
    kl_threshold: float = 0.2
    """off-policy steps: the largest accepted k-NN KL between an agent's behaviour and target policies."""
    importance: str = "own-agent"
    """off-policy steps: each point's importance weight, by its own agent's trajectory ratio ('own-agent') or by
    the team's target mixture against its behaviour mixture ('team-mixture': every agent learns from every
    trajectory in proportion to its likelihood of it; m times the policy evaluations of 'own-agent')."""
    max_step: float | None = None
    """Largest move per axis (the world's default: 0.2 in gridworld-continuous, 0.25 on maps)."""
    features: tuple[int, ...] | None = None
    """Entropy features of a gym:ID environment: observation indices (default: all)."""
    physics: str = "kinematic"
    """A navigation world's (named or --map) motion: 'kinematic' (moves into walls rejected) or 'mjx' (a point
    mass among wall geoms, MuJoCo MJX)."""

    def stride_for(self, horizon: int) -> int:
        """The k-NN point stride for trajectories of ``horizon`` steps (see ``point_stride``)."""
        return self.point_stride or -(-(horizon + 1) // POINTS_PER_TRAJECTORY)

    def make_learn(self, components: Components):
        """PGPSE's step, or off-policy team steps when ``off_policy_steps`` > 0."""
        if not self.off_policy_steps:
            return super().make_learn(components)
        from pmaxent.continuous.offpolicy import make_offpolicy_learn

        return make_offpolicy_learn(self, components)

    def make_components(self) -> Components:
        """The world's environment, a Gaussian MLP team and the k-NN entropy estimator."""
        from pmaxent.continuous.components import continuous_components

        return continuous_components(self)

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"k must be a positive integer; got {self.k!r}")
        if self.point_stride is not None and (
            isinstance(self.point_stride, bool) or not isinstance(self.point_stride, int) or self.point_stride < 1
        ):
            raise ValueError(f"point_stride must be a positive integer; got {self.point_stride!r}")
        check_layer_sizes("hidden", self.hidden)
        if self.log_std_init is not None and not (
            isinstance(self.log_std_init, (int, float)) and math.isfinite(self.log_std_init)
        ):
            raise ValueError(f"log_std_init must be a finite number; got {self.log_std_init!r}")
        if self.max_step is not None and not self.max_step > 0:
            raise ValueError(f"max_step must be positive; got {self.max_step!r}")
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if (
            isinstance(self.off_policy_steps, bool)
            or not isinstance(self.off_policy_steps, int)
            or self.off_policy_steps < 0
        ):
            raise ValueError(f"off_policy_steps must be a non-negative integer; got {self.off_policy_steps!r}")
        if self.off_policy_steps and self.trajectories != 1:
            raise ValueError("off-policy team steps take one trajectory per agent and team sample (trajectories = 1)")
        if not (
            isinstance(self.kl_threshold, (int, float)) and math.isfinite(self.kl_threshold) and self.kl_threshold > 0
        ):
            raise ValueError(f"kl_threshold must be finite and positive; got {self.kl_threshold!r}")
        if self.importance not in IMPORTANCE_WEIGHTS:
            raise ValueError(f"unknown importance {self.importance!r}; choose from {', '.join(IMPORTANCE_WEIGHTS)}")
        if self.importance != "own-agent" and not self.off_policy_steps:
            raise ValueError(f"importance {self.importance!r} weighs off-policy steps; set off_policy_steps > 0")
        from pmaxent.continuous.knn import TEAM_SEARCHES

        if self.knn_search not in TEAM_SEARCHES:
            raise ValueError(f"unknown knn_search {self.knn_search!r}; choose from {', '.join(TEAM_SEARCHES)}")
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r}; choose from {', '.join(POLICIES)}")
        if isinstance(self.embedding, bool) or not isinstance(self.embedding, int) or self.embedding < 0:
            raise ValueError(f"embedding must be a non-negative integer; got {self.embedding!r}")
        if self.single_modes and (self.policy != "population" or not self.embedding):
            raise ValueError("single_modes needs the population policy with embeddings (the latent codes)")
        if self.log_std_init is None:
            object.__setattr__(self, "log_std_init", LOG_STD_INIT)
        check_physics(self)
        if self.features is not None:
            if not self.env.strip().startswith("gym:"):
                raise ValueError(f"features applies to gym:ID environments only; {self.env!r} declares its own")
            object.__setattr__(self, "features", tuple(self.features))


def ant_config(name: str = "ant-mjx", **overrides):
    """MEPOL's Ant setting for a pmaxent team: k = 4, T = 500, 400-300 networks with MEPOL's raw
    mean, log std -0.5, and m x B = 4 x 5 = 20 trajectories of 500 steps per update."""
    from pmaxent.continuous.mjx_worlds import ANT_HORIZON

    settings = dict(
        env=name,
        k=4,
        horizon=ANT_HORIZON,
        hidden=(400, 300),
        log_std_init=-0.5,
        bounded_mean=False,
        agents=4,
        batch_size=5,
    )
    return dataclasses.replace(ContinuousTrainConfig(**settings), **overrides)


def mountain_car_config(**overrides):
    """MEPOL's MountainCarContinuous setting: k = 4, T = 400, entropy over (position, velocity)."""
    from pmaxent.continuous.host_gymnasium import GYM_PREFIX

    settings = dict(env=f"{GYM_PREFIX}MountainCarContinuous-v0", horizon=400, k=4, features=(0, 1))
    return dataclasses.replace(ContinuousTrainConfig(**settings), **overrides)
