"""The goals offline agents are judged on in the continuous worlds (:mod:`pmaxent.continuous.offline`).

A task is a goal point g with radius r (default 0.5): an episode succeeds when it reaches a state
within distance r of g (closed disc).

The goals cover the free space:

- a world built from a text map (the continuous Room and Maze, a user's map): the centre of every
  floor cell that is not a start cell, the continuous counterpart of the tabular goals (SPEC
  section 7: every valid state outside the start);
- GridWorldContinuous: the centres of a regular grid of spacing 3 over its 12 x 12 arena (four
  per room) that lie in free space, without those whose disc touches the start square.
"""

from __future__ import annotations

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
