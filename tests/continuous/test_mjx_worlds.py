"""MJX worlds: MJX's steps against MuJoCo's own C step, walls that hold, a tiny training run and
bad models (skipped without the ``mjx`` extra)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from typer.testing import CliRunner

mujoco = pytest.importorskip("mujoco")
pytest.importorskip("mujoco.mjx")

from pmaxent.cli import app  # noqa: E402
from pmaxent.continuous import mjx_worlds, worlds  # noqa: E402


@pytest.fixture(scope="module")
def room():
    world = mjx_worlds.make("room-det-mjx")
    env = mjx_worlds.mjx_environment(world)
    return world, env, jax.jit(env.step)


def test_mjx_steps_equal_mujocos_c_steps(room):
    world, env, step = room
    model = mujoco.MjModel.from_xml_string(world.xml)
    data = mujoco.MjData(model)
    state = env.reset(jnp.array([0.3, 0.7]))
    data.qpos[:] = np.asarray(state[0])
    for action in np.random.default_rng(0).uniform(-1, 1, (4, 2)):
        state = step(state, jnp.asarray(action, jnp.float32), jnp.zeros(0))
        data.ctrl[:] = action
        for _ in range(world.frame_skip):
            mujoco.mj_step(model, data)
        np.testing.assert_allclose(np.asarray(state[0]), data.qpos, atol=1e-5)
        np.testing.assert_allclose(np.asarray(state[1]), data.qvel, atol=1e-4)


def test_the_point_mass_stays_out_of_the_walls(room):
    world, env, step = room
    kinematic = worlds.make("room-det-continuous")
    walls = np.asarray(kinematic.walls)
    x0, x1, y0, y1 = kinematic.bounds
    state = env.reset(jnp.array([0.5, 0.5]))
    positions = []
    for action in ([1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]):
        for _ in range(60):  # full thrust into each side in turn
            state = step(state, jnp.array(action), jnp.zeros(0))
            positions.append(np.asarray(state[0]))
    positions = np.array(positions)
    moved = np.ptp(positions, axis=0)
    assert np.all(moved > 0.5)  # it really moved along both axes
    r = mjx_worlds.POINT_RADIUS * 0.9  # contacts are soft: allow a little penetration
    assert np.all((positions[:, 0] >= x0 + r) & (positions[:, 0] <= x1 - r) & (positions[:, 1] >= y0 + r) & (positions[:, 1] <= y1 - r))
    for a, b, c, d in walls:
        inside = (positions[:, 0] > a + r) & (positions[:, 0] < b - r) & (positions[:, 1] > c + r) & (positions[:, 1] < d - r)
        assert not inside.any()


def test_a_tiny_physical_team_trains(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--env", "room-det-mjx", "--agents", "2", "--batch", "2", "--updates", "2", "--seeds", "0", "--horizon", "8", "--hidden", "8,8", "--chunk", "2", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    from pmaxent.tables import read_metrics_csv

    metrics = read_metrics_csv(out / "metrics.csv")
    assert set(metrics) == {"parallel", "single", "random"}
    assert all(np.all(np.isfinite(m["entropy"])) for m in metrics.values())


def test_bad_models_are_named():
    world = mjx_worlds.make("maze-det-mjx")
    with pytest.raises(ValueError, match="'broken': MuJoCo cannot load its model"):
        mjx_worlds.mjx_environment(dataclasses.replace(world, name="broken", xml="<mujoco><worldbody><geom type='nonsense'/></worldbody></mujoco>"))
    with pytest.raises(ValueError, match=r"feature indices \(0, 5\) must lie in \[0, 2\)"):
        mjx_worlds.mjx_environment(dataclasses.replace(world, feature_indices=(0, 5)))
    with pytest.raises(ValueError, match="unknown MJX world 'lava-mjx'"):
        mjx_worlds.make("lava-mjx")
