"""The trainer built from components reproduces the tabular results of the trainer before it: the
same rows, and values equal to the printed precision on the machine that wrote the golden file,
within a relative 2e-5 on others. The golden file was written before pmaxent capped XLA's x86
instruction set at AVX2 (pmaxent.core.devices.PORTABLE_X86_ISA); AVX2 code differs from it in the sixth
significant digit, at most 6e-6 relative.

tests/golden/room-det-m6-500-updates.csv is the metrics.csv that `pmaxent train --env room-det
--agents 6 --updates 500 --seeds 0,1` wrote at commit c7b7185, before the trainer took its
environment, policy and estimator as components.
"""

import csv
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from pmaxent.cli import app

GOLDEN = Path(__file__).parent / "golden" / "room-det-m6-500-updates.csv"


def test_cli_train_writes_the_metrics_of_the_trainer_before_components(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--env",
            "room-det",
            "--agents",
            "6",
            "--updates",
            "500",
            "--seeds",
            "0,1",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    written, golden = (list(csv.reader(path.open())) for path in (tmp_path / "run" / "metrics.csv", GOLDEN))
    assert written[0] == golden[0] and [row[:3] for row in written] == [row[:3] for row in golden]
    values = [np.array([[float(v) for v in row[3:]] for row in rows[1:]]) for rows in (written, golden)]
    np.testing.assert_allclose(values[0], values[1], rtol=2e-5, atol=1e-9)
