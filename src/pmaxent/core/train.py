"""Training PGPSE teams, the single-agent baseline and the random baseline (SPEC section 5).

In the PureJaxRL style, ``make_train(config)`` returns a pure ``train(key, shared)`` whose whole
loop is one ``lax.scan``; ``jax.vmap`` runs seeds (and methods) at once. :mod:`pmaxent.core.runs`
runs the same update in checkpointed chunks over every method and seed and writes a run directory.

The trainer is given its environment, team policy and entropy estimator as components
(:mod:`pmaxent.core.components`); a family's config builds them from its names.
Optimisers are optax's: ascent on J_p is descent on -J_p.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pmaxent.core.components import Components, Params, check_components, single_tied_leaves
from pmaxent.core.config import RunConfig, check_positive_int
from pmaxent.core.pgpse import BASELINES, gradient_from_entropies, group_trajectories, team_metrics
from pmaxent.core.rollout import map_copies, sample_team

METHODS = ("parallel", "single", "random")
OPTIMIZERS = ("sgd", "adam")
RNGS = ("hash", "threefry2x32", "rbg", "unsafe_rbg")


@dataclasses.dataclass(frozen=True)
class TrainConfig(RunConfig):
    """The settings of a PGPSE run that every PGPSE family shares (SPEC section 5): a team of m
    agents, the single-agent baseline and the random baseline, trained side by side.

    A family subclasses it with its environments' settings and defaults and says how its
    components are built (:meth:`make_components`).
    """

    method_names: ClassVar[tuple[str, ...]] = METHODS
    lane_fields: ClassVar[tuple[str, ...]] = ("lr", "lr_decay")
    """Settings a lane carries in its state or its initial parameters, not in the compiled program: configs that
    differ only in these train as lanes of one program (:func:`pmaxent.core.runs.run_settings`)."""

    agents: int = 6
    """m, the number of parallel agents (and of trajectories of the single-agent baseline)."""
    methods: tuple[str, ...] = METHODS
    """Which of parallel, single (one shared policy, K' = m), random (uniform, untrained) to run."""
    batch_size: int = 40
    """B, team samples per update."""
    trajectories: int = 1
    """K, trajectories per agent in each team sample."""
    updates: int = 10_000
    """Number of gradient updates."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds, all run at once (vmapped)."""
    lr: float = 0.1
    """Step size alpha."""
    lr_decay: float = 1.0
    """Per-update multiplicative decay of the step size."""
    optimizer: str = "sgd"
    """'sgd' (plain gradient ascent) or 'adam'."""
    baseline: str = "both"
    """Score weight baseline: 'none' (the paper's), 'loo-agent', 'loo-sample', 'both'."""
    single_modes: bool = False
    """The single agent keeps the policy's latent codes apart (a population's embeddings): one network conditioned on
    a latent, a different one for each of its K' = m trajectories, instead of one policy."""
    chunk: int = 500
    """Updates per jitted chunk; the state is checkpointed after every chunk."""
    lane_group: int = 0
    """Lanes (methods x seeds) each device computes at once, padded with copies and run group after group: XLA
    rounds a vmapped batch differently at different sizes, so a fixed group keeps a seed's numbers independent of
    what trains beside it. 0: every lane at once (the fastest; a seed's numbers may then depend on the others)."""
    rng: str = "hash"
    """Random numbers of the rollouts: 'hash' (fast counter hash seeded by threefry, see
    pmaxent.core.random) or a JAX PRNG implementation: 'threefry2x32', 'rbg', 'unsafe_rbg'."""

    def make_learn(self, components: Components) -> Callable:
        """The learning step of these settings (see :func:`make_learn`); a family may give its own."""
        return make_learn(self, components)

    def __post_init__(self):
        super().__post_init__()
        for field in ("agents", "batch_size", "trajectories"):
            check_positive_int(field, getattr(self, field))
        if isinstance(self.lane_group, bool) or not isinstance(self.lane_group, int) or self.lane_group < 0:
            raise ValueError(f"lane_group must be a non-negative integer; got {self.lane_group!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be finite and positive; got {self.lr!r}")
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must lie in (0, 1]; got {self.lr_decay!r}")
        if self.batch_size < 2 and self.baseline in ("loo-sample", "both"):
            raise ValueError(f"baseline {self.baseline!r} needs batch_size >= 2")
        for name, value, allowed in (
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("baseline", self.baseline, BASELINES),
            ("rng", self.rng, RNGS),
        ):
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; choose from {', '.join(allowed)}")


def key_impl(config: TrainConfig) -> str:
    """The JAX PRNG implementation behind config.rng ('hash' seeds itself from threefry)."""
    return "threefry2x32" if config.rng == "hash" else config.rng


class Hyperparameters(NamedTuple):
    """A lane's step size settings (float32 scalars), carried in its state rather than compiled into
    the program, so that the settings of a tuning grid train side by side as lanes of one program."""

    lr: jax.Array
    lr_decay: jax.Array


def hyperparameters(config: TrainConfig) -> Hyperparameters:
    """``config``'s step size and decay as a lane's :class:`Hyperparameters`."""
    return Hyperparameters(np.float32(config.lr), np.float32(config.lr_decay))


class TrainState(NamedTuple):
    """Everything an update needs: params (leaves [m, ...]), the optimizer's state, the key, the
    number of updates done (int32 scalar) and the lane's step size settings."""

    params: Params
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array
    hyperparameters: Hyperparameters


def make_optimizer(config: TrainConfig, hyper: Hyperparameters) -> optax.GradientTransformation:
    """optax's sgd (the paper's plain ascent) or adam, at step size ``hyper.lr`` decayed by
    ``hyper.lr_decay`` per optimizer step; both may be traced (a lane's own)."""

    def schedule(count):  # optax.exponential_decay's formula; its argument checks refuse a traced rate
        return hyper.lr * jnp.power(hyper.lr_decay, count.astype(jnp.float32))

    return {"sgd": optax.sgd, "adam": optax.adam}[config.optimizer](schedule)


def make_learn(config: TrainConfig, components: Components) -> Callable:
    """A pure ``learn(state, shared, learning, features, observations, actions) -> (state, metrics)``:
    the PGPSE step from a batch of sampled trajectories, whoever sampled them (the jitted rollout
    of a JAX world, or a host-stepped Gymnasium vector environment: :mod:`pmaxent.core.host_rollout`).

    features [B*K, m, T+1, ...], observations [B*K, m, T, ...] (those the actions were taken in),
    actions [B*K, m, T, ...]; ``state.key`` is used as it is (the caller advances it).
    """
    env, policy, estimator = components.env, components.policy, components.estimator
    k = config.trajectories

    def learn(state: TrainState, shared, learning, features, observations, actions):
        optimizer = make_optimizer(config, state.hyperparameters)
        entropies = estimator(group_trajectories(features, k))
        grad = gradient_from_entropies(
            policy, state.params, observations, actions, entropies, config.baseline, shared, k, config.single_modes
        )
        # descent on -J_p; zero for the random baseline, whose optimizer then never moves it
        descent = jax.tree.map(lambda g: -(g * learning), grad)
        updates, opt_state = optimizer.update(descent, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = team_metrics(entropies, env.feature_volume)
        if env.team_metrics is not None:
            metrics.update(
                {name: value.mean() for name, value in env.team_metrics(group_trajectories(features, k)).items()}
            )
        finite = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(params)]
        metrics["finite"] = jnp.all(jnp.stack(finite)) & jnp.isfinite(metrics["entropy"])
        return state._replace(params=params, opt_state=opt_state, step=state.step + 1), metrics

    return learn


def make_update(
    config: TrainConfig, components: Components
) -> Callable[[TrainState, jax.Array, jax.Array], tuple[TrainState, dict]]:
    """A pure ``update(state, shared, learning) -> (state, metrics)`` doing one PGPSE step.

    ``shared`` (bool) ties the m agents' parameters into one set (single-agent baseline);
    ``learning`` (bool) is False for the random baseline, which acts uniformly and is not
    updated. Both may be traced, so the three methods vmap together.
    """
    env, policy = components.env, components.policy
    learn = config.make_learn(components)
    generator = "hash" if config.rng == "hash" else "jax"
    over_samples = lambda f: map_copies(f, 3)  # noqa: E731  over [B*K, m, T(+1)]

    def update(state: TrainState, shared, learning):
        key, sample_key = jax.random.split(state.key)
        # logical_not, not ~: a Python True would become ~True == -2, which is truthy (act uniformly)
        uniform = jnp.logical_not(learning)
        samples = sample_team(
            env, policy, state.params, sample_key, config.batch_size * config.trajectories, generator, uniform
        )
        features = over_samples(env.features)(samples.states)
        observations = over_samples(env.observe)(jax.tree.map(lambda x: x[:, :, :-1], samples.states))
        return learn(state._replace(key=key), shared, learning, features, observations, samples.actions)

    return update


def metric_names(components: Components, logged) -> tuple[str, ...]:
    """The names in ``logged`` (the metric names an update returns) in column order: those of
    :func:`team_metrics`, then the environment's own, without the internal "finite"."""
    first = ("entropy", "normalized_entropy", *components.estimator.extra_metrics, "agent_entropy", "entropy_gap")
    return first + tuple(sorted(set(logged) - set(first) - {"finite"}))


def init_state(config: TrainConfig, components: Components, key: jax.Array, learning=True, shared=False) -> TrainState:
    """Initial parameters from ``key``: zero where ``learning`` is False (the random baseline, which
    acts uniformly whatever its parameters), and m copies of agent 0's where ``shared`` (the
    single-agent baseline; with ``config.single_modes`` its latent codes stay m)."""
    init_key, run_key = jax.random.split(key)
    params = components.policy.init(init_key, config.agents)

    def start(p, per_agent):  # shared leaves (a population's trunk) are one set already
        copies = jnp.where(shared, jnp.broadcast_to(p[:1], p.shape), p) if per_agent else p
        return jnp.where(learning, copies, 0.0)

    params = jax.tree.map(start, params, single_tied_leaves(components.policy, params, config.single_modes))
    hyper = hyperparameters(config)
    opt_state = make_optimizer(config, hyper).init(params)
    return TrainState(params, opt_state, run_key, jnp.zeros((), jnp.int32), hyper)


def make_train(config: TrainConfig, components: Components | None = None):
    """A pure ``train(key, shared=False) -> (final TrainState, metrics [updates])`` of one run.

    ``jax.jit(jax.vmap(train))(keys, shared)`` trains many seeds (and methods) at once.
    The single-agent baseline's parameters start equal (copies of agent 0's). ``components``
    default to those the config names.
    """
    components = components or config.make_components()
    check_components(components, config.agents)
    update = make_update(config, components)

    def train(key, shared=False):
        state = init_state(config, components, key, shared=shared)
        return jax.lax.scan(lambda s, _: update(s, shared, True), state, None, length=config.updates)

    return train
