"""GCIVL, goal-conditioned implicit V-learning (OGBench, Park et al. 2025, section 6 and appendix):
IQL's expectile regression with a V function only, and AWR policy extraction.

Value (two members, target network V-bar, the advantage from the target as in double DQN):

    q_i = r + gamma m V-bar_i(s', g),   adv = r + gamma m min_i V-bar_i(s', g) - mean_i V-bar_i(s, g)
    L_V = sum_i E[ |tau - 1(adv < 0)| (q_i - V_i(s, g))^2 ]

Actor (AWR): L_pi = -E[ min(exp(alpha (V(s', g) - V(s, g))), 100) log pi(a | s, g) ], V the mean of
the two members, not differentiated.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pmaxent.gcrl.config import GCConfig
from pmaxent.gcrl.data import Batch
from pmaxent.gcrl.networks import Actor, ensemble_values, log_prob, value_ensemble

TARGET = "value"
"""The parameters that have a target network."""


def init(key, obs_dim: int, action_dim: int, config: GCConfig) -> dict:
    """{"value": two V(s, g) networks, "actor": pi(a | s, g)}."""
    value_key, actor_key = jax.random.split(key)
    return {
        "value": value_ensemble(value_key, 2 * obs_dim, config.hidden, config.layer_norm),
        "actor": Actor(actor_key, 2 * obs_dim, config.hidden, action_dim),
    }


def values(ensemble, observations, goals) -> jax.Array:
    """V_i(s, g) of observations and goals [B, d]: [B, 2]."""
    return jax.vmap(lambda o, g: ensemble_values(ensemble, jnp.concatenate([o, g])))(observations, goals)


def expectile_loss(adv, diff, expectile: float) -> jax.Array:
    """|tau - 1(adv < 0)| diff^2, elementwise."""
    return jnp.where(adv >= 0, expectile, 1.0 - expectile) * diff**2


def actor_means(actor: Actor, observations, goals) -> jax.Array:
    """The actor's mean actions [B, a] for observations and goals [B, d]."""
    return jax.vmap(lambda o, g: actor(jnp.concatenate([o, g])))(observations, goals)


def loss(params: dict, target, batch: Batch, config: GCConfig, key) -> tuple[jax.Array, dict]:
    """L_V + L_pi and the metrics {value_loss, actor_loss, v_mean, adv}."""
    del key  # AWR needs no sampling
    bootstrap = config.discount * batch.masks[:, None]
    next_target = values(target, batch.next_observations, batch.value_goals)
    q = batch.rewards[:, None] + bootstrap * next_target
    adv = (
        batch.rewards
        + bootstrap[:, 0] * next_target.min(-1)
        - values(target, batch.observations, batch.value_goals).mean(-1)
    )
    v = values(params["value"], batch.observations, batch.value_goals)
    value_loss = expectile_loss(adv[:, None], q - v, config.expectile).mean(0).sum()

    fixed = jax.lax.stop_gradient(params["value"])
    gain = (
        values(fixed, batch.next_observations, batch.actor_goals) - values(fixed, batch.observations, batch.actor_goals)
    ).mean(-1)
    weight = jnp.minimum(jnp.exp(config.alpha * gain), 100.0)
    means = actor_means(params["actor"], batch.observations, batch.actor_goals)
    actor_loss = -(weight * log_prob(means, batch.actions)).mean()
    metrics = {"value_loss": value_loss, "actor_loss": actor_loss, "v_mean": v.mean(), "adv": gain.mean()}
    return value_loss + actor_loss, metrics
