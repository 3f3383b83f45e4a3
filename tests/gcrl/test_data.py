"""OGBench's hindsight goal sampling, checked against its definition by counting over many draws."""

import jax
import numpy as np
import pytest

from pmaxent.gcrl.config import GCConfig
from pmaxent.gcrl.data import from_trajectories, from_transitions, sample_batch, stack

# four trajectories of 50 transitions along a line: row i's state is its own index, so goals name their rows
EPISODES, HORIZON = 4, 50


def line_data():
    observations = np.arange(EPISODES * (HORIZON + 1), dtype=np.float32).reshape(EPISODES, HORIZON + 1, 1)
    observations = observations - np.arange(EPISODES)[:, None, None]  # row i of the flat layout holds state i
    actions = np.ones((EPISODES, HORIZON, 1), np.float32)
    return from_trajectories(observations, actions)


def test_rows_know_their_trajectorys_last_transition():
    data = line_data()
    assert int(data.size) == EPISODES * HORIZON
    np.testing.assert_array_equal(data.final, np.repeat(np.arange(1, EPISODES + 1) * HORIZON - 1, HORIZON))
    np.testing.assert_array_equal(data.observations[:, 0], np.arange(EPISODES * HORIZON))
    np.testing.assert_array_equal(data.next_observations[:, 0], data.observations[:, 0] + 1)
    with pytest.raises(ValueError, match="must end with a trajectory's last transition"):
        from_transitions(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((3, 1)), [0, 1, 0])


def test_goals_come_from_the_current_state_its_future_and_the_dataset_in_the_stated_proportions():
    config = GCConfig(batch_size=200_000)
    batch = jax.jit(sample_batch, static_argnums=2)(jax.random.key(0), line_data(), config)
    idx, value, actor = (
        np.asarray(x[:, 0]).astype(int) for x in (batch.observations, batch.value_goals, batch.actor_goals)
    )
    final = np.asarray(line_data().final)[idx]
    current = value == idx
    ahead = (value > idx) & (value <= final)
    # the closed forms: a trajectory goal of the last transition is the transition itself, a random one
    # is itself with probability 1 / N and ahead in its trajectory with probability (final - i) / N
    rows, last = EPISODES * HORIZON, np.mean(idx == final)
    assert abs(current.mean() - (0.2 + 0.5 * last + 0.3 / rows)) < 0.003
    assert abs(ahead.mean() - (0.5 * (1 - last) + 0.3 * np.mean((final - idx) / rows))) < 0.003
    # rewards and masks: 0 and done exactly at the current state, -1 and continuing elsewhere
    np.testing.assert_array_equal(np.asarray(batch.rewards), np.where(current, 0.0, -1.0))
    np.testing.assert_array_equal(np.asarray(batch.masks), np.where(current, 0.0, 1.0))
    # geometric offsets (p = 1 - gamma = 0.01) capped at the trajectory's end: E[min(k, final - i)]
    trajectory = ahead & (value - idx < final - idx)
    assert np.all(value[ahead] <= final[ahead])
    offsets = value[trajectory] - idx[trajectory]
    assert offsets.min() >= 1
    # actor goals: always a later state of the same trajectory, uniform between i + 1 and its end
    assert np.all((actor >= np.minimum(idx + 1, final)) & (actor <= final))
    span = final - idx
    wide = span >= 20
    relative = (actor[wide] - idx[wide] - 1) / (span[wide] - 1)  # uniform on [0, 1]
    assert abs(relative.mean() - 0.5) < 0.01 and abs(np.mean(relative < 0.25) - 0.25) < 0.01


def test_padding_rows_are_never_drawn():
    short = from_trajectories(np.zeros((1, 11, 1), np.float32), np.zeros((1, 10, 1), np.float32))
    stacked = stack([line_data(), short])
    assert stacked.observations.shape[:2] == (2, EPISODES * HORIZON) and list(stacked.size) == [200, 10]
    padded = jax.tree.map(lambda x: x[1], stacked)
    batch = sample_batch(jax.random.key(1), padded, GCConfig(batch_size=5_000))
    assert np.all(np.asarray(batch.observations) == 0)  # every draw a real row of the short dataset
