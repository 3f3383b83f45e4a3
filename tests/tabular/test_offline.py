"""Offline goal-reaching RL (SPEC section 7): relabelling, hand-computed Q-learning, value
iteration on the empirical MDP, greedy evaluation, run directories and errors."""

from __future__ import annotations

import csv
from collections import deque

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import pmaxent.core.runs
from pmaxent.cli.data import offline_command
from pmaxent.core.runs import TrainedRun
from pmaxent.tabular import datasets as D
from pmaxent.tabular import from_map, make, make_dynamics
from pmaxent.tabular import offline as O
from pmaxent.tabular import run_datasets as R
from pmaxent.tabular.config import TabularTrainConfig
from pmaxent.tabular.policy import TabularSoftmax

LEFT, DOWN, RIGHT, UP = range(4)
GAMMA, ALPHA = 0.99, 0.1


@pytest.fixture(scope="module")
def corridor():
    """1 x 4 corridor: states 0 (start) .. 3, deterministic."""
    return from_map(["SFFF"], horizon=2, name="corridor")


def corridor_dataset(mdp, observations, actions, seed=0) -> D.ExplorationDataset:
    """One agent's episodes (observations [E, T+1], actions [E, T]) in the corridor."""
    observations, actions = np.asarray(observations), np.asarray(actions)
    truncations = np.zeros(actions.shape, bool)
    truncations[:, -1] = True
    info = D.DatasetInfo(
        env=mdp.name,
        method="parallel",
        agents=1,
        seed=seed,
        trajectories_per_agent=len(actions),
        horizon=mdp.horizon,
        n_states=mdp.n_states,
        n_actions=mdp.n_actions,
        dynamics_fingerprint=D.dynamics_fingerprint(mdp),
    )
    return D.ExplorationDataset(
        info, observations, actions, np.zeros(actions.shape, bool), truncations, np.zeros(len(actions), int)
    )


def td(transitions, order, goal, n_states=4):
    """sequential_td_updates of the listed (s, a, s') in the given order, from Q = 0."""
    s, a, s_next = (jnp.asarray([transitions[i][k] for i in order]) for k in range(3))
    return np.asarray(O.sequential_td_updates(jnp.zeros((n_states, 4)), s, a, s_next, jnp.int32(goal), ALPHA, GAMMA))


# ---------------------------------------------------------------------------------------------
# Goals


def test_goals_are_the_valid_cells_except_the_start(corridor):
    assert O.goal_cells(corridor).tolist() == [1, 2, 3]
    room = make("room-det")
    goals = O.goal_cells(room)
    assert len(goals) == 42 and 27 not in goals and 44 in goals and all(room.valid[goals])


def test_bad_goals_raise(corridor):
    room = make("room-det")
    with pytest.raises(ValueError, match="wall"):
        O.check_goals(room, [44, 4 * 11 + 5])  # (4, 5) is a wall
    with pytest.raises(ValueError, match="not a state"):
        O.check_goals(room, [55])
    with pytest.raises(ValueError, match="start"):
        O.check_goals(room, [27])
    dataset = corridor_dataset(corridor, [[0, 1, 2]], [[RIGHT, RIGHT]])
    walled = from_map(["SFF-"], horizon=2, name="corridor")
    with pytest.raises(ValueError, match="wall"):
        O.evaluate_datasets(walled, {"parallel": [dataset]}, goals=[3])


# ---------------------------------------------------------------------------------------------
# Q-learning by hand


def test_sequential_td_updates_by_hand():
    walk = [(0, RIGHT, 1), (1, RIGHT, 2), (2, RIGHT, 3)]
    q = td(walk, [2, 1, 2, 1, 0], goal=3)
    expected = np.zeros((4, 4))
    expected[2, RIGHT] = 0.1 + ALPHA * (1 - 0.1)  # two updates towards 1: 0.1, then 0.19
    first_q1 = ALPHA * GAMMA * 0.1  # bootstraps from Q[2, right] = 0.1
    expected[1, RIGHT] = first_q1 + ALPHA * (GAMMA * 0.19 - first_q1)
    expected[0, RIGHT] = ALPHA * GAMMA * expected[1, RIGHT]
    np.testing.assert_allclose(q, expected, rtol=1e-6)
    assert expected[2, RIGHT] == pytest.approx(0.19) and expected[0, RIGHT] == pytest.approx(0.00274428)


def test_reaching_the_goal_does_not_bootstrap():
    # Goal 2: Q[2, .] becomes positive through a transition leaving the goal, yet an entry
    # into the goal is worth exactly r = 1.
    transitions = [(3, LEFT, 2), (2, RIGHT, 3), (1, RIGHT, 2)]
    q = td(transitions, [0, 1, 2], goal=2)
    assert q[3, LEFT] == pytest.approx(0.1)
    assert q[2, RIGHT] == pytest.approx(ALPHA * GAMMA * 0.1)
    assert q[1, RIGHT] == pytest.approx(0.1)


