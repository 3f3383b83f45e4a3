"""`pmaxent sweep` on this machine: a sweep file's runs are the configs it names, trained as
`run_training` trains them alone; an interrupted sweep resumes to the same results; bad sweep
files are refused with the problem named."""

import dataclasses
import importlib.util
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pmaxent.cli import app
from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.evaluation import yardstick
from pmaxent.core.runs import run_training
from pmaxent.core.tables import read_csv
from pmaxent.reports import final_metric
from pmaxent.statistics import compare
from pmaxent.sweep.cluster import Cluster
from pmaxent.sweep.runner import run_sweep
from pmaxent.sweep.spec import SweepSpec, expand, parse_sweep, read_sweep
from pmaxent.tabular.config import TabularTrainConfig

runner = CliRunner()

SWEEP = """
seeds = [0, 1, 2, 3]
seeds_per_run = 2

[base]
env = "room-det"
agents = 2
batch_size = 10
updates = 40
chunk = 20

[grid]
lr = [0.05, 0.2]
"""
BASE = dict(env="room-det", agents=2, batch_size=10, updates=40, chunk=20)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "sweep.toml"
    path.write_text(SWEEP)
    out = path.parent / "out"
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return path, out


def test_the_runs_are_the_grid_times_the_seed_groups():
    runs = expand(parse_sweep(tomllib.loads(SWEEP + "trajectories = [1, 2]\n")))
    expected = [
        TabularTrainConfig(**BASE, lr=lr, trajectories=k, seeds=seeds)
        for lr in (0.05, 0.2)
        for k in (1, 2)
        for seeds in ((0, 1), (2, 3))
    ]
    assert [run.config for run in runs] == expected
    assert runs[1].name == "lr=0.05_trajectories=1_seeds=2+3" and runs[1].setting == {"lr": 0.05, "trajectories": 1}


def test_every_run_equals_its_config_trained_alone(sweep):
    _, out = sweep
    for run in expand(read_sweep(out.parent / "sweep.toml")):
        alone = run_training(run.config, progress=False)
        with np.load(out / "runs" / run.name / "params.npz") as saved:
            for method in run.config.methods:
                np.testing.assert_array_equal(saved[method], alone.params[method])
        rows = read_csv(out / "runs" / run.name / "final.csv")
        for i, method in enumerate(run.config.methods):
            for j, seed in enumerate(run.config.seeds):
                (row,) = [r for r in rows if r["method"] == method and int(r["seed"]) == seed]
                for name, values in alone.metrics.items():
                    assert float(row[name]) == float(final_metric(values[i, j])), (run.name, method, seed, name)


def test_table_and_report_hold_the_runs_measures(sweep):
    _, out = sweep
    table = read_csv(out / "sweep.csv")
    measures = read_csv(out / "measures.csv")
    assert len(table) == 4 and len(measures) == 4 * 3 * 2
    for row in table:
        mine = [float(r["normalized_entropy"]) for r in measures if r["run"] == row["run"] and r["method"] == "single"]
        assert float(row["single_normalized_entropy"]) == pytest.approx(np.mean(mine), rel=1e-12)
    # the report's test of parallel against single, per setting over its 4 seeds, Holm-corrected across the 2 settings
    by_setting = {}
    for r in measures:
        key = f"lr = {float(r['lr'])}"
        by_setting.setdefault(key, {}).setdefault(r["method"], []).append(float(r["normalized_entropy"]))
    expected = compare(
        {k: v["parallel"] for k, v in by_setting.items()}, {k: v["single"] for k, v in by_setting.items()}
    )
    report = (out / "report.md").read_text()
    section = report.split("### parallel against single")[1].split("###")[0]
    for setting, result in expected.items():
        assert (
            f"| {setting} | {result.effect:+.3f} " in section
            and f"| {result.adjusted:.3g} | {result.verdict} |" in section
        )
    assert "Fewer than 10 seeds" in report


def test_an_interrupted_sweep_resumes_to_the_same_results(sweep, tmp_path, interruption):
    path, finished = sweep
    out = tmp_path / "out"
    interruption.start()
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--quiet"])
    assert result.exit_code == 2 and "--resume" in result.output
    assert list(out.glob("runs/*/checkpoint.npz")) and not (out / "sweep.csv").exists()
    interruption.stop()
    refused = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--quiet"])
    assert refused.exit_code == 2 and "already holds a sweep" in refused.output
    resumed = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--quiet", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert (out / "sweep.csv").read_text() == (finished / "sweep.csv").read_text()
    assert (out / "report.md").read_text() == (finished / "report.md").read_text()
    other = tmp_path / "other.toml"
    other.write_text(SWEEP.replace("0.2]", "0.3]"))
    changed = runner.invoke(app, ["sweep", str(other), "--out", str(out), "--quiet", "--resume"])
    assert changed.exit_code == 2 and "other settings" in changed.output


