"""Scripted data: trajectories that follow shortest paths between random free points of a
continuous world (a noisy expert, as OGBench's navigate datasets are made), the data on which a
goal-conditioned learner must reach every goal; and the same confined to part of the world, on
which it must fail the goals outside it.

The plan is on a grid of ``cell`` = 0.25 (every wall coordinate of pmaxent's worlds is a multiple
of it, so a cell is free or walled as a whole): breadth-first distances over the free cells, with
diagonal moves only where both cells beside them are free, so a move from a cell towards the
centre of the next never crosses a wall. Each trajectory starts at a uniform point of a random
free cell, walks towards a random goal cell drawn from ``pool`` cells, and takes a new goal when
it arrives; each action points at the centre of the next cell of the path, with Gaussian noise of
``noise`` x max_step per axis, and the world's own step rule moves it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from pmaxent.continuous import worlds
from pmaxent.continuous.worlds import ContinuousWorld, is_free

PLAN_CELL = 0.25
"""Side of the planning grid's cells."""
OFFSETS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])


def plan_grid(world: ContinuousWorld, cell: float = PLAN_CELL) -> tuple[np.ndarray, np.ndarray]:
    """(centres float [N, 2] of the free cells, neighbours int [N, 8], -1 where there is none)."""
    x0, x1, y0, y1 = world.bounds
    nx, ny = int(round((x1 - x0) / cell)), int(round((y1 - y0) / cell))
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    centres = np.stack([x0 + (ix + 0.5) * cell, y0 + (iy + 0.5) * cell], -1)
    free = np.asarray(is_free(world, centres.reshape(-1, 2))).reshape(nx, ny)
    index = np.full((nx + 2, ny + 2), -1)
    index[1:-1, 1:-1][free] = np.arange(free.sum())
    cells = np.argwhere(free) + 1
    neighbours = np.stack([index[cells[:, 0] + dx, cells[:, 1] + dy] for dx, dy in OFFSETS], axis=1)
    for k, (dx, dy) in enumerate(OFFSETS):
        if dx and dy:  # a diagonal move only where both cells beside it are free
            beside = (index[cells[:, 0] + dx, cells[:, 1]] >= 0) & (index[cells[:, 0], cells[:, 1] + dy] >= 0)
            neighbours[~beside, k] = -1
    return centres[free], neighbours


def shortest_path_data(
    world: ContinuousWorld,
    episodes: int,
    horizon: int,
    seed: int = 0,
    noise: float = 0.2,
    pool: int = 64,
    region: tuple[float, float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Trajectories observations float32 [E, T+1, 2] and actions float32 [E, T, 2] (see the module
    docstring). ``region`` (xmin, xmax, ymin, ymax): start and goal cells only inside it."""
    rng = np.random.default_rng(seed)
    centres, neighbours = plan_grid(world)
    allowed = np.arange(len(centres))
    if region is not None:
        x0, x1, y0, y1 = region
        inside = (centres[:, 0] > x0) & (centres[:, 0] < x1) & (centres[:, 1] > y0) & (centres[:, 1] < y1)
        allowed = allowed[inside]
    if len(allowed) < 2:
        raise ValueError(f"the region {region} holds fewer than two free cells of world {world.name!r}")
    rows, columns = np.nonzero(neighbours >= 0)
    graph = scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, neighbours[rows, columns])), shape=(len(centres),) * 2)
    goals = rng.choice(allowed, min(pool, len(allowed)), replace=False)
    distance = scipy.sparse.csgraph.shortest_path(graph, unweighted=True, indices=goals)  # [P, N]
    padded = np.concatenate([distance, np.full((len(goals), 1), np.inf)], axis=1)  # column -1: no neighbour
    next_cell = neighbours[np.arange(len(centres))[None], np.argmin(padded[:, neighbours], axis=2)]  # [P, N]

    half = PLAN_CELL / 2
    start = rng.choice(allowed, episodes)
    position = centres[start] + rng.uniform(-half, half, (episodes, 2)) * 0.999
    goal = rng.integers(len(goals), size=episodes)
    cell_index = _cell_lookup(world, centres)
    observations, actions = [position.astype(np.float32)], []
    for _ in range(horizon):
        here = cell_index(position)
        arrived = here == goals[goal]
        goal = np.where(arrived, rng.integers(len(goals), size=episodes), goal)
        target = centres[next_cell[goal, here]]
        target = np.where((next_cell[goal, here] < 0)[:, None], centres[goals[goal]], target)
        action = np.clip(target - position, -world.max_step, world.max_step)
        action = action + noise * world.max_step * rng.standard_normal(action.shape)
        action = np.clip(action, -world.max_step, world.max_step).astype(np.float32)
        u = rng.random((episodes, world.step_noise), np.float32)
        position = np.asarray(worlds.step_many(world, position.astype(np.float32), action, u), np.float64)
        observations.append(position.astype(np.float32))
        actions.append(action)
    return np.stack(observations, axis=1), np.stack(actions, axis=1)


def _cell_lookup(world: ContinuousWorld, centres: np.ndarray):
    """positions [E, 2] -> index [E] of the free planning cell holding them."""
    x0, x1, y0, y1 = world.bounds
    nx, ny = int(round((x1 - x0) / PLAN_CELL)), int(round((y1 - y0) / PLAN_CELL))
    table = np.full((nx, ny), -1)
    ij = np.floor((centres - (x0, y0)) / PLAN_CELL).astype(int)
    table[ij[:, 0], ij[:, 1]] = np.arange(len(centres))

    def lookup(positions):
        ij = np.clip(np.floor((positions - (x0, y0)) / PLAN_CELL).astype(int), 0, (nx - 1, ny - 1))
        return table[ij[:, 0], ij[:, 1]]

    return lookup
