"""Environments against ground truth written out by hand from SPEC section 3.

Every expected transition row, trajectory and cell index below was worked out on paper from the
two maps (actions 0 left, 1 down, 2 right, 3 up; state = row * ncols + col), not computed with
pmaxent code, so a wrong map, a wrong move table or a wrong slip rule makes these tests fail.
"""

from __future__ import annotations

import warnings

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pmaxent  # noqa: F401  (registers the pmaxent/... Gymnasium ids)
from pmaxent.tabular import (
    GOAL_EPISODE_STEPS,
    MAZE_MAP,
    ROOM_MAP,
    TabularEnv,
    TabularMDP,
    from_gymnasium,
    from_map,
    make,
    make_dynamics,
    parse_map,
    reset,
    rollout_actions,
    step,
)

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3

# The maps exactly as printed in SPEC section 3 (and in the paper's Figures 5 and 6).
SPEC_ROOM = """
FFFF---FFFF
FFFF---FFFF
FFFFFSFFFFF
FFFF---FFFF
FFFF---FFFF
"""
SPEC_MAZE = """
-FFF------
-FFF------
---F---FFF
FF-F-----F
FF-F-----F
FFFFFFSFFF
FF-F-----F
---F-----F
-FFF---FFF
-FFF------
"""

ROOM_WALLS = [4, 5, 6, 15, 16, 17, 37, 38, 39, 48, 49, 50]
MAZE_FLOOR = [
    1, 2, 3, 11, 12, 13, 23, 27, 28, 29, 30, 31, 33, 39, 40, 41, 43, 49,
    50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 63, 69, 73, 79,
    81, 82, 83, 87, 88, 89, 91, 92, 93,
]  # fmt: skip

# p / 3 with the paper's slip p = 0.2: the probability of each unintended move.
E = 0.2 / 3

# (state, action) -> {next state: probability} in the stochastic maps (p = 0.2). The comments
# list where each of the four moves lands (l, d, r, u); moves that land on the same cell merge.
ROOM_STOC_ROWS = {
    (27, LEFT): {26: 0.8, 27: 2 * E, 28: E},  # start: l 26, d wall, r 28, u wall
    (27, DOWN): {27: 0.8 + E, 26: E, 28: E},
    (27, RIGHT): {28: 0.8, 27: 2 * E, 26: E},
    (27, UP): {27: 0.8 + E, 26: E, 28: E},
    (0, LEFT): {0: 0.8 + E, 11: E, 1: E},  # top-left corner: l edge, d 11, r 1, u edge
    (0, DOWN): {11: 0.8, 0: 2 * E, 1: E},
    (0, UP): {0: 0.8 + E, 11: E, 1: E},
    (3, RIGHT): {3: 0.8 + E, 2: E, 14: E},  # l 2, d 14, r wall 4, u edge
    (26, UP): {26: 0.8 + E, 25: E, 27: E},  # doorway: l 25, d wall, r 27, u wall
    (26, LEFT): {25: 0.8, 26: 2 * E, 27: E},
    (28, LEFT): {27: 0.8, 28: 2 * E, 29: E},  # doorway: l 27, d wall, r 29, u wall
    (54, RIGHT): {54: 0.8 + E, 53: E, 43: E},  # bottom-right corner: l 53, d edge, r edge, u 43
    (44, DOWN): {44: 0.8 + E, 45: E, 33: E},  # bottom-left corner (the goal of Figure 3)
    (22, LEFT): {22: 0.8, 33: E, 23: E, 11: E},  # left edge: l edge, d 33, r 23, u 11
    (14, DOWN): {25: 0.8, 13: E, 14: E, 3: E},  # l 13, d 25, r wall 15, u 3
    (12, RIGHT): {13: 0.8, 11: E, 23: E, 1: E},  # interior: four distinct successors
}
MAZE_STOC_ROWS = {
    (56, UP): {56: 0.8 + E, 55: E, 57: E},  # start: l 55, d wall, r 57, u wall
    (56, LEFT): {55: 0.8, 56: 2 * E, 57: E},
    (87, LEFT): {87: 0.8 + 2 * E, 88: E},  # dead end: l wall, d wall, r 88, u wall
    (87, RIGHT): {88: 0.8, 87: 3 * E},
    (1, LEFT): {1: 0.8 + E, 11: E, 2: E},  # l wall 0, d 11, r 2, u edge
    (29, RIGHT): {29: 0.8 + E, 28: E, 39: E},  # l 28, d 39, r edge, u wall 19
    (23, UP): {13: 0.8, 23: 2 * E, 33: E},  # vertical corridor: l wall, d 33, r wall, u 13
    (23, LEFT): {23: 0.8 + E, 33: E, 13: E},
    (50, LEFT): {50: 0.8, 60: E, 51: E, 40: E},  # left edge: l edge, d 60, r 51, u 40
    (93, DOWN): {93: 0.8 + E, 92: E, 83: E},  # l 92, d edge, r wall 94, u 83
    (53, DOWN): {63: 0.8, 52: E, 54: E, 43: E},  # crossing: l 52, d 63, r 54, u 43
    (59, RIGHT): {59: 0.8, 58: E, 69: E, 49: E},  # right edge: l 58, d 69, r edge, u 49
    (79, UP): {69: 0.8, 89: E, 79: 2 * E},  # l wall 78, d 89, r edge, u 69
    (91, DOWN): {91: 0.8 + E, 92: E, 81: E},  # l wall 90, d edge, r 92, u 81
}
STOC_ROWS = {"room-stoc": ROOM_STOC_ROWS, "maze-stoc": MAZE_STOC_ROWS}