def test_continuous_runs_are_measured_by_the_yardstick(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        'seeds = [0, 1]\n[base]\nenv = "gridworld-continuous"\nagents = 2\nbatch_size = 2\nupdates = 2\nchunk = 2\n'
        'methods = ["parallel"]\n'
    )
    report = run_sweep(read_sweep(path), tmp_path / "out", progress=False)
    (run,) = expand(read_sweep(path))
    alone = run_training(run.config, progress=False)
    scores = yardstick(alone.components, alone.params["parallel"], (0, 1))
    rows = read_csv(tmp_path / "out" / "runs" / "base" / "final.csv")
    for name, values in scores.items():
        assert [float(r[name]) for r in rows] == [float(v) for v in values]
    assert isinstance(run.config, ContinuousTrainConfig) and "## coverage" in report.read_text()


@pytest.mark.parametrize(
    "text, message",
    [
        ("seed = [0]\n", "unknown key 'seed'"),
        ('[base]\nenv = "room-det"\nlearning_rate = 0.1\n', "TabularTrainConfig has no field 'learning_rate'"),
        ('[base]\nenv = "room-det"\nagents = "two"\n', "[base] agents must be an integer; got 'two'"),
        ('[base]\nenv = "room-det"\n[grid]\nlr = []\n', "[grid] lr must be a non-empty list"),
        ('[base]\nenv = "room-det"\nlr = 0.1\n[grid]\nlr = [0.1]\n', "lr set both in [base] and in [grid]"),
        ('[base]\nenv = "room-det"\nseeds = [1]\n', "seeds is set at the top of the sweep file"),
        ('[base]\nenv = "room-det"\n[grid]\nagents = [2, 0]\n', "run agents=0: agents must be a positive integer"),
        ('[base]\nenv = "nowhere"\n', "unknown environment 'nowhere'"),
        ('[base]\nenv = "room-det"\n[cluster]\nretries = -1\n', "retries must be a non-negative integer"),
        ("[base\n", "is not valid TOML"),
        ('[base]\nenv = "room-det"\n[cluster]\naddress = "auto"\n', "[cluster] takes no address"),
        ('[grid]\nenv = ["room-det", "gridworld-continuous"]\n', "mix continuous, tabular"),
    ],
)
def test_bad_sweep_files_are_refused_with_the_problem_named(tmp_path, text, message):
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    result = runner.invoke(app, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_an_address_without_ray_or_without_a_cluster_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "sweep.toml"
    path.write_text('[base]\nenv = "room-det"\nupdates = 4\n')
    command = ["sweep", str(path), "--out", str(tmp_path / "out"), "--address", "127.0.0.1:1"]
    if importlib.util.find_spec("ray") is not None:
        unreachable = runner.invoke(app, command)
        assert unreachable.exit_code == 2 and "cannot reach a Ray cluster at '127.0.0.1:1'" in unreachable.output
        suite = runner.invoke(app, ["reproduce", "--quick", "--out", str(tmp_path / "out"), "--address", "127.0.0.1:1"])
        assert suite.exit_code == 2 and "cannot reach a Ray cluster at '127.0.0.1:1'" in suite.output
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    missing = runner.invoke(app, command)
    assert missing.exit_code == 2 and "pip install 'pmaxent[ray]'" in missing.output
    assert not (tmp_path / "out").exists()


def test_sweep_json_records_the_sweep(sweep):
    _, out = sweep
    saved = json.loads((out / "sweep.json").read_text())
    assert saved["grid"] == {"lr": [0.05, 0.2]} and saved["seeds_per_run"] == 2


def test_the_cluster_page_lists_every_key_of_a_sweep_file():
    page = (Path(__file__).parents[1] / "docs" / "cluster.md").read_text()
    for field in dataclasses.fields(Cluster):
        if field.name != "address":
            assert f"| `{field.name}` |" in page, field.name
    example = page.split("```toml\n", 1)[1].split("```", 1)[0]
    spec = parse_sweep(tomllib.loads(example))
    assert {f.name for f in dataclasses.fields(SweepSpec)} <= set(tomllib.loads(example)) and len(expand(spec)) == 12
