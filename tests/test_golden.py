"""The trainer built from components reproduces the tabular results of the trainer before it.

tests/golden/room-det-m6-300-updates.csv is the metrics.csv that `pmaxent train --env room-det
--agents 6 --updates 300 --seeds 0,1 --chunk 100` wrote at commit c7b7185, before the trainer took
its environment, policy and estimator as components. Random numbers are drawn exactly as then, so
every trajectory is the same: the support and per-agent entropy columns, functions of the visited
states only, match to the last printed digit. XLA fuses the new program differently, which moves
the team entropy and hence the parameters by float32 rounding (<= 4e-7 in the tables): those
columns agree to 1e-5.
"""

import csv
from pathlib import Path

import numpy as np

from pmaxent.cli import app
from typer.testing import CliRunner

GOLDEN = Path(__file__).parent / "golden" / "room-det-m6-300-updates.csv"


def _columns(path: Path) -> dict[str, np.ndarray]:
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


def test_cli_train_writes_the_metrics_of_the_trainer_before_components(tmp_path):
    result = CliRunner().invoke(app, ["train", "--env", "room-det", "--agents", "6", "--updates", "300", "--seeds", "0,1", "--chunk", "100", "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    got, golden = _columns(tmp_path / "run" / "metrics.csv"), _columns(GOLDEN)
    assert list(got) == list(golden)
    for name in ("method", "seed", "update", "support", "agent_entropy"):
        np.testing.assert_array_equal(got[name], golden[name], err_msg=name)
    for name in ("entropy", "normalized_entropy", "diversity"):
        np.testing.assert_allclose(got[name].astype(float), golden[name].astype(float), rtol=1e-5, err_msg=name)
