"""Gymnasium environments over any :class:`~pmaxent.continuous.worlds.ContinuousWorld`, registered as
``pmaxent/GridWorldContinuous-v0``, ``pmaxent/Room-det-continuous-v0`` (and -stoc, Maze-...) and
``pmaxent/GridContinuous-v0`` (custom map).

The environment steps with the jitted :func:`pmaxent.continuous.worlds.step` and
:func:`~pmaxent.continuous.worlds.reset` themselves, fed with uniforms from ``self.np_random``
(``reset`` draws ``world.reset_noise`` float32 uniforms, each ``step`` ``world.step_noise``), so a
trajectory here equals the trainer's for the same actions and uniforms, bit for bit.
"""

from __future__ import annotations

from functools import partial

import gymnasium
import jax
import numpy as np

from pmaxent.continuous.worlds import (
    CONTINUOUS_ENVS,
    MAP_MAX_STEP,
    MAZE_HORIZON,
    ContinuousWorld,
    action_space,
    from_map,
    is_free,
    make,
    observation_space,
    reset,
    step,
)

#: Longest side of a rendered image, in pixels.
_RENDER_PIXELS = 256
_COLOURS = {
    "wall": (60, 60, 60),
    "floor": (235, 235, 235),
    "start": (170, 200, 255),
    "agent": (220, 60, 60),
}


def world_image(world: ContinuousWorld, position=None, pixels: int = _RENDER_PIXELS) -> np.ndarray:
    """uint8 [H, W, 3] picture of the world, y up: walls dark, start boxes tinted, the agent
    (if ``position`` is given) a red disc."""
    x0, x1, y0, y1 = world.bounds
    scale = pixels / max(x1 - x0, y1 - y0)
    width, height = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    xs = x0 + (np.arange(width) + 0.5) / scale
    ys = y1 - (np.arange(height) + 0.5) / scale  # row 0 at the top
    px, py = np.meshgrid(xs, ys)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = _COLOURS["floor"]
    for sx0, sx1, sy0, sy1 in world.starts:
        image[(px >= sx0) & (px <= sx1) & (py >= sy0) & (py <= sy1)] = _COLOURS["start"]
    free = np.asarray(is_free(world, np.stack([px, py], -1)))
    image[~free] = _COLOURS["wall"]
    if position is not None:
        radius = max(3.0 / scale, 0.15)
        disc = (px - float(position[0])) ** 2 + (py - float(position[1])) ** 2 <= radius**2
        image[disc] = _COLOURS["agent"]
    return image


class ContinuousEnv(gymnasium.Env):
    """A continuous 2-D navigation world as a Gymnasium environment.

    ## Description
    A point moves in a plane with box walls: MEPOL's GridWorldContinuous (four rooms in
    (-6, 6)^2) or one of the paper's maps read with unit cells. The action (dx, dy) is clipped to
    [-max_step, max_step] per axis; a move whose end point is in a wall (boundaries included) or
    on the arena's edge is rejected and the agent stays. In the stochastic variants the action is
    replaced, with probability p = 0.2, by one uniform on the action box. A non-finite action is a
    rejected move.

    ## Action Space
    ``Box(-max_step, max_step, (2,), float32)``; actions outside it are clipped, not refused.

    ## Observation Space
    ``Box`` over the arena, float32: the position (x, y).

    ## Rewards
    Reward-free: always 0.

    ## Episode End
    Never terminates; truncated after the exploration horizon T (200 GridWorldContinuous,
    32 Room, 40 Maze).

    ## Arguments
    - ``world``: a ContinuousWorld (or ``name=`` for a named one, or ``layout=`` with ``slip``,
      ``max_step`` and ``horizon`` for a custom map).
    - ``horizon``: overrides the named world's horizon.
    - ``render_mode``: "rgb_array" or None.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        world: ContinuousWorld | None = None,
        *,
        name: str | None = None,
        layout=None,
        slip: float | None = None,
        max_step: float | None = None,
        horizon: int | None = None,
        render_mode: str | None = None,
    ):
        if world is None:
            if name is not None:
                world = make(name, horizon=horizon)
            elif layout is not None:
                world = from_map(
                    layout,
                    slip=slip or 0.0,
                    max_step=MAP_MAX_STEP if max_step is None else max_step,
                    horizon=MAZE_HORIZON if horizon is None else horizon,
                )
            else:
                raise ValueError("pass a ContinuousWorld, name=... or layout=...")
        elif horizon is not None:
            world = world.with_horizon(horizon)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}; got {render_mode!r}")
        self.world = world
        self.render_mode = render_mode
        self.observation_space = observation_space(world)
        self.action_space = action_space(world)
        self._reset = jax.jit(partial(reset, world))
        self._step = jax.jit(partial(step, world))
        self.position = np.asarray(world.starts[0, [0, 2]], np.float32)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._steps = 0
        u = self.np_random.random(self.world.reset_noise, dtype=np.float32)
        self.position = np.asarray(self._reset(u), np.float32)
        return self.position.copy(), {}

    def step(self, action):
        action = np.asarray(action, np.float32)
        if action.shape != (2,):
            raise ValueError(f"invalid action {action!r}; expected shape (2,), got {action.shape}")
        u = self.np_random.random(self.world.step_noise, dtype=np.float32)
        self.position = np.asarray(self._step(self.position, action, u), np.float32)
        self._steps += 1
        truncated = self._steps >= self.world.horizon
        return self.position.copy(), 0.0, False, truncated, {}

    def render(self):
        if self.render_mode == "rgb_array":
            return world_image(self.world, self.position)
        return None


def registered_id(name: str) -> str:
    """'gridworld-continuous' -> 'pmaxent/GridWorldContinuous-v0';
    'room-det-continuous' -> 'pmaxent/Room-det-continuous-v0' (the tabular style)."""
    if name == "gridworld-continuous":
        return "pmaxent/GridWorldContinuous-v0"
    return f"pmaxent/{name[0].upper()}{name[1:]}-v0"


def register_continuous_envs() -> None:
    """Register the named continuous worlds and the custom-map factory ``pmaxent/GridContinuous-v0``
    (``gymnasium.make("pmaxent/GridContinuous-v0", layout=..., slip=..., horizon=...)``).

    A named world is registered with ``max_episode_steps`` = its default horizon; to change the
    horizon pass both: ``gymnasium.make(id, horizon=H, max_episode_steps=H)``."""
    registry = gymnasium.envs.registration.registry
    for name, (_, _, horizon) in CONTINUOUS_ENVS.items():
        if registered_id(name) not in registry:
            gymnasium.register(
                id=registered_id(name),
                entry_point="pmaxent.continuous.gymnasium_env:ContinuousEnv",
                kwargs={"name": name},
                max_episode_steps=horizon,
            )
    if "pmaxent/GridContinuous-v0" not in registry:
        gymnasium.register(id="pmaxent/GridContinuous-v0", entry_point="pmaxent.continuous.gymnasium_env:ContinuousEnv")


__all__ = ["ContinuousEnv", "registered_id", "register_continuous_envs", "world_image"]
