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
    success = success_rates(world, params, goals, jax.random.key(1), 8, max_steps=30, radius=1.5, temperature=0.0)
    assert success.shape == (3, 3)
    np.testing.assert_array_equal(success[:, 0], 1.0)  # every start lies within 1.5 of the start box's centre
    np.testing.assert_array_equal(success[:, 1:], 0.0)  # a wall's centre, and a room 30 steps cannot reach


def test_the_default_learner_reaches_every_goal_from_scripted_data_and_no_far_one_from_confined_data():
    """The learner test of offline goal reaching (docs: offline learning): shortest paths between
    random free points of GridWorldContinuous (100 x 200 steps, noisy), and the same confined to
    the start room. From the first, the default learner reaches each of the 15 goals, the 59-move
    ones included, in at least 90% of 20 episodes; from the second, none of the 12 goals outside
    the start room more often than chance wandering allows (10%)."""
    from pmaxent.continuous.goals import goal_points
    from pmaxent.continuous.offline_config import ContinuousOfflineConfig
    from pmaxent.continuous.paths import shortest_path_data
    from pmaxent.gcrl.data import from_trajectories, stack
    from pmaxent.gcrl.train import train_agents

    world = worlds.make("gridworld-continuous")
    config = ContinuousOfflineConfig()
    start_room = (-6.0, 0.0, -6.0, 0.0)
    data = [
        from_trajectories(*shortest_path_data(world, 100, 200, seed=0), world.max_step),
        from_trajectories(*shortest_path_data(world, 100, 200, seed=0, region=start_room), world.max_step),
    ]
    params, _ = train_agents(config.learner(), stack(data), [0, 0])
    goals = goal_points(world)
    success = success_rates(world, params, goals, jax.random.key(0), 20, config.max_episode_steps, 0.5, 1.0)
    assert success[0].min() >= 0.9, success[0]
    outside = (goals[:, 0] > 0) | (goals[:, 1] > 0)
    assert outside.sum() == 12 and success[1, ~outside].min() >= 0.9, success[1]
    assert success[1, outside].max() <= 0.1, success[1]
