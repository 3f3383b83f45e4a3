"""MuJoCo worlds stepped by MJX inside the jitted trainer (the ``mjx`` extra).

:func:`mjx_environment` turns any MJCF model into the trainer's
:class:`~pmaxent.core.components.Environment`: the state is the pair (qpos, qvel), a step sets the
controls to the action (clipped to the actuators' control ranges) and calls ``mjx.step``
``frame_skip`` times, and the entropy features are chosen coordinates of qpos. Everything is a
pure JAX function of one copy, so the trainer vmaps it over the B x m copies like the kinematic
worlds; on a GPU the same code runs unchanged (install ``jax[cuda]``).

:func:`point_mass_world` builds the physical version of a kinematic continuous world
(:mod:`pmaxent.continuous.worlds`): its walls become box geoms, the agent a sphere of radius 0.1
on two slide joints driven by two motors, so the same map can be explored kinematically
(``room-det-continuous``) and physically (``room-det-mjx``). Entropy is over (x, y), normalized
by the same free area.

:func:`ant_world` is MEPOL's MuJoCo setting: Gymnasium's Ant model (``ant.xml``, shipped inside
the gymnasium package), 8 motors, ``frame_skip`` 5, entropy over the torso's position and
orientation (the 7 first qpos coordinates: x, y, z and the quaternion; ``ant-mjx``) or over its
(x, y) only (``ant-xy-mjx``). The Ant never terminates (no "healthy" check), and its position is
unbounded: there is no volume to normalise by, so its runs report the raw k-NN entropy in nats
(normalized entropy NaN). MEPOL's settings for it (k = 4, 20 trajectories of 500 steps, 400-300
network, log std -0.5) are :func:`pmaxent.continuous.config.ant_config` for a team and the MEPOL preset of ``ant-mjx``.
"""

from __future__ import annotations

import dataclasses
import importlib.resources

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.continuous import worlds
from pmaxent.core.components import Environment

MJX_ENVS = {"room-det-mjx": "room-det-continuous", "maze-det-mjx": "maze-det-continuous"}
"""name -> the kinematic world whose map the point mass moves in."""

ANT_ENVS = {"ant-mjx": tuple(range(7)), "ant-xy-mjx": (0, 1)}
"""name -> the Ant's entropy features (qpos indices): the torso's position and orientation, or its (x, y)."""

ANT_QPOS0 = (0.0, 0.0, 0.75, 1.0, 0.0, 0.0, 0.0) + (0.0,) * 8
"""The Ant model's reference pose (its qpos0: torso 0.75 above the floor, upright, joints at 0)."""

ANT_HORIZON, ANT_FRAME_SKIP, ANT_START_NOISE = 500, 5, 0.1
"""MEPOL's T for the Ant; Gymnasium's frame skip and its uniform noise on the initial qpos."""

POINT_RADIUS = 0.1
"""Radius of the point mass's sphere, in cells."""


@dataclasses.dataclass(frozen=True)
class MJXWorld:
    """A MuJoCo model for the trainer.

    Args:
        name: identifier stored with runs.
        xml: the MJCF text.
        horizon: T, actions per trajectory.
        frame_skip: ``mjx.step`` calls per action.
        feature_indices: the qpos coordinates whose entropy counts.
        feature_volume: volume of the feature space (normalized entropy = H / ln of it), or None
            where it is unbounded (normalized entropy is then NaN).
        start_low, start_high: per qpos coordinate, the box the initial qpos is drawn from
            uniformly (equal bounds: fixed); qvel starts at 0.
        drawing: the kinematic world a point mass moves in (its walls and start boxes), which
            the team picture draws under the visited positions; None for other models.
    """

    name: str
    xml: str
    horizon: int
    frame_skip: int
    feature_indices: tuple[int, ...]
    feature_volume: float | None
    start_low: tuple[float, ...]
    start_high: tuple[float, ...]
    drawing: worlds.ContinuousWorld | None = dataclasses.field(default=None, compare=False)


def _require_mjx(world: MJXWorld) -> None:
    try:
        import mujoco.mjx  # noqa: F401
    except ImportError:
        raise ValueError(f"MJX world {world.name!r} needs MuJoCo's MJX: pip install 'pmaxent[mjx]'") from None


def load_model(world: MJXWorld):
    """The compiled MuJoCo model of ``world``; a ValueError naming the world if MuJoCo rejects it."""
    _require_mjx(world)
    import mujoco

    try:
        return mujoco.MjModel.from_xml_string(world.xml)
    except ValueError as error:
        raise ValueError(f"MJX world {world.name!r}: MuJoCo cannot load its model: {error}") from None


