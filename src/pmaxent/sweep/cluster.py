"""Independent runs on this machine, one after another, or as Ray tasks on a cluster: the engine
under `pmaxent sweep`, the suites' training stages and the continuous tuning stage.

A :class:`Job` fills run directories under a root directory (one run, or the settings of a tuning
grid trained as lanes of one program). :func:`run_jobs` does the jobs not yet done, on this
machine without Ray, or, given a :class:`Cluster` with an address, as one Ray task each:

- a task asks Ray for the CPUs, memory and GPUs of :class:`Cluster`;
- its JAX process gets this process's XLA flags, so that a run is sharded over as many devices as
  here and gives the numbers it gives here (docs: determinism);
- where the worker sees the root directory at the same path (a shared filesystem, recognised by a
  token the driver writes there) it trains in place, checkpointing as it goes, and a task whose
  worker dies is run again by Ray and resumes from the run's last checkpoint. Elsewhere it trains
  in a directory of its node's and returns the run directories' files, which the driver writes; a
  task run again after its worker died resumes only if Ray places it on the same node.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pmaxent.core.config import check_positive_int

RAY_MISSING = "running on a Ray cluster needs Ray: pip install 'pmaxent[ray]'"
TOKEN_FILE = ".pmaxent-cluster-token"
"""Written into the root directory by the driver: a worker that reads the same token shares its filesystem."""
_DEVICE_COUNT = re.compile(r"--xla_force_host_platform_device_count=\d+")


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Where independent runs go and what each asks for. Its fields but ``address`` are the ``[cluster]``
    keys of a sweep file; their defaults and docstrings make the table of docs/cluster.md
    (``python tools/config_tables.py``)."""

    address: str | None = None
    """Ray cluster: 'auto' (the one `ray start` runs on this machine), HOST:PORT or ray://HOST:PORT; none: this
    machine, one run after another, without Ray."""
    cpus_per_run: float = 1.0
    """CPUs Ray reserves for each run."""
    memory_per_run: float | None = None
    """Gigabytes of memory Ray reserves for each run."""
    gpus_per_run: float = 0.0
    """GPUs Ray reserves for each run."""
    devices: int | None = None
    """JAX CPU devices each run is sharded over (default: this machine's device count)."""
    retries: int = 3
    """Times Ray runs a run again after its worker died."""
    shared_filesystem: bool | None = None
    """Whether the workers see the output directory at the same path (default: each task checks)."""

    def __post_init__(self):
        if self.address is not None and (not isinstance(self.address, str) or not self.address.strip()):
            raise ValueError(f"address must be 'auto', HOST:PORT or ray://HOST:PORT; got {self.address!r}")
        for name in ("cpus_per_run", "gpus_per_run", "memory_per_run"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"{name} must be a non-negative number; got {value!r}")
        if self.cpus_per_run <= 0:
            raise ValueError(f"cpus_per_run must be positive; got {self.cpus_per_run!r}")
        check_positive_int("devices", self.devices, optional=True)
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be a non-negative integer; got {self.retries!r}")


@dataclasses.dataclass(frozen=True)
class Job:
    """Work that fills run directories: ``work(*run_dirs)`` trains into them, resuming what they hold."""

    name: str
    """Shown by the progress display, by Ray's task list and in errors."""
    dirs: tuple[str, ...]
    """The run directories it fills, relative to the root directory."""
    work: Callable[..., object]
    """Called with the run directories (paths, in the order of ``dirs``); it must resume what they hold."""
    done_file: str | None = None
    """The file every one of its run directories holds once the job is done (default: the run's parameters)."""

    def done(self, root: Path) -> bool:
        from pmaxent.core.runs import PARAMS_FILE

        return all((root / d / (self.done_file or PARAMS_FILE)).exists() for d in self.dirs)


def run_jobs(
    jobs: Sequence[Job], root: str | Path, cluster: Cluster = Cluster(), progress: bool = True, label: str = "runs"
) -> list[dict]:
    """Do the ``jobs`` whose run directories under ``root`` are not done yet (on ``cluster``, or here
    without an address), with one progress display for all of them.

    Returns one record per job done now, in the order of ``jobs``: {"job", "host", "node" (the Ray
    node's id; empty here), "resumed_from" (updates its first run directory's checkpoint held when
    it started), "seconds" (inside the task)}. Here the first job that fails stops the others; on
    a cluster the others finish, then the failures are raised together (ValueError).
    """
    from pmaxent.core.progress import progress_bar

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    pending = [job for job in jobs if not job.done(root)]
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError("jobs need distinct names")
    with progress_bar(len(jobs), label, enabled=progress, unit=label) as bar:
        bar.advance(len(jobs) - len(pending))
        if cluster.address is None:
            records = []
            for job in pending:
                records.append(_task(job, str(root), "", True, False))
                bar.advance()
            return records
        return _run_on_ray(pending, root, cluster, bar)