def test_relabelling_decides_which_goals_are_reachable(corridor):
    # Data covers 0 -> 1 -> 2 only; the agent also bumped into the left end once.
    dataset = corridor_dataset(corridor, [[0, 1, 2], [0, 0, 1]], [[RIGHT, RIGHT], [LEFT, RIGHT]])
    for seed in (0, 1):
        result = O.evaluate_datasets(corridor, {"parallel": [dataset]}, "paper", seed=seed)
        assert result.goals.tolist() == [1, 2, 3]
        np.testing.assert_array_equal(result.success["parallel"], [[1.0, 1.0, 0.0]])
    q = np.asarray(
        O.q_learning(O.TransitionTable.from_datasets([dataset]), jnp.asarray([1, 2, 3]), jax.random.key(0), 4, 4)
    )
    assert q.shape == (1, 3, 4, 4)
    assert np.all(q[0, 2] == 0)  # goal 3 is never a next state: nothing to learn
    assert q[0, 1, 0, RIGHT] > q[0, 1, 0, LEFT] >= 0 and q[0, 1, 1, RIGHT] > 0


# ---------------------------------------------------------------------------------------------
# Value iteration on the empirical MDP


def test_value_iteration_by_hand():
    # Dataset 0 walks 0 -> 1 -> 2 -> 3. In dataset 1, (0, right) went to 1 twice and stayed at
    # 0 twice: P_hat = 1/2 each.
    table = O.TransitionTable.from_arrays([
        ([0, 1, 2], [RIGHT, RIGHT, RIGHT], [1, 2, 3]),
        ([0, 0, 0, 0], [RIGHT] * 4, [1, 0, 1, 0]),
    ])  # fmt: skip
    q = np.asarray(O.empirical_value_iteration(table, jnp.asarray([3, 1]), 4, 4))
    expected = np.zeros((4, 4))
    expected[:3, RIGHT] = [GAMMA**2, GAMMA, 1.0]
    np.testing.assert_allclose(q[0, 0], expected, rtol=1e-6)  # unseen pairs keep 0
    # Goal 1: x = 1/2 * 1 + 1/2 * gamma * x.
    assert q[1, 1, 0, RIGHT] == pytest.approx(0.5 / (1 - 0.5 * GAMMA), rel=1e-5)
    assert np.count_nonzero(q[1, 1]) == 1


