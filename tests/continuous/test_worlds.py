"""Continuous worlds: MEPOL's GridWorldContinuous, the paper's maps in continuous space, the
Gymnasium wrapper and the world plot."""

import math
import warnings

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils import seeding
from gymnasium.utils.env_checker import check_env

from pmaxent.continuous.gymnasium_env import ContinuousEnv, register_continuous_envs, registered_id
from pmaxent.continuous.worlds import (
    CONTINUOUS_ENVS,
    coverage,
    from_map,
    gridworld_continuous,
    is_free,
    make,
    reset,
    reset_many,
    step,
    step_many,
    world_environment,
)
from pmaxent.tabular.mdp import MAZE_MAP, ROOM_MAP
from pmaxent.tabular.mdp import from_map as tabular_from_map

GRID = gridworld_continuous()
ROOM_STOC = make("room-stoc-continuous")
step_grid = jax.jit(lambda p, a: step(GRID, p, a, jnp.zeros(0)))


def moved(position, action, world=GRID):
    out = (
        step_grid(jnp.array(position, jnp.float32), jnp.array(action, jnp.float32))
        if world is GRID
        else step(world, jnp.array(position, jnp.float32), jnp.array(action, jnp.float32), jnp.zeros(world.step_noise))
    )
    return np.asarray(out).tolist()


# Dyadic coordinates are exact in float32, so boundary cases are exact.
@pytest.mark.parametrize(
    "position, action, expected",
    [
        ((-5.0, -5.0), (0.125, 0.0625), (-4.875, -4.9375)),  # a free move
        ((-5.0, -5.0), (5.0, -5.0), (-4.8, -5.2)),  # clipped to 0.2 per axis
        ((-2.0, 1.5), (0.0, -0.25), (-2.0, 1.3)),  # clipped, stops short of the wall at y = 1.25
        ((-2.0, 1.375), (0.0, -0.125), (-2.0, 1.375)),  # onto the wall's edge y = 1.25: rejected
        ((-2.0, 1.375), (0.0, -0.0625), (-2.0, 1.3125)),
        ((-1.375, 2.0), (0.125, 0.0), (-1.375, 2.0)),  # onto the centre wall's edge x = -1.25: rejected
        ((-1.375, 2.0), (0.2, 0.0), (-1.375, 2.0)),  # into the centre wall: rejected
        ((-3.0, 1.375), (0.0, -0.2), (-3.0, 1.175)),  # through the doorway x in (-3.5, -2.5)
        ((5.875, 5.0), (0.125, 0.0), (5.875, 5.0)),  # onto the arena edge x = 6: rejected
        ((5.875, 5.0), (0.0625, 0.0), (5.9375, 5.0)),
        ((-5.875, -5.875), (-0.125, -0.0625), (-5.875, -5.875)),  # x = -6: rejected
        ((-5.0, -5.0), (float("nan"), 0.1), (-5.0, -5.0)),  # non-finite action: rejected
        ((-5.0, -5.0), (float("inf"), 0.1), (-5.0, -5.0)),
    ],
)
def test_gridworld_moves(position, action, expected):
    np.testing.assert_allclose(moved(position, action), expected, rtol=0, atol=1e-6)
    if tuple(expected) == tuple(position):
        assert moved(position, action) == list(position)  # a rejected move is exactly no move


def test_gridworld_start_uniform_in_start_square():
    u = np.random.default_rng(0).random((20_000, 2), dtype=np.float32)
    u[:2] = [[0.0, 0.0], [np.nextafter(np.float32(1), np.float32(0))] * 2]
    starts = np.asarray(jax.vmap(lambda v: reset(GRID, v))(u))
    assert np.all((starts > -6) & (starts < -4))  # the open square, even for u = 0 or u -> 1
    assert np.all(np.asarray(is_free(GRID, starts)))
    # uniform on [-6, -4]: mean -5, variance 1/3, per axis
    np.testing.assert_allclose(starts.mean(0), -5.0, atol=5 * math.sqrt(1 / 3 / len(u)))
    np.testing.assert_allclose(starts.var(0), 1 / 3, rtol=0.05)


def test_gridworld_free_area_exact_and_monte_carlo():
    assert GRID.free_area == 100.25
    # Monte Carlo: 400,000 uniform points of the arena (area 144); standard error of the area
    # 144 sqrt(p (1 - p) / n) ~ 0.105, tolerance 5 standard errors.
    n = 400_000
    points = np.random.default_rng(1).uniform(-6, 6, (n, 2)).astype(np.float32)
    p = float(np.mean(np.asarray(is_free(GRID, points))))
    tolerance = 5 * 144 * math.sqrt(p * (1 - p) / n)
    assert abs(144 * p - 100.25) < tolerance