# (state, action) -> next state in the deterministic maps.
ROOM_DET_MOVES = {
    (27, LEFT): 26, (27, DOWN): 27, (27, RIGHT): 28, (27, UP): 27,
    (0, LEFT): 0, (0, UP): 0, (0, DOWN): 11, (0, RIGHT): 1,
    (3, RIGHT): 3, (26, UP): 26, (26, DOWN): 26, (54, RIGHT): 54, (54, DOWN): 54,
    (22, LEFT): 22, (14, DOWN): 25, (44, LEFT): 44, (44, UP): 33, (10, UP): 10, (7, LEFT): 7,
}  # fmt: skip
MAZE_DET_MOVES = {
    (56, LEFT): 55, (56, DOWN): 56, (56, RIGHT): 57, (56, UP): 56,
    (87, LEFT): 87, (87, UP): 87, (87, DOWN): 87, (87, RIGHT): 88,
    (1, LEFT): 1, (1, UP): 1, (29, RIGHT): 29, (29, UP): 29, (23, UP): 13, (23, RIGHT): 23,
    (50, LEFT): 50, (93, DOWN): 93, (93, RIGHT): 93, (53, DOWN): 63, (73, DOWN): 83, (30, UP): 30,
}  # fmt: skip
DET_MOVES = {"room-det": ROOM_DET_MOVES, "maze-det": MAZE_DET_MOVES}

# Open-loop action sequences of one full episode and the T + 1 states they visit.
HAND_TRAJECTORIES = {
    # five steps left to the left edge, a bump, then up the left column into the corner.
    "room-det": ([LEFT] * 6 + [UP] * 2, [27, 26, 25, 24, 23, 22, 22, 11, 0]),
    # bump into the wall above the start, left to the corridor, up it to the top edge.
    "maze-det": ([UP, LEFT, LEFT, LEFT, UP, UP, UP, UP, UP, UP], [56, 56, 55, 54, 53, 43, 33, 23, 13, 3, 3]),
}

GYM_IDS = ["pmaxent/Room-det-v0", "pmaxent/Room-stoc-v0", "pmaxent/Maze-det-v0", "pmaxent/Maze-stoc-v0"]


def _lines(text: str) -> tuple[str, ...]:
    return tuple(text.strip().splitlines())


def _dense_row(row: dict[int, float], n_states: int) -> np.ndarray:
    dense = np.zeros(n_states)
    for nxt, prob in row.items():
        dense[nxt] += prob
    return dense


def assert_frequencies(counts: np.ndarray, probs: np.ndarray, label: str) -> None:
    """Every cell's count lies within 5 binomial standard deviations of n * p.

    Cells of probability 0 (or 1) have zero variance and must match exactly. With 5 sigma per
    cell a correct sampler fails with probability below 1e-6 per cell, while a slip of p/4
    instead of p/3 is off by about 9 sigma with 20,000 samples.
    """
    n = counts.sum()
    expected = n * probs
    sigma = np.sqrt(n * probs * (1 - probs))
    bad = np.flatnonzero(np.abs(counts - expected) > 5 * sigma + 1e-9)
    assert not len(bad), (
        f"{label}: next states {bad.tolist()} drawn {counts[bad].tolist()} times in {n}, "
        f"expected {np.round(expected[bad], 1).tolist()} +- {np.round(5 * sigma[bad], 1).tolist()}"
    )


