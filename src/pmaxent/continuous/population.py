"""Population policies (SPEC section 12): m Gaussian policies sharing one trunk, a
:class:`~pmaxent.core.components.TeamPolicy`.

Agent i acts a ~ N(mu_i(o), diag(sigma_i^2)) with mu_i(o) = head_i(trunk([o', e_i])): o' the
observation scaled to [-1, 1] by its box (where the box is finite), e_i a learned agent embedding,
head_i a linear layer of agent i's own (or one head for all, ``heads=False``), squashed into the
action box as :class:`~pmaxent.continuous.policy.GaussianMLPTeam` does.

Why share a trunk: in a team of separate networks each agent's parameters are moved by its own
trajectories only, so at one trajectory per agent and update their gradient is mostly noise, and
Adam turns noise into full-size steps: the networks' outputs drift until the squashed mean
saturates, the agent runs into a wall and stays there, and its gradient through the saturated
squashing vanishes (benchmarks/team_collapse.py measures each step of this). A shared trunk is
moved by all m agents' trajectories, as the single agent's network is; only the embeddings, heads
and log stds are per agent. Parameters grow as trunk + m x (head + embedding), so populations of
a thousand agents fit in memory.

Parameters: ``{"trunk": shared arrays, "head": [m, ...] (or shared), "embedding": [m, E],
"log_std": [m, action_dim]}``; :meth:`shared_leaves` tells the trainer which are shared.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import equinox as eqx
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.continuous.importance import tiled_cross_log_prob
from pmaxent.continuous.policy import (
    ACTIVATIONS,
    MEAN_OUTPUT_SCALE,
    GaussianMLPTeam,
    _float_tuple,
    gaussian_log_prob,
)


@dataclasses.dataclass(frozen=True)
class GaussianPopulation(GaussianMLPTeam):
    """Diagonal Gaussian policies of m agents with one shared MLP trunk.

    Args (besides :class:`GaussianMLPTeam`'s):
        embedding: size of each agent's learned embedding, an input of the trunk (0: none).
        heads: one output layer per agent (False: one shared output layer, so agents differ by
            their embeddings and log stds only).
        obs_low, obs_high: the observation box; where both bounds of a coordinate are finite, the
            trunk sees it scaled to [-1, 1].
    """

    embedding: int = 8
    heads: bool = True
    obs_low: tuple[float, ...] | None = None
    obs_high: tuple[float, ...] | None = None

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.embedding, bool) or not isinstance(self.embedding, int) or self.embedding < 0:
            raise ValueError(f"embedding must be a non-negative integer; got {self.embedding!r}")
        if (self.obs_low is None) != (self.obs_high is None):
            raise ValueError("obs_low and obs_high go together")
        if self.obs_low is not None:
            low, high = _float_tuple(self.obs_low), _float_tuple(self.obs_high)
            if len(low) != self.obs_dim or len(high) != self.obs_dim:
                raise ValueError(f"the observation box must have {self.obs_dim} bounds; got {len(low)} and {len(high)}")
            object.__setattr__(self, "obs_low", low)
            object.__setattr__(self, "obs_high", high)

    @classmethod
    def from_spaces(
        cls,
        observation_space: gymnasium.spaces.Box,
        action_space: gymnasium.spaces.Box,
        hidden: tuple[int, ...] = (64, 64),
        log_std_init: float = -1.5,
        activation: str = "relu",
        bounded_mean: bool = True,
        embedding: int = 8,
        heads: bool = True,
    ) -> GaussianPopulation:
        """The population for 1-D gymnasium Box observation and action spaces."""
        for name, space in (("observation", observation_space), ("action", action_space)):
            if not isinstance(space, gymnasium.spaces.Box) or len(space.shape) != 1:
                raise ValueError(f"GaussianPopulation needs a 1-D Box {name} space; got {space}")
        return cls(
            observation_space.shape[0], action_space.low, action_space.high, hidden, log_std_init, activation,
            bounded_mean, embedding, heads, observation_space.low, observation_space.high,
        )  # fmt: skip

    def _trunk(self, key: jax.Array) -> eqx.nn.Sequential:
        sizes = (self.obs_dim + self.embedding, *self.hidden)
        keys = jax.random.split(key, len(sizes) - 1)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers += [eqx.nn.Linear(n_in, n_out, key=keys[i]), eqx.nn.Lambda(ACTIVATIONS[self.activation])]
        return eqx.nn.Sequential(layers)

    def _head(self, key: jax.Array) -> eqx.nn.Linear:
        head = eqx.nn.Linear(
            self.hidden[-1] if self.hidden else self.obs_dim + self.embedding, self.action_dim, key=key
        )
        return eqx.tree_at(
            lambda h: (h.weight, h.bias), head, (MEAN_OUTPUT_SCALE * head.weight, jnp.zeros_like(head.bias))
        )

    @functools.cached_property
    def _statics(self) -> tuple[Any, Any]:
        """The non-array parts of the trunk and of a head, for ``eqx.combine``."""
        return tuple(
            eqx.partition(
                eqx.filter_eval_shape(make, jax.random.key(0)), lambda x: isinstance(x, jax.ShapeDtypeStruct)
            )[1]
            for make in (self._trunk, self._head)
        )

    def init(self, key: jax.Array, n_agents: int) -> dict[str, Any]:
        """One trunk, m heads (or one), m embeddings ~ N(0, 1) and log stds = log_std_init."""
        trunk_key, head_key, embedding_key = jax.random.split(key, 3)
        trunk = eqx.partition(self._trunk(trunk_key), eqx.is_array)[0]
        if self.heads:
            head = eqx.partition(eqx.filter_vmap(self._head)(jax.random.split(head_key, n_agents)), eqx.is_array)[0]
        else:
            head = eqx.partition(self._head(head_key), eqx.is_array)[0]
        return {
            "trunk": trunk,
            "head": head,
            "embedding": jax.random.normal(embedding_key, (n_agents, self.embedding), jnp.float32),
            "log_std": jnp.full((n_agents, self.action_dim), self.log_std_init, jnp.float32),
        }

    def shared_leaves(self, params: dict[str, Any]) -> dict[str, Any]:
        """True for the trunk's leaves (and the head's when there is one head for all)."""
        return {
            "trunk": jax.tree.map(lambda _: True, params["trunk"]),
            "head": jax.tree.map(lambda _: not self.heads, params["head"]),
            "embedding": False,
            "log_std": False,
        }

    def mode_leaves(self, params: dict[str, Any]) -> dict[str, Any]:
        """True for the embeddings: the latent codes that keep a single policy's trajectories apart
        when the single agent is one network conditioned on a latent (``single_modes``)."""
        return {
            "trunk": jax.tree.map(lambda _: False, params["trunk"]),
            "head": jax.tree.map(lambda _: False, params["head"]),
            "embedding": True,
            "log_std": False,
        }

    def _scaled(self, observations: jax.Array) -> jax.Array:
        if self.obs_low is None:
            return observations
        low, high = np.asarray(self.obs_low, np.float64), np.asarray(self.obs_high, np.float64)
        finite = np.isfinite(low) & np.isfinite(high) & (high > low)
        centre = np.where(finite, (high + low) / 2, 0.0).astype(np.float32)
        half = np.where(finite, (high - low) / 2, 1.0).astype(np.float32)
        return (observations - centre) / half

    def mean(self, params: dict[str, Any], observations: jax.Array) -> jax.Array:
        """Mean actions [m, ..., action_dim] for observations [m, ..., obs_dim]."""
        observations = self._scaled(jnp.asarray(observations, jnp.float32))
        m, batch_shape = observations.shape[0], observations.shape[1:-1]
        flat = observations.reshape(m, -1, self.obs_dim)
        if self.embedding:
            embedding = jnp.broadcast_to(params["embedding"][:, None, :], (m, flat.shape[1], self.embedding))
            flat = jnp.concatenate([flat, embedding], axis=-1)
        trunk_static, head_static = self._statics
        trunk = eqx.combine(params["trunk"], trunk_static)
        features = jax.vmap(jax.vmap(trunk))(flat)
        if self.heads:
            output = jax.vmap(lambda h, x: jax.vmap(eqx.combine(h, head_static))(x))(params["head"], features)
        else:
            output = jax.vmap(jax.vmap(eqx.combine(params["head"], head_static)))(features)
        return self._squashed(output.reshape((m, *batch_shape, self.action_dim)))

    def cross_log_prob(self, params: dict[str, Any], observations: jax.Array, actions: jax.Array) -> jax.Array:
        """log pi_i(a_t | o_t) of every agent i on every trajectory j: observations [n, T, obs_dim],
        actions [n, T, action_dim] -> [n, m, T]. Without embeddings the trunk does not depend on the
        agent, so it runs once per state and only the heads run for each agent (n T trunk
        evaluations instead of :func:`~pmaxent.continuous.importance.tiled_cross_log_prob`'s n m T)."""
        if self.embedding:
            return tiled_cross_log_prob(self, params, observations, actions)
        n, horizon = observations.shape[:2]
        flat = self._scaled(jnp.asarray(observations, jnp.float32)).reshape(n * horizon, self.obs_dim)
        trunk_static, head_static = self._statics
        features = jax.vmap(eqx.combine(params["trunk"], trunk_static))(flat)
        if self.heads:
            output = jax.vmap(lambda h: jax.vmap(eqx.combine(h, head_static))(features))(params["head"])
        else:
            output = jax.vmap(eqx.combine(params["head"], head_static))(features)[None]
        mean = self._squashed(output).reshape(-1, n, horizon, self.action_dim).swapaxes(0, 1)  # [n, m or 1, T, A]
        return gaussian_log_prob(actions[:, None], mean, params["log_std"][None, :, None, :])
