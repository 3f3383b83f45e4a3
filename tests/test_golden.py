"""The trainer built from components reproduces the tabular results of the trainer before it, bit
for bit.

tests/golden/room-det-m6-500-updates.csv is the metrics.csv that `pmaxent train --env room-det
--agents 6 --updates 500 --seeds 0,1` wrote at commit c7b7185, before the trainer took its
environment, policy and estimator as components.
"""

from pathlib import Path

from typer.testing import CliRunner

from pmaxent.cli import app

GOLDEN = Path(__file__).parent / "golden" / "room-det-m6-500-updates.csv"


def test_cli_train_writes_the_metrics_of_the_trainer_before_components(tmp_path):
    result = CliRunner().invoke(app, ["train", "--env", "room-det", "--agents", "6", "--updates", "500", "--seeds", "0,1", "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "metrics.csv").read_text() == GOLDEN.read_text()
