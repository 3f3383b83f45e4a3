"""Datasets in OGBench's file layout: OGBench's own loader reads them back as the same transitions."""

import numpy as np
import pytest

from pmaxent.datasets import write_ogbench_dataset
from pmaxent.gcrl.data import from_trajectories, from_transitions


def test_ogbenchs_loader_reads_the_exported_trajectories_as_their_transitions(tmp_path):
    utils = pytest.importorskip("ogbench.utils")
    rng = np.random.default_rng(0)
    observations, actions = rng.normal(size=(3, 6, 2)), rng.normal(size=(3, 5, 2))
    path = write_ogbench_dataset(tmp_path / "pointmaze-medium-pmaxent-v0.npz", observations, actions)
    loaded = utils.load_dataset(str(path))  # its regular layout: next_observations made by shifting
    assert loaded["observations"].shape == (15, 2)
    np.testing.assert_array_equal(loaded["terminals"], np.tile([0, 0, 0, 0, 1], 3))
    ours, theirs = from_trajectories(observations, actions), from_transitions(**loaded)
    for name in ("observations", "actions", "next_observations", "final"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name), err_msg=name)
    compact = utils.load_dataset(str(path), compact_dataset=True)
    np.testing.assert_array_equal(compact["valids"], np.tile([1, 1, 1, 1, 1, 0], 3))


def test_malformed_trajectories_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"observations must be \[E, T\+1, d\]"):
        write_ogbench_dataset(tmp_path / "x.npz", np.zeros((2, 5, 2)), np.zeros((2, 5, 2)))


def test_pmaxent_export_writes_a_runs_datasets_as_ogbench_reads_them(tmp_path):
    from typer.testing import CliRunner

    from pmaxent.cli import app
    from pmaxent.continuous.datasets import load_continuous_run_datasets

    run = tmp_path / "run"
    runner = CliRunner()
    tiny = ["--env", "room-det-continuous", "--agents", "2", "--batch", "2", "--updates", "2", "--seeds", "0,1"]
    assert runner.invoke(app, ["train", *tiny, "--hidden", "8", "--quiet", "--out", str(run)]).exit_code == 0
    assert runner.invoke(app, ["collect", str(run), "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "ogbench")])
    assert result.exit_code == 0, result.output
    written = sorted((tmp_path / "ogbench").glob("*.npz"))
    assert len(written) == 3 * 2 and {p.name for p in written} >= {"room-det-continuous-parallel-m2-seed0-v0.npz"}
    world, datasets = load_continuous_run_datasets(run, ["parallel"])
    ours = datasets["parallel"][0]
    loaded = np.load(tmp_path / "ogbench" / "room-det-continuous-parallel-m2-seed0-v0.npz")
    np.testing.assert_array_equal(loaded["observations"], ours.observations.reshape(-1, 2))
    np.testing.assert_allclose(
        loaded["actions"].reshape(ours.observations.shape)[:, :-1], ours.actions / world.max_step
    )
    assert np.abs(loaded["actions"]).max() <= 1.0
    missing = runner.invoke(app, ["export", str(tmp_path / "nothing")])
    assert missing.exit_code == 2