def test_gridworld_mepol_calibration_stays_in_start_room():
    """SPEC 11: the untrained zero-mean Gaussian policy (std e^-1.5), 20 x 1,200 steps, leaves
    over 80% of its points in the start room."""
    n_traj, horizon = 20, 1200
    key_reset, key_act = jax.random.split(jax.random.key(0))

    @jax.jit
    def run():
        p0 = jax.vmap(lambda v: reset(GRID, v))(jax.random.uniform(key_reset, (n_traj, 2)))
        actions = math.exp(-1.5) * jax.random.normal(key_act, (horizon, n_traj, 2))
        one = jax.vmap(lambda p, a: step(GRID, p, a, jnp.zeros(0)))

        def body(p, a):
            nxt = one(p, a)
            return nxt, nxt

        _, path = jax.lax.scan(body, p0, actions)
        return jnp.concatenate([p0[None], path])

    points = np.asarray(run()).reshape(-1, 2)
    assert np.all(np.asarray(is_free(GRID, points[np.abs(points).max(1) < 6])))
    in_start_room = np.mean((points[:, 0] < 0) & (points[:, 1] < 0))
    assert in_start_room > 0.8


@pytest.mark.parametrize("layout", [ROOM_MAP, MAZE_MAP], ids=["room", "maze"])
def test_map_world_matches_tabular_cells(layout):
    world = from_map(layout)
    tabular = tabular_from_map(layout)
    assert world.free_area == tabular.n_valid == 43
    assert world.n_free_cells == 4 * tabular.n_valid
    n_rows, n_cols = len(layout), len(layout[0])
    # cell (r, c) is the unit square x in [c, c + 1], y in [n_rows - 1 - r, n_rows - r]
    centres = np.array([[c + 0.5, n_rows - 0.5 - r] for r in range(n_rows) for c in range(n_cols)], np.float32)
    np.testing.assert_array_equal(np.asarray(is_free(world, centres)), tabular.valid)
    start_row, start_col = divmod(tabular.start_state, n_cols)
    np.testing.assert_array_equal(
        world.starts, [[start_col, start_col + 1, n_rows - 1 - start_row, n_rows - start_row]]
    )


def test_map_moves_and_outside_is_solid():
    world = make("room-det-continuous")  # left room x in (0, 4), door row y in [2, 3]
    assert world.step_noise == 0 and world.max_step == 0.25
    assert moved((3.875, 3.5), (0.25, 0.0), world) == [3.875, 3.5]  # into the wall cells x >= 4
    assert moved((3.875, 2.5), (0.25, 0.0), world) == [4.125, 2.5]  # through the door
    assert moved((0.125, 1.0), (-0.125, 0.0), world) == [0.125, 1.0]  # the grid's edge x = 0
    assert moved((0.125, 4.875), (0.0, 0.25), world) == [0.125, 4.875]  # y = 5 is outside
    assert moved((1.0, 1.0), (-1.0, 1.0), world) == [0.75, 1.25]  # clipped to 0.25


def test_several_start_cells_uniform():
    world = from_map(["S-F", "FFS"])
    assert world.reset_noise == 3
    u = np.random.default_rng(2).random((4000, 3), dtype=np.float32)
    starts = np.asarray(jax.vmap(lambda v: reset(world, v))(u))
    first = (starts[:, 0] < 1) & (starts[:, 1] > 1)  # S at (0, 0): x in [0, 1], y in [1, 2]
    second = (starts[:, 0] > 2) & (starts[:, 1] < 1)  # S at (1, 2): x in [2, 3], y in [0, 1]
    assert np.all(first | second)
    assert abs(first.mean() - 0.5) < 5 * math.sqrt(0.25 / len(u))


