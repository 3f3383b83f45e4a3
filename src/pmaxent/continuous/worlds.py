"""Continuous 2-D navigation worlds (SPEC section 11): MEPOL's GridWorldContinuous and the paper's
Room and Maze maps read as continuous spaces.

A :class:`ContinuousWorld` holds static parameters only (gymnax style); the dynamics are pure
functions of it, :func:`reset` and :func:`step`, driven by uniforms in [0, 1) so they jit and vmap
and the Gymnasium environment (:mod:`pmaxent.continuous.gymnasium_env`) runs the very same code.

The rule of motion (MEPOL's, for every world): the action (dx, dy) is clipped to
[-max_step, max_step] per axis and the proposed point p + (dx, dy) is *rejected* (the agent stays
where it is) if it lies in any wall box, boundaries included, or on or beyond the arena's edge.
Only the end point is checked, as in MEPOL: a step can cut the corner between two floor cells that
touch diagonally, but it can never cross a wall thicker than ``max_step`` (walls of a map are whole
cells and ``from_map`` requires ``max_step <= 1``).

Stochastic worlds (``slip > 0``): with probability ``slip`` the action is replaced by one drawn
uniformly from the action box [-max_step, max_step]^2.

Non-finite actions: an action with a NaN or infinite component is a rejected move (the agent
stays where it is, whatever the slip), so a diverging policy cannot put a NaN into the state.

Positions are float32 (JAX's default); every wall and arena coordinate used here (multiples of
0.25) is exact in float32, so the boundary rule is applied exactly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from functools import partial

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.components import Environment
from pmaxent.maps import MAZE_MAP, PAPER_SLIP, ROOM_MAP, START, WALL, map_rows

#: Side of the square cells of the coverage grid (SPEC section 11).
COVERAGE_CELL = 0.5

#: MEPOL's GridWorldContinuous walls (xmin, xmax, ymin, ymax), SPEC section 11.
GRIDWORLD_WALLS = (
    (-1.25, 1.25, -2.5, 2.5),
    (-2.5, -1.25, -1.25, 1.25),
    (1.25, 2.5, -1.25, 1.25),
    (-6.0, -3.5, -1.25, 1.25),
    (-1.25, 1.25, -6.0, -3.5),
    (3.5, 6.0, -1.25, 1.25),
    (-1.25, 1.25, 3.5, 6.0),
)
GRIDWORLD_BOUNDS = (-6.0, 6.0, -6.0, 6.0)
GRIDWORLD_START = (-6.0, -4.0, -6.0, -4.0)
GRIDWORLD_MAX_STEP = 0.2
#: Free area of GridWorldContinuous: 144 - 43.75 (walls) = 100.25.
GRIDWORLD_FREE_AREA = 100.25

#: Default horizons. GridWorldContinuous: T = 200 steps of at most 0.2 per axis (MEPOL: 1,200),
#: too few for one trajectory to tour the four rooms (the far corner of the room diagonally
#: opposite the start is at least 75 steps away), as SPEC's expected behaviour asks: there the
#: team of four split the rooms in every seed benchmarks/continuous_defaults.py ran; at T = 250
#: to 400 a single agent's trajectories reached as many rooms and tied it (its tables are in
#: docs/continuous.md). Room and Maze: 4 x the paper's tabular horizon (8 and 10), i.e. the same
#: distance in cells, since a step of 0.25 is a quarter of a cell: T + 1 points touch at most 33
#: (Room) or 41 (Maze) of the 172 free 0.5-cells, so one agent cannot cover both rooms / all
#: corridors.
GRIDWORLD_HORIZON = 200
ROOM_HORIZON = 32
MAZE_HORIZON = 40
MAP_MAX_STEP = 0.25

#: name -> (map rows or None for GridWorldContinuous, slip probability, default horizon).
CONTINUOUS_ENVS = {
    "gridworld-continuous": (None, 0.0, GRIDWORLD_HORIZON),
    "room-det-continuous": (ROOM_MAP, 0.0, ROOM_HORIZON),
    "room-stoc-continuous": (ROOM_MAP, PAPER_SLIP, ROOM_HORIZON),
    "maze-det-continuous": (MAZE_MAP, 0.0, MAZE_HORIZON),
    "maze-stoc-continuous": (MAZE_MAP, PAPER_SLIP, MAZE_HORIZON),
}


def _boxes(value, what: str) -> np.ndarray:
    boxes = np.asarray(value, np.float64).reshape(-1, 4) if np.size(value) else np.zeros((0, 4))
    if not np.all(np.isfinite(boxes)):
        raise ValueError(f"{what} must be finite")
    if np.any(boxes[:, 0] > boxes[:, 1]) or np.any(boxes[:, 2] > boxes[:, 3]):
        raise ValueError(f"{what} need xmin <= xmax and ymin <= ymax; got {boxes.tolist()}")
    return boxes


@dataclasses.dataclass(frozen=True, eq=False)
class ContinuousWorld:
    """Static description of a 2-D world with axis-aligned box walls.

    Attributes:
        name: identifier for runs and figures.
        walls: float64 [W, 4], closed wall boxes (xmin, xmax, ymin, ymax).
        bounds: (xmin, xmax, ymin, ymax) of the arena; its edge is solid.
        starts: float64 [K, 4], start boxes; the start is uniform over their union (a box is
            chosen with probability proportional to its area).
        max_step: per-axis bound of an action.
        slip: probability that the action is replaced by a uniform one from the action box.
        horizon: T, actions per trajectory.
        layout: the text map for worlds built by :func:`from_map`, else None.
        coverage_cell: side of the cells of the coverage grid.

    Derived in ``__post_init__`` (exactly, not by sampling): ``free_area``, the area of the
    arena outside every wall; ``free_cells``, bool [nx, ny], the coverage cells that contain free
    space of positive area (so a cell half covered by a wall still counts, and every point the
    agent can occupy lies in a free cell); ``start_cumulative``, the cumulative start-box
    probabilities.
    """

    name: str
    walls: np.ndarray
    bounds: tuple[float, float, float, float]
    starts: np.ndarray
    max_step: float
    slip: float = 0.0
    horizon: int = GRIDWORLD_HORIZON
    layout: tuple[str, ...] | None = None
    coverage_cell: float = COVERAGE_CELL
    free_area: float = dataclasses.field(init=False)
    free_cells: np.ndarray = dataclasses.field(init=False, repr=False)
    start_cumulative: np.ndarray = dataclasses.field(init=False, repr=False)

    def __post_init__(self):
        walls = _boxes(self.walls, "walls")
        starts = _boxes(self.starts, "start boxes")
        bounds = tuple(float(b) for b in self.bounds)
        x0, x1, y0, y1 = bounds
        if len(bounds) != 4 or not (x0 < x1 and y0 < y1) or not all(map(math.isfinite, bounds)):
            raise ValueError(
                f"bounds must be finite (xmin, xmax, ymin, ymax) with xmin < xmax, ymin < ymax; got {self.bounds}"
            )
        if len(starts) == 0:
            raise ValueError(f"world {self.name!r} has no start box")
        areas = (starts[:, 1] - starts[:, 0]) * (starts[:, 3] - starts[:, 2])
        if np.any(areas <= 0):
            raise ValueError(f"start boxes must have positive area; got {starts.tolist()}")
        if (
            np.any(starts[:, 0] < x0)
            or np.any(starts[:, 1] > x1)
            or np.any(starts[:, 2] < y0)
            or np.any(starts[:, 3] > y1)
        ):
            raise ValueError(f"start boxes {starts.tolist()} leave the arena {bounds}")
        if not (math.isfinite(self.max_step) and self.max_step > 0):
            raise ValueError(f"max_step must be positive; got {self.max_step}")
        if not 0.0 <= float(self.slip) <= 1.0:
            raise ValueError(f"slip probability must lie in [0, 1]; got {self.slip}")
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1:
            raise ValueError(f"horizon must be a positive integer; got {self.horizon!r}")
        if not self.coverage_cell > 0:
            raise ValueError(f"coverage_cell must be positive; got {self.coverage_cell}")
        object.__setattr__(self, "walls", walls)
        object.__setattr__(self, "starts", starts)
        object.__setattr__(self, "bounds", bounds)
        object.__setattr__(self, "max_step", float(self.max_step))
        object.__setattr__(self, "slip", float(self.slip))
        object.__setattr__(self, "horizon", int(self.horizon))
        object.__setattr__(self, "start_cumulative", np.cumsum(areas) / areas.sum())
        free_area, free_cells = _free_space(walls, bounds, float(self.coverage_cell))
        if free_area <= 0:
            raise ValueError(f"world {self.name!r} has no free space")
        object.__setattr__(self, "free_area", free_area)
        object.__setattr__(self, "free_cells", free_cells)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(nx, ny), cells of the coverage grid along x and y."""
        return self.free_cells.shape

    @property
    def n_free_cells(self) -> int:
        return int(self.free_cells.sum())

    @property
    def reset_noise(self) -> int:
        """Uniforms :func:`reset` consumes: 2 for one start box, 3 for several (one picks the box)."""
        return 2 if len(self.starts) == 1 else 3

    @property
    def step_noise(self) -> int:
        """Uniforms :func:`step` consumes: 0 if deterministic, else 3 (slip test, random action)."""
        return 3 if self.slip > 0 else 0

    def with_horizon(self, horizon: int) -> ContinuousWorld:
        return dataclasses.replace(self, horizon=horizon)


