"""GCIVL and GCIQL learn the value of a chain in closed form: on one trajectory moving one state per
step, V(s_i, s_j) = -(1 - gamma^(j - i)) / (1 - gamma) for every later state s_j (reward -1 per step,
0 at the goal)."""

import dataclasses

import jax
import numpy as np
import pytest

from pmaxent.gcrl import gciql, gcivl
from pmaxent.gcrl.config import GCIQL, GCConfig
from pmaxent.gcrl.data import from_trajectories, stack
from pmaxent.gcrl.train import act, train_agents

LENGTH, GAMMA = 10, 0.99


@pytest.mark.parametrize(
    "config",
    # GCIQL's DDPG+BC actor follows its critic's slope off the data, where one action's data leave the
    # critic unconstrained; its behaviour-cloning weight is raised so that the data pin the action
    # (at OGBench's 0.3 the actor ended at -0.3 to -0.7 on one CPU and at 1 on another)
    [GCConfig(steps=4000, hidden=(64, 64)), dataclasses.replace(GCIQL, steps=4000, hidden=(64, 64), alpha=3.0)],
    ids=["gcivl", "gciql"],
)
def test_the_value_of_a_chain_is_the_discounted_number_of_steps(config):
    states = (np.arange(LENGTH + 1, dtype=np.float32) / LENGTH).reshape(1, LENGTH + 1, 1)
    data = stack([from_trajectories(states, np.ones((1, LENGTH, 1), np.float32))])
    params, metrics = train_agents(config, data, [0])
    one = jax.tree.map(lambda leaf: leaf[0], params)
    i, j = np.meshgrid(np.arange(LENGTH), np.arange(LENGTH), indexing="ij")  # goals: the states rows hold
    s, g = states[0, i.reshape(-1)], states[0, j.reshape(-1)]
    if config.agent == "gcivl":
        value = np.asarray(gcivl.values(one["value"], s, g).mean(-1)).reshape(LENGTH, LENGTH)
    else:
        value = np.asarray(gciql.state_values(one["value"], s, g)).reshape(LENGTH, LENGTH)
    ahead = j >= i
    truth = -(1 - GAMMA ** (j - i)) / (1 - GAMMA)
    np.testing.assert_allclose(value[ahead], truth[ahead], atol=0.75)
    assert value[~ahead].max() < truth[ahead].min() - 1  # a goal behind is worse than every goal ahead
    # the data's only action: the policy takes it whatever the goal
    np.testing.assert_allclose(np.asarray(act(one, s, g)), 1.0, atol=0.05)
    assert set(metrics) >= {"value_loss", "actor_loss"} and metrics["value_loss"].shape == (1, 2)


def test_settings_out_of_range_are_named():
    with pytest.raises(ValueError, match="unknown goal-conditioned agent 'iql'"):
        GCConfig(agent="iql")
    with pytest.raises(ValueError, match="GCIVL has no Q function"):
        GCConfig(actor_loss="ddpgbc")
    with pytest.raises(ValueError, match="value goal probabilities"):
        GCConfig(value_p_curgoal=0.5)
    with pytest.raises(ValueError, match="expectile must lie in"):
        GCConfig(expectile=1.0)