# --- maps, cells, starts, horizons -------------------------------------------------------------


def test_paper_maps_are_the_spec_maps():
    assert ROOM_MAP == _lines(SPEC_ROOM)
    assert MAZE_MAP == _lines(SPEC_MAZE)
    assert make("room-det").layout == _lines(SPEC_ROOM)
    assert make("maze-stoc").layout == _lines(SPEC_MAZE)


@pytest.mark.parametrize(
    "name, shape, start, horizon, floor",
    [
        ("room-det", (5, 11), 27, 8, sorted(set(range(55)) - set(ROOM_WALLS))),
        ("room-stoc", (5, 11), 27, 8, sorted(set(range(55)) - set(ROOM_WALLS))),
        ("maze-det", (10, 10), 56, 10, MAZE_FLOOR),
        ("maze-stoc", (10, 10), 56, 10, MAZE_FLOOR),
    ],
)
def test_cells_start_and_horizon(name, shape, start, horizon, floor):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every floor cell of the paper's maps is reachable
        mdp = make(name)
    assert mdp.grid_shape == shape
    assert mdp.n_states == shape[0] * shape[1]
    assert mdp.n_actions == 4
    assert mdp.n_valid == 43 == len(floor)
    np.testing.assert_array_equal(np.flatnonzero(mdp.valid), floor)
    assert mdp.start_state == start
    assert mdp.coords(start) == divmod(start, shape[1])
    assert mdp.mu[start] == 1.0
    assert mdp.horizon == horizon
    assert gymnasium.spec(f"pmaxent/{name[0].upper()}{name[1:]}-v0").max_episode_steps == horizon


def test_make_overrides_and_is_case_insensitive():
    mdp = make(" Maze-Stoc ", slip=0.5, horizon=3)
    assert mdp.horizon == 3
    # (87, RIGHT) of the dead end: intended move 0.5, the three bumps 0.5 / 3 each.
    np.testing.assert_allclose(mdp.P[87, RIGHT, [87, 88]], [0.5, 0.5])
    assert make("room-det").with_horizon(20).horizon == 20


# --- transition rows ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["room-stoc", "maze-stoc"])
def test_stochastic_rows_by_hand(name):
    mdp = make(name)
    for (s, a), row in STOC_ROWS[name].items():
        assert sum(row.values()) == pytest.approx(1.0)
        np.testing.assert_allclose(mdp.P[s, a], _dense_row(row, mdp.n_states), atol=1e-12, err_msg=f"P[{s}, {a}]")


@pytest.mark.parametrize("name", ["room-det", "maze-det"])
def test_deterministic_moves_by_hand(name):
    mdp = make(name)
    for (s, a), nxt in DET_MOVES[name].items():
        assert mdp.P[s, a, nxt] == 1.0, f"P[{s}, {a}] should move to {nxt}"


@pytest.mark.parametrize("layout", ["room", "maze"])
def test_slip_mixes_the_four_deterministic_moves(layout):
    """P_stoc(. | s, a) = (1 - p) P_det(. | s, a) + p / 3 * sum over the other actions b."""
    det, stoc = make(f"{layout}-det"), make(f"{layout}-stoc")
    for a in range(4):
        others = sum(det.P[:, b] for b in range(4) if b != a)
        expected = 0.8 * det.P[:, a] + E * others
        np.testing.assert_allclose(stoc.P[:, a], expected, atol=1e-12)


@pytest.mark.parametrize("name", ["room-det", "room-stoc", "maze-det", "maze-stoc"])
def test_floor_never_leads_into_walls(name):
    mdp = make(name)
    floor_rows = mdp.P[mdp.valid]
    assert floor_rows[:, :, ~mdp.valid].sum() == 0.0
    np.testing.assert_allclose(mdp.P.sum(axis=2), 1.0)


