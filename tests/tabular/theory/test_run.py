"""The iterations-to-eps experiment and the CLI (``pmaxent.tabular.theory.run``), against independent ground truth.

Expected numbers are worked out by hand (in the comments), by exact enumeration, or by brute
force over every deterministic policy of a tiny MDP; none is produced by the code under test.
"""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from pmaxent.tabular.theory import iterations_to_eps

# ------------------------------------------------------------------ experiment and CLI


def test_iterations_table_and_csv(tmp_path):
    path = tmp_path / "table.csv"
    rows = iterations_to_eps(
        ("room-det",), (1, 2), eps=0.1, tuned_steps=(0.1,), max_iterations=150, theorem_max_iterations=5, csv_path=path
    )
    assert [(r["n_agents"], r["step_rule"]) for r in rows] == [
        (1, "theorem"),
        (1, "tuned"),
        (2, "theorem"),
        (2, "tuned"),
    ]
    theorem = [r for r in rows if r["step_rule"] == "theorem"]
    assert all(not r["reached"] and r["iterations"] is None for r in theorem)
    assert theorem[1]["eta"] == pytest.approx(2 * theorem[0]["eta"])
    tuned = [r for r in rows if r["step_rule"] == "tuned"]
    assert all(r["reached"] and 0 < r["iterations"] <= 150 for r in tuned)
    assert all(r["entropy_at_stop"] >= r["optimum"] - 0.1 for r in tuned)
    with path.open() as handle:
        written = list(csv.DictReader(handle))
    assert [w["iterations"] for w in written if w["step_rule"] == "theorem"] == ["not reached", "not reached"]


def test_cli_frank_wolfe_writes_figure_and_csv(tmp_path):
    from pmaxent.tabular.theory.cli import app

    result = CliRunner().invoke(
        app,
        [
            "frank-wolfe",
            "--out",
            str(tmp_path),
            "--envs",
            "room-det",
            "--agents",
            "1,2",
            "--steps",
            "0.1",
            "--iterations",
            "100",
            "--theorem-iterations",
            "3",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "frank_wolfe.png").stat().st_size > 0
    assert (tmp_path / "iterations_to_eps.csv").exists()
    bad = CliRunner().invoke(app, ["frank-wolfe", "--out", str(tmp_path), "--agents", "one"])
    assert bad.exit_code != 0
