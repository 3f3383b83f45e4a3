"""Exploration datasets: collection per family, metrics, Minari round trip, run directories, errors."""

from __future__ import annotations

import dataclasses
import json

import jax
import minari
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

import pmaxent.core.runs
from pmaxent.cli.data import collect_command
from pmaxent.core.runs import TrainedRun
from pmaxent.datasets import datasets_root
from pmaxent.tabular import datasets as D
from pmaxent.tabular import from_map, make
from pmaxent.tabular import run_datasets as R
from pmaxent.tabular.config import TabularTrainConfig
from pmaxent.tabular.policy import TabularSoftmax

START_ROOM = 27


def room_policy(mdp=None):
    mdp = mdp or make("room-det")
    return mdp, TabularSoftmax(mdp.n_states, mdp.n_actions, mdp.horizon)


def preferring(actions_per_agent, n_states: int, n_actions: int = 4, n_seeds: int = 1) -> np.ndarray:
    """Tables [n_seeds, m, S, A] where agent i picks actions_per_agent[i] with probability ~1."""
    params = np.zeros((n_seeds, len(actions_per_agent), n_states, n_actions), np.float32)
    for agent, action in enumerate(actions_per_agent):
        params[:, agent, :, action] = 30.0
    return params


def hand_dataset(mdp, observations, actions, agents, method="parallel", seed=0) -> D.ExplorationDataset:
    """A dataset of given episodes (observations [E, T+1], actions [E, T]) in ``mdp``."""
    observations, actions = np.asarray(observations), np.asarray(actions)
    truncations = np.zeros(actions.shape, bool)
    truncations[:, -1] = True
    info = D.DatasetInfo(
        env=mdp.name,
        method=method,
        agents=len(set(agents)),
        seed=seed,
        trajectories_per_agent=len(agents) // len(set(agents)),
        horizon=actions.shape[1],
        n_states=mdp.n_states,
        n_actions=mdp.n_actions,
        dynamics_fingerprint=D.dynamics_fingerprint(mdp),
    )
    return D.ExplorationDataset(
        info, observations, actions, np.zeros(actions.shape, bool), truncations, np.asarray(agents)
    )


# ---------------------------------------------------------------------------------------------
# Collection


def test_collection_shapes_boundaries_and_dynamics():
    mdp, policy = room_policy()
    params = np.stack([np.asarray(policy.init(jax.random.key(s), 3)) for s in (0, 5)])
    datasets = D.collect_datasets(mdp, policy, "parallel", params, seeds=(0, 5), trajectories=2, source="here")
    assert len(datasets) == 2
    for dataset, seed in zip(datasets, (0, 5), strict=True):
        assert dataset.observations.shape == (6, mdp.horizon + 1)
        assert dataset.actions.shape == (6, mdp.horizon)
        assert dataset.episode_agents.tolist() == [0, 1, 2, 0, 1, 2]
        assert not dataset.terminations.any()
        assert dataset.truncations[:, -1].all() and not dataset.truncations[:, :-1].any()
        assert np.all(dataset.observations[:, 0] == START_ROOM)
        s, a, s_next, _, _ = dataset.transitions()
        assert len(s) == 6 * mdp.horizon
        assert np.all(mdp.P[s, a, s_next] > 0)  # every step is a possible move
        assert dataset.info.seed == seed and dataset.info.source == "here" and dataset.info.trajectories_per_agent == 2
        assert dataset.info.dataset_id == f"pmaxent/room-det-parallel-m3-seed{seed}-n2-v0"
        assert dataset.states_by_agent().shape == (3, 2, mdp.horizon + 1)
    assert not np.array_equal(datasets[0].actions, datasets[1].actions)


def test_parallel_team_gives_each_agent_its_own_policy():
    mdp, policy = room_policy()
    datasets = D.collect_datasets(
        mdp, policy, "parallel", preferring([0, 1, 2, 3], mdp.n_states), seeds=(7,), trajectories=3
    )
    dataset = datasets[0]
    for episode, agent in enumerate(dataset.episode_agents):
        assert np.all(dataset.actions[episode] == agent)