def test_successor_table_is_sparse_form_of_P():
    mdp = make("maze-stoc")
    successors, cumulative = mdp.successor_table()
    assert successors.shape == cumulative.shape == (100, 4, 4)
    # (87, RIGHT): successors 87 then 88 (ascending), padded with 88; CDF 0.2, 1, 1, 1.
    np.testing.assert_array_equal(successors[87, RIGHT], [87, 88, 88, 88])
    np.testing.assert_allclose(cumulative[87, RIGHT], [0.2, 1.0, 1.0, 1.0], rtol=1e-6)
    # (53, DOWN): 43 (E), 52 (E), 54 (E), 63 (0.8).
    np.testing.assert_array_equal(successors[53, DOWN], [43, 52, 54, 63])
    np.testing.assert_allclose(cumulative[53, DOWN], [E, 2 * E, 3 * E, 1.0], rtol=1e-6)


# --- sampling frequencies ----------------------------------------------------------------------

N_HAND_SAMPLES = 20_000


def _gym_next_states(name: str, s: int, a: int, n: int) -> np.ndarray:
    env = gymnasium.make(f"pmaxent/{name[0].upper()}{name[1:]}-v0").unwrapped
    env.reset(seed=1234 + s * 4 + a)
    out = np.empty(n, np.int64)
    for i in range(n):
        env.state = s  # place the agent directly: only the transition from (s, a) is under test
        out[i] = env.step(a)[0]
    return out


def _jax_next_states(name: str, s: int, a: int, n: int) -> np.ndarray:
    dyn = make_dynamics(make(name))
    key = jax.random.key(1234 + s * 4 + a)
    return np.asarray(step(dyn, key, jnp.full(n, s, jnp.int32), jnp.full(n, a, jnp.int32)))


@pytest.mark.parametrize("sampler", [_jax_next_states, _gym_next_states], ids=["jax", "gymnasium"])
@pytest.mark.parametrize(
    "name, s, a",
    [
        ("room-stoc", 27, LEFT),  # merge of two bumps
        ("room-stoc", 0, LEFT),  # corner: intended bump merges with one slip bump
        ("room-stoc", 12, RIGHT),  # four distinct successors
        ("maze-stoc", 87, LEFT),  # dead end: three moves bump
        ("maze-stoc", 23, UP),  # corridor
    ],
)
def test_sampled_frequencies_match_hand_rows(sampler, name, s, a):
    n_states = make(name).n_states
    next_states = sampler(name, s, a, N_HAND_SAMPLES)
    counts = np.bincount(next_states, minlength=n_states)
    assert_frequencies(counts, _dense_row(STOC_ROWS[name][(s, a)], n_states), f"{name} P[{s}, {a}]")


@pytest.mark.parametrize("name", ["room-stoc", "maze-stoc"])
def test_jax_step_frequencies_for_every_floor_row(name):
    """One batched step from every (floor state, action), 4000 times each, against P."""
    mdp = make(name)
    dyn = make_dynamics(mdp)
    pairs = np.array([(s, a) for s in np.flatnonzero(mdp.valid) for a in range(4)])
    n = 4000
    states = jnp.asarray(np.repeat(pairs[:, 0], n), jnp.int32)
    actions = jnp.asarray(np.repeat(pairs[:, 1], n), jnp.int32)
    nxt = np.asarray(step(dyn, jax.random.key(7), states, actions)).reshape(len(pairs), n)
    for (s, a), row in zip(pairs, nxt, strict=True):
        assert_frequencies(np.bincount(row, minlength=mdp.n_states), mdp.P[s, a], f"{name} P[{s}, {a}]")


def test_reset_draws_the_start_state():
    for name, start in [("room-stoc", 27), ("maze-stoc", 56)]:
        dyn = make_dynamics(make(name))
        assert np.all(np.asarray(reset(dyn, jax.random.key(0), (40, 6))) == start)
        env = gymnasium.make(f"pmaxent/{name[0].upper()}{name[1:]}-v0")
        assert [env.reset(seed=seed)[0] for seed in range(5)] == [start] * 5


def test_reset_samples_a_spread_initial_distribution():
    """A custom mu over three states: both samplers follow it."""
    base = make("room-det")
    mu = np.zeros(base.n_states)
    mu[[0, 27, 54]] = [0.5, 0.3, 0.2]
    mdp = TabularMDP(P=base.P, mu=mu, horizon=8, valid=base.valid, grid_shape=base.grid_shape)
    n = 20_000
    jax_states = np.asarray(reset(make_dynamics(mdp), jax.random.key(3), (n,)))
    assert_frequencies(np.bincount(jax_states, minlength=mdp.n_states), mu, "jax reset")
    env = TabularEnv(mdp)
    env.reset(seed=3)
    gym_states = np.array([env.reset()[0] for _ in range(n)])
    assert_frequencies(np.bincount(gym_states, minlength=mdp.n_states), mu, "gymnasium reset")


