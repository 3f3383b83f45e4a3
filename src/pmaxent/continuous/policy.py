"""Gaussian MLP team policies for Box action spaces (SPEC section 11), a
:class:`~pmaxent.core.components.TeamPolicy`.

Agent i acts a ~ N(mu_i(o), diag(sigma_i^2)): the mean is an MLP of the observation and the
log standard deviation a learnable vector, independent of the state. By default the MLP's output
is squashed into the action box, mu = c + h tanh(MLP(o)) (c the box's centre, h its half-width):
an unbounded mean can leave the box, where every sampled action is clipped to the same corner,
the agent's trajectory no longer varies with its noise and its score term carries no signal (a
team member pressed into a wall then stays there for good; observed in gridworld-continuous).
``bounded_mean=False`` gives MEPOL's raw MLP mean.

One network per agent, so every leaf of the parameters carries a leading agent axis [m, ...];
the single-agent baseline is the same pytree with the m copies equal (the trainer keeps them
equal).

Why Equinox for the networks: an Equinox module *is* a pytree, so the m agents' networks are
built with ``filter_vmap`` over m keys and evaluated with ``jax.vmap`` over the agent axis,
and ``eqx.partition`` leaves the parameters a plain pytree of arrays that optax, ``jnp.where``
in the trainer and the ``.npz`` checkpoints (:mod:`pmaxent.core.pytrees`) handle like the tabular
table; there is no framework state (no ``init``/``apply`` split, no mutable collections, no RNG
plumbing); and it is a light import on top of JAX.

Sampling: a = mu + sigma * z with z = Phi^-1(u) from the rollout's uniforms. The uniforms lie
in [0, 1) (multiples of 2^-24 for the default generator) and u = 0 would give z = -inf, so u is
clipped to [2^-24, 1 - 2^-24]: the normal is truncated at |z| <= 5.29 (mass 1.2e-7 per tail)
and its far tails are quantised by the uniforms' resolution. ``log_prob`` is the density of the
untruncated Gaussian, of the action as sampled: the environment clips actions to its box, the
policy does not (as MEPOL does).
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
from jax.scipy.special import ndtri

ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh}
MEAN_OUTPUT_SCALE = 0.01
"""The output layer's initial weights are scaled by this (and its bias is zero), so the initial
mean is near zero, as MEPOL's pre-trained zero-mean policy, yet differs between agents."""
UNIFORM_EPS = 2.0**-24
"""Uniforms are clipped to [eps, 1 - eps] before the inverse normal CDF (|z| <= 5.29)."""


def _float_tuple(values) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1))