def test_single_family_uses_the_shared_table():
    mdp, policy = room_policy()
    dataset = D.collect_datasets(mdp, policy, "single", preferring([2] * 4, mdp.n_states), seeds=(0,), trajectories=2)[
        0
    ]
    assert dataset.n_episodes == 8 and np.all(dataset.actions == 2)
    with pytest.raises(ValueError, match="identical copies"):
        D.collect_datasets(mdp, policy, "single", preferring([2, 2, 1], mdp.n_states), seeds=(0,))


def test_random_family_uses_the_uniform_policy():
    mdp, policy = room_policy()
    params = np.zeros((2, 6, mdp.n_states, mdp.n_actions), np.float32)
    first, second = D.collect_datasets(mdp, policy, "random", params, seeds=(0, 1), trajectories=50)
    frequencies = np.bincount(first.actions.reshape(-1), minlength=4) / first.actions.size
    # 2400 draws: the standard deviation of each frequency is 0.009; 0.04 is 4.5 of them.
    assert np.all(np.abs(frequencies - 0.25) < 0.04), frequencies
    assert not np.array_equal(first.actions, second.actions)
    again = D.collect_datasets(mdp, policy, "random", params, seeds=(0, 1), trajectories=50)[0]
    assert np.array_equal(again.actions, first.actions)  # same seeds, same data
    with pytest.raises(ValueError, match="uniform policy"):
        D.collect_datasets(mdp, policy, "random", params + 1.0, seeds=(0, 1))


def test_collection_rejects_bad_arguments():
    mdp, policy = room_policy()
    params = np.zeros((2, 3, mdp.n_states, mdp.n_actions), np.float32)
    with pytest.raises(ValueError, match="unknown dataset method"):
        D.collect_datasets(mdp, policy, "greedy", params, seeds=(0, 1))
    with pytest.raises(ValueError, match="2 seeds"):
        D.collect_datasets(mdp, policy, "random", params, seeds=(0, 1, 2))
    with pytest.raises(ValueError, match="at least 1"):
        D.collect_datasets(mdp, policy, "random", params, seeds=(0, 1), trajectories=0)
    with pytest.raises(ValueError, match="needs"):
        D.collect_datasets(mdp, policy, "random", params[:, :, :10], seeds=(0, 1))


# ---------------------------------------------------------------------------------------------
# Metrics


def test_metrics_by_hand_on_a_corridor():
    corridor = from_map(["SFFF"], horizon=2, name="corridor")
    dataset = hand_dataset(corridor, [[0, 1, 2], [0, 0, 0]], [[2, 2], [0, 0]], agents=[0, 1])
    metrics = R.dataset_metrics([dataset], corridor)
    pooled = np.array([4, 1, 1, 0]) / 6
    entropy = -np.sum(pooled[:3] * np.log(pooled[:3]))
    assert metrics.entropy[0] == pytest.approx(entropy, rel=1e-5)
    assert metrics.normalized_entropy[0] == pytest.approx(entropy / np.log(4), rel=1e-5)
    assert metrics.support[0] == 3
    np.testing.assert_allclose(metrics.occupancy[0], pooled)
    np.testing.assert_allclose(metrics.agent_occupancy[0], [[1 / 3, 1 / 3, 1 / 3, 0], [1, 0, 0, 0]])


def test_metrics_refuse_another_environment():
    mdp, policy = room_policy()
    dataset = D.collect_datasets(mdp, policy, "random", np.zeros((1, 2, mdp.n_states, 4), np.float32), seeds=(0,))[0]
    with pytest.raises(ValueError, match="'room-det', not 'maze-det'"):
        R.dataset_metrics([dataset], make("maze-det"))


# ---------------------------------------------------------------------------------------------
# Minari storage


@pytest.fixture
def room_dataset():
    mdp, policy = room_policy()
    params = preferring([0, 2], mdp.n_states) * 0.05  # stochastic, but not uniform
    return mdp, D.collect_datasets(mdp, policy, "parallel", params, seeds=(3,), trajectories=2, source="/runs/x")[0]


