import numpy as np
import pytest

from pmaxent import tabular
from pmaxent.continuous import worlds
from pmaxent.continuous.goals import goal_points, reached, relabel
from pmaxent.tabular.offline import goal_cells


@pytest.mark.parametrize("name", ["room-det", "maze-det"])
def test_map_goals_are_the_tabular_goal_cells_centres(name):
    mdp = tabular.make(name)
    world = worlds.make(f"{name}-continuous")
    n_rows = mdp.grid_shape[0]
    expected = {(col + 0.5, n_rows - 1 - row + 0.5) for row, col in (mdp.coords(g) for g in goal_cells(mdp))}
    goals = goal_points(world)
    assert {tuple(map(float, g)) for g in goals} == expected
    assert len(goals) == len(expected)


def test_gridworld_goals_cover_the_four_rooms_away_from_the_start():
    world = worlds.make("gridworld-continuous")
    goals = goal_points(world)
    assert np.asarray(worlds.is_free(world, goals)).all()
    assert {(bool(x > 0), bool(y > 0)) for x, y in goals} == {
        (False, False),
        (False, True),
        (True, False),
        (True, True),
    }
    # the 4 x 4 grid of spacing 3 minus (-4.5, -4.5), which lies in the start square [-6, -4]^2
    assert len(goals) == 15 and not any(np.allclose(g, (-4.5, -4.5)) for g in goals)


@pytest.mark.parametrize("bad", [{"spacing": 0.0}, {"radius": -1.0}, {"spacing": 100.0}])
def test_bad_goal_settings_are_named(bad):
    with pytest.raises(ValueError, match="goal"):
        goal_points(worlds.make("gridworld-continuous"), **bad)


def _direct_relabel(observations, actions, goals, radius):
    """Row by row, as the docstring of relabel states it."""
    rows = []
    for g in goals:
        for o, a in zip(observations, actions, strict=True):
            horizon = len(a)
            for t in range(horizon):
                hit = np.hypot(*(o[t + 1].astype(np.float64) - g)) <= radius
                rows.append((*o[t], *g, *a[t], float(hit), hit, False))
            if not rows[-1][-2]:
                rows.append((*o[horizon], *g, 0.0, 0.0, 0.0, False, True))
    return (
        np.array([r[:6] for r in rows], np.float64),
        np.array([r[6] for r in rows]),
        np.array([r[7] for r in rows]),
        np.array([r[8] for r in rows]),
    )


def test_relabel_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    observations = np.cumsum(rng.uniform(-0.4, 0.4, (5, 31, 2)), axis=1).astype(np.float32)
    actions = rng.uniform(-0.2, 0.2, (5, 30, 2)).astype(np.float32)
    goals = np.array([[0.0, 0.0], [1.0, -0.5], [-2.0, 1.0]], np.float32)
    # the first trajectory ends inside the first goal, so its closing row must be dropped
    observations[0, -1] = goals[0]
    data = relabel(observations, actions, goals, radius=0.6)
    rows, rewards, terminals, timeouts = _direct_relabel(observations, actions, goals, 0.6)
    np.testing.assert_allclose(np.concatenate([data.observations, data.actions], axis=1), rows, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(data.rewards, rewards)
    np.testing.assert_array_equal(data.terminals, terminals)
    np.testing.assert_array_equal(data.timeouts, timeouts)
    assert 0 < terminals.sum() < len(terminals) / 2


def test_reached_is_the_closed_disc():
    goals = np.array([[0.0, 0.0]])
    assert reached(np.array([[0.5, 0.0], [0.3, 0.4], [0.5, 0.01]]), goals, 0.5).tolist() == [[True, True, False]]


def test_relabel_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\[E, T \+ 1, 2\]"):
        relabel(np.zeros((2, 5, 2)), np.zeros((2, 5, 2)), np.zeros((1, 2)))
