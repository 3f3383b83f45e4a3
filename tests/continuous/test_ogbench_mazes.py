"""OGBench's point mazes: the JAX model against OGBench's MuJoCo environment, collection there, and
the judge against OGBench's own oracle (the ogbench extra)."""

import numpy as np
import pytest

pytest.importorskip("ogbench")

from pmaxent.continuous import ogbench_mazes, worlds

MEDIUM = "ogbench-pointmaze-medium"


def test_ogbench_moves_the_point_by_the_models_step_in_open_space():
    env = ogbench_mazes.ogbench_env(MEDIUM)
    env.reset(seed=0, options={"task_id": 1})
    for action in ([1.0, 0.0], [-0.5, 0.25], [0.3, -1.0]):
        start = env.get_xy().copy()
        after = env.step(np.array(action))[0]
        np.testing.assert_allclose(after - start, ogbench_mazes.ACTION_SCALE * np.array(action), atol=1e-6)


def test_ogbench_starts_task_one_inside_the_models_start_box_and_the_model_is_close_to_its_transitions():
    world = ogbench_mazes.maze_world(MEDIUM)
    env = ogbench_mazes.ogbench_env(MEDIUM)
    ((x0, x1, y0, y1),) = world.starts
    np.random.seed(0)
    starts = np.array([env.reset(seed=i, options={"task_id": 1})[0] for i in range(50)])
    assert np.all((starts[:, 0] >= x0) & (starts[:, 0] <= x1) & (starts[:, 1] >= y0) & (starts[:, 1] <= y1))
    assert np.asarray(worlds.is_free(world, starts.astype(np.float32))).all()
    # the two part only where a move meets a wall (rejected in the model, slid along in MuJoCo):
    # measured on 2,000 uniform free states, 3% of moves part by more than 0.01, by 0.005 on average
    gap = ogbench_mazes.transition_gap(MEDIUM, 500, 0)
    assert gap["above_0.01"] < 0.1 and gap["mean"] < 0.02 and gap["max"] <= 2 * ogbench_mazes.ACTION_SCALE, gap


def test_collected_episodes_start_at_task_one_and_carry_ogbenchs_actions():
    world = ogbench_mazes.maze_world(MEDIUM)
    right = lambda observations, t: np.tile([0.5, 0.0], (len(observations), 1))  # noqa: E731
    observations, actions = ogbench_mazes.collect(MEDIUM, right, 3, seed=0, steps=40)
    assert observations.shape == (3, 41, 2) and actions.shape == (3, 40, 2)
    np.testing.assert_array_equal(actions, np.tile([1.0, 0.0], (3, 40, 1)))  # clipped to 0.2, then scaled
    ((x0, x1, _, _),) = world.starts
    assert np.all((observations[:, 0, 0] >= x0) & (observations[:, 0, 0] <= x1))
    # 40 moves of 0.2 from x <= 1; the start room ends at x = 5.3 (its wall grown by the point's radius),
    # and MuJoCo's soft contact lets the point press a few hundredths past it
    np.testing.assert_allclose(observations[:, -1, 0], 5.3, atol=0.06)


def test_the_judge_scores_ogbenchs_oracle_on_every_task_and_a_still_policy_on_none():
    oracle_env = ogbench_mazes.ogbench_env(MEDIUM)

    def oracle(observations, goals, t):
        actions = []
        for xy, goal in zip(observations, goals, strict=True):
            subgoal, _ = oracle_env.get_oracle_subgoal(xy, goal)
            target = goal if oracle_env.xy_to_ij(subgoal) == oracle_env.xy_to_ij(xy) else subgoal
            step = (target - xy) / ogbench_mazes.ACTION_SCALE
            actions.append(step / max(1.0, np.abs(step).max()))
        return np.array(actions)

    still = lambda observations, goals, t: np.zeros_like(observations)  # noqa: E731
    np.testing.assert_array_equal(ogbench_mazes.judge(MEDIUM, oracle, 1, 2, seed=0), 1.0)
    np.testing.assert_array_equal(ogbench_mazes.judge(MEDIUM, still, 1, 1, seed=0), 0.0)


def test_an_unknown_maze_is_named():
    with pytest.raises(ValueError, match="unknown OGBench maze 'pointmaze-huge'"):
        ogbench_mazes.maze_world("pointmaze-huge")


def test_a_team_trains_in_the_model_by_its_name():
    from pmaxent.continuous.config import ContinuousTrainConfig
    from pmaxent.core.runs import run_training

    config = ContinuousTrainConfig(env=MEDIUM, agents=2, batch_size=2, updates=2, horizon=30, seeds=(0,), hidden=(8,))
    run = run_training(config, progress=False)
    assert run.world.name == MEDIUM and run.world.max_step == ogbench_mazes.ACTION_SCALE
    assert np.isfinite(run.metrics["normalized_entropy"]).all()
