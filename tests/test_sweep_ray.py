"""`pmaxent sweep --address` on a real Ray cluster: a head and a second node started with
`ray start` as processes of their own on this machine. A worker killed mid-run, a driver
interrupted mid-sweep and workers that do not share the driver's filesystem all end with the
results of the same sweep run here without Ray."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pmaxent.core.tables import read_csv
from pmaxent.sweep.spec import expand, read_sweep

pytest.importorskip("ray")
from bench_ray import local_ray_cluster, processes  # noqa: E402  (benchmarks/: it starts the same cluster)

if not Path("/proc/self/cmdline").exists():
    pytest.skip("finding Ray's worker processes reads /proc", allow_module_level=True)

# each run trains for a few seconds in checkpointed chunks, so that a worker can be killed between its checkpoints
SWEEP = """
seeds = [0, 1]
seeds_per_run = 1

[base]
env = "room-det"
agents = 2
batch_size = 400
updates = 4000
chunk = 200

[grid]
lr = [0.05, 0.2]
"""
LONG_SWEEP = SWEEP.replace("updates = 4000", "updates = 40000").replace("chunk = 200", "chunk = 2000")
"""Runs ten times as long: a quiet machine finishes SWEEP's in about the time a signal takes to land."""
RUNS = ("lr=0.05_seeds=0", "lr=0.05_seeds=1", "lr=0.2_seeds=0", "lr=0.2_seeds=1")
CLI = [sys.executable, "-c", "from pmaxent.cli import main; main()"]


@pytest.fixture(scope="module")
def cluster():
    """HOST:PORT of a head and a second node, one CPU each."""
    with local_ray_cluster([1, 1]) as address:
        yield address


@pytest.fixture(scope="module")
def environment(tmp_path_factory):
    """The sweeps' processes keep compiled programs in a cache of their own (the workers too): the
    runs compile once here, not in every task."""
    return {**os.environ, "PMAXENT_COMPILATION_CACHE": str(tmp_path_factory.mktemp("cache"))}


def _local_sweep(tmp_path_factory, environment, text: str) -> Path:
    path = tmp_path_factory.mktemp("local") / "sweep.toml"
    path.write_text(text)
    subprocess.run(
        [*CLI, "sweep", str(path), "--out", str(path.parent / "out"), "--quiet"], env=environment, check=True
    )
    return path.parent / "out"


@pytest.fixture(scope="module")
def local(tmp_path_factory, environment):
    """The sweep run here without Ray."""
    return _local_sweep(tmp_path_factory, environment, SWEEP)


@pytest.fixture(scope="module")
def local_long(tmp_path_factory, environment):
    """The long sweep run here without Ray."""
    return _local_sweep(tmp_path_factory, environment, LONG_SWEEP)


def _assert_same_results(out: Path, local: Path) -> None:
    for name in RUNS:
        for file in ("final.csv", "metrics.csv", "config.json"):
            assert (out / "runs" / name / file).read_bytes() == (local / "runs" / name / file).read_bytes(), name
        with (
            np.load(out / "runs" / name / "params.npz") as ray_params,
            np.load(local / "runs" / name / "params.npz") as ours,
        ):
            assert sorted(ray_params.files) == sorted(ours.files)
            for key in ours.files:
                np.testing.assert_array_equal(ray_params[key], ours[key])
    for file in ("sweep.csv", "measures.csv", "report.md"):
        assert (out / file).read_text() == (local / file).read_text()


INTERRUPTIBLE_CLI = [
    sys.executable,
    "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); from pmaxent.cli import main; main()",
]
"""The CLI with Ctrl-C raising KeyboardInterrupt, as in a terminal, even where this process was started with
SIGINT ignored (a background job of a shell without job control), which its children would inherit."""


