"""Goal-reaching tasks in the continuous worlds and the relabelling of exploration data for them
(the offline protocol of ExORL: reward-free data, rewards computed per task afterwards).

A task is a goal point g with radius r (default 0.5): a transition into a state within distance
r of g (closed disc) earns reward 1 and ends the episode; every other transition earns 0.

The goals cover the free space:

- a world built from a text map (the continuous Room and Maze, a user's map): the centre of every
  floor cell that is not a start cell, the continuous counterpart of the tabular goals (SPEC
  section 7: every valid state outside the start);
- GridWorldContinuous: the centres of a regular grid of spacing 3 over its 12 x 12 arena (four
  per room) that lie in free space, without those whose disc touches the start square.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pmaxent.continuous.worlds import ContinuousWorld, is_free, map_cell_box

GOAL_RADIUS = 0.5
"""Default goal radius r: a map cell is 1 wide, so the disc is the cell's inscribed circle."""
GOAL_SPACING = 3.0
"""Spacing of the goal grid of worlds without a map (GridWorldContinuous: 4 x 4 goals)."""


def _distance_to_boxes(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Euclidean distance of points [G, 2] to the nearest of boxes [K, 4] (0 inside): [G]."""
    dx = np.maximum(np.maximum(boxes[None, :, 0] - points[:, None, 0], 0.0), points[:, None, 0] - boxes[None, :, 1])
    dy = np.maximum(np.maximum(boxes[None, :, 2] - points[:, None, 1], 0.0), points[:, None, 1] - boxes[None, :, 3])
    return np.sqrt(dx**2 + dy**2).min(axis=1)


def goal_points(world: ContinuousWorld, spacing: float = GOAL_SPACING, radius: float = GOAL_RADIUS) -> np.ndarray:
    """The goals of a world (see the module docstring): float32 [G, 2].

    ``spacing`` applies to worlds without a map. Raises ValueError if the spacing or radius is
    not positive or if no goal is left.
    """
    if not (np.isfinite(spacing) and spacing > 0):
        raise ValueError(f"goal spacing must be positive; got {spacing}")
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"goal radius must be positive; got {radius}")
    if world.layout is not None:
        n_rows = len(world.layout)
        boxes = [
            map_cell_box(r, c, n_rows) for r, line in enumerate(world.layout) for c, ch in enumerate(line) if ch == "F"
        ]
        points = np.array([((x0 + x1) / 2, (y0 + y1) / 2) for x0, x1, y0, y1 in boxes], np.float32).reshape(-1, 2)
    else:
        x0, x1, y0, y1 = world.bounds
        nx, ny = int(np.floor((x1 - x0) / spacing)), int(np.floor((y1 - y0) / spacing))
        xs = x0 + (x1 - x0 - nx * spacing) / 2 + spacing * (np.arange(nx) + 0.5)
        ys = y0 + (y1 - y0 - ny * spacing) / 2 + spacing * (np.arange(ny) + 0.5)
        points = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
        points = points[np.asarray(is_free(world, points))]
        points = points[_distance_to_boxes(points.astype(np.float64), world.starts) > radius]
    if len(points) == 0:
        raise ValueError(f"world {world.name!r} has no goal: no free point of the goal grid lies away from the start")
    return points


class RelabelledData(NamedTuple):
    """Goal-conditioned transitions in the flat layout of d3rlpy's ``MDPDataset``: row i is
    (observation [x, y, g_x, g_y], action, reward of the action, terminal, timeout); an episode
    ends at a terminal or timeout row, and the next observation of a non-final row is row i + 1.

    observations float32 [n, 4]; actions float32 [n, 2]; rewards float32 [n]; terminals,
    timeouts bool [n].
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminals: np.ndarray
    timeouts: np.ndarray


def reached(positions: np.ndarray, goals: np.ndarray, radius: float = GOAL_RADIUS) -> np.ndarray:
    """bool [G, ...]: positions [..., 2] within distance ``radius`` of each of goals [G, 2]."""
    positions = np.asarray(positions, np.float64)
    goals = np.asarray(goals, np.float64).reshape((-1,) + (1,) * (positions.ndim - 1) + (2,))
    return np.sum((positions[None] - goals) ** 2, axis=-1) <= radius**2


def relabel(
    observations: np.ndarray, actions: np.ndarray, goals: np.ndarray, radius: float = GOAL_RADIUS
) -> RelabelledData:
    """Every trajectory relabelled for every goal.

    Args:
        observations: float [E, T + 1, 2], the positions of E trajectories.
        actions: float [E, T, 2].
        goals: float [G, 2].
        radius: goal radius r.

    Returns:
        The G x E relabelled trajectories, goal-major. Transition t of a trajectory earns
        r_t = 1 and is terminal iff s_{t+1} lies within r of the goal; a trajectory is then split
        after each terminal transition (the states after it start a new episode). Each
        trajectory ends with the row (s_T, zero action, reward 0, timeout), so that its last
        transition keeps s_T as next observation; that row is dropped when transition T - 1 is
        terminal (no transition leaves it).
    """
    observations = np.asarray(observations, np.float32)
    actions = np.asarray(actions, np.float32)
    goals = np.asarray(goals, np.float32)
    n_episodes, horizon = actions.shape[:2]
    if observations.shape[:2] != (n_episodes, horizon + 1) or observations.shape[-1] != 2 or actions.shape[-1] != 2:
        raise ValueError(
            f"observations must be [E, T + 1, 2] and actions [E, T, 2]; got {observations.shape} and {actions.shape}"
        )
    n_goals = goals.shape[0]
    hit = reached(observations[:, 1:], goals, radius)  # [G, E, T]
    terminals = np.concatenate([hit, np.zeros((n_goals, n_episodes, 1), bool)], axis=-1)
    rewards = terminals.astype(np.float32)
    timeouts = np.zeros_like(terminals)
    timeouts[..., -1] = True
    keep = ~(timeouts & np.concatenate([np.zeros_like(terminals[..., :1]), terminals[..., :-1]], axis=-1))
    states = np.broadcast_to(observations[None], (n_goals,) + observations.shape)
    targets = np.broadcast_to(goals[:, None, None, :], (n_goals, n_episodes, horizon + 1, 2))
    padded_actions = np.concatenate([actions, np.zeros((n_episodes, 1, 2), np.float32)], axis=1)
    moves = np.broadcast_to(padded_actions[None], (n_goals,) + padded_actions.shape)
    keep = keep.reshape(-1)
    return RelabelledData(
        observations=np.concatenate([states, targets], axis=-1).reshape(-1, 4)[keep],
        actions=moves.reshape(-1, 2)[keep],
        rewards=rewards.reshape(-1)[keep],
        terminals=terminals.reshape(-1)[keep],
        timeouts=timeouts.reshape(-1)[keep],
    )
