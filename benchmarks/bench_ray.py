"""The overhead of a Ray task: the same small sweep run here without Ray and through a local Ray
cluster (started here with `ray start`, stopped at the end), at several seeds per run.

    python benchmarks/bench_ray.py --cpus 1 --seeds-per-run 1,2,4,8

Every sweep is ``--settings`` settings of the step size x ``--seeds`` seeds of a tabular run
(room-det, m = 4, B = 40, ``--updates`` updates), ``--seeds-per-run`` of them vmapped in one
run. With ``--cpus 1`` the cluster runs one task at a time, as the local sweep runs one run at a
time, and Ray's wall time - the local wall time is what Ray adds: a fixed cost (connecting, the
first worker's start) and a cost per task, fitted by least squares over the seeds-per-run
rows. Both use a warm compilation cache of their own (a first local sweep fills it). It prints one
line per seeds-per-run (runs, local wall, Ray wall, their difference per task, the mean time
inside a task) and the fit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

SWEEP = """
seeds = {seeds}
seeds_per_run = {per_run}

[base]
env = "room-det"
agents = 4
batch_size = 40
updates = {updates}
chunk = {updates}

[grid]
lr = {lrs}
"""


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process (Linux)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            found[int(entry.name)] = (parent, cmdline)
    return found


def stop_cluster(temp_dir: str) -> None:
    """Stop the Ray processes of the cluster whose temp dir is ``temp_dir`` (those naming it, and
    their children), not any other Ray on the machine as `ray stop` would."""
    found = processes()
    caller, pid = set(), os.getpid()
    while pid in found and pid not in caller:  # this process and its parents may name the directory too
        caller.add(pid)
        pid = found[pid][0]
    ours = {pid for pid, (_, cmdline) in found.items() if temp_dir in cmdline} - caller
    while children := {pid for pid, (parent, _) in found.items() if parent in ours} - ours:
        ours |= children
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in ours:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in ours):
            time.sleep(0.2)


@contextlib.contextmanager
def local_ray_cluster(cpus: list[int]) -> Iterator[str]:
    """HOST:PORT of a Ray cluster on this machine: a head and one more node per further entry of
    ``cpus`` (each node's CPUs), every one a `ray start` of its own; stopped on exit."""
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    ray = str(Path(sys.executable).with_name("ray"))
    try:
        for i, count in enumerate(cpus):
            where = ["--head", "--port", str(port), "--temp-dir", temp_dir, "--include-dashboard", "false"]
            command = [ray, "start", *(where if i == 0 else ["--address", address])]
            subprocess.run(
                [*command, "--num-cpus", str(count), "--disable-usage-stats"], check=True, capture_output=True
            )
        yield address
    finally:
        stop_cluster(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def sweep(path: Path, out: Path, address: str | None) -> float:
    """Wall seconds of `pmaxent sweep` as a process of its own."""
    command = [sys.executable, "-c", "from pmaxent.cli import main; main()", "sweep", str(path), "--out", str(out)]
    started = time.perf_counter()
    subprocess.run([*command, "--quiet", *(["--address", address] if address else [])], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, default=1, help="CPUs of the cluster's one node (default 1)")
    parser.add_argument("--seeds-per-run", default="1,2,4,8", help="comma-separated (default 1,2,4,8)")
    parser.add_argument("--seeds", type=int, default=8, help="seeds per setting (default 8)")
    parser.add_argument("--settings", type=int, default=2, help="step sizes swept (default 2)")
    parser.add_argument("--updates", type=int, default=500, help="updates per run (default 500)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    os.environ["PMAXENT_COMPILATION_CACHE"] = str(work / "cache")
    lrs = [round(0.05 * (i + 1), 2) for i in range(args.settings)]
    tasks, added = [], []
    with local_ray_cluster([args.cpus]) as address:
        print(f"{'seeds/run':>9} {'runs':>5} {'local s':>8} {'Ray s':>7} {'overhead/task s':>15} {'in task s':>9}")
        for per_run in map(int, args.seeds_per_run.split(",")):
            path = work / f"sweep-{per_run}.toml"
            text = SWEEP.format(seeds=list(range(args.seeds)), per_run=per_run, updates=args.updates, lrs=lrs)
            path.write_text(text)
            sweep(path, work / f"warm-{per_run}", None)
            local = sweep(path, work / f"local-{per_run}", None)
            on_ray = sweep(path, work / f"ray-{per_run}", address)
            rows = (work / f"ray-{per_run}" / "executions.csv").read_text().splitlines()[1:]
            inside = sum(float(row.split(",")[-1]) for row in rows) / len(rows)
            runs = len(rows)
            overhead = (on_ray - local) / runs
            print(f"{per_run:>9} {runs:>5} {local:>8.1f} {on_ray:>7.1f} {overhead:>15.2f} {inside:>9.2f}", flush=True)
            tasks.append(runs)
            added.append(on_ray - local)
    per_task, fixed = np.polyfit(tasks, added, 1)
    print(f"Ray adds {fixed:.2f} s per sweep and {per_task:.3f} s per task")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