def _sweep(path: Path, out: Path, address: str, environment: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*INTERRUPTIBLE_CLI, "sweep", str(path), "--out", str(out), "--address", address, "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )


def _wait_for_checkpoint(out: Path, sweep: subprocess.Popen) -> str:
    """The name of the first run found between two checkpoints (not finished)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sweep.poll() is None:
        for name in RUNS:
            if (out / "runs" / name / "checkpoint.npz").exists() and not (out / "runs" / name / "final.csv").exists():
                return name
        time.sleep(0.02)
    pytest.fail(f"no run checkpointed before the sweep ended: {sweep.communicate()[0]}")


def test_a_worker_killed_mid_run_resumes_and_the_sweep_equals_the_local_one(cluster, local, environment, tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP)
    out = tmp_path / "out"
    sweep = _sweep(path, out, cluster, environment)
    name = _wait_for_checkpoint(out, sweep)
    (worker,) = [pid for pid, (_, cmdline) in processes().items() if cmdline.strip() == f"ray::{name}"]
    os.kill(worker, signal.SIGKILL)
    output = sweep.communicate(timeout=180)[0]
    assert sweep.returncode == 0, output
    executions = {row["job"]: row for row in read_csv(out / "executions.csv")}
    assert int(executions[name]["resumed_from"]) >= 200, executions[name]  # the retry resumed from a checkpoint
    assert len({row["node"] for row in executions.values()}) == 2  # both nodes trained runs
    _assert_same_results(out, local)


def _interrupt(sweep: subprocess.Popen) -> str:
    """Ctrl-C on the driver, pressed again every few seconds while it runs (a signal that lands while
    Ray's client is busy can go unseen, as a user's first Ctrl-C can); its output."""
    for _ in range(30):
        sweep.send_signal(signal.SIGINT)
        try:
            return sweep.communicate(timeout=5)[0]
        except subprocess.TimeoutExpired:
            continue
    return sweep.communicate(timeout=180)[0]


def test_a_sweep_interrupted_on_the_driver_continues_with_resume(cluster, local_long, environment, tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(LONG_SWEEP)
    for attempt in range(3):  # on a loaded machine the runs may end before the signal lands: try again
        out = tmp_path / f"out-{attempt}"
        sweep = _sweep(path, out, cluster, environment)
        _wait_for_checkpoint(out, sweep)
        output = _interrupt(sweep)
        if sweep.returncode != 0 or not (out / "sweep.csv").exists():
            break
    assert sweep.returncode == 2 and "--resume" in output, output
    assert not (out / "sweep.csv").exists()
    resumed = _sweep(path, out, cluster, environment, "--resume")
    output = resumed.communicate(timeout=180)[0]
    assert resumed.returncode == 0, output
    _assert_same_results(out, local_long)


def test_workers_without_the_drivers_filesystem_return_the_runs(cluster, local, environment, tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP + "\n[cluster]\nshared_filesystem = false\n")
    out = tmp_path / "out"
    sweep = _sweep(path, out, cluster, environment)
    output = sweep.communicate(timeout=180)[0]
    assert sweep.returncode == 0, output
    assert not list(out.glob("runs/*/checkpoint.npz"))
    _assert_same_results(out, local)
    assert [run.name for run in expand(read_sweep(path))] == list(RUNS)


def test_the_tuning_stage_on_the_cluster_equals_the_tuning_here(cluster, tmp_path):
    """Settings that share a program train as one task (several run directories): the continuous
    suite's tuning stage with --address."""
    from pmaxent.continuous.config import ContinuousTrainConfig
    from pmaxent.continuous.evaluation import YardstickConfig
    from pmaxent.continuous.tuning import SearchSpace, TuningConfig, tune

    base = ContinuousTrainConfig(agents=2, horizon=30, k=4, hidden=(8, 8), updates=3, chunk=3, batch_size=2)
    tuning = TuningConfig(SearchSpace(lr=(1e-3, 1e-2), lr_decay=(1.0,), log_std_init=(-1.0,), k=(4,)), budget=2)
    here = tune(base, tuning, tmp_path / "here", YardstickConfig(samples=2, k=5), progress=False)
    there = tune(base, tuning, tmp_path / "there", YardstickConfig(samples=2, k=5), progress=False, address=cluster)
    assert there == here
    names = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").glob("*/metrics.csv"))
    assert len(names) == 2  # the two settings, one task
    for name in names:
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
