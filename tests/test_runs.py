"""Run directories: learning happens, runs are reproducible and resumable, a diverging run keeps
its last good checkpoint, corrupt files are named."""

import json
from pathlib import Path

import jax
import numpy as np
import pytest

from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.core import runs as runs_module
from pmaxent.core.pytrees import partial_path, save_npz
from pmaxent.core.runs import TrainingDiverged, run_training, team_params
from pmaxent.core.tables import read_metrics_csv
from pmaxent.families import load_run, saved_config
from pmaxent.tabular.config import TabularTrainConfig

SMALL = dict(env="room-det", agents=2, batch_size=20, updates=200, seeds=(0, 1), chunk=100)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    return run_training(TabularTrainConfig(**SMALL), out, progress=False)


def test_training_raises_entropy_well_above_initial_policy(finished_run):
    entropy = finished_run.metrics["normalized_entropy"]
    parallel = finished_run.config.methods.index("parallel")
    random = finished_run.config.methods.index("random")
    start = entropy[parallel, :, :20].mean(axis=-1)
    end = entropy[parallel, :, -40:].mean(axis=-1)
    # the batch-mean entropy has std ~0.01 over 40 updates; a 0.1 gain cannot come from noise
    assert np.all(end > start + 0.1), (start, end)
    assert np.all(end > entropy[random, :, -40:].mean(axis=-1) + 0.1)


def test_run_directory_contents(finished_run):
    run_dir = finished_run.run_dir
    assert json.loads((run_dir / "config.json").read_text())["agents"] == 2
    header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["method", "seed", "update"] and {"normalized_entropy", "support"} <= set(header)
    assert (run_dir / "learning_curve.png").stat().st_size > 5000
    assert not (run_dir / "checkpoint.npz").exists()
    loaded = load_run(run_dir)
    for method in ("parallel", "single"):
        np.testing.assert_array_equal(loaded.params[method], finished_run.params[method])
    csv_metrics = read_metrics_csv(run_dir / "metrics.csv")
    np.testing.assert_allclose(csv_metrics["parallel"]["support"], finished_run.metrics["support"][0], rtol=1e-5)


def test_single_agent_tables_stay_tied_and_random_stays_uniform(finished_run):
    single = team_params(finished_run, "single")
    np.testing.assert_array_equal(single[:, 0], single[:, 1])
    assert np.all(team_params(finished_run, "random") == 0)
    parallel = team_params(finished_run, "parallel")
    assert not np.allclose(parallel[:, 0], parallel[:, 1])


def test_same_seed_same_numbers(finished_run, tmp_path):
    again = run_training(TabularTrainConfig(**SMALL), tmp_path / "again", progress=False, plot=False)
    assert list(again.metrics) == ["entropy", "normalized_entropy", "support", "agent_entropy", "entropy_gap"]
    for name in again.metrics:
        np.testing.assert_array_equal(again.metrics[name], finished_run.metrics[name])


def test_resume_after_interruption_gives_identical_result(finished_run, tmp_path, interruption):
    out = tmp_path / "interrupted"
    interruption.start()
    with pytest.raises(KeyboardInterrupt):
        run_training(TabularTrainConfig(**SMALL), out, progress=False, plot=False)
    assert (out / "checkpoint.npz").exists() and not (out / "params.npz").exists()
    interruption.stop()
    with pytest.raises(FileExistsError, match="resume"):
        run_training(TabularTrainConfig(**SMALL), out, progress=False)
    resumed = run_training(TabularTrainConfig(**SMALL), out, resume=True, progress=False, plot=False)
    for method in ("parallel", "single"):
        np.testing.assert_array_equal(resumed.params[method], finished_run.params[method])
    for name in finished_run.metrics:
        np.testing.assert_array_equal(resumed.metrics[name], finished_run.metrics[name])


def test_resume_refuses_a_different_config(finished_run):
    with pytest.raises(ValueError, match=rf"was started with lr = {TabularTrainConfig(**SMALL).lr!r}, not 0.2"):
        run_training(TabularTrainConfig(**{**SMALL, "lr": 0.2}), finished_run.run_dir, resume=True, progress=False)


def test_resume_refuses_a_config_of_another_family(finished_run):
    continuous = ContinuousTrainConfig(env="gridworld-continuous", agents=2, batch_size=3, horizon=15, hidden=(8, 8))
    with pytest.raises(ValueError, match=r"holds a tabular run, not a continuous one \(ContinuousTrainConfig\)"):
        run_training(continuous, finished_run.run_dir, resume=True, progress=False)


