"""Test session setup: the same XLA configuration as the CLI (a JAX device per core, fast compiles),
so sharded code paths are exercised and compile time stays low; no persistent compilation cache
(the tests that check it give it a directory of their own), so every test compiles what it runs."""

import os

os.environ["PMAXENT_COMPILATION_CACHE"] = "off"

from pmaxent.devices import use_all_cpu_cores  # noqa: E402

use_all_cpu_cores()
