"""Test session setup: the same XLA configuration as the CLI (a JAX device per core, fast compiles),
so sharded code paths are exercised and compile time stays low."""

from pmaxent.devices import use_all_cpu_cores

use_all_cpu_cores()
