"""Tabular MDPs: the paper's gridworlds, custom maps, raw arrays and Gymnasium toy-text tables.

A :class:`TabularMDP` is the single description of an environment that every part of pmaxent
reads: the JAX simulator, the Gymnasium wrapper, exact enumeration, Frank-Wolfe and offline RL.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import deque
from collections.abc import Sequence

import numpy as np

from pmaxent.maps import (  # noqa: F401  (ACTION_NAMES, FLOOR, MAP_CHARACTERS: re-exported)
    ACTION_MOVES,
    ACTION_NAMES,
    FLOOR,
    MAP_CHARACTERS,
    MAZE_MAP,
    PAPER_SLIP,
    ROOM_MAP,
    START,
    WALL,
    map_rows,
)

#: name -> (map, slip probability, horizon) for the four environments of the paper.
PAPER_ENVS = {
    "room-det": (ROOM_MAP, 0.0, 8),
    "room-stoc": (ROOM_MAP, PAPER_SLIP, 8),
    "maze-det": (MAZE_MAP, 0.0, 10),
    "maze-stoc": (MAZE_MAP, PAPER_SLIP, 10),
}

_PROBABILITY_TOLERANCE = 1e-6


@dataclasses.dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP with a fixed exploration horizon.

    Attributes:
        P: transition kernel, float64 [S, A, S]; ``P[s, a, s']`` = Pr(s' | s, a).
        mu: initial state distribution, float64 [S].
        horizon: T, the number of actions of an episode (an episode visits T + 1 states).
        valid: bool [S], the states that count as the state space (non-wall cells of a grid);
            normalized entropy divides by ``log(valid.sum())``.
        grid_shape: (rows, cols) for grid worlds, where state = row * cols + col; else None.
        layout: the map rows for grid worlds (for display); else None.
        name: a short identifier, stored in run directories and datasets.
    """

    P: np.ndarray
    mu: np.ndarray
    horizon: int
    valid: np.ndarray | None = None
    grid_shape: tuple[int, int] | None = None
    layout: tuple[str, ...] | None = None
    name: str = "custom"

    def __post_init__(self):
        P = np.asarray(self.P, dtype=np.float64)
        mu = np.asarray(self.mu, dtype=np.float64)
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise ValueError(f"P must have shape [S, A, S]; got {P.shape}")
        n_states = P.shape[0]
        if P.shape[1] < 1 or n_states < 1:
            raise ValueError(f"P needs at least one state and one action; got {P.shape}")
        if mu.shape != (n_states,):
            raise ValueError(f"mu must have shape [S] = ({n_states},); got {mu.shape}")
        if not np.all(np.isfinite(P)) or np.any(P < 0):
            s, a, _ = np.argwhere(~np.isfinite(P) | (P < 0))[0]
            raise ValueError(f"P has a negative or non-finite entry in row (s={s}, a={a})")
        row_sums = P.sum(axis=2)
        bad = np.argwhere(np.abs(row_sums - 1.0) > _PROBABILITY_TOLERANCE)
        if len(bad):
            s, a = bad[0]
            raise ValueError(f"P[{s}, {a}, :] sums to {row_sums[s, a]:.6g}, not 1 ({len(bad)} bad rows in all)")
        if not np.all(np.isfinite(mu)) or np.any(mu < 0) or abs(mu.sum() - 1.0) > _PROBABILITY_TOLERANCE:
            raise ValueError(f"mu must be a probability vector; it sums to {mu.sum():.6g}")
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1:
            raise ValueError(f"horizon must be a positive integer; got {self.horizon!r}")
        valid = np.ones(n_states, bool) if self.valid is None else np.asarray(self.valid, bool)
        if valid.shape != (n_states,):
            raise ValueError(f"valid must have shape [S] = ({n_states},); got {valid.shape}")
        if np.any(mu[~valid] > 0):
            raise ValueError("mu puts mass on a state that is not valid")
        if self.grid_shape is not None and int(np.prod(self.grid_shape)) != n_states:
            raise ValueError(f"grid_shape {self.grid_shape} does not hold {n_states} states")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "valid", valid)
        object.__setattr__(self, "horizon", int(self.horizon))

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]

    @property
    def n_valid(self) -> int:
        """Number of states that count for normalized entropy (non-wall cells)."""
        return int(self.valid.sum())

    @property
    def start_state(self) -> int | None:
        """The start state when mu is a point mass, else None."""
        support = np.flatnonzero(self.mu)
        return int(support[0]) if len(support) == 1 else None

    def with_horizon(self, horizon: int) -> TabularMDP:
        return dataclasses.replace(self, horizon=horizon)

    def coords(self, state: int) -> tuple[int, int]:
        """(row, col) of a grid state."""
        if self.grid_shape is None:
            raise ValueError(f"{self.name} is not a grid world")
        return divmod(int(state), self.grid_shape[1])

    def successor_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Sparse form of P for O(K) sampling, K = most successors of any (s, a).

        Returns:
            successors: int32 [S, A, K], the next states with non-zero probability, padded by
                repeating the last one.
            cumulative: float32 [S, A, K], cumulative probabilities; the last entry is 1.
        """
        support = self.P > 0
        width = max(1, int(support.sum(axis=2).max()))
        successors = np.zeros((self.n_states, self.n_actions, width), np.int32)
        cumulative = np.ones((self.n_states, self.n_actions, width), np.float32)
        for s in range(self.n_states):
            for a in range(self.n_actions):
                nxt = np.flatnonzero(support[s, a])
                cum = np.cumsum(self.P[s, a, nxt])
                successors[s, a, : len(nxt)] = nxt
                successors[s, a, len(nxt) :] = nxt[-1]
                cumulative[s, a, : len(nxt)] = cum / cum[-1]
        cumulative[..., -1] = 1.0
        return successors, cumulative


def parse_map(rows: Sequence[str]) -> tuple[tuple[str, ...], int]:
    """Check a text map (:func:`map_rows`, and exactly one start cell) and return its rows and
    the start state (row * cols + col)."""
    rows = map_rows(rows)
    width = len(rows[0])
    starts = [(r, c) for r, line in enumerate(rows) for c, ch in enumerate(line) if ch == START]
    if not starts:
        raise ValueError("the map has no start cell 'S'")
    if len(starts) > 1:
        raise ValueError(f"the map has {len(starts)} start cells {starts}; it needs exactly one")
    r, c = starts[0]
    return rows, r * width + c


def from_map(rows: Sequence[str] | str, slip: float = 0.0, horizon: int = 10, name: str = "custom-map") -> TabularMDP:
    """Build a grid world from a text map ('F' floor, 'S' start, '-' wall).

    Args:
        rows: the map, one string per row (or one multi-line string).
        slip: probability p that the move is not the intended one; each of the other three
            actions' moves then happens with probability p / 3.
        horizon: T, actions per episode.
        name: identifier stored with runs and datasets.
    """
    rows, start = parse_map(rows)
    if not 0.0 <= float(slip) <= 1.0:
        raise ValueError(f"slip probability must lie in [0, 1]; got {slip}")
    n_rows, n_cols = len(rows), len(rows[0])
    n_states, n_actions = n_rows * n_cols, len(ACTION_MOVES)
    wall = np.array([[ch == WALL for ch in line] for line in rows]).reshape(-1)

    def move(state: int, action: int) -> int:
        r, c = divmod(state, n_cols)
        dr, dc = ACTION_MOVES[action]
        nr, nc = r + dr, c + dc
        if 0 <= nr < n_rows and 0 <= nc < n_cols and not wall[nr * n_cols + nc]:
            return nr * n_cols + nc
        return state

    P = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        if wall[s]:
            P[s, :, s] = 1.0  # never visited; a self-loop keeps P stochastic
            continue
        for a in range(n_actions):
            for actual in range(n_actions):
                prob = 1.0 - slip if actual == a else slip / (n_actions - 1)
                P[s, a, move(s, actual)] += prob
    mu = np.zeros(n_states)
    mu[start] = 1.0
    _warn_unreachable(P, start, ~wall, name)
    return TabularMDP(P=P, mu=mu, horizon=horizon, valid=~wall, grid_shape=(n_rows, n_cols), layout=rows, name=name)


def reachable_states(P: np.ndarray, starts) -> np.ndarray:
    """bool [S]: the states some action sequence reaches with non-zero probability from ``starts``."""
    reached = np.zeros(P.shape[0], bool)
    frontier = deque(int(s) for s in np.atleast_1d(starts))
    reached[list(frontier)] = True
    successors = P.sum(axis=1) > 0
    while frontier:
        for nxt in np.flatnonzero(successors[frontier.popleft()] & ~reached):
            reached[nxt] = True
            frontier.append(nxt)
    return reached


def _warn_unreachable(P: np.ndarray, start: int, valid: np.ndarray, name: str) -> None:
    unreachable = np.flatnonzero(valid & ~reachable_states(P, start))
    if len(unreachable):
        warnings.warn(f"{name}: floor cells {unreachable.tolist()} cannot be reached from the start", stacklevel=3)


def make(name: str, slip: float | None = None, horizon: int | None = None) -> TabularMDP:
    """One of the paper's environments: 'room-det', 'room-stoc', 'maze-det', 'maze-stoc'.

    ``slip`` and ``horizon`` override the paper's values (0.2 for '-stoc'; T = 8 room, 10 maze).
    """
    key = name.strip().lower()
    if key not in PAPER_ENVS:
        raise ValueError(f"unknown environment {name!r}; valid names: {', '.join(PAPER_ENVS)}")
    layout, paper_slip, paper_horizon = PAPER_ENVS[key]
    return from_map(
        layout,
        slip=paper_slip if slip is None else slip,
        horizon=paper_horizon if horizon is None else horizon,
        name=key,
    )


def from_gymnasium(env_or_id, horizon: int | None = None, **make_kwargs) -> TabularMDP:
    """Read the transition table ``P`` of a Gymnasium toy-text environment.

    Works with environments whose unwrapped object has ``P[s][a] = [(prob, next, reward, done)]``
    and ``initial_state_distrib`` (FrozenLake, CliffWalking, Taxi). Rewards and termination are
    dropped: exploration is reward-free and never stops early. ``horizon`` defaults to the
    environment's ``max_episode_steps``. The valid states are those reachable from the initial
    distribution (CliffWalking's cliff cells, for one, can never be occupied).
    """
    import gymnasium

    env = gymnasium.make(env_or_id, **make_kwargs) if isinstance(env_or_id, str) else env_or_id
    base = env.unwrapped
    table = getattr(base, "P", None)
    if not isinstance(table, dict):
        raise ValueError(f"{base.__class__.__name__} exposes no transition table P; cannot make a TabularMDP")
    n_states, n_actions = base.observation_space.n, base.action_space.n
    P = np.zeros((n_states, n_actions, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            for prob, nxt, *_ in table[s][a]:
                P[s, a, nxt] += prob
    mu = np.asarray(base.initial_state_distrib, dtype=np.float64)
    if horizon is None:
        horizon = env.spec.max_episode_steps if env.spec is not None else None
        if horizon is None:
            raise ValueError("pass horizon=...: the environment declares no max_episode_steps")
    desc = getattr(base, "desc", None)
    layout = tuple(b"".join(row).decode() for row in desc) if desc is not None else None
    grid_shape = (
        (len(layout), len(layout[0])) if layout is not None and len(layout) * len(layout[0]) == n_states else None
    )
    if grid_shape is None and hasattr(base, "shape") and int(np.prod(base.shape)) == n_states:
        grid_shape = tuple(int(x) for x in base.shape)
    name = env.spec.id if env.spec is not None else base.__class__.__name__
    valid = reachable_states(P, np.flatnonzero(mu))
    return TabularMDP(
        P=P, mu=mu / mu.sum(), horizon=int(horizon), valid=valid, grid_shape=grid_shape, layout=layout, name=name
    )