# --- trajectories ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["room-det", "maze-det"])
def test_hand_trajectory_in_gymnasium_and_jax(name):
    actions, expected = HAND_TRAJECTORIES[name]
    env = gymnasium.make(f"pmaxent/{name[0].upper()}{name[1:]}-v0")
    obs, _ = env.reset(seed=0)
    visited = [obs]
    for t, a in enumerate(actions):
        obs, reward, terminated, truncated, _ = env.step(a)
        visited.append(obs)
        assert reward == 0.0 and not terminated
        assert truncated == (t == len(actions) - 1), "registered envs truncate after exactly T steps"
    assert visited == expected

    dyn = make_dynamics(make(name))
    states = rollout_actions(dyn, jax.random.key(0), jnp.asarray(actions, jnp.int32)[:, None])
    assert np.asarray(states)[:, 0].tolist() == expected


@pytest.mark.parametrize("name", ["room-det", "maze-det"])
def test_random_action_sequences_agree_between_gymnasium_and_jax(name):
    """Five 60-step random open-loop sequences; the deterministic maps leave no randomness."""
    mdp = make(name)
    actions = np.random.default_rng(0).integers(0, 4, size=(60, 5))
    states = np.asarray(rollout_actions(make_dynamics(mdp), jax.random.key(1), jnp.asarray(actions, jnp.int32)))
    env = gymnasium.make(f"pmaxent/{name[0].upper()}{name[1:]}-v0").unwrapped  # no time limit
    for column in range(actions.shape[1]):
        visited = [env.reset(seed=column)[0]]
        visited += [env.step(int(a))[0] for a in actions[:, column]]
        assert states[:, column].tolist() == visited
    assert np.all(mdp.valid[states])


# --- Gymnasium API -----------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_check_env_passes(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker reports problems as warnings
        for render_mode in (None, "ansi", "rgb_array"):
            check_env(gymnasium.make(env_id, render_mode=render_mode).unwrapped)


def test_check_env_passes_for_custom_grid():
    env = gymnasium.make("pmaxent/Grid-v0", layout=["S-F", "FFF"], slip=0.1, horizon=4)
    check_env(env.unwrapped)
    assert env.unwrapped.mdp.horizon == 4
    # State 0, RIGHT: the wall at 1, the left and the top edge all leave it at 0; down reaches 3.
    np.testing.assert_allclose(env.unwrapped.mdp.P[0, RIGHT, [0, 3]], [0.9 + 0.1 / 3 * 2, 0.1 / 3])


