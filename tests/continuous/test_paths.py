"""Scripted shortest-path data: every step is the world's own, the paths reach their goals, and a
region confines them."""

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.continuous import worlds
from pmaxent.continuous.paths import plan_grid, shortest_path_data


def test_the_planning_grid_never_steps_through_a_wall_corner():
    world = worlds.make("gridworld-continuous")
    centres, neighbours = plan_grid(world)
    assert np.all(worlds.is_free(world, centres))
    rows, columns = np.nonzero(neighbours >= 0)
    steps = centres[neighbours[rows, columns]] - centres[rows]
    # the segment between neighbouring centres is free at every point (checked at 21 points each)
    along = centres[rows][:, None] + np.linspace(0, 1, 21)[None, :, None] * steps[:, None]
    assert np.all(np.asarray(worlds.is_free(world, along.reshape(-1, 2))))


def test_shortest_path_data_follows_the_world_and_a_region_confines_it():
    world = worlds.make("gridworld-continuous")
    observations, actions = shortest_path_data(world, 40, 150, seed=3)
    assert observations.shape == (40, 151, 2) and actions.shape == (40, 150, 2)
    assert np.abs(actions).max() <= world.max_step
    replay = jax.vmap(jax.vmap(lambda p, a: worlds.step(world, p, a, jnp.zeros(0))))(observations[:, :-1], actions)
    np.testing.assert_array_equal(np.asarray(replay), observations[:, 1:])
    assert float(worlds.coverage(world, jnp.asarray(observations.reshape(1, -1, 2)))[0]) > 0.6
    # most steps move (an expert walking to its goals, not one pressed into a wall)
    assert np.mean(np.any(observations[:, 1:] != observations[:, :-1], axis=-1)) > 0.9
    room = (-6.0, -1.25, -6.0, -1.25)
    confined, _ = shortest_path_data(world, 20, 150, seed=4, region=room)
    assert np.all((confined[..., 0] < -1.25) & (confined[..., 1] < -1.25))  # the start room only