def mjx_environment(world: MJXWorld) -> Environment:
    """``world`` as the trainer's Environment: state (qpos [nq], qvel [nv]); observation their
    concatenation; features qpos[feature_indices]; a point mass (``world.drawing`` set) also logs
    the coverage of its kinematic world's grid, as the kinematic version does."""
    model = load_model(world)
    from mujoco import mjx

    if len(world.start_low) != model.nq or len(world.start_high) != model.nq:
        raise ValueError(
            f"MJX world {world.name!r}: the start box needs {model.nq} bounds (nq); got {len(world.start_low)}"
        )
    if any(i < 0 or i >= model.nq for i in world.feature_indices):
        raise ValueError(
            f"MJX world {world.name!r}: feature indices {world.feature_indices} must lie in [0, {model.nq})"
        )
    if model.nu == 0 or not np.all(model.actuator_ctrllimited):
        raise ValueError(f"MJX world {world.name!r}: every actuator needs a control range (the action box)")
    device_model = mjx.put_model(model)
    blank = mjx.make_data(device_model)
    low, high = np.asarray(world.start_low, np.float32), np.asarray(world.start_high, np.float32)
    ctrl_low, ctrl_high = (
        model.actuator_ctrlrange[:, 0].astype(np.float32),
        model.actuator_ctrlrange[:, 1].astype(np.float32),
    )
    features = np.asarray(world.feature_indices)

    def reset(u):
        return low + (high - low) * u, jnp.zeros(model.nv, jnp.float32)

    def step(state, action, u):
        qpos, qvel = state
        data = blank.replace(qpos=qpos, qvel=qvel, ctrl=jnp.clip(action, ctrl_low, ctrl_high))
        data = jax.lax.fori_loop(0, world.frame_skip, lambda _, d: mjx.step(device_model, d), data)
        return data.qpos, data.qvel

    return Environment(
        name=world.name,
        horizon=world.horizon,
        reset=reset,
        step=step,
        reset_noise=model.nq,
        step_noise=0,
        observation_space=gymnasium.spaces.Box(-np.inf, np.inf, (model.nq + model.nv,), np.float32),
        action_space=gymnasium.spaces.Box(ctrl_low, ctrl_high, dtype=np.float32),
        feature_volume=world.feature_volume,
        observe=lambda state: jnp.concatenate(state),
        features=lambda state: state[0][features],
        team_metrics=None
        if world.drawing is None
        else (lambda points: {"coverage": worlds.coverage(world.drawing, points)}),
    )


def point_mass_xml(world: worlds.ContinuousWorld) -> str:
    """MJCF of a sphere on slide joints x and y among ``world``'s walls and bounds, no gravity."""
    x0, x1, y0, y1 = world.bounds
    boxes = [tuple(map(float, wall)) for wall in np.asarray(world.walls)]
    # the arena's outer walls, half a cell thick
    boxes += [
        (x0 - 0.5, x0, y0 - 0.5, y1 + 0.5),
        (x1, x1 + 0.5, y0 - 0.5, y1 + 0.5),
        (x0, x1, y0 - 0.5, y0),
        (x0, x1, y1, y1 + 0.5),
    ]
    geoms = "\n".join(
        f'    <geom type="box" pos="{(a + b) / 2:.6g} {(c + d) / 2:.6g} 0" '
        f'size="{(b - a) / 2:.6g} {(d - c) / 2:.6g} 0.5" rgba=".3 .3 .3 1"/>'
        for a, b, c, d in boxes
    )
    return f"""<mujoco model="{world.name}-point-mass">
  <option timestep="0.02" gravity="0 0 0"/>
  <worldbody>
{geoms}
    <body name="agent" pos="0 0 0">
      <joint name="x" type="slide" axis="1 0 0" damping="1"/>
      <joint name="y" type="slide" axis="0 1 0" damping="1"/>
      <geom type="sphere" size="{POINT_RADIUS}" mass="0.1" rgba=".2 .4 .8 1"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="x" ctrlrange="-1 1" gear="1"/>
    <motor joint="y" ctrlrange="-1 1" gear="1"/>
  </actuator>
</mujoco>
"""


def point_mass_world(world: worlds.ContinuousWorld, name: str | None = None, frame_skip: int = 5) -> MJXWorld:
    """The physical version of a kinematic world: the start box is the first start cell (shrunk
    by the sphere's radius), the horizon the kinematic world's."""
    x0, x1, y0, y1 = map(float, np.asarray(world.starts)[0])
    margin = POINT_RADIUS + 1e-3
    return MJXWorld(
        name=name or world.name.replace("-continuous", "-mjx"),
        xml=point_mass_xml(world),
        horizon=world.horizon,
        frame_skip=frame_skip,
        feature_indices=(0, 1),
        feature_volume=float(world.free_area),
        start_low=(x0 + margin, y0 + margin),
        start_high=(x1 - margin, y1 - margin),
        drawing=world,
    )


def ant_xml() -> str:
    """Gymnasium's Ant model (MJCF), read from the installed gymnasium package."""
    path = importlib.resources.files("gymnasium.envs.mujoco") / "assets" / "ant.xml"
    if not path.is_file():
        raise ValueError(f"the Ant model {path} is missing from the installed gymnasium package")
    return path.read_text()


def ant_world(name: str = "ant-mjx", horizon: int = ANT_HORIZON) -> MJXWorld:
    """MEPOL's Ant (see the module docstring): features :data:`ANT_ENVS` [name], no feature volume,
    start qpos uniform within 0.1 of :data:`ANT_QPOS0` (as Gymnasium's Ant; qvel 0)."""
    if name not in ANT_ENVS:
        raise ValueError(f"unknown Ant world {name!r}; valid names: {', '.join(ANT_ENVS)}")
    return MJXWorld(
        name=name,
        xml=ant_xml(),
        horizon=horizon,
        frame_skip=ANT_FRAME_SKIP,
        feature_indices=ANT_ENVS[name],
        feature_volume=None,
        start_low=tuple(q - ANT_START_NOISE for q in ANT_QPOS0),
        start_high=tuple(q + ANT_START_NOISE for q in ANT_QPOS0),
    )


MJX_NAMES = (*MJX_ENVS, *ANT_ENVS)
"""Every MJX world's name."""


def make(name: str, horizon: int | None = None) -> MJXWorld:
    """An MJX world by name (see :data:`MJX_ENVS` and :data:`ANT_ENVS`)."""
    if name in ANT_ENVS:
        return ant_world(name, horizon or ANT_HORIZON)
    if name not in MJX_ENVS:
        raise ValueError(f"unknown MJX world {name!r}; valid names: {', '.join(MJX_NAMES)}")
    world = point_mass_world(worlds.make(MJX_ENVS[name]), name=name)
    return world if horizon is None else dataclasses.replace(world, horizon=horizon)
