"""pmaxent: parallel maximum state entropy exploration (De Paola et al., ICML 2025) in JAX.

The Python API does everything the ``pmaxent`` CLI does, whatever the family of the world::

    import pmaxent
    world = pmaxent.make("room-det")                                         # environments
    config = pmaxent.TabularTrainConfig(agents=6)                            # a family's settings
    run = pmaxent.run_training(config, "runs/room")                          # pmaxent train
    pmaxent.run_training(pmaxent.saved_config("runs/room"), "runs/room", resume=True)  # train --resume
    pmaxent.collect_run("runs/room")                                         # pmaxent collect
    pmaxent.evaluate_run("runs/room")                                        # pmaxent offline
    pmaxent.run_theory("runs/theory")                                        # pmaxent theory
    pmaxent.reproduce("runs/paper", suite="paper")                           # pmaxent reproduce

Families (tabular, continuous, MEPOL, a user's own) are listed in :mod:`pmaxent.families`. Heavy
modules (Minari, cvxpy) load on first use of their names.

Importing pmaxent sets up XLA as the CLI does (one JAX device per CPU core, fast compiles; see
:func:`pmaxent.core.devices.use_all_cpu_cores`) unless XLA_FLAGS already chooses those settings.
XLA reads its flags when JAX first computes, so import pmaxent before that. The CLI also keeps a
persistent compilation cache; in Python call :func:`pmaxent.core.devices.use_compilation_cache`.
"""

import importlib

from pmaxent.core.devices import use_all_cpu_cores

use_all_cpu_cores()

from pmaxent import families  # noqa: E402

families.register_gymnasium_envs()

__version__ = "0.1.0"

_LAZY = {
    "RunConfig": "pmaxent.core.config",
    "TrainConfig": "pmaxent.core.train",
    "make_train": "pmaxent.core.train",
    "Family": "pmaxent.core.family",
    "TabularTrainConfig": "pmaxent.tabular.config",
    "ContinuousTrainConfig": "pmaxent.continuous.config",
    "MepolConfig": "pmaxent.mepol.algorithm",
    "make": "pmaxent.families",
    "run_training": "pmaxent.families",
    "run_settings": "pmaxent.core.runs",
    "load_run": "pmaxent.families",
    "saved_config": "pmaxent.families",
    "collect_run": "pmaxent.families",
    "evaluate_run": "pmaxent.families",
    "reproduce": "pmaxent.families",
    "load_dataset": "pmaxent.tabular.datasets",
    "run_theory": "pmaxent.tabular.theory",
    "frank_wolfe": "pmaxent.tabular.theory",
    "optimal_entropy": "pmaxent.tabular.theory",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pmaxent' has no attribute {name!r}")


__all__ = ["families", *_LAZY]
