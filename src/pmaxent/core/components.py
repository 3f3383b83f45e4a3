"""The three components a PGPSE trainer is made of: an environment, a team policy and an
entropy estimator.

The trainer (:mod:`pmaxent.core.train`), the rollout (:mod:`pmaxent.core.rollout`) and the estimator of the
gradient (:mod:`pmaxent.core.pgpse`) see a world only through these interfaces, so tabular MDPs,
continuous worlds and user-written JAX environments train with the same code.

Randomness: every component is a deterministic function of uniform noise in [0, 1) that the
rollout draws in one block per update (one call of :func:`pmaxent.core.random.uniform`; on a CPU this is
much cheaper than splitting keys inside the loop). A component declares how many uniforms it
consumes per call (``reset_noise``, ``step_noise``, ``TeamPolicy.noise``).

Shapes: ``m`` agents, ``B`` team samples, ``T`` the horizon, ``N`` pooled points per agent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

Params = Any
"""A team's parameters: a pytree whose leaves have a leading agent axis [m, ...], except those all
agents share (a population's trunk), which a policy names with ``shared_leaves``."""


def _identity(x):
    return x


@dataclasses.dataclass(frozen=True, eq=False)
class Environment:
    """A world as pure functions of one copy; the rollout vmaps them over the B x m copies.

    A state is any pytree of arrays. ``features`` maps a state to the point whose entropy the
    team maximises (the state itself on a tabular MDP, the (x, y) position in navigation, selected
    coordinates of a MuJoCo body).

    Args:
        name: a label for run directories and figures.
        horizon: T, actions per trajectory (a trajectory has T + 1 states).
        reset: ``reset(u [reset_noise]) -> state``, an initial state.
        step: ``step(state, action, u [step_noise]) -> state``, the next state.
        observation_space: what ``observe`` returns, for the policy.
        action_space: what the policy must return (``Discrete`` or ``Box``).
        feature_volume: the size of the feature space (number of reachable states, or free area
            or volume); normalized entropy = H / ln(feature_volume). None where it is unbounded
            (an Ant's position): normalized entropy is then reported as NaN.
        observe: ``observe(state) -> observation`` (default: the state).
        features: ``features(state) -> entropy features`` (default: the state).
        reset_noise: uniforms ``reset`` consumes.
        step_noise: uniforms ``step`` consumes.
        team_metrics: optional ``team_metrics(features [B, m, N, ...]) -> {name: [B]}``,
            extra per-sample metrics the trainer logs (for instance coverage of a grid).
    """

    name: str
    horizon: int
    reset: Callable[[jax.Array], Any]
    step: Callable[[Any, jax.Array, jax.Array], Any]
    observation_space: gymnasium.spaces.Space
    action_space: gymnasium.spaces.Space
    feature_volume: float | None
    observe: Callable[[Any], jax.Array] = _identity
    features: Callable[[Any], jax.Array] = _identity
    reset_noise: int = 1
    step_noise: int = 1
    team_metrics: Callable[[jax.Array], dict[str, jax.Array]] | None = None

    def __post_init__(self):
        if not isinstance(self.horizon, int) or self.horizon < 1:
            raise ValueError(f"environment {self.name!r}: horizon must be a positive integer; got {self.horizon!r}")
        if self.feature_volume is not None and not self.feature_volume > 1:
            raise ValueError(
                f"environment {self.name!r}: feature_volume must exceed 1 (it normalises entropy by its log); got "
                f"{self.feature_volume!r}"
            )
        for field in ("reset_noise", "step_noise"):
            if getattr(self, field) < 0:
                raise ValueError(f"environment {self.name!r}: {field} must be >= 0")


@dataclasses.dataclass(frozen=True, eq=False)
class HostEnvironment:
    """A world stepped from the host (a Gymnasium vector environment), not inside ``jax.jit``.

    The trainer samples it with :func:`pmaxent.core.host_rollout.sample_host` (the policy's actions
    still computed by a jitted JAX function per step) and learns from the samples with the same
    jitted estimator, gradient and optimizer update as a JAX :class:`Environment`.

    Args:
        name: a label for run directories and figures.
        horizon: T, actions per trajectory (a trajectory has T + 1 states).
        make_vector: ``make_vector(n) -> gymnasium.vector.VectorEnv`` of n copies.
        observation_space: a 1-D Box, what the policy sees (the observation itself).
        action_space: a 1-D Box, what the policy returns (clipped to it before each step).
        feature_indices: the observation coordinates whose entropy the team maximises.
        feature_volume: the volume of the features' box where it is finite and above 1, else
            None (normalized entropy is then reported as NaN).
        team_metrics: None: a Gymnasium world declares no extra metrics (the trainer reads the
            field as it reads an :class:`Environment`'s).
    """

    name: str
    horizon: int
    make_vector: Callable[[int], Any]
    observation_space: gymnasium.spaces.Box
    action_space: gymnasium.spaces.Box
    feature_indices: tuple[int, ...]
    feature_volume: float | None = None
    team_metrics: None = None

    def observe(self, observation: jax.Array) -> jax.Array:
        """The policy's input: the observation itself, [..., obs_dim]."""
        return observation

    def features(self, observation: jax.Array) -> jax.Array:
        """Entropy features [..., len(feature_indices)] of observations [..., obs_dim]."""
        return observation[..., list(self.feature_indices)]


class TeamPolicy(Protocol):
    """A team of m policies with parameters ``params`` (leaves [m, ...]).

    ``noise``: uniforms one agent's action consumes. A policy whose agents share some parameters
    (one trunk for all, no agent axis) also defines ``shared_leaves(params)``: a pytree of bools
    like ``params``, True for those (see :func:`agent_leaves`).
    """

    noise: int

    def init(self, key: jax.Array, n_agents: int) -> Params:
        """Initial parameters of m agents."""

    def prepare(self, params: Params, uniform: bool | jax.Array = False) -> Any:
        """Per-update precomputation for ``act``. With ``uniform`` (may be traced) the team acts
        uniformly at random over the action space whatever its parameters: the random baseline."""

    def act(self, prepared: Any, observations: jax.Array, t: jax.Array, u: jax.Array) -> jax.Array:
        """Actions [m, ...] of the m agents for observations [m, ...] at step t, from uniforms u [m, noise]."""

    def log_prob(self, params: Params, observations: jax.Array, actions: jax.Array) -> jax.Array:
        """log pi_i(a_t | o_t) for observations [m, T, ...] and actions [m, T, ...] -> [m, T].

        The trainer differentiates it (a vector-Jacobian product) for the score term; a policy
        with a faster closed form may also define ``weighted_score(params, observations
        [N, m, T, ...], actions [N, m, T, ...], weights [N, m]) -> grads like params`` (see
        :func:`pmaxent.core.pgpse.weighted_score`).
        """


def agent_leaves(policy: TeamPolicy, params: Params) -> Any:
    """A pytree of bools like ``params``: True for the leaves that carry the leading agent axis
    (every leaf, unless the policy names those its agents share with ``shared_leaves``)."""
    shared_leaves = getattr(policy, "shared_leaves", None)
    if shared_leaves is None:
        return jax.tree.map(lambda _: True, params)
    return jax.tree.map(lambda shared: not shared, shared_leaves(params))


def single_tied_leaves(policy: TeamPolicy, params: Params, modes: bool = False) -> Any:
    """A pytree of bools like ``params``: True for the leaves the single-agent baseline holds as
    one set for its K' = m trajectories. Every per-agent leaf, or with ``modes`` every one but the
    policy's ``mode_leaves(params)`` (a population's embeddings): the single agent is then one
    network conditioned on a latent code, a different one for each of its trajectories."""
    per_agent = agent_leaves(policy, params)
    if not modes:
        return per_agent
    mode_leaves = getattr(policy, "mode_leaves", None)
    if mode_leaves is None:
        raise ValueError(
            f"{type(policy).__name__} has no latent modes (mode_leaves); single_modes needs a policy with them"
        )
    return jax.tree.map(lambda tied, mode: tied and not mode, per_agent, mode_leaves(params))


def agent_count(policy: TeamPolicy, params: Params, axis: int = 0) -> int:
    """m, from the first leaf with an agent axis (``axis`` of it: 1 for parameters stacked over lanes)."""
    flags = jax.tree.leaves(agent_leaves(policy, params))
    leaves = jax.tree.leaves(params)
    return next(leaf.shape[axis] for leaf, per_agent in zip(leaves, flags, strict=True) if per_agent)


class TeamEntropies(NamedTuple):
    """Entropy estimates (nats) of a batch of team samples.

    team: [B], the pooled sample of all m agents; agents: [B, m], each agent's own sample;
    without_agent: [B, m], the pooled sample with agent i's points left out (0 when m = 1);
    extras: {name: [B]}, estimator-specific metrics (e.g. support size).
    """

    team: jax.Array
    agents: jax.Array
    without_agent: jax.Array
    extras: dict[str, jax.Array]


class EntropyEstimator(Protocol):
    """Maps pooled entropy features [B, m, N, ...] to :class:`TeamEntropies`.

    ``extra_metrics`` names the keys of ``TeamEntropies.extras``.
    """

    extra_metrics: tuple[str, ...]

    def __call__(self, features: jax.Array) -> TeamEntropies: ...


class Components(NamedTuple):
    """What the trainer is given: a world, a team policy and an entropy estimator.

    ``world`` is the object they were built from (a TabularMDP, a continuous world), kept for
    the tools downstream of training (datasets, offline RL, figures).
    """

    env: Environment | HostEnvironment
    policy: TeamPolicy
    estimator: EntropyEstimator
    world: Any = None


def check_components(components: Components, agents: int) -> None:
    """Shape checks of the components against one another, before anything is compiled, so a
    mismatch is named instead of surfacing as an XLA shape error inside the trainer.

    Checks that ``observe`` returns what ``observation_space`` declares, that the policy's input
    size (``obs_dim``, where it declares one) is the observation's, that its actions have the
    action space's shape, and that the estimator's feature dimension (``dimension``, where it
    declares one) is that of ``features``. Raises ValueError naming the mismatch.
    """
    env, policy, estimator = components.env, components.policy, components.estimator
    if isinstance(env, HostEnvironment):  # no JAX reset: its observations are what its space says
        state = jax.ShapeDtypeStruct(env.observation_space.shape, jnp.float32)
    else:
        state = jax.eval_shape(
            env.reset, jax.ShapeDtypeStruct((env.reset_noise,), jnp.float32)
        )  # shapes only: nothing is compiled
    observation = jax.eval_shape(env.observe, state)
    features = jax.eval_shape(env.features, state)
    declared = env.observation_space.shape
    if declared is not None and tuple(observation.shape) != tuple(declared):
        raise ValueError(
            f"environment {env.name!r}: observe returns shape {tuple(observation.shape)} but its observation_space is "
            f"{env.observation_space}"
        )
    obs_dim = getattr(policy, "obs_dim", None)
    if obs_dim is not None and int(np.prod(observation.shape)) != obs_dim:
        raise ValueError(
            f"the policy takes observations of size {obs_dim}; environment {env.name!r} gives shape "
            f"{tuple(observation.shape)}"
        )
    dimension = getattr(estimator, "dimension", None)
    feature_dim = features.shape[-1] if features.shape else 1
    if dimension is not None and feature_dim != dimension:
        raise ValueError(
            f"the entropy estimator expects {dimension}-dimensional features; environment {env.name!r} gives features "
            f"of shape {tuple(features.shape)}"
        )
    if env.action_space.shape is not None:
        observations = jax.ShapeDtypeStruct((agents, *observation.shape), observation.dtype)
        uniforms = jax.ShapeDtypeStruct((agents, policy.noise), jnp.float32)
        act = lambda key, o, u: policy.act(policy.prepare(policy.init(key, agents)), o, jnp.int32(0), u)  # noqa: E731
        actions = jax.eval_shape(act, jax.eval_shape(jax.random.key, 0), observations, uniforms)
        if tuple(actions.shape[1:]) != tuple(env.action_space.shape):
            raise ValueError(
                f"the policy's actions have shape {tuple(actions.shape[1:])}; environment {env.name!r} takes "
                f"{env.action_space}"
            )