def test_render_modes():
    env = gymnasium.make("pmaxent/Room-det-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step(LEFT)
    expected = list(_lines(SPEC_ROOM))
    expected[2] = "FFFFAS" + "F" * 5  # the agent 'A' left of the start
    assert env.render() == "\n".join(expected) + "\n"

    env = gymnasium.make("pmaxent/Maze-stoc-v0", render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    cell_h, cell_w = image.shape[0] // 10, image.shape[1] // 10
    assert image.shape[:2] == (10 * cell_h, 10 * cell_w)

    def centre(state):
        r, c = divmod(state, 10)
        return image[r * cell_h + cell_h // 2, c * cell_w + cell_w // 2]

    wall, floor, agent = centre(0), centre(1), centre(56)
    assert wall.sum() < floor.sum()  # walls drawn darker than floor
    assert len({tuple(wall), tuple(floor), tuple(agent)}) == 3
    assert all(tuple(centre(s)) == tuple(wall) for s in (4, 22, 46, 99))

    with pytest.raises(ValueError, match="render_mode must be one of"):
        TabularEnv(make("room-det"), render_mode="text")


def test_goal_terminates_with_reward_one():
    env = gymnasium.make("pmaxent/Room-det-v0", goal=44, max_episode_steps=GOAL_EPISODE_STEPS)
    env.reset(seed=0)
    # 27 -> 22 along the middle row, then down 33, 44.
    path = [LEFT] * 5 + [DOWN, DOWN]
    for a in path[:-1]:
        obs, reward, terminated, truncated, _ = env.step(a)
        assert (reward, terminated, truncated) == (0.0, False, False)
    obs, reward, terminated, truncated, _ = env.step(path[-1])
    assert (obs, reward, terminated, truncated) == (44, 1.0, True, False)

    with pytest.raises(ValueError, match="goal 5"):
        gymnasium.make("pmaxent/Room-det-v0", goal=5)  # a wall cell
    with pytest.raises(ValueError, match="goal 999"):
        gymnasium.make("pmaxent/Room-det-v0", goal=999)


def test_invalid_action_is_rejected():
    env = gymnasium.make("pmaxent/Maze-det-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action 4"):
        env.step(4)


# --- Gymnasium toy-text tables -----------------------------------------------------------------


def test_from_gymnasium_frozenlake_slippery():
    mdp = from_gymnasium("FrozenLake-v1")
    assert mdp.n_states == 16 and mdp.n_actions == 4
    assert mdp.horizon == 100  # FrozenLake-v1's max_episode_steps
    assert mdp.start_state == 0
    assert mdp.grid_shape == (4, 4)
    assert mdp.layout == ("SFFF", "FHFH", "FFFH", "HFFG")
    # Slippery: the intended move and the two perpendicular ones, 1/3 each.
    third = 1 / 3
    np.testing.assert_allclose(mdp.P[0, LEFT], _dense_row({0: 2 * third, 4: third}, 16))  # l 0, d 4, u 0
    np.testing.assert_allclose(mdp.P[14, RIGHT], _dense_row({14: third, 15: third, 10: third}, 16))  # d 14, r 15, u 10
    np.testing.assert_allclose(mdp.P[5, DOWN], _dense_row({5: 1.0}, 16))  # a hole is absorbing
    # The whole table agrees with the environment's own P.
    table = gymnasium.make("FrozenLake-v1").unwrapped.P
    for s in range(16):
        for a in range(4):
            expected = np.zeros(16)
            for prob, nxt, *_ in table[s][a]:
                expected[nxt] += prob
            np.testing.assert_allclose(mdp.P[s, a], expected, atol=1e-12)


def test_from_gymnasium_frozenlake_not_slippery_and_env_object():
    mdp = from_gymnasium("FrozenLake-v1", is_slippery=False)
    assert mdp.P[14, RIGHT, 15] == 1.0 and mdp.P[0, DOWN, 4] == 1.0 and mdp.P[0, LEFT, 0] == 1.0
    assert set(np.unique(mdp.P)) == {0.0, 1.0}
    same = from_gymnasium(gymnasium.make("FrozenLake-v1", is_slippery=False), horizon=7)
    np.testing.assert_array_equal(same.P, mdp.P)
    assert same.horizon == 7


def test_from_gymnasium_cliffwalking_needs_horizon():
    with pytest.raises(ValueError, match="horizon"):
        from_gymnasium("CliffWalking-v1")  # declares no max_episode_steps
    mdp = from_gymnasium("CliffWalking-v1", horizon=50)
    assert mdp.horizon == 50
    assert mdp.grid_shape == (4, 12)
    assert mdp.start_state == 36  # bottom-left corner
    # CliffWalking's own action order: 0 up, 1 right, 2 down, 3 left.
    assert mdp.P[36, 0, 24] == 1.0  # up from the start
    assert mdp.P[36, 1, 36] == 1.0  # right into the cliff: back to the start
    assert mdp.P[24, 1, 25] == 1.0


def test_from_gymnasium_rejects_envs_without_a_table():
    with pytest.raises(ValueError, match="no transition table P"):
        from_gymnasium("CartPole-v1")


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, message",
    [
        (["FFS", "FF"], "ragged map: row 1 has 2 cells"),
        (["FXS"], "unknown map character 'X' at row 0, column 1"),
        (["FF-", "F-F"], "no start cell"),
        (["SF", "FS"], "2 start cells"),
        ([], "empty"),
    ],
)
def test_bad_maps(rows, message):
    with pytest.raises(ValueError, match=message):
        parse_map(rows)
    with pytest.raises(ValueError, match=message):
        from_map(rows)


def test_map_as_one_string():
    rows, start = parse_map(SPEC_MAZE)
    assert rows == MAZE_MAP and start == 56


@pytest.mark.parametrize("slip", [-0.1, 1.5, float("nan")])
def test_slip_outside_unit_interval(slip):
    with pytest.raises(ValueError, match="slip probability must lie in"):
        from_map(ROOM_MAP, slip=slip)


def test_slip_bounds_are_allowed():
    assert make("room-det", slip=1.0).P[12, RIGHT, 13] == 0.0  # never the intended move
    assert make("room-det", slip=0.0).P[12, RIGHT, 13] == 1.0


def _valid_arrays(n_states=3, n_actions=2):
    P = np.zeros((n_states, n_actions, n_states))
    P[:, :, 0] = 1.0
    mu = np.zeros(n_states)
    mu[0] = 1.0
    return P, mu


def _with_row(P, row):
    P = P.copy()
    P[1, 1] = row
    return P


def test_valid_arrays_are_accepted():
    P, mu = _valid_arrays()
    mdp = TabularMDP(P=P, mu=mu, horizon=np.int64(5))
    assert (mdp.n_states, mdp.n_actions, mdp.horizon, mdp.n_valid) == (3, 2, 5, 3)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda P, mu: (P * 0.9, mu), r"P\[0, 0, :\] sums to 0.9, not 1"),
        (lambda P, mu: (_with_row(P, [1.5, -0.5, 0.0]), mu), "negative"),  # sums to 1 all the same
        (lambda P, mu: (np.where(P > 0, np.nan, 0.0), mu), "non-finite"),
        (lambda P, mu: (P[:, :, :2], mu), r"P must have shape \[S, A, S\]"),
        (lambda P, mu: (P[:, 0], mu), r"P must have shape \[S, A, S\]"),
        (lambda P, mu: (P, mu[:2]), r"mu must have shape \[S\]"),
        (lambda P, mu: (P, mu * 0.5), "mu must be a probability vector"),
    ],
)
def test_bad_arrays(change, message):
    P, mu = change(*_valid_arrays())
    with pytest.raises(ValueError, match=message):
        TabularMDP(P=P, mu=mu, horizon=5)