@dataclasses.dataclass(frozen=True)
class GaussianMLPTeam:
    """Diagonal Gaussian policies with an MLP mean, one network per agent.

    Parameters: ``{"mean": the networks' arrays (an Equinox module, leaves [m, ...]),
    "log_std": [m, action_dim]}``.

    Args:
        obs_dim: size of the (flat) observation.
        action_low, action_high: the action box's bounds (finite), one per action dimension.
        hidden: widths of the hidden layers (MEPOL GridWorld: (300, 300)).
        log_std_init: initial log standard deviation of every action dimension.
        activation: hidden activation, a name in ``ACTIVATIONS``.
        bounded_mean: squash the mean into the action box (see the module docstring).
    """

    obs_dim: int
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    hidden: tuple[int, ...] = (300, 300)
    log_std_init: float = -1.5
    activation: str = "relu"
    bounded_mean: bool = True

    def __post_init__(self):
        low, high = _float_tuple(self.action_low), _float_tuple(self.action_high)
        object.__setattr__(self, "action_low", low)
        object.__setattr__(self, "action_high", high)
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if len(low) != len(high) or not low:
            raise ValueError(
                f"action_low and action_high must be non-empty and of equal length; got {len(low)} and {len(high)}"
            )
        if not (np.all(np.isfinite(low + high)) and np.all(np.asarray(low) < np.asarray(high))):
            raise ValueError(
                f"the action box must be finite with low < high (the uniform baseline samples it); got {low}, {high}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {tuple(ACTIVATIONS)}")

    @classmethod
    def from_spaces(
        cls,
        observation_space: gymnasium.spaces.Box,
        action_space: gymnasium.spaces.Box,
        hidden: tuple[int, ...] = (300, 300),
        log_std_init: float = -1.5,
        activation: str = "relu",
        bounded_mean: bool = True,
    ) -> GaussianMLPTeam:
        """The policy for 1-D gymnasium Box observation and action spaces."""
        for name, space in (("observation", observation_space), ("action", action_space)):
            if not isinstance(space, gymnasium.spaces.Box) or len(space.shape) != 1:
                raise ValueError(f"GaussianMLPTeam needs a 1-D Box {name} space; got {space}")
        return cls(
            observation_space.shape[0],
            action_space.low,
            action_space.high,
            hidden,
            log_std_init,
            activation,
            bounded_mean,
        )

    @property
    def action_dim(self) -> int:
        return len(self.action_low)

    @property
    def noise(self) -> int:
        return self.action_dim

    def _network(self, key: jax.Array) -> eqx.nn.Sequential:
        """One agent's mean network."""
        sizes = (self.obs_dim, *self.hidden, self.action_dim)
        keys = jax.random.split(key, len(sizes) - 1)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            if i:
                layers.append(eqx.nn.Lambda(ACTIVATIONS[self.activation]))
            layers.append(eqx.nn.Linear(n_in, n_out, key=keys[i]))
        last = layers[-1]
        layers[-1] = eqx.tree_at(
            lambda layer: (layer.weight, layer.bias), last, (MEAN_OUTPUT_SCALE * last.weight, jnp.zeros_like(last.bias))
        )
        return eqx.nn.Sequential(layers)

    @functools.cached_property
    def _static(self) -> Any:
        """The non-array part of a network (structure, activations), for ``eqx.combine``."""
        shapes = eqx.filter_eval_shape(self._network, jax.random.key(0))
        return eqx.partition(shapes, lambda x: isinstance(x, jax.ShapeDtypeStruct))[1]

    def init(self, key: jax.Array, n_agents: int) -> dict[str, Any]:
        """m networks from m independent keys; log std = log_std_init."""
        networks = eqx.filter_vmap(self._network)(jax.random.split(key, n_agents))
        mean_params, _ = eqx.partition(networks, eqx.is_array)
        return {"mean": mean_params, "log_std": jnp.full((n_agents, self.action_dim), self.log_std_init, jnp.float32)}

    def mean(self, params: dict[str, Any], observations: jax.Array) -> jax.Array:
        """Mean actions [m, ..., action_dim] for observations [m, ..., obs_dim]."""
        observations = jnp.asarray(observations, jnp.float32)
        batch_shape = observations.shape[1:-1]
        flat = observations.reshape(observations.shape[0], -1, self.obs_dim)
        per_agent = lambda p, obs: jax.vmap(eqx.combine(p, self._static))(obs)  # noqa: E731
        output = jax.vmap(per_agent)(params["mean"], flat).reshape(
            observations.shape[:1] + batch_shape + (self.action_dim,)
        )
        return self._squashed(output)

    def _squashed(self, output: jax.Array) -> jax.Array:
        """The mean from the network's output: squashed into the action box with ``bounded_mean``."""
        if not self.bounded_mean:
            return output
        low, high = np.asarray(self.action_low, np.float32), np.asarray(self.action_high, np.float32)
        return (high + low) / 2 + (high - low) / 2 * jnp.tanh(output)

    def prepare(self, params: dict[str, Any], uniform: bool | jax.Array = False) -> tuple[dict[str, Any], jax.Array]:
        """(params, uniform): ``act`` selects with ``jnp.where``, so ``uniform`` may be traced."""
        return params, jnp.asarray(uniform)

    def act(
        self, prepared: tuple[dict[str, Any], jax.Array], observations: jax.Array, t: jax.Array, u: jax.Array
    ) -> jax.Array:
        """Actions [m, action_dim] for observations [m, obs_dim] from uniforms u [m, action_dim]:
        mu + sigma * Phi^-1(u), or low + (high - low) * u where the team acts uniformly."""
        params, uniform = prepared
        low, high = jnp.asarray(self.action_low, jnp.float32), jnp.asarray(self.action_high, jnp.float32)
        z = ndtri(jnp.clip(u, UNIFORM_EPS, 1.0 - UNIFORM_EPS))
        gaussian = self.mean(params, observations) + jnp.exp(params["log_std"]) * z
        return jnp.where(uniform, low + (high - low) * u, gaussian)

    def log_prob(self, params: dict[str, Any], observations: jax.Array, actions: jax.Array) -> jax.Array:
        """log pi_i(a_t | o_t), the diagonal Gaussian density summed over action dimensions, for
        observations [m, T, obs_dim] and actions [m, T, action_dim] -> [m, T]."""
        return gaussian_log_prob(actions, self.mean(params, observations), params["log_std"][:, None, :])


def gaussian_log_prob(actions: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """The diagonal Gaussian log density of actions [..., action_dim], summed over the last axis
    (mean and log_std broadcast against actions)."""
    z = (actions - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi), axis=-1)