def test_slip_frequency_and_random_action_box():
    world = ROOM_STOC
    assert world.slip == 0.2 and world.step_noise == 3
    n = 20_000
    u = np.random.default_rng(3).random((n, 3), dtype=np.float32)
    position, action = jnp.array([2.0, 2.5]), jnp.array([0.25, 0.0])
    nxt = np.asarray(jax.vmap(lambda v: step(world, position, action, v))(u))
    slipped = ~np.all(nxt == np.array([2.25, 2.5], np.float32), axis=1)
    # a binomial(n, 0.2) count within 5 standard deviations
    assert abs(slipped.sum() - 0.2 * n) < 5 * math.sqrt(n * 0.2 * 0.8)
    moves = nxt[slipped] - np.array([2.0, 2.5], np.float32)
    assert np.all(np.abs(moves) <= 0.25 + 1e-6)
    np.testing.assert_allclose(moves.mean(0), 0.0, atol=5 * 0.25 / math.sqrt(3 * slipped.sum()))


def test_batched_reset_and_step_are_the_single_ones_element_by_element():
    world = ROOM_STOC
    rng = np.random.default_rng(4)
    u_reset = rng.random((50, world.reset_noise), dtype=np.float32)
    starts = np.asarray(reset_many(world, u_reset))
    for row, u in zip(starts, u_reset, strict=True):
        np.testing.assert_array_equal(row, np.asarray(reset(world, u)))
    actions = rng.uniform(-0.4, 0.4, (50, 2)).astype(np.float32)
    u_step = rng.random((50, world.step_noise), dtype=np.float32)
    moved = np.asarray(step_many(world, starts, actions, u_step))
    for row, p, a, u in zip(moved, starts, actions, u_step, strict=True):
        np.testing.assert_array_equal(row, np.asarray(step(world, p, a, u)))
    assert not np.array_equal(moved, starts)


def test_coverage_on_hand_made_points():
    assert GRID.grid_shape == (24, 24)
    n_free = GRID.n_free_cells
    # cells [-6, -5.5] x [-6, -5.5] and [-5.5, -5] x [-6, -5.5]; two points in one cell
    a = [[-5.9, -5.9], [-5.6, -5.6], [-5.4, -5.9], [-5.4, -5.8]]
    # a cell half covered by the centre wall: x in [-1.5, -1], y in [2, 2.5]; it counts as free
    b = [[-1.4, 2.2], [-1.4, 2.2], [-1.3, 2.4], [5.9, 5.9]]
    assert GRID.free_cells[9, 16] and not GRID.free_cells[9, 12]  # the latter is all wall
    features = jnp.array([[a, a], [b, a]], jnp.float32)  # [B = 2, m = 2, N = 4, 2]
    np.testing.assert_allclose(np.asarray(coverage(GRID, features)), [2 / n_free, 4 / n_free], rtol=1e-6)
    env = world_environment(GRID)
    np.testing.assert_allclose(np.asarray(env.team_metrics(features)["coverage"]), [2 / n_free, 4 / n_free], rtol=1e-6)
    # every free 0.5-cell of the room visited: coverage 1
    room = make("room-det-continuous")
    ix, iy = np.nonzero(room.free_cells)
    centres = np.stack([(ix + 0.5) * 0.5, (iy + 0.5) * 0.5], -1)[None, None]
    assert float(coverage(room, centres)[0]) == 1.0


def test_world_environment_fields():
    env = world_environment(ROOM_STOC)
    assert env.name == "room-stoc-continuous" and env.horizon == 32
    assert env.feature_volume == 43.0 and (env.reset_noise, env.step_noise) == (2, 3)
    assert env.action_space == gymnasium.spaces.Box(-0.25, 0.25, (2,), np.float32)
    assert env.observation_space.shape == (2,)
    assert make("gridworld-continuous").horizon == 200 and make("maze-det-continuous").horizon == 40
    assert make("maze-det-continuous", horizon=7).horizon == 7


@pytest.mark.parametrize("name", ["gridworld-continuous", "room-stoc-continuous"])
def test_gymnasium_matches_jax_step_for_step(name):
    """The Gymnasium env and the trainer's pure functions give the same trajectory, bit for bit,
    for the same actions and the same uniforms (those the env's seeded generator draws)."""
    world = make(name, horizon=60)
    env = ContinuousEnv(world)
    actions = np.random.default_rng(4).normal(0, 0.3, (world.horizon, 2)).astype(np.float32)
    actions[5] = np.nan
    obs, _ = env.reset(seed=123)
    gym_path = [obs]
    for t, a in enumerate(actions):
        obs, reward, terminated, truncated, _ = env.step(a)
        gym_path.append(obs)
        assert reward == 0.0 and not terminated and truncated == (t == world.horizon - 1)
    gym_path = np.array(gym_path)

    rng, _ = seeding.np_random(123)
    u_reset = rng.random(world.reset_noise, dtype=np.float32)
    u_steps = np.stack([rng.random(world.step_noise, dtype=np.float32) for _ in actions])
    jenv = world_environment(world)

    @jax.jit
    def run(u_reset, actions, u_steps):
        s0 = jenv.reset(u_reset)

        def body(s, inputs):
            nxt = jenv.step(s, *inputs)
            return nxt, nxt

        return jnp.concatenate([s0[None], jax.lax.scan(body, s0, (actions, u_steps))[1]])

    jax_path = np.asarray(run(u_reset, actions, u_steps))
    np.testing.assert_array_equal(gym_path, jax_path)
    assert gym_path.dtype == np.float32
    assert len(np.unique(gym_path, axis=0)) > world.horizon // 2  # it did move


