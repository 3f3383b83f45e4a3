"""Datasets for goal-conditioned learning and OGBench's hindsight goal sampling (its ``GCDataset``).

A dataset is a set of trajectories, flattened into transitions in OGBench's regular layout
(``observations``, ``actions``, ``next_observations``; ``terminals`` 1 at each trajectory's last
transition), held as :class:`GoalData`: padded to a common number of rows, so that the datasets
of a whole experiment stack along a leading axis and train at once under ``jax.vmap``.

Goals are observations of the dataset (states it reached), chosen per transition (OGBench,
section 5 and its ``GCDataset.sample_goals``): the current state with probability p_cur, a later
state of the same trajectory with probability p_traj (offset geometric with parameter 1 - gamma
for value goals, uniform over the rest of the trajectory for actor goals), otherwise a random
state of the dataset. The reward is 0 when the goal is the current state and -1 otherwise, and
the transition then ends (mask 0): the value estimates minus the number of steps to the goal.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.gcrl.config import GCConfig


class GoalData(NamedTuple):
    """Transitions, padded: observations [N, d], actions [N, a] (scaled to [-1, 1]),
    next_observations [N, d], final int32 [N] (the index of the last transition of row i's
    trajectory), size int32 [] (the rows that are data; the rest repeat row 0 and are never drawn).
    With a leading axis on every leaf, a stack of datasets."""

    observations: jax.Array
    actions: jax.Array
    next_observations: jax.Array
    final: jax.Array
    size: jax.Array


class Batch(NamedTuple):
    """A batch of B transitions with goals: observations, next_observations, value_goals,
    actor_goals [B, d]; actions [B, a]; rewards, masks [B]."""

    observations: jax.Array
    actions: jax.Array
    next_observations: jax.Array
    value_goals: jax.Array
    actor_goals: jax.Array
    rewards: jax.Array
    masks: jax.Array


def from_transitions(observations, actions, next_observations, terminals) -> GoalData:
    """OGBench's regular layout (what ``ogbench.utils.load_dataset`` returns) as :class:`GoalData`.
    ``terminals`` [N] marks each trajectory's last transition; the last row must be one."""
    terminals = np.asarray(terminals) > 0
    size = len(terminals)
    if size == 0 or not terminals[-1]:
        raise ValueError("a dataset must end with a trajectory's last transition (terminals[-1] = 1)")
    ends = np.flatnonzero(terminals)
    final = ends[np.searchsorted(ends, np.arange(size))]
    return GoalData(
        np.asarray(observations, np.float32), np.asarray(actions, np.float32),
        np.asarray(next_observations, np.float32), final.astype(np.int32), np.int32(size),
    )  # fmt: skip


def from_trajectories(observations, actions, action_scale: float = 1.0) -> GoalData:
    """Trajectories observations [E, T+1, d] and actions [E, T, a], actions divided by
    ``action_scale`` (the action box's half-width) so that they lie in [-1, 1] as OGBench's do."""
    observations, actions = np.asarray(observations, np.float32), np.asarray(actions, np.float32)
    n, horizon = actions.shape[:2]
    if observations.shape[:2] != (n, horizon + 1):
        raise ValueError(f"observations must be [E, T+1, d] for actions [E, T, a]; got {observations.shape}")
    terminals = np.zeros((n, horizon), bool)
    terminals[:, -1] = True
    flat = lambda x: x.reshape(n * horizon, x.shape[-1])  # noqa: E731
    return from_transitions(
        flat(observations[:, :-1]), flat(actions) / action_scale, flat(observations[:, 1:]), terminals.reshape(-1)
    )


def stack(datasets: list[GoalData]) -> GoalData:
    """Datasets padded to the longest (with copies of their first row) and stacked: leaves [D, ...]."""
    rows = max(int(d.size) for d in datasets)

    def pad(x):
        x = np.asarray(x)
        return np.concatenate([x, np.repeat(x[:1], rows - len(x), axis=0)]) if x.ndim and len(x) < rows else x

    return GoalData(*(np.stack(leaves) for leaves in zip(*(map(pad, d) for d in datasets), strict=True)))


def sample_goals(key, data: GoalData, idxs, p_cur: float, p_traj: float, geometric: bool, discount: float):
    """Goal indices [B] for transitions ``idxs`` [B] (OGBench's ``GCDataset.sample_goals``)."""
    traj_key, random_key, choice_key, current_key = jax.random.split(key, 4)
    final = data.final[idxs]
    if geometric:
        offsets = jax.random.geometric(traj_key, 1.0 - discount, idxs.shape).astype(idxs.dtype)  # in [1, inf)
        trajectory = jnp.minimum(idxs + offsets, final)
    else:
        distance = jax.random.uniform(traj_key, idxs.shape)
        nearest = jnp.minimum(idxs + 1, final)
        trajectory = jnp.round(nearest * distance + final * (1.0 - distance)).astype(idxs.dtype)
    if p_cur == 1.0:
        return idxs
    random = jax.random.randint(random_key, idxs.shape, 0, data.size)
    goals = jnp.where(jax.random.uniform(choice_key, idxs.shape) < p_traj / (1.0 - p_cur), trajectory, random)
    return jnp.where(jax.random.uniform(current_key, idxs.shape) < p_cur, idxs, goals)


def sample_batch(key, data: GoalData, config: GCConfig) -> Batch:
    """B transitions drawn uniformly from the dataset's rows, with value and actor goals."""
    idx_key, value_key, actor_key = jax.random.split(key, 3)
    idxs = jax.random.randint(idx_key, (config.batch_size,), 0, data.size)
    value = sample_goals(value_key, data, idxs, config.value_p_curgoal, config.value_p_trajgoal, True, config.discount)
    actor = sample_goals(actor_key, data, idxs, config.actor_p_curgoal, config.actor_p_trajgoal, False, config.discount)
    success = (idxs == value).astype(jnp.float32)
    return Batch(
        data.observations[idxs], data.actions[idxs], data.next_observations[idxs], data.observations[value],
        data.observations[actor], success - 1.0, 1.0 - success,
    )  # fmt: skip
