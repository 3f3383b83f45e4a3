"""Offline goal reaching in the continuous worlds: the host-stepped judge against closed forms, a
short run of the default JAX learner that reaches a near goal, d3rlpy as its cross-check (the
offline extra), settings and the CLI."""

import jax
import numpy as np
import pytest

from pmaxent.continuous import worlds
from pmaxent.continuous.datasets import ContinuousDataset
from pmaxent.continuous.offline import d3rlpy_available, evaluate_continuous_datasets
from pmaxent.continuous.offline_config import ContinuousOfflineConfig
from pmaxent.continuous.offline_d3rlpy import goal_success, train_learner

CORRIDOR = worlds.ContinuousWorld(
    name="corridor",
    walls=np.zeros((0, 4)),
    bounds=(0.0, 8.0, 0.0, 1.0),
    starts=np.array([[0.0, 4.0, 0.49, 0.51]]),
    max_step=0.25,
    horizon=10,
)


def test_success_of_a_hand_made_policy_matches_its_closed_form():
    """Always moving right at full speed from x0 ~ U(0, 4) for 10 steps: goal (6, 0.5) is reached
    iff x0 + 2.5 >= 6 - 0.5 (probability 1/4), goal (1, 0.5) iff x0 <= 1.5 (probability 3/8).
    Standing still, only a start within the disc of (1, 0.5) succeeds (probability 1/4)."""
    config = ContinuousOfflineConfig(eval_episodes=2000, max_episode_steps=10, temperature=0.0)
    goals = np.array([[6.0, 0.5], [1.0, 0.5]])
    right = lambda observations: np.tile([1.0, 0.0], (len(observations), 1))  # noqa: E731
    success = goal_success(CORRIDOR, right, goals, jax.random.key(0), config)
    sd = np.sqrt(0.25 * 0.75 / 2000)
    assert abs(success[0] - 0.25) < 4 * sd and abs(success[1] - 0.375) < 4 * sd
    still = lambda observations: np.zeros((len(observations), 2))  # noqa: E731
    success = goal_success(CORRIDOR, still, goals, jax.random.key(0), config)
    assert success[0] == 0.0 and abs(success[1] - 0.25) < 4 * sd


OPEN_ROOM = worlds.ContinuousWorld(
    name="open-room",
    walls=np.zeros((0, 4)),
    bounds=(0.0, 4.0, 0.0, 2.0),
    starts=np.array([[0.2, 0.6, 0.8, 1.2]]),
    max_step=0.25,
    horizon=40,
)


def _random_walks(world, episodes, seed):
    """Trajectories of uniform random actions: observations [E, T+1, 2], actions [E, T, 2]."""
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-world.max_step, world.max_step, (episodes, world.horizon, 2)).astype(np.float32)
    positions = [
        np.asarray(jax.vmap(lambda u: worlds.reset(world, u))(rng.uniform(size=(episodes, world.reset_noise))))
    ]
    step = jax.jit(jax.vmap(lambda p, a: worlds.step(world, p, a, np.zeros(0, np.float32))))
    for t in range(world.horizon):
        positions.append(np.asarray(step(positions[-1], actions[:, t])))
    return np.stack(positions, axis=1), actions


def _dataset(world, method, seed, episodes=60):
    observations, actions = _random_walks(world, episodes, seed)
    return ContinuousDataset(
        f"{method}-{seed}",
        method,
        seed,
        observations,
        actions,
        np.full(episodes, world.horizon),
        np.nan,
        np.nan,
        np.nan,
    )


def test_a_short_offline_run_reaches_the_near_goal():
    """Sixty random walks of 40 steps from x ~ U(0.2, 0.6) cover the near goal (1.6, 1) densely."""
    config = ContinuousOfflineConfig(steps=3000, eval_episodes=20, max_episode_steps=60)
    goals = np.array([[1.6, 1.0], [3.6, 1.0]])
    result = evaluate_continuous_datasets(
        OPEN_ROOM, {"random": [_dataset(OPEN_ROOM, "random", 0)]}, config, goals=goals
    )
    near, _ = result.success["random"][0]
    assert near >= 0.8, result.success


needs_d3rlpy = pytest.mark.skipif(not d3rlpy_available(), reason="d3rlpy (the offline extra) is not installed")


@needs_d3rlpy
def test_d3rlpy_worker_processes_give_the_same_numbers_as_one_process():
    config = ContinuousOfflineConfig(
        algorithm="d3rlpy-iql", steps=20, offline_hidden=(16,), eval_episodes=3, max_episode_steps=15, workers=1
    )
    datasets = {"parallel": [_dataset(OPEN_ROOM, "parallel", 0, 8)], "random": [_dataset(OPEN_ROOM, "random", 1, 8)]}
    goals = np.array([[1.0, 1.0], [2.0, 1.0]])
    one = evaluate_continuous_datasets(OPEN_ROOM, datasets, config, goals=goals, seed=3)
    two = evaluate_continuous_datasets(
        OPEN_ROOM, datasets, ContinuousOfflineConfig(**{**config.__dict__, "workers": 2}), goals=goals, seed=3
    )
    for family in datasets:
        np.testing.assert_array_equal(one.success[family], two.success[family])
    assert one.seeds == {"parallel": (0,), "random": (1,)}


