"""Text maps shared by every family: the paper's Room and Maze, the map characters and their
checks. A tabular MDP reads a map as cells, a continuous world as unit squares."""

from __future__ import annotations

from collections.abc import Sequence

WALL, FLOOR, START = "-", "F", "S"
MAP_CHARACTERS = (WALL, FLOOR, START)

#: Action indices and the (row, column) move of each, as in Gymnasium's FrozenLake.
ACTION_NAMES = ("left", "down", "right", "up")
ACTION_MOVES = ((0, -1), (1, 0), (0, 1), (-1, 0))

ROOM_MAP = (
    "FFFF---FFFF",
    "FFFF---FFFF",
    "FFFFFSFFFFF",
    "FFFF---FFFF",
    "FFFF---FFFF",
)

MAZE_MAP = (
    "-FFF------",
    "-FFF------",
    "---F---FFF",
    "FF-F-----F",
    "FF-F-----F",
    "FFFFFFSFFF",
    "FF-F-----F",
    "---F-----F",
    "-FFF---FFF",
    "-FFF------",
)

#: Slip probability of the paper's stochastic environments (SPEC section 3).
PAPER_SLIP = 0.2


def map_rows(rows: Sequence[str] | str) -> tuple[str, ...]:
    """The rows of a text map (one string per row, or one multi-line string), checked to be
    non-empty, rectangular and made of 'F', 'S' and '-' only; start cells are not checked."""
    if isinstance(rows, str):
        rows = [line.strip() for line in rows.strip().splitlines()]
    rows = tuple(rows)
    if not rows or not rows[0]:
        raise ValueError("the map is empty")
    width = len(rows[0])
    for r, line in enumerate(rows):
        if len(line) != width:
            raise ValueError(f"ragged map: row {r} has {len(line)} cells, row 0 has {width}")
        for c, ch in enumerate(line):
            if ch not in MAP_CHARACTERS:
                raise ValueError(
                    f"unknown map character {ch!r} at row {r}, column {c}; use 'F' (floor), 'S' (start) or '-' (wall)"
                )
    return rows
