"""The command line as a user meets it."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmaxent.cli import app

runner = CliRunner()


def test_train_writes_a_run_directory(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "train",
            "--env",
            "maze-stoc",
            "-m",
            "2",
            "--updates",
            "40",
            "--batch",
            "8",
            "--seeds",
            "3,4",
            "--chunk",
            "20",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "parallel" in result.output and "normalized entropy" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["env"] == "maze-stoc" and config["seeds"] == [3, 4]
    assert (out / "metrics.csv").read_text().count("\n") == 1 + 3 * 2 * 40
    assert (out / "params.npz").exists() and (out / "learning_curve.png").exists()


def test_an_interrupted_run_resumes_with_its_own_settings_from_out_and_resume_alone(tmp_path, interruption):
    options = [
        "--env",
        "maze-det",
        "-m",
        "2",
        "--updates",
        "40",
        "--batch",
        "8",
        "--seeds",
        "5",
        "--lr",
        "0.2",
        "--chunk",
        "20",
        "--quiet",
    ]
    reference = tmp_path / "reference"
    assert runner.invoke(app, ["train", *options, "--out", str(reference)]).exit_code == 0
    interruption.start()
    out = tmp_path / "interrupted"
    stopped = runner.invoke(app, ["train", *options, "--out", str(out)])
    assert stopped.exit_code == 2 and f"pmaxent train --out {out} --resume" in stopped.output
    interruption.stop()
    refused = runner.invoke(app, ["train", "--out", str(out), "--resume", "--lr", "0.1", "--agents", "2"])
    assert (
        refused.exit_code == 2 and "started with lr = 0.2, not 0.1" in refused.output and "agents" not in refused.output
    )
    resumed = runner.invoke(app, ["train", "--out", str(out), "--resume", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert (out / "metrics.csv").read_text() == (reference / "metrics.csv").read_text()


def test_cache_shows_and_clears_the_programs_kept_between_runs(tmp_path, monkeypatch):
    cache, store = tmp_path / "jax", tmp_path / "jax-programs"
    (cache / "sub").mkdir(parents=True)
    (cache / "sub" / "entry").write_bytes(b"x" * 1500)
    store.mkdir()
    (store / "train-chunk-0.pkl").write_bytes(b"y" * 2_500_000)
    monkeypatch.setenv("PMAXENT_COMPILATION_CACHE", str(cache))
    shown = runner.invoke(app, ["--no-compile-cache", "cache"])  # (the option keeps this test process's JAX settings)
    assert shown.exit_code == 0, shown.output
    assert (
        f"compilation cache: {cache} (1 files, 0.0 MB)" in shown.output
        and f"program store: {store} (1 files, 2.5 MB)" in shown.output
    )
    cleared = runner.invoke(app, ["--no-compile-cache", "cache", "--clear"])
    assert cleared.exit_code == 0 and "removed 2 files (2.5 MB)" in cleared.output
    assert not cache.exists() and not store.exists()
    monkeypatch.setenv("PMAXENT_COMPILATION_CACHE", "off")
    assert "the compilation cache is off" in runner.invoke(app, ["--no-compile-cache", "cache"]).output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--batch", "-3"], "batch_size must be a positive integer"),
        (["--agents", "0"], "agents must be a positive integer"),
        (["--env", "lava"], "valid names: room-det"),
        (["--lr", "nan"], "lr must be finite and positive"),
        (["--seeds", "a,b"], "--seeds must be comma-separated integers"),
        (["--method", "greedy"], "unknown method"),
    ],
)
def test_train_bad_input_names_the_problem(tmp_path, args, message):
    result = runner.invoke(app, ["train", "--updates", "5", "--out", str(tmp_path / "x"), "--quiet", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_show_draws_a_map(tmp_path):
    result = runner.invoke(app, ["show", "room-det", "-o", str(tmp_path / "room.png")])
    assert result.exit_code == 0, result.output
    assert "43 cells, start 27" in result.output
    assert (tmp_path / "room.png").stat().st_size > 2000


def test_show_custom_map_and_bad_map(tmp_path):
    good = tmp_path / "corridor.txt"
    good.write_text("SFFF\n")
    assert runner.invoke(app, ["show", "x", "--map", str(good), "-o", str(tmp_path / "c.png")]).exit_code == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("SFF\nFF\n")
    result = runner.invoke(app, ["show", "x", "--map", str(bad), "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 2 and "ragged map" in result.output


def test_train_collect_offline_end_to_end(tmp_path, monkeypatch):
    """As a user types it: a run directory relative to the working directory."""
    import csv

    from pmaxent.cli import app as full_app

    monkeypatch.chdir(tmp_path)
    out = Path("runs") / "run"
    assert (
        runner.invoke(
            full_app,
            [
                "train",
                "-m",
                "2",
                "--updates",
                "30",
                "--batch",
                "8",
                "--seeds",
                "0,1",
                "--chunk",
                "30",
                "--method",
                "parallel",
                "--method",
                "single",
                "--out",
                str(out),
                "--quiet",
            ],
        ).exit_code
        == 0
    )
    collected = runner.invoke(full_app, ["collect", str(out), "--quiet"])
    assert collected.exit_code == 0, collected.output
    assert {row["method"] for row in csv.DictReader(open(out / "datasets.csv"))} == {"parallel", "single", "random"}
    again = runner.invoke(full_app, ["collect", str(out), "--quiet"])
    assert again.exit_code != 0 and "already exist" in again.output
    offline = runner.invoke(full_app, ["offline", str(out), "--variant", "paper", "--quiet"])
    assert offline.exit_code == 0, offline.output
    rows = list(csv.DictReader(open(out / "offline.csv")))
    assert len(rows) == 3 * 2 * 42  # families x seeds x goals of room-det
    assert (out / "figures" / "fig3_offline_success_paper.png").exists()


def test_python_api_exposes_every_cli_job():
    import pmaxent

    for name in ("make", "TrainConfig", "run_training", "collect_run", "evaluate_run", "run_theory", "reproduce"):
        assert callable(getattr(pmaxent, name))


@pytest.mark.parametrize(
    "command, message",
    [
        (["train", "--env", "lava"], "valid names"),
        (["show", "lava"], "lava"),
        (["collect", "{empty}"], "config.json"),
        (["offline", "{empty}"], "config.json"),
        (["theory", "frank-wolfe", "--envs", "lava"], "unknown environment"),
        (["reproduce", "--suite", "tabular-lava"], "tabular-lava"),
    ],
)
def test_every_subcommand_exits_with_the_documented_status_on_bad_input(tmp_path, command, message):
    from pmaxent.cli.errors import BAD_INPUT

    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app,
        [arg.format(empty=tmp_path / "empty") for arg in command]
        + ["--out", str(tmp_path / "out")] * (command[0] in ("train", "theory", "reproduce")),
    )
    assert result.exit_code == BAD_INPUT, result.output
    assert message in result.output
