"""`pmaxent sweep`: every run of a sweep file trained (here, or as Ray tasks on a cluster) into
OUT/runs/NAME, then OUT/sweep.csv, OUT/measures.csv and OUT/report.md.

A run is trained and measured by its family (``Family.measure``: the continuous family's
yardstick of fresh rollouts, else the training metrics at the end) into RUN/final.csv. OUT/sweep.json
records the sweep's settings: a sweep interrupted on the driver continues with ``resume``, which
skips the finished runs and resumes the others from their last checkpoints.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from pmaxent.core.config import RunConfig
from pmaxent.core.tables import write_csv
from pmaxent.sweep.cluster import Job, check_address, run_jobs
from pmaxent.sweep.report import FINAL_FILE, write_final, write_report, write_tables
from pmaxent.sweep.spec import SweepSpec, expand

SWEEP_FILE = "sweep.json"
EXECUTIONS_FILE = "executions.csv"
"""Where (host and Ray node) and how long each run trained, and the update it resumed from (the runs done by the
last call)."""


def run_sweep(
    spec: SweepSpec, out_dir: str | Path, *, address: str | None = None, resume: bool = False, progress: bool = True
) -> Path:
    """Train every run of ``spec`` into ``out_dir`` (on the Ray cluster at ``address``, or here
    without one), write its tables and report; returns the report's path."""
    runs = expand(spec)
    out = Path(out_dir)
    cluster = dataclasses.replace(spec.cluster, address=address) if address else spec.cluster
    if cluster.address is not None:
        check_address(cluster.address)
    _prepare(out, spec, resume)
    jobs = [
        Job(run.name, (f"runs/{run.name}",), functools.partial(train_and_measure, run.config), FINAL_FILE)
        for run in runs
    ]
    records = run_jobs(jobs, out, cluster, progress=progress, label="runs")
    write_csv(out / EXECUTIONS_FILE, ("job", "host", "node", "resumed_from", "seconds"), records)
    rows = write_tables(out, runs)
    return write_report(out, spec, runs, rows)


def train_and_measure(config: RunConfig, run_dir: Path) -> None:
    """Train (or resume) ``config`` into ``run_dir`` and write its final measures (RUN/final.csv)."""
    from pmaxent import families

    run = families.run_training(config, run_dir, resume=True, progress=False, plot=False)
    write_final(run_dir, families.of_config(config).measure(run), config.seeds)


def _prepare(out: Path, spec: SweepSpec, resume: bool) -> None:
    settings = json.loads(json.dumps(spec.runs_settings()))
    path = out / SWEEP_FILE
    if path.exists():
        if not resume:
            raise FileExistsError(f"{out} already holds a sweep; pass --resume to continue it, or choose another OUT")
        if json.loads(path.read_text()) != settings:
            raise ValueError(
                f"{out} holds a sweep with other settings (see {path}); a sweep resumes with its own, or choose "
                "another OUT"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