@needs_d3rlpy
def test_d3rlpy_iql_and_pmaxent_gciql_learn_the_same_values_and_succeed_alike():
    """IQL with AWR extraction, the same networks, settings and hindsight goals, on one small
    dataset, two seeds each: the two implementations' Q values differ from each other no more
    than each differs from itself across seeds, both rank state-goal pairs like the closed form
    -(1 - 0.99^n) / 0.01 (n: the fewest steps between them), and their success rates agree."""
    from pmaxent.continuous.goal_reaching import success_rates
    from pmaxent.gcrl import gciql
    from pmaxent.gcrl.data import from_trajectories, stack
    from pmaxent.gcrl.train import train_agents

    dataset = _dataset(OPEN_ROOM, "random", 0, 60)
    data = from_trajectories(dataset.observations, dataset.actions, OPEN_ROOM.max_step)
    config = ContinuousOfflineConfig(
        algorithm="d3rlpy-iql", steps=3000, offline_hidden=(32, 32), eval_episodes=50, max_episode_steps=60
    )
    goals = np.array([[1.6, 1.0], [2.4, 1.0], [3.2, 1.0], [3.6, 1.6], [2.0, 0.2]], np.float32)
    states = dataset.observations.reshape(-1, 2)
    rng = np.random.default_rng(0)
    s, g = states[rng.choice(len(states), 300)], states[rng.choice(len(states), 300)]
    toward = np.clip((g - s) / OPEN_ROOM.max_step, -1.0, 1.0).astype(np.float32)
    steps_apart = np.ceil(np.abs(g - s).max(axis=1) / OPEN_ROOM.max_step)
    closed_form = -(1.0 - 0.99**steps_apart) / 0.01

    params, _ = train_agents(config.learner(), stack([data, data]), [0, 1])
    critics = [jax.tree.map(lambda x, i=i: x[i], params["critic"]) for i in (0, 1)]
    ours = [np.asarray(gciql.critic_values(critic, s, g, toward)).mean(1) for critic in critics]
    ours_success = success_rates(OPEN_ROOM, params, goals, jax.random.key(0), 50, 60, 0.5, 1.0)
    learners = [train_learner(data, config, seed) for seed in (0, 1)]
    theirs = [learner.predict_value(np.concatenate([s, g], axis=1), toward) for learner in learners]
    theirs_success = np.stack(
        [
            goal_success(OPEN_ROOM, learner.predict, goals, jax.random.key(i), config)
            for i, learner in enumerate(learners)
        ]
    )

    within = max(np.abs(ours[0] - ours[1]).mean(), np.abs(theirs[0] - theirs[1]).mean())
    across = np.mean([np.abs(ours[i] - theirs[i]).mean() for i in (0, 1)])
    assert across <= 1.5 * within, (across, within)
    for values in (*ours, *theirs):
        assert np.corrcoef(values, closed_form)[0, 1] > 0.85
    # 100 episodes per goal and implementation: a binomial standard error of at most 0.05
    np.testing.assert_allclose(ours_success.mean(0), theirs_success.mean(0), atol=0.2)


@pytest.mark.parametrize(
    "bad",
    [
        {"algorithm": "cql"},
        {"steps": 0},
        {"workers": -1},
        {"goal_radius": 0.0},
        {"offline_hidden": ()},
        {"temperature": -1.0},
    ],
)
def test_bad_settings_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad)).split("_")[-1]):
        ContinuousOfflineConfig(**bad)


def test_the_cli_runs_offline_goal_reaching_on_a_continuous_run(tmp_path):
    import csv

    from typer.testing import CliRunner

    from pmaxent.cli import app

    runner = CliRunner()
    out = tmp_path / "run"
    tiny = [
        "--env",
        "room-det-continuous",
        "--agents",
        "2",
        "--batch",
        "2",
        "--updates",
        "2",
        "--seeds",
        "0,1",
        "--chunk",
        "2",
        "--hidden",
        "8",
        "--quiet",
    ]
    assert runner.invoke(app, ["train", *tiny, "--out", str(out)]).exit_code == 0
    missing = runner.invoke(app, ["offline", str(out), "--quick", "--quiet"])
    assert missing.exit_code == 2 and "pmaxent collect" in missing.output
    assert runner.invoke(app, ["collect", str(out), "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["offline", str(out), "--quick", "--steps", "10", "--eval-episodes", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(open(out / "offline.csv")))
    goals = {(r["goal_x"], r["goal_y"]) for r in rows}
    assert len(rows) == 3 * 2 * len(goals) and {r["method"] for r in rows} == {"parallel", "single", "random"}
    assert all(float(r["success"]) in (0.0, 0.5, 1.0) for r in rows)
    for figure in ("fig3_offline_success.png", "fig9_offline_heatmaps.png"):
        assert (out / "figures" / figure).exists()
    bad = runner.invoke(app, ["offline", str(out), "--algorithm", "cql", "--quiet"])
    assert bad.exit_code == 2 and "unknown offline algorithm 'cql'" in bad.output


def test_continuous_settings_are_refused_for_a_tabular_run(tmp_path):
    from typer.testing import CliRunner

    from pmaxent.cli import app

    out = tmp_path / "tabular"
    runner = CliRunner()
    assert (
        runner.invoke(
            app,
            [
                "train",
                "--env",
                "room-det",
                "--agents",
                "2",
                "--updates",
                "2",
                "--seeds",
                "0",
                "--quiet",
                "--out",
                str(out),
            ],
        ).exit_code
        == 0
    )
    result = runner.invoke(app, ["offline", str(out), "--steps", "5", "--quiet"])
    assert result.exit_code == 2 and "--steps does not apply to" in result.output and "a tabular run" in result.output