def _grid_count(length: float, cell: float) -> int:
    return max(1, int(math.ceil(length / cell - 1e-9)))


def _free_space(walls: np.ndarray, bounds, cell: float) -> tuple[float, np.ndarray]:
    """Exact free area and free coverage cells.

    The x and y coordinates of the arena, the walls and the grid lines cut the arena into
    rectangles whose interiors are each entirely free or entirely inside walls; testing the centre
    of each decides it, and each lies in exactly one coverage cell.
    """
    x0, x1, y0, y1 = bounds
    nx, ny = _grid_count(x1 - x0, cell), _grid_count(y1 - y0, cell)

    def cuts(lo, hi, wall_edges, n):
        values = np.concatenate([[lo, hi], np.clip(wall_edges, lo, hi), lo + cell * np.arange(1, n)])
        return np.unique(values[values <= hi])

    xs = cuts(x0, x1, walls[:, :2].ravel(), nx)
    ys = cuts(y0, y1, walls[:, 2:].ravel(), ny)
    mx, my = (xs[:-1] + xs[1:]) / 2, (ys[:-1] + ys[1:]) / 2
    px, py = np.meshgrid(mx, my, indexing="ij")
    free = np.ones(px.shape, bool)
    for xmin, xmax, ymin, ymax in walls:
        free &= ~((px >= xmin) & (px <= xmax) & (py >= ymin) & (py <= ymax))
    area = float((free * np.outer(np.diff(xs), np.diff(ys))).sum())
    ix = np.minimum(((px - x0) // cell).astype(int), nx - 1)
    iy = np.minimum(((py - y0) // cell).astype(int), ny - 1)
    cells = np.zeros((nx, ny), bool)
    np.logical_or.at(cells, (ix[free], iy[free]), True)
    return area, cells


# ---------------------------------------------------------------------------------------------
# Constructors


def gridworld_continuous(horizon: int = GRIDWORLD_HORIZON, name: str = "gridworld-continuous") -> ContinuousWorld:
    """MEPOL's GridWorldContinuous exactly (SPEC section 11): arena (-6, 6)^2, four rooms joined by
    doorways 1.0 wide, actions clipped to [-0.2, 0.2] per axis, start uniform in [-6, -4]^2,
    deterministic, never terminates; free area 100.25."""
    return ContinuousWorld(
        name=name,
        walls=np.array(GRIDWORLD_WALLS),
        bounds=GRIDWORLD_BOUNDS,
        starts=np.array([GRIDWORLD_START]),
        max_step=GRIDWORLD_MAX_STEP,
        slip=0.0,
        horizon=horizon,
    )


def _parse_rows(rows: Sequence[str] | str) -> tuple[str, ...]:
    """The checks of :func:`pmaxent.maps.map_rows`, and at least one start cell."""
    rows = map_rows(rows)
    if not any(START in line for line in rows):
        raise ValueError("the map has no start cell 'S'; a continuous world starts uniformly over its 'S' cells")
    return rows


def map_cell_box(row: int, col: int, n_rows: int) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of map cell (row, col): unit squares, x = column, y up, so row 0
    (the top line of the text) is the strip y in [n_rows - 1, n_rows]."""
    return (float(col), float(col + 1), float(n_rows - 1 - row), float(n_rows - row))


def _wall_boxes(rows: tuple[str, ...]) -> np.ndarray:
    """Wall cells merged into boxes: runs along each row, then identical runs of consecutive rows."""
    n_rows = len(rows)
    runs = []  # [row, c0, c1) per maximal horizontal run
    for r, line in enumerate(rows):
        c = 0
        while c < len(line):
            if line[c] == WALL:
                start = c
                while c < len(line) and line[c] == WALL:
                    c += 1
                runs.append((r, start, c))
            else:
                c += 1
    boxes = []  # (c0, c1, top row, bottom row)
    open_boxes: dict[tuple[int, int], list] = {}
    for r, c0, c1 in runs:
        box = open_boxes.get((c0, c1))
        if box is not None and box[3] == r - 1:
            box[3] = r
        else:
            box = [c0, c1, r, r]
            boxes.append(box)
            open_boxes[(c0, c1)] = box
    return np.array([(c0, c1, n_rows - 1 - bottom, n_rows - top) for c0, c1, top, bottom in boxes], np.float64).reshape(
        -1, 4
    )


def from_map(
    rows: Sequence[str] | str,
    slip: float = 0.0,
    max_step: float = MAP_MAX_STEP,
    horizon: int = MAZE_HORIZON,
    name: str = "custom-map-continuous",
) -> ContinuousWorld:
    """A text map ('F' floor, 'S' start, '-' wall) as a continuous world.

    Each cell is a unit square (:func:`map_cell_box`: x = column, y up); '-' cells are solid and
    so is everything outside the grid; the start is uniform over the 'S' cells (one or more).

    Args:
        rows: the map, one string per row (or one multi-line string).
        slip: probability that the action is replaced by one uniform on the action box.
        max_step: per-axis action bound, in (0, 1] (a larger step could jump over a wall cell).
        horizon: T, actions per trajectory.
        name: identifier stored with runs.
    """
    rows = _parse_rows(rows)
    if not (math.isfinite(max_step) and 0 < max_step <= 1):
        raise ValueError(f"max_step must lie in (0, 1] (a cell is 1 wide); got {max_step}")
    n_rows, n_cols = len(rows), len(rows[0])
    starts = [map_cell_box(r, c, n_rows) for r, line in enumerate(rows) for c, ch in enumerate(line) if ch == START]
    return ContinuousWorld(
        name=name,
        walls=_wall_boxes(rows),
        bounds=(0.0, float(n_cols), 0.0, float(n_rows)),
        starts=np.array(starts),
        max_step=max_step,
        slip=slip,
        horizon=horizon,
        layout=rows,
    )


def make(name: str, horizon: int | None = None) -> ContinuousWorld:
    """One of :data:`CONTINUOUS_ENVS`: 'gridworld-continuous', 'room-det-continuous',
    'room-stoc-continuous', 'maze-det-continuous', 'maze-stoc-continuous' (slip 0.2 for -stoc).
    ``horizon`` overrides the default (200, 32 and 40 steps)."""
    key = name.strip().lower()
    if key not in CONTINUOUS_ENVS:
        raise ValueError(f"unknown continuous environment {name!r}; valid names: {', '.join(CONTINUOUS_ENVS)}")
    layout, slip, default_horizon = CONTINUOUS_ENVS[key]
    horizon = default_horizon if horizon is None else horizon
    if layout is None:
        return gridworld_continuous(horizon=horizon, name=key)
    return from_map(layout, slip=slip, max_step=MAP_MAX_STEP, horizon=horizon, name=key)


# ---------------------------------------------------------------------------------------------
# Dynamics (pure; jit and vmap friendly: no Python branch on traced values)


def is_free(world: ContinuousWorld, points: jax.Array) -> jax.Array:
    """bool [...]: points [..., 2] strictly inside the arena and in no (closed) wall box."""
    points = jnp.asarray(points, jnp.float32)
    x, y = points[..., 0], points[..., 1]
    x0, x1, y0, y1 = world.bounds
    inside = (x > x0) & (x < x1) & (y > y0) & (y < y1)
    if len(world.walls) == 0:
        return inside
    w = jnp.asarray(world.walls, jnp.float32)
    xe, ye = x[..., None], y[..., None]
    in_wall = (xe >= w[:, 0]) & (xe <= w[:, 1]) & (ye >= w[:, 2]) & (ye <= w[:, 3])
    return inside & ~jnp.any(in_wall, axis=-1)


def reset(world: ContinuousWorld, u: jax.Array) -> jax.Array:
    """Initial position [2] (float32), uniform over the (open) start boxes, from uniforms u [reset_noise]:
    u[0], u[1] -> x, y for one start box; with several, u[0] picks the box (by area) and u[1], u[2]
    give x, y."""
    u = jnp.asarray(u, jnp.float32)
    starts = jnp.asarray(world.starts, jnp.float32)
    if len(world.starts) == 1:
        box, ux, uy = starts[0], u[0], u[1]
    else:
        cumulative = jnp.asarray(world.start_cumulative, jnp.float32)
        index = jnp.clip(jnp.searchsorted(cumulative, u[0], side="right"), 0, len(world.starts) - 1)
        box, ux, uy = starts[index], u[1], u[2]
    x = box[0] + (box[1] - box[0]) * ux
    y = box[2] + (box[3] - box[2]) * uy
    # float32 rounding can land u -> 1 on the far edge (and u = 0 is the near edge): keep the start
    # in the open box, so it is never on a wall's or the arena's boundary
    x = jnp.clip(x, jnp.nextafter(box[0], box[1]), jnp.nextafter(box[1], box[0]))
    y = jnp.clip(y, jnp.nextafter(box[2], box[3]), jnp.nextafter(box[3], box[2]))
    return jnp.stack([x, y])


def step(world: ContinuousWorld, position: jax.Array, action: jax.Array, u: jax.Array) -> jax.Array:
    """Next position [2] from position [2], action [2] and uniforms u [step_noise].

    The action is clipped to the action box (or, with probability ``slip``, i.e. when
    ``u[0] < slip``, replaced by ``max_step * (2 u[1:3] - 1)``); the move is rejected if the
    proposed point is not free (:func:`is_free`) or the action is not finite.
    """
    position = jnp.asarray(position, jnp.float32)
    action = jnp.asarray(action, jnp.float32)
    finite = jnp.all(jnp.isfinite(action))
    move = jnp.clip(jnp.where(jnp.isfinite(action), action, 0.0), -world.max_step, world.max_step)
    if world.slip > 0:
        u = jnp.asarray(u, jnp.float32)
        random_move = world.max_step * (2.0 * u[1:3] - 1.0)
        move = jnp.where(u[0] < world.slip, random_move, move)
    proposed = position + move
    accept = finite & is_free(world, proposed)
    return jnp.where(accept, proposed, position)


@partial(jax.jit, static_argnums=0)
def reset_many(world: ContinuousWorld, u: jax.Array) -> jax.Array:
    """Initial positions [N, 2] from uniforms u [N, reset_noise]: :func:`reset` for each."""
    return jax.vmap(lambda v: reset(world, v))(u)


@partial(jax.jit, static_argnums=0)
def step_many(world: ContinuousWorld, positions: jax.Array, actions: jax.Array, u: jax.Array) -> jax.Array:
    """Next positions [N, 2] from positions [N, 2], actions [N, 2] and uniforms u [N, step_noise]:
    :func:`step` for each."""
    return jax.vmap(lambda p, a, v: step(world, p, a, v))(positions, actions, u)


def coverage(world: ContinuousWorld, features: jax.Array) -> jax.Array:
    """Fraction of the free coverage cells visited: features [B, ..., 2] -> [B].

    All points of one team sample (every agent, every step) are pooled. A point on a grid line
    counts in the cell above/right of it; points outside the arena are clipped into the border
    cells (they cannot occur in a trajectory).
    """
    features = jnp.asarray(features, jnp.float32)
    points = features.reshape(features.shape[0], -1, 2)
    nx, ny = world.grid_shape
    x0, _, y0, _ = world.bounds
    ix = jnp.clip(jnp.floor((points[..., 0] - x0) / world.coverage_cell), 0, nx - 1).astype(jnp.int32)
    iy = jnp.clip(jnp.floor((points[..., 1] - y0) / world.coverage_cell), 0, ny - 1).astype(jnp.int32)
    mask = jnp.asarray(world.free_cells.reshape(-1))

    def one(index):
        return jnp.zeros(nx * ny, bool).at[index].set(True)

    visited = jax.vmap(one)(ix * ny + iy)
    return jnp.sum(visited & mask, axis=-1) / world.n_free_cells


def observation_space(world: ContinuousWorld) -> gymnasium.spaces.Box:
    """Box (x, y), float32, over the arena."""
    x0, x1, y0, y1 = world.bounds
    return gymnasium.spaces.Box(np.array([x0, y0], np.float32), np.array([x1, y1], np.float32), dtype=np.float32)


def action_space(world: ContinuousWorld) -> gymnasium.spaces.Box:
    """Box [-max_step, max_step]^2, float32 (larger actions are clipped by :func:`step`)."""
    return gymnasium.spaces.Box(-world.max_step, world.max_step, (2,), np.float32)


def world_environment(world: ContinuousWorld) -> Environment:
    """The world as the trainer's :class:`~pmaxent.core.components.Environment`: the state is the
    position (x, y), which is also the observation and the entropy feature; entropy is normalised
    by ln(free area); ``team_metrics`` adds ``coverage`` (:func:`coverage`)."""

    def team_metrics(features: jax.Array) -> dict[str, jax.Array]:
        return {"coverage": coverage(world, features)}

    return Environment(
        name=world.name,
        horizon=world.horizon,
        reset=partial(reset, world),
        step=partial(step, world),
        observation_space=observation_space(world),
        action_space=action_space(world),
        feature_volume=world.free_area,
        reset_noise=world.reset_noise,
        step_noise=world.step_noise,
        team_metrics=team_metrics,
    )


__all__ = [
    "CONTINUOUS_ENVS",
    "COVERAGE_CELL",
    "GRIDWORLD_FREE_AREA",
    "GRIDWORLD_HORIZON",
    "GRIDWORLD_WALLS",
    "MAP_MAX_STEP",
    "MAZE_HORIZON",
    "ROOM_HORIZON",
    "ContinuousWorld",
    "action_space",
    "coverage",
    "from_map",
    "gridworld_continuous",
    "is_free",
    "make",
    "map_cell_box",
    "observation_space",
    "reset",
    "step",
    "world_environment",
]
