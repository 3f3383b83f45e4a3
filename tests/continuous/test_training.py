"""Continuous runs end to end: the CLI trains, resumes and collects; bad input is named."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from pmaxent.cli import app
from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.core import programs
from pmaxent.core import runs as runs_module
from pmaxent.core.runs import TrainingDiverged, team_params
from pmaxent.families import load_run, run_training, saved_config

TINY = dict(
    env="gridworld-continuous", agents=2, batch_size=3, updates=6, seeds=(0, 1), chunk=3, horizon=15, hidden=(8, 8)
)
TINY_ARGS = [
    "--env",
    "gridworld-continuous",
    "--agents",
    "2",
    "--batch",
    "3",
    "--updates",
    "6",
    "--seeds",
    "0,1",
    "--chunk",
    "3",
    "--horizon",
    "15",
    "--hidden",
    "8,8",
    "--quiet",
]


def _invoke(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("continuous") / "run"
    result = _invoke("train", *TINY_ARGS, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result.output


def test_cli_trains_a_continuous_team_and_writes_its_run_directory(cli_run):
    out, output = cli_run
    assert "coverage" in output and "parallel" in output
    saved = json.loads((out / "config.json").read_text())
    assert saved["family"] == "continuous" and saved["hidden"] == [8, 8] and saved["optimizer"] == "adam"
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == [
        "method",
        "seed",
        "update",
        "entropy",
        "normalized_entropy",
        "agent_entropy",
        "entropy_gap",
        "coverage",
    ]
    for picture in ("learning_curve.png", "team.png"):
        assert (out / picture).stat().st_size > 5000
    run = load_run(out)
    assert isinstance(run.config, ContinuousTrainConfig)
    parallel = team_params(run, "parallel")
    leaves = jax.tree.leaves(parallel)
    assert all(leaf.shape[:2] == (2, 2) for leaf in leaves)
    single = team_params(run, "single")
    for leaf in jax.tree.leaves(single):
        np.testing.assert_array_equal(leaf[:, 0], leaf[:, 1])  # the single agent's copies stay tied
    assert not all(np.array_equal(leaf[:, 0], leaf[:, 1]) for leaf in leaves)
    coverage = run.metrics["coverage"]
    assert np.all((coverage > 0) & (coverage <= 1))


def test_same_seed_same_numbers_and_resume_is_identical(cli_run, tmp_path, interruption):
    out, _ = cli_run
    reference = load_run(out)
    interruption.start()
    again = tmp_path / "again"
    programs.use_program_store(tmp_path / "programs")  # as in the CLI: the resumed run reads what the first left there
    try:
        with pytest.raises(KeyboardInterrupt):
            run_training(ContinuousTrainConfig(**TINY), again, progress=False, plot=False)
        assert (again / "checkpoint.npz").exists()
        interruption.stop()
        resumed = run_training(saved_config(again), again, resume=True, progress=False, plot=False)
    finally:
        programs.use_program_store(None)
    for name in reference.metrics:
        # the reference was read back from metrics.csv, written with 6 significant digits
        np.testing.assert_allclose(resumed.metrics[name], reference.metrics[name], rtol=1e-5, atol=1e-6, err_msg=name)
    for a, b in zip(
        jax.tree.leaves(resumed.params["parallel"]), jax.tree.leaves(reference.params["parallel"]), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_cli_collects_continuous_datasets_that_minari_loads(cli_run):
    out, _ = cli_run
    result = _invoke("collect", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    rows = (out / "datasets.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * 2 and "coverage" in rows[0]
    import minari

    os.environ["MINARI_DATASETS_PATH"] = str(out / "datasets")
    try:
        dataset = minari.load_dataset("pmaxent/gridworld-continuous-random-m2-seed1-v0")
    finally:
        del os.environ["MINARI_DATASETS_PATH"]
    assert dataset.total_episodes == 2 and dataset.total_steps == 2 * 15
    episode = next(dataset.iterate_episodes())
    assert episode.observations.shape == (16, 2) and episode.actions.shape == (15, 2)
    assert np.all(np.abs(episode.actions) <= 0.2 + 1e-6)
    # the listed entropy is the run's estimator on the stored points (stride 1 for T = 15)
    from pmaxent.continuous.knn import knn_entropy
    from pmaxent.core.tables import read_csv

    points = np.concatenate([e.observations for e in dataset.iterate_episodes()])
    listed = next(r for r in read_csv(out / "datasets.csv") if r["method"] == "random" and r["seed"] == "1")
    assert float(listed["entropy"]) == pytest.approx(float(knn_entropy(points, load_run(out).config.k)), rel=1e-5)
    again = _invoke("collect", str(out), "--quiet")
    assert again.exit_code != 0 and "already exist" in again.output
    # the loader of pmaxent offline reads back what collect wrote, and names a corrupt file
    from pmaxent.continuous.datasets import load_continuous_dataset, load_continuous_run_datasets

    world, loaded = load_continuous_run_datasets(out)
    assert world.name == "gridworld-continuous" and [d.seed for d in loaded["random"]] == [0, 1]
    np.testing.assert_array_equal(
        loaded["random"][1].observations, np.stack([e.observations for e in dataset.iterate_episodes()])
    )
    assert loaded["random"][1].entropy == pytest.approx(float(listed["entropy"]), rel=1e-5)
    path = out / "datasets" / "pmaxent" / "gridworld-continuous-random-m2-seed1-v0"
    metadata = path / "data" / "metadata.json"
    text = metadata.read_text()
    metadata.write_text(text[: len(text) // 2])
    try:
        with pytest.raises(ValueError, match="corrupt dataset"):
            load_continuous_dataset(path)
    finally:
        metadata.write_text(text)


def test_non_finite_parameters_stop_the_run_with_the_last_checkpoint_kept(tmp_path, monkeypatch):
    real_make_update = runs_module.make_update

    def breaking(config, components):
        update = real_make_update(config, components)

        def broken(state, shared, learning):
            state, metrics = update(state, shared, learning)
            params = jax.tree.map(lambda p: jax.numpy.where(state.step >= 5, jax.numpy.nan, p), state.params)
            metrics["finite"] = jax.numpy.all(
                jax.numpy.stack([jax.numpy.all(jax.numpy.isfinite(p)) for p in jax.tree.leaves(params)])
            )
            return state._replace(params=params), metrics

        return broken

    monkeypatch.setattr(runs_module, "make_update", breaking)
    out = tmp_path / "diverged"
    with pytest.raises(TrainingDiverged, match=r"diverged at update 5:.*last good checkpoint \(update 3\)"):
        run_training(ContinuousTrainConfig(**{**TINY, "methods": ("parallel",)}), out, progress=False)
    assert (out / "checkpoint.npz").exists() and not (out / "params.npz").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "gridworld-continuous", "--k", "0"], "k must be a positive integer"),
        (["--env", "gridworld-continuous", "--horizon", "5", "--k", "6"], "k = 6 must be below"),
        (["--env", "lava-continuous"], "valid names: room-det"),
        (["--env", "gridworld-continuous", "--time-indexed"], "--time-indexed does not apply"),
        (["--env", "room-det", "--k", "3"], "--k does not apply to the tabular family"),
        (["--env", "gridworld-continuous", "--hidden", "0"], "hidden must be positive"),
        (["--env", "gridworld-continuous", "--point-stride", "0"], "point_stride must be a positive integer"),
        (["--env", "gridworld-continuous", "--log-std-init", "nan"], "log_std_init must be a finite number"),
        (
            ["--env", "gridworld-continuous", "--horizon", "20", "--point-stride", "5", "--k", "5"],
            "ceil(K x (T + 1) / point_stride) = 5",
        ),
    ],
)
def test_bad_continuous_input_names_the_problem(args, message, tmp_path):
    result = _invoke("train", *args, "--out", str(tmp_path / "x"), "--quiet")
    assert result.exit_code == 2
    assert message in result.output
    assert "gridworld-continuous" in _invoke("train", "--env", "lava", "--out", str(tmp_path / "y")).output


def test_policies_start_with_mepols_log_std_unless_one_is_given():
    def initial(**change):
        return ContinuousTrainConfig(**{**TINY, **change}).make_components().policy.log_std_init

    assert (initial(), initial(env="maze-det-continuous"), initial(log_std_init=-1.0)) == (-1.5, -1.5, -1.0)
    assert initial(env="corridor", layout=("SFF", "FFF")) == -1.5  # a user's map too


def test_a_map_without_start_is_refused(tmp_path):
    map_file = tmp_path / "nostart.txt"
    map_file.write_text("FFF\nF-F\nFFF\n")
    result = _invoke("train", "--map", str(map_file), "--family", "continuous", "--out", str(tmp_path / "x"), "--quiet")
    assert result.exit_code == 2 and "start cell" in result.output


def test_reproduce_continuous_quick_writes_a_report_with_the_claims(tmp_path):
    result = _invoke("reproduce", "--suite", "continuous", "--quick", "--out", str(tmp_path / "suite"), "--quiet")
    assert result.exit_code == 0, result.output
    report = (tmp_path / "suite" / "report.md").read_text()
    for claim in (
        "(a) a team's final policies",
        "(b) the team's datasets",
        "(c) offline goal reaching",
        "(d) the entropy",
    ):
        assert claim in report
    for line in report.splitlines():
        if line.startswith("![") and "](" in line:
            assert (tmp_path / "suite" / line.split("](")[1].rstrip(")")).exists(), line


def _mismatched(config, *, features=None, obs_dim=None, dimension=None):
    """The config's components with one piece replaced so that it no longer fits the others."""
    import dataclasses

    from pmaxent.continuous.knn import KNNEntropy
    from pmaxent.continuous.policy import GaussianMLPTeam

    components = config.make_components()
    env, policy, estimator = components.env, components.policy, components.estimator
    if features is not None:
        env = dataclasses.replace(env, features=features)
    if obs_dim is not None:
        policy = GaussianMLPTeam(obs_dim, policy.action_low, policy.action_high, policy.hidden)
    if dimension is not None:
        estimator = KNNEntropy(config.k, dimension=dimension)
    return components._replace(env=env, policy=policy, estimator=estimator)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"features": lambda state: jax.numpy.concatenate([state, state[:1]])}, "expects 2-dimensional features"),
        ({"dimension": 3}, "expects 3-dimensional features"),
        ({"obs_dim": 3}, "observations of size 3"),
    ],
)
def test_components_that_do_not_fit_are_named_before_training(change, message, tmp_path):
    config = ContinuousTrainConfig(updates=2, seeds=(0,), horizon=10, batch_size=2, k=4)
    with pytest.raises(ValueError, match=message):
        run_training(config, tmp_path / "run", progress=False, components=_mismatched(config, **change))
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_a_seeds_numbers_do_not_depend_on_the_seeds_and_methods_trained_beside_it():
    """XLA rounds a vmapped batch of lanes differently at different sizes and training amplifies the
    difference (without lane groups, seed 1 alone and beside seeds 0 and 2 part within 3 updates)."""
    base = ContinuousTrainConfig(agents=3, horizon=30, k=4, hidden=(16, 16), batch_size=2, updates=12, chunk=12)
    alone = run_training(dataclasses.replace(base, seeds=(1,), methods=("single",)), progress=False)
    beside = run_training(dataclasses.replace(base, seeds=(0, 1, 2)), progress=False)
    np.testing.assert_array_equal(alone.metrics["entropy"][0, 0], beside.metrics["entropy"][1, 1])
    ungrouped = [
        run_training(dataclasses.replace(base, seeds=seeds, methods=("single",), lane_group=0), progress=False)
        for seeds in ((1,), (0, 1, 2))
    ]
    assert not np.array_equal(ungrouped[0].metrics["entropy"][0, 0], ungrouped[1].metrics["entropy"][0, 1])


