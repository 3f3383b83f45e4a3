"""Spreading work over devices: all CPU cores as JAX devices, and lanes sharded over them; and
JAX's persistent compilation cache, so a second run of the same command skips compilation.

XLA runs the small operations of a tabular update on one thread, so on a CPU the second core
idles unless it is a JAX device of its own. ``use_all_cpu_cores`` asks XLA for one host device
per core; it must run before JAX initialises its backend (the CLI and benchmarks call it first
thing). :class:`Lanes` then places independent runs (methods x seeds) across the devices, and
jit runs each device's share in parallel. On GPUs the same code shards over the GPUs.
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from pmaxent.core.programs import use_program_store

_DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"
_OPTIMISATION_FLAG = "--xla_backend_optimization_level"
_ISA_FLAG = "--xla_cpu_max_isa"
PORTABLE_X86_ISA = "AVX2"
"""The widest x86 instruction set XLA may compile for. XLA otherwise uses the widest the CPU has,
and AVX-512 code rounds differently from AVX2 code, so the same seed of the paper's reproduction
gave a different report on an AVX-512 machine than on an AVX2 one. Capped at AVX2, the AVX-512
machine gave the AVX2 machine's report, and the reproduction was no slower (docs/determinism.md;
the figures: docs/speed.md, Design measurements)."""


def use_all_cpu_cores() -> None:
    """Expose every CPU core as a JAX host device, compile at XLA's backend optimisation level 1
    and, on x86-64, for at most :data:`PORTABLE_X86_ISA`, unless XLA_FLAGS already sets them.
    Level 1 cuts the compile time of a training program and leaves its run time unchanged (the
    figures: docs/speed.md, Design measurements); the instruction-set cap makes a seed give the
    same numbers on every x86-64 machine with AVX2."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _DEVICE_COUNT_FLAG not in flags:
        flags = f"{flags} {_DEVICE_COUNT_FLAG}={os.cpu_count() or 1}"
    if _OPTIMISATION_FLAG not in flags:
        flags = f"{flags} {_OPTIMISATION_FLAG}=1"
    if _ISA_FLAG not in flags and platform.machine().lower() in ("x86_64", "amd64"):
        flags = f"{flags} {_ISA_FLAG}={PORTABLE_X86_ISA}"
    os.environ["XLA_FLAGS"] = flags.strip()


def describe_machine() -> dict:
    """What a benchmark's or report's figures depend on: the CPU (its model and widest x86 vector
    instruction set, which changes continuous runs' numbers: see docs/determinism.md),
    the JAX devices and JAX's version."""
    cpu, isa = platform.processor() or platform.machine(), None
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        fields = dict(line.split(":", 1) for line in cpuinfo.read_text().splitlines() if ":" in line)
        fields = {key.strip(): value.strip() for key, value in fields.items()}
        cpu = fields.get("model name", cpu)
        flags = set(fields.get("flags", "").split())
        isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "AVX" if "avx" in flags else None
    return {
        "processor": cpu,
        "isa": isa,
        "cores": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
        "jax": jax.__version__,
    }


