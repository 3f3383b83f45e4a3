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
from pmaxent.continuous.config import ant_config  # noqa: E402


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
    assert np.all(
        (positions[:, 0] >= x0 + r)
        & (positions[:, 0] <= x1 - r)
        & (positions[:, 1] >= y0 + r)
        & (positions[:, 1] <= y1 - r)
    )
    for a, b, c, d in walls:
        inside = (
            (positions[:, 0] > a + r)
            & (positions[:, 0] < b - r)
            & (positions[:, 1] > c + r)
            & (positions[:, 1] < d - r)
        )
        assert not inside.any()


def test_a_tiny_physical_team_trains(tmp_path):
    out = tmp_path / "run"
    args = [
        "train",
        "--env",
        "room-det-mjx",
        "--agents",
        "2",
        "--batch",
        "2",
        "--updates",
        "2",
        "--seeds",
        "0",
        "--horizon",
        "8",
        "--k",
        "4",
        "--hidden",
        "8,8",
        "--chunk",
        "2",
        "--out",
        str(out),
        "--quiet",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    from pmaxent.core.tables import read_metrics_csv

    metrics = read_metrics_csv(out / "metrics.csv")
    assert set(metrics) == {"parallel", "single", "random"}
    assert all(np.all(np.isfinite(m["entropy"])) for m in metrics.values())
    assert (out / "team.png").exists()  # the visited positions over the Room's walls


def test_bad_models_are_named():
    world = mjx_worlds.make("maze-det-mjx")
    with pytest.raises(ValueError, match="'broken': MuJoCo cannot load its model"):
        mjx_worlds.mjx_environment(
            dataclasses.replace(
                world, name="broken", xml="<mujoco><worldbody><geom type='nonsense'/></worldbody></mujoco>"
            )
        )
    with pytest.raises(ValueError, match=r"feature indices \(0, 5\) must lie in \[0, 2\)"):
        mjx_worlds.mjx_environment(dataclasses.replace(world, feature_indices=(0, 5)))
    with pytest.raises(ValueError, match="unknown MJX world 'lava-mjx'"):
        mjx_worlds.make("lava-mjx")


def test_ant_is_gymnasiums_model_with_mepols_features_and_no_volume():
    ant, xy = mjx_worlds.make("ant-mjx"), mjx_worlds.make("ant-xy-mjx", horizon=7)
    model = mujoco.MjModel.from_xml_string(ant.xml)
    assert (model.nq, model.nv, model.nu) == (15, 14, 8)
    np.testing.assert_allclose(model.qpos0, mjx_worlds.ANT_QPOS0)
    assert ant.feature_indices == (0, 1, 2, 3, 4, 5, 6) and xy.feature_indices == (0, 1)
    assert (ant.horizon, xy.horizon, ant.frame_skip, ant.feature_volume) == (500, 7, 5, None)
    env = mjx_worlds.mjx_environment(xy)
    assert env.feature_volume is None and env.observation_space.shape == (29,)
    np.testing.assert_array_equal(env.action_space.low, -np.ones(8))
    state = env.reset(jnp.full(15, 0.5))
    np.testing.assert_allclose(state[0], mjx_worlds.ANT_QPOS0, atol=1e-6)  # the middle of the start box
    config = ant_config()
    assert (config.k, config.horizon, config.hidden, config.log_std_init, config.agents * config.batch_size) == (
        4,
        500,
        (400, 300),
        -0.5,
        20,
    )
    from pmaxent.mepol.algorithm import MepolConfig

    mepol = MepolConfig(env="ant-xy-mjx")
    assert (mepol.k, mepol.horizon, mepol.trajectories, mepol.hidden, mepol.log_std_init) == (
        4,
        500,
        20,
        (400, 300),
        -0.5,
    )


def test_ant_first_steps_match_mujocos_c_step_then_it_stays_above_the_floor():
    world = mjx_worlds.make("ant-mjx")
    env = mjx_worlds.mjx_environment(world)
    step = jax.jit(env.step)
    model = mujoco.MjModel.from_xml_string(world.xml)
    data = mujoco.MjData(model)
    state = env.reset(jnp.full(15, 0.5))
    data.qpos[:] = np.asarray(state[0])
    actions = np.random.default_rng(0).uniform(-1, 1, (40, 8)).astype(np.float32)
    heights, c_heights = [], []
    for t, action in enumerate(actions):
        state = step(state, jnp.asarray(action), jnp.zeros(0))
        data.ctrl[:] = action
        for _ in range(world.frame_skip):
            mujoco.mj_step(model, data)
        heights.append(float(state[0][2]))
        c_heights.append(float(data.qpos[2]))
        if t < 3:  # the first 0.15 s, before the feet reach the floor: equal (measured: within 6e-6)
            assert data.ncon == 0
            np.testing.assert_allclose(np.asarray(state[0]), data.qpos, atol=1e-4)
    # then the solvers drift apart, but in both the torso (a sphere of radius 0.25) lands and stays above the floor
    heights, c_heights = np.array(heights), np.array(c_heights)
    assert np.all(np.isfinite(heights)) and heights.min() > 0.2 and c_heights.min() > 0.2
    assert abs(heights.min() - c_heights.min()) < 0.2


def test_a_tiny_ant_run_reports_raw_entropy_and_collects(tmp_path):
    from pmaxent.continuous.datasets import collect_continuous_run

    out = tmp_path / "ant"
    args = ["train", "--env", "ant-xy-mjx", "--method", "parallel", "--agents", "2", "--batch", "2", "--updates", "1",
            "--seeds", "0", "--horizon", "3", "--k", "2", "--hidden", "8", "--out", str(out), "--quiet"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "parallel entropy" in result.output and "normalized" not in result.output
    from pmaxent.core.tables import read_metrics_csv

    metrics = read_metrics_csv(out / "metrics.csv")["parallel"]
    assert np.all(np.isfinite(metrics["entropy"])) and np.all(np.isnan(metrics["normalized_entropy"]))
    collected = collect_continuous_run(out, ["parallel"], show_progress=False)
    dataset = collected["parallel"][0]
    assert dataset.observations.shape == (2, 4, 29) and dataset.actions.shape == (2, 3, 8)
    assert np.isfinite(dataset.entropy) and np.isnan(dataset.normalized_entropy) and np.isnan(dataset.coverage)
    from pmaxent.continuous.knn import knn_entropy

    np.testing.assert_allclose(dataset.entropy, knn_entropy(dataset.observations[..., :2].reshape(-1, 2), 2), rtol=1e-5)


def test_a_users_text_map_trains_as_a_point_mass_through_the_cli(tmp_path):
    from pmaxent.continuous.team import team_positions
    from pmaxent.families import load_run

    rows = ["-------", "-SF-FF-", "-FF-FF-", "-FFFFF-", "-------"]
    (tmp_path / "hall.txt").write_text("\n".join(rows))
    out = tmp_path / "run"
    args = ["train", "--map", str(tmp_path / "hall.txt"), "--physics", "mjx", "--method", "parallel",
            "--agents", "2", "--batch", "2", "--updates", "1", "--seeds", "0", "--horizon", "12", "--k", "4",
            "--hidden", "8", "--out", str(out), "--quiet"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "normalized entropy" in result.output and "coverage" in result.output and (out / "team.png").exists()
    run = load_run(out)
    kinematic = worlds.from_map(rows, name="hall")
    assert run.config.physics == "mjx" and isinstance(run.world, mjx_worlds.MJXWorld) and run.world.name == "hall-mjx"
    assert (
        run.world.xml.count('type="box"') == len(np.asarray(kinematic.walls)) + 4
    )  # the map's walls and the arena's four sides
    assert run.components.env.feature_volume == kinematic.free_area
    positions = team_positions(run, "parallel", trajectories=2)  # [m, 2 (T + 1), 2]
    assert positions.shape == (2, 26, 2)
    assert np.all(np.asarray(worlds.is_free(run.world.drawing, jnp.asarray(positions.reshape(-1, 2)))))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "room-det-continuous", "--physics", "warp"], "unknown physics 'warp'"),
        (
            ["--env", "gym:MountainCarContinuous-v0", "--physics", "mjx"],
            "physics 'mjx' applies to the navigation worlds",
        ),
        (
            ["--env", "room-det-continuous", "--physics", "mjx", "--max-step", "0.1"],
            "slip and max_step apply to the kinematic motion",
        ),
    ],
)
def test_bad_physics_is_named(tmp_path, args, message):
    result = CliRunner().invoke(app, ["train", *args, "--updates", "1", "--out", str(tmp_path / "x"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
