"""MEPOL as a method users run: run directories (pmaxent train --method mepol), resume, presets,
collect on MEPOL runs, gym:ID worlds through the host rollout, and bad input."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import digamma
from typer.testing import CliRunner

from pmaxent.cli import app
from pmaxent.continuous.knn import knn_entropy
from pmaxent.core.runs import TrainingDiverged
from pmaxent.families import load_run
from pmaxent.mepol.algorithm import Mepol, MepolConfig
from pmaxent.mepol.runs import run_mepol

TINY = dict(trajectories=4, horizon=40, k=5, hidden=(8,), updates=4, chunk=2, lr=1e-3)


def _invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_defaults_are_mepols_gridworld_setting_and_presets_follow_the_world():
    config = MepolConfig()
    assert (config.env, config.k, config.trajectories, config.horizon, config.lr) == (
        "gridworld-continuous",
        50,
        20,
        1200,
        1e-5,
    )
    assert (config.kl_threshold, config.max_off_iters, config.hidden, config.log_std_init) == (
        15.0,
        30,
        (300, 300),
        -1.5,
    )
    car = MepolConfig(env="gym:MountainCarContinuous-v0")
    assert (car.k, car.horizon) == (4, 400)
    assert MepolConfig(env="gym:MountainCarContinuous-v0", k=7).k == 7  # an explicit value beats the preset
    other = MepolConfig(env="room-det-continuous")
    assert other.horizon is None and other.make_components().env.horizon == 32  # the world's own T


def test_run_directory_metrics_and_first_epoch_entropy_from_a_direct_computation(tmp_path):
    config = MepolConfig(**TINY, seeds=(0, 3))
    run = run_mepol(config, tmp_path / "run", progress=False)
    names = ("entropy", "normalized_entropy", "coverage", "off_iters", "kl", "backtracks", "env_steps", "wall_time")
    assert tuple(run.metrics) == names and run.metrics["entropy"].shape == (1, 2, 4)
    np.testing.assert_array_equal(run.metrics["env_steps"][0, 1], [160, 320, 480, 640])
    assert np.all(np.diff(run.metrics["wall_time"], axis=-1) > 0)
    np.testing.assert_allclose(run.metrics["normalized_entropy"], run.metrics["entropy"] / np.log(100.25), rtol=1e-5)
    assert np.all(run.metrics["kl"] <= 15) and np.all(run.metrics["off_iters"] <= 30)
    # epoch 1 of seed 3: MEPOL's on-policy estimate of a batch sampled by its initial policy
    mepol = Mepol(config)
    params, _, key = mepol.init(3)
    particles, _, _ = mepol.sample(params, jax.random.split(key)[1])
    n = particles.shape[0]
    np.testing.assert_allclose(
        run.metrics["entropy"][0, 1, 0], float(knn_entropy(particles, 5)) + np.log(n) - digamma(n), rtol=1e-4
    )
    for name in ("config.json", "metrics.csv", "params.npz", "learning_curve.png", "team.png"):
        assert (tmp_path / "run" / name).exists(), name
    loaded = load_run(tmp_path / "run")
    assert loaded.config == config and jax.tree.leaves(loaded.params["mepol"])[0].shape[:2] == (2, 1)
    np.testing.assert_allclose(loaded.metrics["entropy"], run.metrics["entropy"], rtol=1e-5)


def test_an_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch):
    config = MepolConfig(**TINY)
    reference = run_mepol(config, tmp_path / "reference", progress=False, plot=False)
    real_epoch, calls = Mepol.epoch, []

    def interrupted(self, *args):
        calls.append(1)
        if len(calls) == 3:  # in the second chunk: the first is checkpointed
            raise KeyboardInterrupt
        return real_epoch(self, *args)

    monkeypatch.setattr(Mepol, "epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_mepol(config, tmp_path / "again", progress=False, plot=False)
    assert (tmp_path / "again" / "checkpoint.npz").exists()
    monkeypatch.setattr(Mepol, "epoch", real_epoch)
    with pytest.raises(FileExistsError, match="--resume"):
        run_mepol(config, tmp_path / "again", progress=False, plot=False)
    resumed = run_mepol(config, tmp_path / "again", resume=True, progress=False, plot=False)
    for name in ("entropy", "kl", "off_iters", "coverage"):
        np.testing.assert_allclose(resumed.metrics[name], reference.metrics[name], rtol=1e-5, atol=1e-6)
    for a, b in zip(jax.tree.leaves(resumed.params["mepol"]), jax.tree.leaves(reference.params["mepol"]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_cli_trains_mepol_and_collects_its_datasets(tmp_path):
    out = tmp_path / "run"
    result = _invoke(
        "train",
        "--method",
        "mepol",
        "--trajectories",
        "3",
        "--horizon",
        "30",
        "--k",
        "4",
        "--hidden",
        "8",
        "--updates",
        "2",
        "--out",
        str(out),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert "mepol" in result.output and "normalized entropy" in result.output and "coverage" in result.output
    saved = json.loads((out / "config.json").read_text())
    assert saved["methods"] == ["mepol"] and saved["kl_threshold"] == 15.0 and saved["hidden"] == [8]
    collected = _invoke("collect", str(out), "--quiet", "--trajectories", "2")
    assert collected.exit_code == 0, collected.output
    from pmaxent.core.tables import read_csv

    rows = {row["method"]: row for row in read_csv(out / "datasets.csv")}
    assert (
        set(rows) == {"mepol", "random"}
        and rows["mepol"]["dataset_id"] == "pmaxent/gridworld-continuous-mepol-m1-seed0-n2-v0"
    )
    assert rows["mepol"]["episodes"] == "2" and rows["mepol"]["transitions"] == "60"
    assert (out / "datasets" / "pmaxent" / "gridworld-continuous-mepol-m1-seed0-n2-v0").is_dir()


def test_mepol_on_a_gymnasium_world_through_the_host_rollout(tmp_path):
    config = MepolConfig(env="gym:MountainCarContinuous-v0", trajectories=3, horizon=20, updates=2, hidden=(8,))
    mepol = Mepol(config)
    params, _, key = mepol.init()
    particles, observations, actions = mepol.sample(params, key)
    assert particles.shape == (60, 2) and observations.shape == (3, 20, 2) and actions.shape == (3, 20, 1)
    np.testing.assert_array_equal(
        particles.reshape(3, 20, 2)[:, :-1], observations[:, 1:]
    )  # s_1..s_T after s_0..s_{T-1}
    run = run_mepol(config, tmp_path / "car", progress=False)
    assert np.all(np.isfinite(run.metrics["entropy"])) and np.all(np.isnan(run.metrics["normalized_entropy"]))
    assert "coverage" not in run.metrics and (tmp_path / "car" / "learning_curve.png").exists()


def test_a_world_that_produces_nan_states_stops_the_run_naming_it(tmp_path):
    config = MepolConfig(**TINY)
    components = config.make_components()
    broken = dataclasses.replace(components.env, step=lambda state, action, u: state * jnp.nan)
    with pytest.raises(TrainingDiverged, match="non-finite states"):
        run_mepol(config, tmp_path / "nan", progress=False, plot=False, components=components._replace(env=broken))
    assert not (tmp_path / "nan" / "params.npz").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "mepol", "--method", "parallel"], "no family trains mepol and parallel together"),
        (["--method", "mepol", "--batch", "4"], "does not apply to the mepol family"),
        (["--method", "mepol", "--agents", "3"], "does not apply to the mepol family"),
        (["--method", "mepol", "--env", "room-det"], "unknown method 'mepol' in 'room-det'"),
        (["--method", "mepol", "--kl-threshold", "0"], "kl_threshold must be finite and positive"),
        (["--method", "mepol", "--k", "500", "--trajectories", "2", "--horizon", "100"], "k = 500 must be below"),
        (["--method", "mepol", "--env", "gym:NoSuchWorld-v0"], "is not registered"),
    ],
)
def test_bad_mepol_input_exits_2_naming_the_problem(tmp_path, args, message):
    result = _invoke("train", *args, "--updates", "1", "--out", str(tmp_path / "x"), "--quiet")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
