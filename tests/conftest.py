"""Test session setup: the same XLA configuration as the CLI (a JAX device per core, fast compiles),
so sharded code paths are exercised and compile time stays low; no persistent compilation cache
(the tests that check it give it a directory of their own), so every test compiles what it runs."""

import os

os.environ["PMAXENT_COMPILATION_CACHE"] = "off"

from pmaxent.core.devices import use_all_cpu_cores

use_all_cpu_cores()

import pytest  # noqa: E402


class Interruption:
    """Stops training like a Ctrl-C right after its first checkpoint: ``start()`` makes
    ``pmaxent.core.runs.save_checkpoint`` raise KeyboardInterrupt once it has written, ``stop()``
    lets runs finish again."""

    def __init__(self, monkeypatch):
        from pmaxent.core import runs

        self._monkeypatch, self._runs, self._save = monkeypatch, runs, runs.save_checkpoint

    def start(self):
        def save_then_interrupt(*args):
            self._save(*args)
            raise KeyboardInterrupt

        self._monkeypatch.setattr(self._runs, "save_checkpoint", save_then_interrupt)

    def stop(self):
        self._monkeypatch.setattr(self._runs, "save_checkpoint", self._save)


@pytest.fixture
def interruption(monkeypatch):
    return Interruption(monkeypatch)