def test_minari_round_trip(tmp_path, monkeypatch, room_dataset):
    mdp, dataset = room_dataset
    path = D.save_dataset(dataset, tmp_path)
    assert path == tmp_path / "pmaxent" / "room-det-parallel-m2-seed3-n2-v0"

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    assert dataset.info.dataset_id in minari.list_local_datasets()
    stored = minari.load_dataset(dataset.info.dataset_id)
    assert stored.total_episodes == dataset.n_episodes and stored.total_steps == dataset.n_transitions
    for index, episode in enumerate(stored.iterate_episodes()):
        np.testing.assert_array_equal(episode.observations, dataset.observations[index])
        np.testing.assert_array_equal(episode.actions, dataset.actions[index])
        np.testing.assert_array_equal(episode.terminations, dataset.terminations[index])
        np.testing.assert_array_equal(episode.truncations, dataset.truncations[index])
        np.testing.assert_array_equal(episode.rewards, np.zeros(mdp.horizon))
    assert stored.recover_environment().spec.id == "pmaxent/Room-det-v0"

    loaded = D.load_dataset(path, mdp)
    assert loaded.info == dataset.info
    for field in ("observations", "actions", "terminations", "truncations", "episode_agents"):
        np.testing.assert_array_equal(getattr(loaded, field), getattr(dataset, field))


def test_custom_environment_is_stored_without_a_gymnasium_spec(tmp_path):
    corridor = from_map(["SFFF"], horizon=2, name="My Corridor!")
    dataset = hand_dataset(corridor, [[0, 1, 2]], [[2, 2]], agents=[0])
    path = D.save_dataset(dataset, tmp_path)
    assert path.name == "my-corridor-parallel-m1-seed0-v0"
    stored = minari.MinariDataset(path / "data")
    assert stored.spec.env_spec is None and stored.observation_space.n == 4
    np.testing.assert_array_equal(D.load_dataset(path, corridor).observations, dataset.observations)


