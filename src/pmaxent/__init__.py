"""pmaxent: parallel maximum state entropy exploration (De Paola et al., ICML 2025) in JAX.

The Python API does everything the ``pmaxent`` CLI does::

    import pmaxent
    mdp = pmaxent.make("room-det")                                   # environments
    run = pmaxent.run_training(pmaxent.TrainConfig(agents=6), "runs/room")  # pmaxent train
    pmaxent.run_training(pmaxent.saved_config("runs/room"), "runs/room", resume=True)  # train --resume
    pmaxent.collect_run("runs/room")                                 # pmaxent collect
    pmaxent.evaluate_run("runs/room")                                # pmaxent offline
    pmaxent.run_theory("runs/theory")                                # pmaxent theory
    pmaxent.reproduce("runs/paper")                                  # pmaxent reproduce

Heavy modules (Minari, cvxpy) load on first use of their names.

Importing pmaxent sets up XLA as the CLI does (one JAX device per CPU core, fast compiles; see
:func:`pmaxent.devices.use_all_cpu_cores`) unless XLA_FLAGS already chooses those settings. XLA
reads its flags when JAX first computes, so import pmaxent before that. The CLI also keeps a
persistent compilation cache; in Python call :func:`pmaxent.devices.use_compilation_cache`.
"""

import importlib

from pmaxent.devices import use_all_cpu_cores

use_all_cpu_cores()

from pmaxent import tabular  # noqa: E402
from pmaxent.continuous.gym_env import register_continuous_envs  # noqa: E402
from pmaxent.tabular import TabularMDP, from_gymnasium, from_map, make  # noqa: E402

tabular.register_envs()
register_continuous_envs()

__version__ = "0.1.0"

_LAZY = {
    "TrainConfig": "pmaxent.train",
    "run_training": "pmaxent.runs",
    "make_train": "pmaxent.train",
    "MepolConfig": "pmaxent.continuous.mepol",
    "run_mepol": "pmaxent.continuous.mepol_run",
    "load_run": "pmaxent.runs",
    "saved_config": "pmaxent.runs",
    "collect_run": "pmaxent.tabular.run_datasets",
    "load_dataset": "pmaxent.tabular.datasets",
    "evaluate_run": "pmaxent.tabular.offline",
    "run_theory": "pmaxent.tabular.theory",
    "frank_wolfe": "pmaxent.tabular.theory",
    "optimal_entropy": "pmaxent.tabular.theory",
    "reproduce": "pmaxent.experiments",
    "ReproduceConfig": "pmaxent.experiments",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pmaxent' has no attribute {name!r}")


__all__ = ["TabularMDP", "tabular", "from_gymnasium", "from_map", "make", *_LAZY]
