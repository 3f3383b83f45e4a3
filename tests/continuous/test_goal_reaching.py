"""The JAX goal-reaching evaluation: an episode succeeds when a state, the first included, lies
within the radius of the goal."""

import jax
import numpy as np

from pmaxent.continuous import worlds
from pmaxent.continuous.goal_reaching import success_rates
from pmaxent.gcrl.config import GCConfig
from pmaxent.gcrl.train import make_learner


def test_a_goal_at_the_start_is_reached_and_one_inside_a_wall_never_is():
    world = worlds.make("gridworld-continuous")
    init, _ = make_learner(GCConfig(hidden=(8,)), 2, 2)
    params = jax.vmap(init)(jax.random.split(jax.random.key(0), 3)).params  # three untrained learners
    goals = np.array([[-5.0, -5.0], [0.0, 0.0], [-5.0, 5.0]], np.float32)  # start box centre, a wall, far room
    success = success_rates(world, params, goals, jax.random.key(1), episodes=8, max_steps=30, radius=1.5)
    assert success.shape == (3, 3)
    np.testing.assert_array_equal(success[:, 0], 1.0)  # every start lies within 1.5 of the start box's centre
    np.testing.assert_array_equal(success[:, 1:], 0.0)  # a wall's centre, and a room 30 steps cannot reach