def test_saved_config_is_the_runs_own_and_refuses_other_settings(finished_run, tmp_path):
    run_dir = finished_run.run_dir
    assert saved_config(run_dir) == TabularTrainConfig(**SMALL)
    assert saved_config(run_dir, {"env": "room-det", "agents": 2}) == TabularTrainConfig(**SMALL)
    with pytest.raises(
        ValueError,
        match=rf"started with lr = {TabularTrainConfig(**SMALL).lr!r}, not 0.2; updates = 200, not 300; "
        r"a run resumes with its own settings",
    ):
        saved_config(run_dir, {"lr": 0.2, "agents": 2, "updates": 300})
    with pytest.raises(ValueError, match="tabular run .TabularTrainConfig., which has no setting k"):
        saved_config(run_dir, {"k": 4})
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        saved_config(run_dir, {"batch_size": -1})
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        saved_config(tmp_path)


def test_divergence_stops_with_the_update_and_keeps_checkpoint(tmp_path, monkeypatch):
    real_make_update = runs_module.make_update

    def update_that_breaks_at_update_150(config, components):
        update = real_make_update(config, components)

        def broken(state, shared, learning):
            state, metrics = update(state, shared, learning)
            params = jax.numpy.where(state.step >= 150, jax.numpy.nan, state.params)
            metrics["finite"] = jax.numpy.all(jax.numpy.isfinite(params))
            return state._replace(params=params), metrics

        return broken

    monkeypatch.setattr(runs_module, "make_update", update_that_breaks_at_update_150)
    out = tmp_path / "diverged"
    with pytest.raises(TrainingDiverged, match=r"diverged at update 150:.*last good checkpoint \(update 100\)"):
        run_training(TabularTrainConfig(**{**SMALL, "methods": ("parallel",)}), out, progress=False)
    assert not (out / "params.npz").exists()
    with np.load(out / "checkpoint.npz") as checkpoint:
        assert int(checkpoint["state.step"].max()) == 100 and np.all(np.isfinite(checkpoint["state.params"]))


def test_corrupt_run_files_are_named(finished_run, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(finished_run.run_dir, broken)
    (broken / "params.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="params.npz is corrupt"):
        load_run(broken)
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is corrupt"):
        load_run(broken)


def test_corrupt_checkpoint_is_named(tmp_path):
    out = tmp_path / "run"
    config = TabularTrainConfig(**{**SMALL, "updates": 20, "chunk": 10})
    out.mkdir()
    (out / "config.json").write_text(config.to_json())
    (out / "checkpoint.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="checkpoint .* is corrupt"):
        run_training(config, out, resume=True, progress=False)


def test_snapshots_keep_the_parameters_after_every_chunk_and_survive_a_resume(finished_run, tmp_path, interruption):
    config = TabularTrainConfig(**SMALL)
    interruption.start()
    with pytest.raises(KeyboardInterrupt):
        run_training(config, tmp_path / "s", progress=False, snapshots=True)
    interruption.stop()
    run = run_training(config, tmp_path / "s", resume=True, progress=False, snapshots=True)
    snapshots = runs_module.load_snapshots(run)
    assert [update for update, _ in snapshots] == [100, 200]
    for method in config.methods:
        for got, want in zip(
            jax.tree.leaves(snapshots[-1][1][method]), jax.tree.leaves(run.params[method]), strict=True
        ):
            np.testing.assert_array_equal(got, want)  # the last snapshot is the final parameters
        first = jax.tree.leaves(snapshots[0][1][method])
        if method != "random":  # a learning method has moved between the two
            assert any(
                not np.array_equal(a, b) for a, b in zip(first, jax.tree.leaves(run.params[method]), strict=True)
            )
    assert not list((tmp_path / "s" / "snapshots").glob("*.tmp.npz"))
    assert not (finished_run.run_dir / "snapshots").exists()  # only where asked for


def test_an_npz_write_interrupted_halfway_leaves_the_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    save_npz(path, x=np.arange(3))

    def interrupted(file, **arrays):
        Path(file).write_bytes(b"PK half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_npz(path, x=np.arange(5))
    with np.load(path) as saved:
        assert saved["x"].tolist() == [0, 1, 2]
    assert partial_path(path).exists()  # the half file is the partial one, which the next write replaces
