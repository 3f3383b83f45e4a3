import numpy as np
import pytest

from pmaxent import tabular
from pmaxent.continuous import worlds
from pmaxent.continuous.goals import goal_points
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
