"""Training: learning happens, runs are reproducible and resumable, bad input is refused."""

import json
import math

import jax
import numpy as np
import pytest

from pmaxent import train as train_module
from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.tables import read_metrics_csv
from pmaxent.train import (
    TrainConfig,
    TrainingDiverged,
    init_state,
    load_run,
    make_train,
    make_update,
    run_training,
    saved_config,
    team_params,
)

SMALL = dict(env="room-det", agents=2, batch_size=20, updates=200, seeds=(0, 1), chunk=100)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    return run_training(TrainConfig(**SMALL), out, progress=False)


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
    again = run_training(TrainConfig(**SMALL), tmp_path / "again", progress=False, plot=False)
    assert list(again.metrics) == ["entropy", "normalized_entropy", "support", "agent_entropy", "diversity"]
    for name in again.metrics:
        np.testing.assert_array_equal(again.metrics[name], finished_run.metrics[name])


def test_resume_after_interruption_gives_identical_result(finished_run, tmp_path, interruption):
    out = tmp_path / "interrupted"
    interruption.start()
    with pytest.raises(KeyboardInterrupt):
        run_training(TrainConfig(**SMALL), out, progress=False, plot=False)
    assert (out / "checkpoint.npz").exists() and not (out / "params.npz").exists()
    interruption.stop()
    with pytest.raises(FileExistsError, match="resume"):
        run_training(TrainConfig(**SMALL), out, progress=False)
    resumed = run_training(TrainConfig(**SMALL), out, resume=True, progress=False, plot=False)
    for method in ("parallel", "single"):
        np.testing.assert_array_equal(resumed.params[method], finished_run.params[method])
    for name in finished_run.metrics:
        np.testing.assert_array_equal(resumed.metrics[name], finished_run.metrics[name])


def test_resume_refuses_a_different_config(finished_run):
    with pytest.raises(ValueError, match=rf"was started with lr = {TrainConfig(**SMALL).lr!r}, not 0.2"):
        run_training(TrainConfig(**{**SMALL, "lr": 0.2}), finished_run.run_dir, resume=True, progress=False)


def test_resume_refuses_a_config_of_another_family(finished_run):
    continuous = ContinuousTrainConfig(env="gridworld-continuous", agents=2, batch_size=3, horizon=15, hidden=(8, 8))
    with pytest.raises(ValueError, match=r"holds a tabular run \(TrainConfig\), which has no setting .*hidden"):
        run_training(continuous, finished_run.run_dir, resume=True, progress=False)


def test_saved_config_is_the_runs_own_and_refuses_other_settings(finished_run, tmp_path):
    run_dir = finished_run.run_dir
    assert saved_config(run_dir) == TrainConfig(**SMALL)
    assert saved_config(run_dir, {"env": "room-det", "agents": 2}) == TrainConfig(**SMALL)
    with pytest.raises(ValueError, match=rf"started with lr = {TrainConfig(**SMALL).lr!r}, not 0.2; updates = 200, not 300; a run resumes with its own settings"):
        saved_config(run_dir, {"lr": 0.2, "agents": 2, "updates": 300})
    with pytest.raises(ValueError, match="tabular run .TrainConfig., which has no setting k"):
        saved_config(run_dir, {"k": 4})
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        saved_config(run_dir, {"batch_size": -1})
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        saved_config(tmp_path)