def dataset_reachable_goals(dataset, start: int) -> set[int]:
    """States reachable from the start along the dataset's own transitions (BFS)."""
    s, _, s_next, _, _ = dataset.transitions()
    successors: dict[int, set[int]] = {}
    for a, b in zip(s.tolist(), s_next.tolist(), strict=True):
        successors.setdefault(a, set()).add(b)
    seen, frontier = {start}, deque([start])
    while frontier:
        for nxt in successors.get(frontier.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen - {start}


def test_converged_reaches_every_goal_the_data_connects_to_the_start():
    room = make("room-det")
    policy = TabularSoftmax(room.n_states, room.n_actions, room.horizon)
    # Four datasets of two agents: the shapes of `collected_run` below, so JAX compiles once.
    datasets = D.collect_datasets(
        room, policy, "random", np.zeros((4, 2, room.n_states, 4), np.float32), seeds=(0, 1, 2, 3)
    )
    result = O.evaluate_datasets(room, {"random": datasets}, "converged", seed=3)
    for dataset, success in zip(datasets, result.success["random"], strict=True):
        reachable = dataset_reachable_goals(dataset, 27)
        assert reachable, "a random team leaves the start"
        by_goal = dict(zip(result.goals.tolist(), success.tolist(), strict=True))
        assert all(by_goal[g] == 1.0 for g in reachable)
        assert set(np.unique(success)) <= {0.0, 1.0}  # deterministic map, deterministic policy
        assert 0 < success.mean() < 1
    paper = O.evaluate_datasets(room, {"random": datasets}, "paper", seed=3)
    assert paper.success["random"].shape == (4, 42)


# ---------------------------------------------------------------------------------------------
# Greedy evaluation in the true environment


def test_evaluation_uses_the_true_stochastic_environment():
    # Q = 0 everywhere: the greedy action is 0 (left) at the left end, a bump into the edge.
    zero_q = jnp.zeros((1, 1, 2, 4))
    goal = jnp.asarray([1])
    det = O.greedy_success(make_dynamics(from_map(["SF"], horizon=2)), zero_q, goal, jax.random.key(0))
    assert float(det[0, 0]) == 0.0
    # With slip 0.2 the agent slips right with probability 0.2 / 3 per step: it gets there.
    stoc = O.greedy_success(make_dynamics(from_map(["SF"], slip=0.2, horizon=2)), zero_q, goal, jax.random.key(0))
    assert float(stoc[0, 0]) == 1.0
    # Ties go to the lowest action: a tie between right (2) and up (3) moves right.
    tie = jnp.zeros((1, 1, 2, 4)).at[0, 0, 0, RIGHT].set(0.5).at[0, 0, 0, UP].set(0.5)
    assert (
        float(O.greedy_success(make_dynamics(from_map(["SF"], horizon=2)), tie, goal, jax.random.key(0))[0, 0]) == 1.0
    )


def test_a_cut_episode_fails():
    corridor = from_map(["SFFF"], horizon=2, name="corridor")
    q = jnp.zeros((1, 1, 4, 4)).at[0, 0, :3, RIGHT].set(1.0)
    reach = O.greedy_success(
        make_dynamics(corridor), q, jnp.asarray([3]), jax.random.key(0), O.OfflineConfig(max_episode_steps=3)
    )
    cut = O.greedy_success(
        make_dynamics(corridor), q, jnp.asarray([3]), jax.random.key(0), O.OfflineConfig(max_episode_steps=2)
    )
    assert float(reach[0, 0]) == 1.0 and float(cut[0, 0]) == 0.0


# ---------------------------------------------------------------------------------------------
# Errors


def test_bad_inputs_raise(corridor):
    dataset = corridor_dataset(corridor, [[0, 1, 2]], [[RIGHT, RIGHT]])
    with pytest.raises(ValueError, match="unknown offline variant"):
        O.evaluate_datasets(corridor, {"parallel": [dataset]}, "greedy")
    with pytest.raises(ValueError, match="no dataset"):
        O.evaluate_datasets(corridor, {"parallel": []})
    with pytest.raises(ValueError, match="empty"):
        O.TransitionTable.from_arrays([([0], [RIGHT], [1]), ([], [], [])])
    other = from_map(["SFFF"], horizon=2, name="other-corridor")
    with pytest.raises(ValueError, match="'corridor', not 'other-corridor'"):
        O.evaluate_datasets(other, {"parallel": [dataset]})


# ---------------------------------------------------------------------------------------------
# Run directories and the `offline` command


@pytest.fixture
def collected_run(tmp_path, monkeypatch):
    """A run directory (hand-made team tables) whose datasets are collected."""
    config = TabularTrainConfig(env="room-det", agents=2, seeds=(0, 4), methods=("parallel",), updates=1)
    components = config.make_components()
    mdp = components.world
    params = np.zeros((2, 2, mdp.n_states, 4), np.float32)
    params[:, 0, :, LEFT] = params[:, 1, :, RIGHT] = 2.0
    run = TrainedRun(config, components, {"parallel": params}, {}, tmp_path / "run")
    run.run_dir.mkdir()
    (run.run_dir / "config.json").write_text(config.to_json())
    monkeypatch.setattr(pmaxent.core.runs, "load_run", lambda path, config_class, components=None: run)
    R.collect_run(run.run_dir, show_progress=False)
    return run


def test_evaluate_run_writes_results_and_figures(collected_run):
    run_dir = collected_run.run_dir
    results = O.evaluate_run(run_dir, "both", seed=1, show_progress=False)
    assert list(results) == ["paper", "converged"]
    for result in results.values():
        assert set(result.success) == {"parallel", "random"} and result.success["parallel"].shape == (2, 42)
        assert result.seeds["parallel"] == (0, 4)
    with open(run_dir / "offline.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 2 * 2 * 42  # variants x families x seeds x goals
    first = rows[0]
    assert (first["variant"], first["method"], first["seed"]) == ("paper", "parallel", "0")
    assert (int(first["goal_row"]), int(first["goal_col"])) == divmod(int(first["goal"]), 11)
    mean_from_csv = np.mean(
        [float(r["success"]) for r in rows if r["variant"] == "converged" and r["method"] == "random"]
    )
    assert mean_from_csv == pytest.approx(results["converged"].mean_success("random"))
    for name in ("fig3_offline_success_paper", "fig9_offline_success_converged"):
        assert (run_dir / "figures" / f"{name}.png").stat().st_size > 0
    with pytest.raises(ValueError, match="unknown offline variant"):
        O.evaluate_run(run_dir, "fast", show_progress=False)


def test_offline_command(collected_run):
    app = typer.Typer()
    app.command()(offline_command)
    result = CliRunner().invoke(app, [str(collected_run.run_dir), "--variant", "converged", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "converged" in result.output and "random" in result.output
    missing = CliRunner().invoke(app, [str(collected_run.run_dir), "--trajectories", "3", "--quiet"])
    assert missing.exit_code == 2 and "pmaxent collect" in missing.output