def _run_on_ray(jobs: list[Job], root: Path, cluster: Cluster, bar) -> list[dict]:
    ray = connect(cluster.address)
    token = secrets.token_hex(16)
    (root / TOKEN_FILE).write_text(token)
    task = ray.remote(_task)
    options = {
        "num_cpus": cluster.cpus_per_run,
        "num_gpus": cluster.gpus_per_run,
        "max_retries": cluster.retries,
        "runtime_env": {"env_vars": worker_environment(cluster.devices)},
    }
    if cluster.memory_per_run:
        options["memory"] = int(cluster.memory_per_run * 1e9)
    absolute = str(root.resolve())
    try:
        pending = {
            task.options(name=job.name, **options).remote(
                job, absolute, token, cluster.shared_filesystem, compilation_cache_on()
            ): job
            for job in jobs
        }
        records, failures = [], []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(ready[0])
            try:
                record = ray.get(ready[0])
            except ray.exceptions.RayTaskError as error:
                failures.append(f"{job.name} failed: {error.cause!r}")
            except ray.exceptions.RayError as error:
                failures.append(f"{job.name} failed after {cluster.retries} retries: {type(error).__name__}")
            else:
                files = record.pop("files")
                if files is not None:
                    write_files(root, job.dirs, files)
                records.append(record)
            bar.advance()
        if failures:
            raise ValueError(f"{len(failures)} of {len(jobs)} runs failed; " + "; ".join(failures))
        order = {job.name: i for i, job in enumerate(jobs)}
        return sorted(records, key=lambda record: order[record["job"]])
    finally:
        ray.shutdown()
        (root / TOKEN_FILE).unlink(missing_ok=True)


def check_address(address: str) -> None:
    """Refuse, with a ValueError naming the problem, an address without Ray installed here or a
    HOST:PORT nobody listens on (Ray itself keeps trying for minutes)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as error:
        raise ValueError(f"cannot reach a Ray cluster at {address!r}: {error}") from None


def connect(address: str):
    """Ray, connected to the cluster at ``address``; ValueError naming the problem otherwise."""
    check_address(address)
    import ray

    if ray.is_initialized():
        ray.shutdown()
    try:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR", configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ValueError(f"cannot reach a Ray cluster at {address!r}: {error}") from None
    return ray


def worker_environment(devices: int | None = None) -> dict[str, str]:
    """Environment variables of the workers' processes: this process's XLA flags (with ``devices``
    JAX CPU devices when given) and compilation cache setting."""
    from pmaxent.core.devices import CACHE_ENV, use_all_cpu_cores

    use_all_cpu_cores()
    flags = os.environ["XLA_FLAGS"]
    if devices is not None:
        flags = _DEVICE_COUNT.sub(f"--xla_force_host_platform_device_count={devices}", flags)
    environment = {"XLA_FLAGS": flags}
    if CACHE_ENV in os.environ:
        environment[CACHE_ENV] = os.environ[CACHE_ENV]
    return environment


def compilation_cache_on() -> bool:
    """Whether this process keeps compiled programs (then the workers keep theirs)."""
    import jax

    return bool(jax.config.jax_compilation_cache_dir)


def _task(job: Job, root: str, token: str, shared: bool | None, compilation_cache: bool) -> dict:
    """One job, on this machine or in a Ray worker (the record :func:`run_jobs` returns, with the
    run directories' files where the worker does not share the driver's filesystem)."""
    started = time.perf_counter()
    if compilation_cache:
        from pmaxent.core.devices import use_compilation_cache

        use_compilation_cache()
    if shared is None:
        shared = _reads_token(Path(root), token)
    base = Path(root) if shared else Path(tempfile.gettempdir()) / "pmaxent-cluster" / token
    dirs = [base / d for d in job.dirs]
    resumed_from = checkpoint_updates(dirs[0])
    job.work(*dirs)
    files = None if shared else read_files(base, job.dirs)
    if not shared:
        for d in dirs:
            shutil.rmtree(d)
    seconds = round(time.perf_counter() - started, 3)
    node = _ray_node() if token else ""
    return {"job": job.name, "host": platform.node(), "node": node, "resumed_from": resumed_from, "seconds": seconds,
            "files": files}  # fmt: skip


def _ray_node() -> str:
    """The Ray node this task runs on (its id's first 12 digits)."""
    import ray

    return ray.get_runtime_context().get_node_id()[:12]


def checkpoint_updates(run_dir: Path) -> int:
    """The updates done by the checkpoint in ``run_dir`` (0 without one): the length of the metrics
    :func:`pmaxent.core.runs.save_checkpoint` keeps in it (as metric_NAME, updates last)."""
    from pmaxent.core.runs import CHECKPOINT_FILE

    path = run_dir / CHECKPOINT_FILE
    if not path.exists():
        return 0
    with np.load(path) as data:
        return next((data[name].shape[-1] for name in data.files if name.startswith("metric_")), 0)


def _reads_token(root: Path, token: str) -> bool:
    try:
        return (root / TOKEN_FILE).read_text() == token
    except OSError:
        return False


def read_files(base: Path, dirs: Sequence[str]) -> dict[str, bytes]:
    """{path relative to ``base``: contents} of every file under the run directories ``dirs``."""
    return {
        str(path.relative_to(base)): path.read_bytes()
        for d in dirs
        for path in sorted((base / d).rglob("*"))
        if path.is_file()
    }


def write_files(root: Path, dirs: Sequence[str], files: dict[str, bytes]) -> None:
    """Replace the run directories ``dirs`` under ``root`` by ``files`` (as :func:`read_files` gives
    them): each is written beside it and swapped in whole."""
    for d in dirs:
        staging = root / f"{d}.incoming"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        prefix = str(Path(d)) + os.sep
        for name, contents in files.items():
            if name.startswith(prefix):
                path = staging / name[len(prefix) :]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(contents)
        target = root / d
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