def test_no_silent_overwrite(tmp_path, room_dataset):
    mdp, dataset = room_dataset
    path = D.save_dataset(dataset, tmp_path)
    changed = D.ExplorationDataset(
        dataset.info,
        np.full_like(dataset.observations, START_ROOM),
        np.zeros_like(dataset.actions),
        dataset.terminations,
        dataset.truncations,
        dataset.episode_agents,
    )
    with pytest.raises(FileExistsError, match="overwrite=True"):
        D.save_dataset(changed, tmp_path)
    np.testing.assert_array_equal(D.load_dataset(path).observations, dataset.observations)
    D.save_dataset(changed, tmp_path, overwrite=True)
    np.testing.assert_array_equal(D.load_dataset(path).observations, changed.observations)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staging directory left

    other_seed = D.ExplorationDataset(
        dataclasses.replace(dataset.info, seed=9),
        dataset.observations,
        dataset.actions,
        dataset.terminations,
        dataset.truncations,
        dataset.episode_agents,
    )
    foreign = D.dataset_path(tmp_path, other_seed.info)
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a Minari dataset"):
        D.save_dataset(other_seed, tmp_path, overwrite=True)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_loader_errors(tmp_path, room_dataset):
    mdp, dataset = room_dataset
    with pytest.raises(FileNotFoundError, match="no dataset"):
        D.load_dataset(tmp_path / "nothing")
    path = D.save_dataset(dataset, tmp_path)

    with pytest.raises(ValueError, match="'room-det', not 'maze-det'"):
        D.load_dataset(path, make("maze-det"))
    with pytest.raises(ValueError, match="other dynamics"):
        D.load_dataset(path, make("room-det", slip=0.1))
    with pytest.raises(ValueError, match="horizon"):
        D.load_dataset(path, make("room-det", horizon=5))

    metadata_file = path / "data" / "metadata.json"
    original = metadata_file.read_text()
    metadata_file.write_text(original[:-20])
    with pytest.raises(ValueError, match="not valid JSON"):
        D.load_dataset(path)
    metadata = json.loads(original)
    metadata_file.write_text(json.dumps({k: v for k, v in metadata.items() if k != "pmaxent"}))
    with pytest.raises(ValueError, match="not a pmaxent exploration dataset"):
        D.load_dataset(path)
    metadata_file.write_text(json.dumps({**metadata, "pmaxent": {**metadata["pmaxent"], "agents": None}}))
    with pytest.raises(ValueError, match="corrupt dataset"):
        D.load_dataset(path)
    metadata_file.write_text(json.dumps({**metadata, "total_episodes": 0}))
    with pytest.raises(ValueError, match="empty"):
        D.load_dataset(path)
    metadata_file.write_text(original)

    main_file = path / "data" / "main_data.hdf5"
    content = main_file.read_bytes()
    main_file.write_bytes(content[: len(content) // 3])
    with pytest.raises(ValueError, match="corrupt dataset"):
        D.load_dataset(path)
    main_file.unlink()
    with pytest.raises(FileNotFoundError, match="main_data.hdf5"):
        D.load_dataset(path)


def test_empty_or_inconsistent_dataset_is_refused():
    corridor = from_map(["SFFF"], horizon=2, name="corridor")
    with pytest.raises(ValueError, match="empty"):
        hand_dataset(corridor, np.zeros((0, 3), int), np.zeros((0, 2), int), agents=[0])
    with pytest.raises(ValueError, match="observations outside"):
        hand_dataset(corridor, [[0, 1, 7]], [[2, 2]], agents=[0])
    with pytest.raises(ValueError, match="2 observations; horizon 2 needs 3"):
        hand_dataset(corridor, [[0, 1]], [[2, 2]], agents=[0])


# ---------------------------------------------------------------------------------------------
# Run directories and the `collect` command


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    """A run directory whose pmaxent.core.runs.load_run returns hand-made team tables."""
    config = TabularTrainConfig(env="room-det", agents=2, seeds=(0, 4), methods=("parallel", "single"), updates=1)
    components = config.make_components()
    mdp = components.world
    params = {
        "parallel": preferring([0, 2], mdp.n_states, n_seeds=2),
        "single": preferring([3, 3], mdp.n_states, n_seeds=2),
    }
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(config.to_json())
    run = TrainedRun(config, components, params, {}, run_dir)
    monkeypatch.setattr(pmaxent.core.runs, "load_run", lambda path, config_class, components=None: run)
    return run


def test_collect_run_writes_all_families_and_never_overwrites(fake_run):
    run_dir = fake_run.run_dir
    mdp, collected = R.collect_run(run_dir, show_progress=False)
    assert list(collected) == ["parallel", "single", "random"]
    assert all(np.all(d.actions == 3) for d in collected["single"])
    rows = (run_dir / "datasets.csv").read_text().strip().splitlines()
    assert rows[0].split(",") == list(R.DATASET_CSV_FIELDS) and len(rows) == 1 + 3 * 2
    assert (run_dir / "figures" / "fig2_dataset_entropy.png").stat().st_size > 0
    assert (run_dir / "figures" / "fig8_dataset_occupancy.png").stat().st_size > 0

    stored = R.load_run_datasets(run_dir).datasets
    for family, group in collected.items():
        assert [d.info.seed for d in stored[family]] == [0, 4]
        for written, read in zip(group, stored[family], strict=True):
            np.testing.assert_array_equal(read.observations, written.observations)
            assert read.info.source == str(run_dir.resolve())

    before = (
        datasets_root(run_dir) / "pmaxent" / "room-det-random-m2-seed0-v0" / "data" / "main_data.hdf5"
    ).read_bytes()
    with pytest.raises(FileExistsError, match="6 dataset"):
        R.collect_run(run_dir, show_progress=False)
    after = (
        datasets_root(run_dir) / "pmaxent" / "room-det-random-m2-seed0-v0" / "data" / "main_data.hdf5"
    ).read_bytes()
    assert before == after
    R.collect_run(run_dir, ["random"], overwrite=True, collection_seed=1, show_progress=False)
    assert not np.array_equal(
        R.load_run_datasets(run_dir, ["random"]).datasets["random"][0].actions, collected["random"][0].actions
    )

    with pytest.raises(ValueError, match="unknown dataset method"):
        R.collect_run(run_dir, ["expert"], show_progress=False)
    with pytest.raises(FileNotFoundError, match="pmaxent collect"):
        R.load_run_datasets(run_dir, trajectories=2)


def test_collect_run_refuses_an_untrained_method(fake_run):
    fake_run.config = TabularTrainConfig(env="room-det", agents=2, seeds=(0, 4), methods=("parallel",), updates=1)
    with pytest.raises(ValueError, match="did not train"):
        R.collect_run(fake_run.run_dir, ["single"], show_progress=False)


def test_collect_command(fake_run):
    app = typer.Typer()
    app.command()(collect_command)
    result = CliRunner().invoke(app, [str(fake_run.run_dir), "--method", "parallel", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "parallel" in result.output and "normalized entropy" in result.output
    again = CliRunner().invoke(app, [str(fake_run.run_dir), "--method", "parallel", "--quiet"])
    assert again.exit_code == 2 and "already exist" in again.output
