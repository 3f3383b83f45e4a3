"""Offline goal reaching in the continuous worlds with pmaxent's JAX learners (:mod:`pmaxent.gcrl`):
every dataset's learner trained at once, then every learner, goal and episode rolled out at once
in the true world.

A learner sees positions (x, y) and goals (x, y), as OGBench's pointmaze agents do, and its
actions are scaled to [-1, 1] (the world's max_step is 1). It is trained on the dataset's own
states as goals (hindsight, :mod:`pmaxent.gcrl.data`), never on the evaluation goals, and judged
on every goal of the world (:func:`pmaxent.continuous.goals.goal_points`): an episode starts from
the world's start distribution, acts by the learner's policy at a temperature (1: the Gaussian as
learned; 0: its mean), and succeeds when it comes within ``radius`` of the goal within ``max_steps``
steps. The continuous worlds reject a move whose end point is in a wall, so a mean action with any
component into a wall stays rejected at every step; sampled actions leave such a spot.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.continuous import worlds
from pmaxent.continuous.offline_config import ContinuousOfflineConfig
from pmaxent.continuous.worlds import ContinuousWorld
from pmaxent.gcrl.data import GoalData, stack
from pmaxent.gcrl.train import act, train_agents


def learn_and_judge(
    world: ContinuousWorld, data: list[GoalData], seeds, goals, config: ContinuousOfflineConfig, key, progress: bool
) -> np.ndarray:
    """Train one learner per dataset (its seed from ``seeds``), all at once, and judge every one on
    every goal [G, 2]: success float [D, G]."""
    params, _ = train_agents(config.learner(), stack(data), seeds, progress)
    return success_rates(
        world,
        params,
        goals,
        key,
        config.eval_episodes,
        config.max_episode_steps,
        config.goal_radius,
        config.temperature,
    )


@partial(jax.jit, static_argnums=(0, 4, 5))
def _rollouts(world, params, goals, key, episodes: int, max_steps: int, radius, temperature):
    """Success [D, G, episodes] of learners params [D, ...] on goals [G, 2]."""
    n = goals.shape[0] * episodes
    targets = jnp.repeat(goals, episodes, axis=0)
    reset_key, step_key, action_key = jax.random.split(key, 3)
    start = worlds.reset_many(world, jax.random.uniform(reset_key, (n, world.reset_noise)))

    def one(p):
        def advance(carry, t):
            position, done = carry
            action = act(p, position, targets, jax.random.fold_in(action_key, t), temperature) * world.max_step
            u = jax.random.uniform(jax.random.fold_in(step_key, t), (n, world.step_noise))
            moved = worlds.step_many(world, position, action, u)
            position = jnp.where(done[:, None], position, moved)
            return (position, done | (jnp.sum((position - targets) ** 2, -1) <= radius**2)), None

        done = jnp.sum((start - targets) ** 2, -1) <= radius**2
        (_, done), _ = jax.lax.scan(advance, (start, done), jnp.arange(max_steps))
        return done.reshape(goals.shape[0], episodes)

    return jax.lax.map(one, params)


def success_rates(
    world: ContinuousWorld,
    params,
    goals,
    key,
    episodes: int,
    max_steps: int,
    radius: float,
    temperature: float,
) -> np.ndarray:
    """Success rate per learner and goal, float [D, G]: ``episodes`` episodes per goal, actions drawn
    from the learner's policy at ``temperature`` (0: its mean)."""
    goals = jnp.asarray(goals, jnp.float32).reshape(-1, 2)
    done = _rollouts(world, params, goals, key, episodes, max_steps, jnp.float32(radius), jnp.float32(temperature))
    return np.asarray(done, np.float64).mean(axis=-1)