def test_env_checker_clean_registration_and_render():
    register_continuous_envs()
    assert registered_id("gridworld-continuous") == "pmaxent/GridWorldContinuous-v0"
    assert registered_id("maze-stoc-continuous") == "pmaxent/Maze-stoc-continuous-v0"
    for name in CONTINUOUS_ENVS:
        assert registered_id(name) in gymnasium.envs.registration.registry
    for env_id in ["pmaxent/GridWorldContinuous-v0", "pmaxent/Maze-stoc-continuous-v0"]:
        env = gymnasium.make(env_id, render_mode="rgb_array")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped)
        assert not caught, [str(w.message) for w in caught]
        obs, _ = env.reset(seed=0)
        image = env.render()
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert np.any(np.all(image == (220, 60, 60), axis=-1))  # the agent
        assert np.any(np.all(image == (60, 60, 60), axis=-1))  # walls
    custom = gymnasium.make("pmaxent/GridContinuous-v0", layout=["SF-F", "FFFF"], horizon=3)
    custom.reset(seed=0)
    assert [custom.step(np.zeros(2, np.float32))[3] for _ in range(3)] == [False, False, True]


def test_errors():
    with pytest.raises(ValueError, match="gridworld-continuous, room-det-continuous"):
        make("room-continuous")
    with pytest.raises(ValueError, match="no start cell 'S'"):
        from_map(["FF-", "FFF"])
    with pytest.raises(ValueError, match="unknown map character"):
        from_map(["SX"])
    with pytest.raises(ValueError, match="max_step"):
        from_map(["SF"], max_step=1.5)
    with pytest.raises(ValueError, match="render_mode"):
        ContinuousEnv(GRID, render_mode="human")
    with pytest.raises(ValueError, match="shape"):
        env = ContinuousEnv(GRID)
        env.reset(seed=0)
        env.step(np.zeros(3))


def test_plot_world(tmp_path):
    from pmaxent.plots.continuous import plot_world

    rng = np.random.default_rng(5)
    points = rng.uniform(-6, -4, (3, 2, 50, 2))  # m = 3 agents, K = 2 trajectories of 50 points
    out = plot_world(GRID, tmp_path / "grid.png", points=points, colors=["C0", "C1", "C2"])
    assert out.exists() and out.stat().st_size > 1000
    assert plot_world(ROOM_STOC, tmp_path / "room.png").exists()


class _UniformTeam:
    """A stub team policy: every agent acts uniformly on the action box (2 uniforms per action)."""

    noise = 2

    def __init__(self, max_step):
        self.max_step = max_step

    def prepare(self, params, uniform=False):
        return None

    def act(self, prepared, observations, t, u):
        return self.max_step * (2.0 * u - 1.0)


def test_world_environment_runs_in_the_trainers_rollout():
    from pmaxent.core.rollout import sample_team

    world = make("maze-stoc-continuous")
    env = world_environment(world)
    samples = sample_team(env, _UniformTeam(world.max_step), {"w": jnp.zeros((3, 1))}, jax.random.key(0), batch_size=2)
    states = np.asarray(samples.states)
    assert states.shape == (2, 3, world.horizon + 1, 2) and samples.actions.shape == (2, 3, world.horizon, 2)
    assert np.all(np.asarray(is_free(world, states)))
    steps = np.abs(np.diff(states, axis=2))
    assert np.all(steps <= world.max_step + 1e-6) and np.any(steps > 0)
    cov = np.asarray(env.team_metrics(states)["coverage"])
    assert cov.shape == (2,) and np.all((cov > 0) & (cov <= 3 * (world.horizon + 1) / world.n_free_cells))