def test_divergence_stops_with_the_update_and_keeps_checkpoint(tmp_path, monkeypatch):
    real_make_update = train_module.make_update

    def update_that_breaks_at_update_150(config, components):
        update = real_make_update(config, components)

        def broken(state, shared, learning):
            state, metrics = update(state, shared, learning)
            params = jax.numpy.where(state.step >= 150, jax.numpy.nan, state.params)
            metrics["finite"] = jax.numpy.all(jax.numpy.isfinite(params))
            return state._replace(params=params), metrics

        return broken

    monkeypatch.setattr(train_module, "make_update", update_that_breaks_at_update_150)
    out = tmp_path / "diverged"
    with pytest.raises(TrainingDiverged, match=r"diverged at update 150:.*last good checkpoint \(update 100\)"):
        run_training(TrainConfig(**{**SMALL, "methods": ("parallel",)}), out, progress=False)
    assert not (out / "params.npz").exists()
    with np.load(out / "checkpoint.npz") as checkpoint:
        assert int(checkpoint["state.step"].max()) == 100 and np.all(np.isfinite(checkpoint["state.params"]))


def test_make_train_is_pure_and_vmaps_over_seeds():
    config = TrainConfig(**{**SMALL, "updates": 30})
    train = jax.jit(jax.vmap(make_train(config), in_axes=(0, None)))
    keys = jax.random.split(jax.random.key(0), 3)
    state_a, metrics_a = train(keys, False)
    state_b, metrics_b = train(keys, False)
    np.testing.assert_array_equal(state_a.params, state_b.params)
    assert metrics_a["normalized_entropy"].shape == (3, 30)
    assert not np.allclose(state_a.params[0], state_a.params[1])


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(env="room-det", agents=2, batch_size=6),
        ContinuousTrainConfig(env="gridworld-continuous", agents=2, batch_size=3, horizon=15, hidden=(8, 8)),
    ],
    ids=["tabular", "continuous"],
)
@pytest.mark.parametrize("shared, learning", [(False, True), (True, True), (False, False)])
def test_an_update_takes_python_bools_as_it_takes_traced_flags(config, shared, learning):
    """make_train passes learning=True as a Python bool: ``~True`` is -2, which is truthy, and an
    update that negated it so made every learning team act uniformly."""
    components = config.make_components()
    state = init_state(config, components, jax.random.key(4), learning, shared)
    update = make_update(config, components)
    constant, constant_metrics = jax.jit(lambda s: update(s, shared, learning))(state)
    traced, traced_metrics = jax.jit(update)(state, np.bool_(shared), np.bool_(learning))
    for a, b in zip(jax.tree.leaves(constant.params), jax.tree.leaves(traced.params)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(constant_metrics["entropy"], traced_metrics["entropy"], rtol=1e-5)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("agents", 0, "agents must be a positive integer"),
        ("batch_size", -4, "batch_size must be a positive integer"),
        ("updates", 2.5, "updates must be a positive integer"),
        ("horizon", 0, "horizon must be a positive integer"),
        ("lr", -0.1, "lr must be finite and positive"),
        ("lr", math.nan, "lr must be finite and positive"),
        ("lr", math.inf, "lr must be finite and positive"),
        ("methods", ("parallel", "greedy"), "unknown method 'greedy'"),
        ("optimizer", "rmsprop", "unknown optimizer"),
        ("baseline", "mean", "unknown baseline"),
        ("seeds", (), "at least one seed"),
    ],
)
def test_bad_config_is_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**SMALL, field: value})


def test_unknown_environment_lists_valid_names():
    with pytest.raises(ValueError, match="room-det, room-stoc, maze-det, maze-stoc"):
        TrainConfig(env="lava").make_components()


def test_time_indexed_adam_and_k_trajectories_train(tmp_path):
    config = TrainConfig(**{**SMALL, "time_indexed": True, "optimizer": "adam", "trajectories": 2, "updates": 60, "chunk": 60, "lr": 0.05})
    run = run_training(config, progress=False)
    assert run.params["parallel"].shape == (2, 2, 8, 55, 4)
    assert np.all(np.isfinite(run.metrics["entropy"]))


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
    config = TrainConfig(**{**SMALL, "updates": 20, "chunk": 10})
    out.mkdir()
    (out / "config.json").write_text(config.to_json())
    (out / "checkpoint.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="checkpoint .* is corrupt"):
        run_training(config, out, resume=True, progress=False)
