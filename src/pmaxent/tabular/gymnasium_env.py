"""Gymnasium environments over any :class:`TabularMDP`, registered as ``pmaxent/...``."""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

from pmaxent.tabular.mdp import ACTION_NAMES, PAPER_ENVS, TabularMDP, from_map, make

#: Episode cut for goal-reaching evaluation (SPEC section 3).
GOAL_EPISODE_STEPS = 200

_CELL_PIXELS = 16
_COLOURS = {
    "wall": (60, 60, 60),
    "floor": (235, 235, 235),
    "start": (170, 200, 255),
    "goal": (120, 220, 120),
    "agent": (220, 60, 60),
}


class TabularEnv(gymnasium.Env):
    """A tabular MDP as a Gymnasium environment.

    ## Description
    An agent moves in a finite MDP, by default one of the paper's gridworlds ("room" 5 x 11 or
    "maze" 10 x 10, walls '-'). A move into a wall or off the grid leaves it in place. In the
    stochastic variants the intended move happens with probability 1 - p and each other move
    with probability p / 3.

    ## Action Space
    ``Discrete(A)``; on grids 0 left, 1 down, 2 right, 3 up.

    ## Observation Space
    ``Discrete(S)``; on grids the cell index row * ncols + col (walls keep their index but are
    never visited).

    ## Rewards
    Reward-free (always 0) unless ``goal`` is given: then 1 on entering the goal.

    ## Episode End
    Without a goal nothing terminates and the episode is truncated after the exploration
    horizon T (8 room, 10 maze). With a goal, entering it terminates the episode; register or
    wrap with ``max_episode_steps`` (200 in the paper's evaluation) to cut long episodes.

    ## Arguments
    - ``mdp``: a TabularMDP (or use ``name=`` for a paper environment, or ``layout=`` with
      ``slip`` and ``horizon`` for a custom map).
    - ``goal``: a state that becomes terminal with reward 1, or None.
    - ``render_mode``: "ansi" (text) or "rgb_array" (image) or None.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        mdp: TabularMDP | None = None,
        *,
        name: str | None = None,
        layout=None,
        slip: float | None = None,
        horizon: int | None = None,
        goal: int | None = None,
        render_mode: str | None = None,
    ):
        if mdp is None:
            if name is not None:
                mdp = make(name, slip=slip, horizon=horizon)
            else:
                mdp = from_map(layout, slip=slip or 0.0, horizon=horizon or 10)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}; got {render_mode!r}")
        if goal is not None:
            goal = int(goal)
            if not 0 <= goal < mdp.n_states or not mdp.valid[goal]:
                raise ValueError(f"goal {goal} is not a valid (non-wall) state of {mdp.name}")
        self.mdp = mdp
        self.goal = goal
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(mdp.n_states)
        self.action_space = spaces.Discrete(mdp.n_actions)
        self._cumulative = np.cumsum(mdp.P, axis=2)
        self._mu_cumulative = np.cumsum(mdp.mu)
        self.state = 0
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._steps = 0
        self.state = int(np.searchsorted(self._mu_cumulative, self.np_random.random(), side="right"))
        self.state = min(self.state, self.mdp.n_states - 1)
        return self.state, {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"invalid action {action!r}; expected an integer in [0, {self.mdp.n_actions})")
        cum = self._cumulative[self.state, int(action)]
        nxt = int(np.searchsorted(cum, self.np_random.random() * cum[-1], side="right"))
        self.state = min(nxt, self.mdp.n_states - 1)
        self._steps += 1
        reached = self.goal is not None and self.state == self.goal
        # exploration episodes end at the horizon; goal-reaching ones at the goal (or a TimeLimit)
        truncated = self.goal is None and self._steps >= self.mdp.horizon
        return self.state, float(reached), reached, truncated, {}

    def render(self):
        if self.render_mode == "ansi":
            return self._render_text()
        if self.render_mode == "rgb_array":
            return self._render_image()
        return None

    def _cell_kind(self, s: int) -> str:
        if not self.mdp.valid[s]:
            return "wall"
        if s == self.goal:
            return "goal"
        if self.mdp.mu[s] > 0:
            return "start"
        return "floor"

    def _render_text(self) -> str:
        if self.mdp.grid_shape is None:
            return f"state {self.state} of {self.mdp.n_states}\n"
        rows, cols = self.mdp.grid_shape
        symbols = {"wall": "-", "floor": "F", "start": "S", "goal": "G"}
        lines = []
        for r in range(rows):
            line = "".join(
                "A" if r * cols + c == self.state else symbols[self._cell_kind(r * cols + c)] for c in range(cols)
            )
            lines.append(line)
        return "\n".join(lines) + "\n"

    def _render_image(self) -> np.ndarray:
        rows, cols = self.mdp.grid_shape or (1, self.mdp.n_states)
        image = np.zeros((rows * _CELL_PIXELS, cols * _CELL_PIXELS, 3), np.uint8)
        for s in range(rows * cols):
            r, c = divmod(s, cols)
            colour = _COLOURS["agent"] if s == self.state else _COLOURS[self._cell_kind(s)]
            image[
                r * _CELL_PIXELS + 1 : (r + 1) * _CELL_PIXELS - 1, c * _CELL_PIXELS + 1 : (c + 1) * _CELL_PIXELS - 1
            ] = colour
        return image


def registered_id(name: str) -> str:
    """'room-det' -> 'pmaxent/Room-det-v0'."""
    return f"pmaxent/{name[0].upper()}{name[1:]}-v0"


def register_envs() -> None:
    """Register the four paper environments and the custom-map factory ``pmaxent/Grid-v0``."""
    registry = gymnasium.envs.registration.registry
    for name, (_, _, horizon) in PAPER_ENVS.items():
        if registered_id(name) not in registry:
            gymnasium.register(
                id=registered_id(name),
                entry_point="pmaxent.tabular.gymnasium_env:TabularEnv",
                kwargs={"name": name},
                max_episode_steps=horizon,
            )
    if "pmaxent/Grid-v0" not in registry:
        gymnasium.register(id="pmaxent/Grid-v0", entry_point="pmaxent.tabular.gymnasium_env:TabularEnv")


__all__ = ["TabularEnv", "register_envs", "registered_id", "GOAL_EPISODE_STEPS", "ACTION_NAMES"]
