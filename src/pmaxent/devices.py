"""Spreading work over devices: all CPU cores as JAX devices, and lanes sharded over them.

XLA runs the small operations of a tabular update on one thread, so on a CPU the second core
idles unless it is a JAX device of its own. ``use_all_cpu_cores`` asks XLA for one host device
per core; it must run before JAX initialises its backend (the CLI and benchmarks call it first
thing). ``shard_lanes`` then places independent runs (methods x seeds) across the devices, and
jit runs each device's share in parallel. On GPUs the same call shards over the GPUs.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"
_OPTIMISATION_FLAG = "--xla_backend_optimization_level"


def use_all_cpu_cores() -> None:
    """Expose every CPU core as a JAX host device, and compile at XLA's backend optimisation
    level 1, unless XLA_FLAGS already sets them. Level 1 halves the compile time of a training
    program here and its run time is unchanged (measured in benchmarks/bench_train.py)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if _DEVICE_COUNT_FLAG not in flags:
        flags = f"{flags} {_DEVICE_COUNT_FLAG}={os.cpu_count() or 1}"
    if _OPTIMISATION_FLAG not in flags:
        flags = f"{flags} {_OPTIMISATION_FLAG}=1"
    os.environ["XLA_FLAGS"] = flags.strip()


def shard_lanes(tree, lane_axes: int = 2):
    """Place a pytree whose leaves lead with lane axes [n_methods, n_seeds, ...] over the devices.

    Shards the first lane axis whose size the device count divides; leaves everything on one
    device when none does (or when there is one device).
    """
    devices = jax.devices()
    leaves = jax.tree.leaves(tree)
    if len(devices) < 2 or not leaves:
        return tree
    lane_shape = leaves[0].shape[:lane_axes]
    axis = next((i for i, size in enumerate(lane_shape) if size % len(devices) == 0), None)
    if axis is None:
        return tree
    mesh = Mesh(np.array(devices), ("lanes",))
    spec = PartitionSpec(*([None] * axis + ["lanes"]))
    return jax.device_put(tree, NamedSharding(mesh, spec))