CACHE_ENV = "PMAXENT_COMPILATION_CACHE"
"""Environment variable: the compilation cache's directory, or "off" to disable it."""


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/pmaxent/jax (~/.cache/pmaxent/jax by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pmaxent" / "jax"


def use_compilation_cache(directory: str | Path | None = None) -> Path | None:
    """Keep compiled XLA programs in ``directory`` (default: $PMAXENT_COMPILATION_CACHE, else
    :func:`default_cache_dir`) and reuse them in later processes. Every program is cached, however
    short its compile: most of pmaxent's take well under JAX's default threshold of one second,
    and together they are most of a short run's start-up. Beside it, in DIRECTORY-programs,
    :mod:`pmaxent.core.programs` keeps the training programs, found without tracing them. Returns the
    directory, or None when $PMAXENT_COMPILATION_CACHE is "off" (then nothing is changed). The
    cache is keyed by the program, the JAX version and the XLA flags, and the program store by
    pmaxent's source, the settings and the library versions, so neither returns a stale program."""
    path = cache_dir(directory)
    if path is None:
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    use_program_store(program_store_dir(path))
    return path


def cache_dir(directory: str | Path | None = None) -> Path | None:
    """The compilation cache's directory :func:`use_compilation_cache` uses: ``directory``, else
    $PMAXENT_COMPILATION_CACHE, else :func:`default_cache_dir`; None when that variable is "off"."""
    setting = os.environ.get(CACHE_ENV, "")
    if directory is None and setting.lower() in ("off", "0", "false", "no"):
        return None
    return Path(directory or setting or default_cache_dir()).expanduser()


def program_store_dir(cache: Path) -> Path:
    """The program store (:mod:`pmaxent.core.programs`) beside the compilation cache ``cache``."""
    return cache.with_name(cache.name + "-programs")


def cache_usage(directory: str | Path | None = None) -> dict[Path, tuple[int, int]]:
    """{directory: (files, bytes)} of the compilation cache and the program store ({} when the
    cache is off); a directory not yet made counts (0, 0). ``pmaxent cache`` prints it."""
    cache = cache_dir(directory)
    if cache is None:
        return {}
    usage = {}
    for path in (cache, program_store_dir(cache)):
        files = [f for f in path.rglob("*") if f.is_file()] if path.is_dir() else []
        usage[path] = (len(files), sum(f.stat().st_size for f in files))
    return usage


def clear_compilation_cache(directory: str | Path | None = None) -> tuple[int, int]:
    """Delete the compilation cache and the program store (neither is ever pruned: each distinct
    run config adds its programs); returns the (files, bytes) removed. ``pmaxent cache --clear``."""
    usage = cache_usage(directory)
    for path in usage:
        shutil.rmtree(path, ignore_errors=True)
    return sum(files for files, _ in usage.values()), sum(size for _, size in usage.values())


class Lanes:
    """Independent runs ("lanes", e.g. methods x seeds) flattened to one axis, padded to a
    multiple of the device count and sharded over the devices.

    Padding repeats lane 0, whose copies are computed and dropped: with 5 seeds on 2 cores,
    6 lanes on 2 devices beat 5 lanes on one. Fewer lanes than devices run on one device, whose
    operations XLA may spread over the cores: a single continuous run updates much faster there
    than padded to two devices (the figures: docs/speed.md, Design measurements).

    With a ``group`` of g, every device computes g lanes at once whatever the number of lanes:
    they are padded to a multiple of g per device and run group after group in one loop
    (:meth:`map_groups`), on every device even for a single lane. XLA's CPU code rounds a vmapped
    batch of one or two lanes differently from three or more, batches of other sizes may differ
    again, and so does a program on one device from one spread over two; training amplifies such a
    rounding difference into a different run within tens of updates. A fixed group keeps each
    lane's numbers independent of the lanes beside it (docs: determinism).

    Args:
        lane_shape: the leading lane axes of the trees to pack, e.g. (n_methods, n_seeds).
        group: lanes per device at once (0: all of them at once).
    """

    def __init__(self, lane_shape: tuple[int, ...], group: int = 0):
        self.lane_shape = tuple(lane_shape)
        self.n_lanes = int(np.prod(lane_shape))
        # a grouped run is always spread over every device: a program on one device computes differently
        self.devices = jax.devices() if self.n_lanes >= len(jax.devices()) or group else jax.devices()[:1]
        block = len(self.devices) * (group or 1)
        self.n_padded = -(-self.n_lanes // block) * block
        self.group = group or self.n_padded // len(self.devices)
        self.groups = self.n_padded // (len(self.devices) * self.group)
        self._grouped = bool(group)  # a grouped run's every group runs in the same loop, even a single one
        mesh = Mesh(np.array(self.devices), ("lanes",))
        self._sharding = NamedSharding(mesh, PartitionSpec("lanes"))
        self._pack = None

    def pack(self, tree):
        """Leaves [*lane_shape, ...] -> [n_padded, ...], sharded over the devices."""
        if (
            self._pack is None
        ):  # one program for the whole tree: leaf by leaf, each reshape and pad was a program of its own
            self._pack = jax.jit(
                lambda t: jax.tree.map(self._pad, t), out_shardings=self._sharding if len(self.devices) > 1 else None
            )
        return self._pack(tree)

    def _pad(self, x):
        flat = x.reshape((self.n_lanes,) + x.shape[len(self.lane_shape) :])
        if self.n_padded > self.n_lanes:
            flat = jnp.concatenate([flat, jnp.repeat(flat[:1], self.n_padded - self.n_lanes, axis=0)])
        return flat

    def map_groups(self, fn, *trees):
        """``fn`` (on trees of packed lanes [n, ...] -> trees [n, ...]) applied to ``group`` lanes
        per device at a time, one group after another (``jax.lax.map``), inside a jitted program."""
        if not self._grouped:
            return fn(*trees)
        devices, groups, group = len(self.devices), self.groups, self.group

        def split(x):  # [D * G * L] (device blocks) -> [G, D * L]: group g holds each device's g-th L lanes
            x = jnp.swapaxes(x.reshape((devices, groups, group) + x.shape[1:]), 0, 1)
            return x.reshape((groups, devices * group) + x.shape[3:])

        def join(x):
            x = jnp.swapaxes(x.reshape((groups, devices, group) + x.shape[2:]), 0, 1)
            return x.reshape((devices * groups * group,) + x.shape[3:])

        out = jax.lax.map(lambda args: fn(*args), jax.tree.map(split, trees))
        return jax.tree.map(join, out)

    def unpack(self, tree):
        """Leaves [n_padded, ...] -> [*lane_shape, ...] (padding dropped), on the host as NumPy
        arrays, except PRNG keys, which stay JAX arrays (slicing on the host runs no device
        program per leaf)."""

        def one(x):
            if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
                return x[: self.n_lanes].reshape(self.lane_shape + x.shape[1:])
            return np.asarray(x)[: self.n_lanes].reshape(self.lane_shape + x.shape[1:])

        return jax.tree.map(one, tree)