def test_bad_valid_mask_and_grid_shape():
    P, mu = _valid_arrays()
    with pytest.raises(ValueError, match=r"valid must have shape \[S\]"):
        TabularMDP(P=P, mu=mu, horizon=5, valid=np.ones(4, bool))
    with pytest.raises(ValueError, match="mu puts mass on a state that is not valid"):
        TabularMDP(P=P, mu=mu, horizon=5, valid=np.array([False, True, True]))
    with pytest.raises(ValueError, match="grid_shape"):
        TabularMDP(P=P, mu=mu, horizon=5, grid_shape=(2, 2))


@pytest.mark.parametrize("horizon", [0, -3, 2.5, "8", True, None])
def test_horizon_must_be_a_positive_int(horizon):
    P, mu = _valid_arrays()
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        TabularMDP(P=P, mu=mu, horizon=horizon)
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        from_map(ROOM_MAP, horizon=horizon)


def test_unknown_environment_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown environment 'cave-det'") as info:
        make("cave-det")
    for name in ("room-det", "room-stoc", "maze-det", "maze-stoc"):
        assert name in str(info.value)


def test_unreachable_floor_cells_warn():
    # Cell 2 is floor walled off from the start at 0; so are 7 and 8 behind the row of walls.
    with pytest.warns(UserWarning, match=r"floor cells \[2, 7, 8\] cannot be reached"):
        from_map(["S-F", "---", "-FF"])


def test_grid_factory_truncates_at_horizon_and_paper_envs_take_overrides():
    import gymnasium

    env = gymnasium.make("pmaxent/Grid-v0", layout=["SFF"], horizon=3)
    env.reset(seed=0)
    ends = [env.step(2)[3] for _ in range(3)]
    assert ends == [False, False, True]
    slippery = gymnasium.make("pmaxent/Room-det-v0", slip=0.5).unwrapped
    assert slippery.mdp.P[27, 2, 28] == pytest.approx(0.5)


def test_gymnasium_make_imports_pmaxent_by_module_prefix():
    import subprocess
    import sys

    code = "import gymnasium; env = gymnasium.make('pmaxent:pmaxent/Maze-stoc-v0'); print(env.reset(seed=0)[0])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "56"
