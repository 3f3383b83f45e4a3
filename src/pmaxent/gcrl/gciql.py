"""GCIQL, goal-conditioned implicit Q-learning (OGBench, Park et al. 2025; IQL, Kostrikov et al.
2022, with goals): a value V(s, g) fitted by expectile regression to a target critic, a critic of
two members Q_i(s, g, a) fitted to r + gamma m V(s', g), and AWR or DDPG+BC policy extraction.

    L_V = E[ |tau - 1(q - V < 0)| (q - V(s, g))^2 ],  q = min_i Q-bar_i(s, g, a)
    L_Q = sum_i E[ (r + gamma m V(s', g) - Q_i(s, g, a))^2 ]
    AWR:     L_pi = -E[ min(exp(alpha (min_i Q_i(s, g, a) - V(s, g))), 100) log pi(a | s, g) ]
    DDPG+BC: L_pi = -E[ min_i Q_i(s, g, clip(mu(s, g))) ] / E|Q| - alpha E[ log pi(a | s, g) ]

V in L_Q and the critic and value in the actor's loss are not differentiated (the actor's
gradient flows through the action in DDPG+BC).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pmaxent.gcrl.config import GCConfig
from pmaxent.gcrl.data import Batch
from pmaxent.gcrl.gcivl import actor_means, expectile_loss
from pmaxent.gcrl.networks import MLP, Actor, ensemble_values, log_prob, value_ensemble

TARGET = "critic"
"""The parameters that have a target network."""


def init(key, obs_dim: int, action_dim: int, config: GCConfig) -> dict:
    """{"value": V(s, g), "critic": two Q(s, g, a) networks, "actor": pi(a | s, g)}."""
    value_key, critic_key, actor_key = jax.random.split(key, 3)
    return {
        "value": MLP((2 * obs_dim, *config.hidden, 1), value_key, config.layer_norm),
        "critic": value_ensemble(critic_key, 2 * obs_dim + action_dim, config.hidden, config.layer_norm),
        "actor": Actor(actor_key, 2 * obs_dim, config.hidden, action_dim),
    }


def state_values(value: MLP, observations, goals) -> jax.Array:
    """V(s, g) [B]."""
    return jax.vmap(lambda o, g: value(jnp.concatenate([o, g]))[0])(observations, goals)


def critic_values(critic, observations, goals, actions) -> jax.Array:
    """Q_i(s, g, a) [B, 2]."""
    return jax.vmap(lambda o, g, a: ensemble_values(critic, jnp.concatenate([o, g, a])))(observations, goals, actions)


def loss(params: dict, target, batch: Batch, config: GCConfig, key) -> tuple[jax.Array, dict]:
    """L_V + L_Q + L_pi and the metrics {value_loss, critic_loss, actor_loss, v_mean}."""
    del key  # the actor's mean is its action (constant standard deviation)
    q = critic_values(target, batch.observations, batch.value_goals, batch.actions).min(-1)
    v = state_values(params["value"], batch.observations, batch.value_goals)
    value_loss = expectile_loss(q - v, q - v, config.expectile).mean()

    next_v = state_values(jax.lax.stop_gradient(params["value"]), batch.next_observations, batch.value_goals)
    backup = batch.rewards + config.discount * batch.masks * next_v
    q_i = critic_values(params["critic"], batch.observations, batch.value_goals, batch.actions)
    critic_loss = ((q_i - backup[:, None]) ** 2).mean(0).sum()

    critic, value = jax.lax.stop_gradient(params["critic"]), jax.lax.stop_gradient(params["value"])
    means = actor_means(params["actor"], batch.observations, batch.actor_goals)
    data_log_prob = log_prob(means, batch.actions)
    if config.actor_loss == "awr":
        gain = critic_values(critic, batch.observations, batch.actor_goals, batch.actions).min(-1) - state_values(
            value, batch.observations, batch.actor_goals
        )
        actor_loss = -(jnp.minimum(jnp.exp(config.alpha * gain), 100.0) * data_log_prob).mean()
    else:
        q_pi = critic_values(critic, batch.observations, batch.actor_goals, jnp.clip(means, -1.0, 1.0)).min(-1)
        q_loss = -q_pi.mean() / jax.lax.stop_gradient(jnp.abs(q_pi).mean() + 1e-6)
        actor_loss = q_loss - config.alpha * data_log_prob.mean()
    metrics = {"value_loss": value_loss, "critic_loss": critic_loss, "actor_loss": actor_loss, "v_mean": v.mean()}
    return value_loss + critic_loss + actor_loss, metrics
