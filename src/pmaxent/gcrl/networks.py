"""The networks of OGBench's goal-conditioned agents, in Equinox: MLPs with GELU activations and
Glorot-uniform weights, layer normalization in value and critic networks, ensembles of two, and a
Gaussian actor with a constant unit standard deviation (OGBench's ``GCValue`` and ``GCActor``).

Every function acts on one input vector; callers ``jax.vmap`` over the batch.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

ACTOR_OUTPUT_SCALE = 1e-2
"""The actor's mean layer starts with weights scaled by this (OGBench's final_fc_init_scale)."""


def _linear(key, n_in: int, n_out: int, scale: float = 1.0) -> eqx.nn.Linear:
    """A dense layer with variance-scaling (fan_avg, uniform) weights of ``scale`` and zero bias."""
    layer = eqx.nn.Linear(n_in, n_out, key=key)
    weight = jax.nn.initializers.variance_scaling(scale, "fan_avg", "uniform")(key, (n_out, n_in))
    return eqx.tree_at(lambda m: (m.weight, m.bias), layer, (weight, jnp.zeros(n_out)))


class MLP(eqx.Module):
    """Dense layers; GELU after each hidden layer (and the last when ``activate_final``), then
    layer normalization where ``layer_norm``."""

    layers: tuple[eqx.nn.Linear, ...]
    norms: tuple[eqx.nn.LayerNorm, ...]
    activate_final: bool = eqx.field(static=True)

    def __init__(self, sizes, key, layer_norm: bool = False, activate_final: bool = False):
        sizes = tuple(sizes)
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(_linear(k, a, b) for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True))
        activated = sizes[1:] if activate_final else sizes[1:-1]
        self.norms = tuple(eqx.nn.LayerNorm(size) for size in activated) if layer_norm else ()
        self.activate_final = activate_final

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i + 1 < len(self.layers) or self.activate_final:
                x = jax.nn.gelu(x)
                if self.norms:
                    x = self.norms[i](x)
        return x


def value_ensemble(key, n_in: int, hidden, layer_norm: bool, members: int = 2) -> MLP:
    """``members`` scalar-output MLPs stacked along a leading axis (call with :func:`ensemble_values`)."""
    return eqx.filter_vmap(lambda k: MLP((n_in, *hidden, 1), k, layer_norm))(jax.random.split(key, members))


def ensemble_values(ensemble: MLP, x) -> jax.Array:
    """Each member's value of input x [n_in]: [members]."""
    return eqx.filter_vmap(lambda member: member(x)[0])(ensemble)


class Actor(eqx.Module):
    """pi(a | s, g) = N(mu(s, g), I): an MLP (activated last layer, no layer norm) and a mean layer."""

    trunk: MLP
    mean: eqx.nn.Linear

    def __init__(self, key, n_in: int, hidden, action_dim: int):
        trunk_key, mean_key = jax.random.split(key)
        self.trunk = MLP((n_in, *hidden), trunk_key, activate_final=True)
        self.mean = _linear(mean_key, hidden[-1], action_dim, ACTOR_OUTPUT_SCALE)

    def __call__(self, x) -> jax.Array:
        """The mean action of input x [n_in]."""
        return self.mean(self.trunk(x))


def log_prob(mean: jax.Array, action: jax.Array) -> jax.Array:
    """log N(action; mean, I), summed over the action's dimensions."""
    return jnp.sum(-0.5 * (action - mean) ** 2 - 0.5 * jnp.log(2.0 * jnp.pi), axis=-1)