def test_settings_trained_as_lanes_of_one_program_get_the_numbers_each_gets_alone(tmp_path, interruption):
    base = ContinuousTrainConfig(**{**TINY, "policy": "population", "seeds": (3,)})
    settings = [
        base,
        dataclasses.replace(base, lr=0.003, lr_decay=0.99, log_std_init=-0.5),
        dataclasses.replace(base, lr=0.03, log_std_init=-1.0),
    ]
    alone = [run_training(config, progress=False) for config in settings]
    programs.use_program_store(tmp_path / "programs")
    try:
        together = runs_module.run_settings(settings, progress=False)
    finally:
        programs.use_program_store(None)
    assert len(list((tmp_path / "programs").glob("train-chunk-*.pkl"))) == 1  # one program for three settings
    dirs = [tmp_path / f"setting-{i}" for i in range(3)]
    interruption.start()  # the first setting's checkpoint is written, then a Ctrl-C
    with pytest.raises(KeyboardInterrupt):
        runs_module.run_settings(settings, dirs, progress=False, plot=False)
    interruption.stop()
    assert (dirs[0] / "checkpoint.npz").exists() and not (dirs[1] / "checkpoint.npz").exists()
    # resumed: the first setting from update 3, the others from update 0, each group as lanes of one program
    resumed = runs_module.run_settings(settings, dirs, resume=True, progress=False, plot=False)
    for config, one, run, again, run_dir in zip(settings, alone, together, resumed, dirs, strict=True):
        assert run.config == config and load_run(run_dir).config == config
        assert run.components.policy.log_std_init == config.log_std_init
        for method in config.methods:
            for a, b, c in zip(*(jax.tree.leaves(r.params[method]) for r in (one, run, again)), strict=True):
                np.testing.assert_array_equal(a, b)
                np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(one.metrics["entropy"], run.metrics["entropy"])
        np.testing.assert_array_equal(one.metrics["entropy"], again.metrics["entropy"])
    assert not np.array_equal(alone[0].metrics["entropy"], alone[1].metrics["entropy"])
    with pytest.raises(ValueError, match="differ in lr, lr_decay, log_std_init alone; these also differ in k"):
        runs_module.run_settings([base, dataclasses.replace(base, k=5)])
