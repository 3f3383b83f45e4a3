"""The families of worlds and methods pmaxent knows, and the jobs of its CLI and Python API done
through them. This is the one module that names the families.

A family is a :class:`pmaxent.core.family.Family`. Besides the built-in ones, a user's family is
listed by :func:`register` or by a Python entry point in the group ``pmaxent.families`` (whose
object is the Family subclass or an instance of it); entry points load when a family is first
looked up.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pmaxent.core.family import Collected, Family, SummaryTable

if TYPE_CHECKING:  # loaded by the jobs that use them, so that importing pmaxent stays light
    from pmaxent.core.components import Components
    from pmaxent.core.config import RunConfig
    from pmaxent.core.runs import TrainedRun
    from pmaxent.offline import OfflineResult

ENTRY_POINT_GROUP = "pmaxent.families"

_BUILT_IN = {
    "tabular": ("pmaxent.tabular.family", "TabularFamily"),
    "continuous": ("pmaxent.continuous.family", "ContinuousFamily"),
    "mepol": ("pmaxent.mepol.family", "MepolFamily"),
}
"""name -> (module, class) of the built-in families, imported when first needed."""

_registered: dict[str, Family] = {}
_loaded_entry_points = False


def register(family: Family | type[Family]) -> Family:
    """List ``family`` (an instance, or a subclass to instantiate) beside the built-in ones; a
    family of the same name is replaced. Returns the instance."""
    instance = family() if isinstance(family, type) else family
    if not isinstance(instance, Family):
        raise TypeError(f"{family!r} is not a pmaxent.core.family.Family")
    if not getattr(instance, "name", None) or not isinstance(getattr(instance, "config_class", None), type):
        raise TypeError(f"{type(instance).__name__} must set a name and a config_class")
    if instance.config_class.family != instance.name:
        raise TypeError(
            f"{type(instance).__name__}.config_class.family is {instance.config_class.family!r}; it must be the "
            f"family's name {instance.name!r}"
        )
    _registered[instance.name] = instance
    return instance


def _load_entry_points() -> None:
    global _loaded_entry_points
    if _loaded_entry_points:
        return
    _loaded_entry_points = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        register(entry_point.load())


def names() -> tuple[str, ...]:
    """The names of every family: the built-in ones, then those registered."""
    _load_entry_points()
    return (*_BUILT_IN, *(name for name in _registered if name not in _BUILT_IN))


def get(name: str) -> Family:
    """The family called ``name``."""
    _load_entry_points()
    if name not in _registered:
        if name not in _BUILT_IN:
            raise ValueError(f"unknown family {name!r}; choose from {', '.join(names())}")
        module, cls = _BUILT_IN[name]
        register(getattr(importlib.import_module(module), cls))
    return _registered[name]


def every() -> tuple[Family, ...]:
    """Every family, in :func:`names` order."""
    return tuple(get(name) for name in names())


_GYMNASIUM = (
    ("pmaxent.tabular.gymnasium_env", "register_envs"),
    ("pmaxent.continuous.gymnasium_env", "register_continuous_envs"),
)
"""(module, function) registering a built-in family's environments with Gymnasium."""


def register_gymnasium_envs() -> None:
    """Register the built-in families' environments with Gymnasium ("pmaxent/..." ids; importing
    pmaxent does), without loading the families' training machinery."""
    for module, function in _GYMNASIUM:
        getattr(importlib.import_module(module), function)()


def known_envs() -> tuple[str, ...]:
    """Every environment name some family builds (besides patterns such as gym:ID)."""
    return tuple(dict.fromkeys(env for family in every() for env in family.env_names()))


def for_env(env: str, methods: Sequence[str] | None = None) -> Family:
    """The family that trains ``methods`` in ``env``: the first that owns the name and offers every
    method asked for (without methods, the first that owns it)."""
    owners = [family for family in every() if family.owns(env)]
    if not owners:
        raise ValueError(
            f"unknown environment {env!r}; valid names: {', '.join(known_envs())}, or gym:ID for a registered "
            "Gymnasium id"
        )
    for family in owners:
        if not methods or set(methods) <= set(family.config_class.method_names):
            return family
    raise ValueError(_no_family_for(methods, owners, f" in {env!r}"))


def for_methods(methods: Sequence[str]) -> Family:
    """The first family that offers every method in ``methods`` (for a config without an environment)."""
    for family in every():
        if set(methods) <= set(family.config_class.method_names):
            return family
    raise ValueError(_no_family_for(methods, every()))


def _no_family_for(methods: Sequence[str], candidates: Sequence[Family], where: str = "") -> str:
    offered = {name for family in candidates for name in family.config_class.method_names}
    unknown = [m for m in methods if m not in offered]
    what = (
        f"unknown method {', '.join(map(repr, unknown))}"
        if unknown
        else f"no family trains {' and '.join(methods)} together"
    )
    return f"{what}{where}; choose from " + "; ".join(
        f"{f.name}: {', '.join(f.config_class.method_names)}" for f in candidates
    )


def of_run(run_dir: str | Path) -> Family:
    """The family whose run ``run_dir`` holds."""
    from pmaxent.core.runs import run_family

    return get(run_family(run_dir))


def of_config(config: RunConfig) -> Family:
    """The family of ``config`` (its class's ``family``)."""
    return get(config.family)


# ---------------------------------------------------------------------------------------------
# The jobs, whatever the family
# ---------------------------------------------------------------------------------------------


def make(name: str, **options):
    """The environment ``name`` of whichever family owns it (a TabularMDP, a ContinuousWorld, ...)."""
    return for_env(name).make_env(name, **options)


def run_training(
    config: RunConfig,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    plot: bool = True,
    components: Components | None = None,
) -> TrainedRun:
    """Train ``config`` with its family (`pmaxent train`); with ``out_dir``, write a run directory
    (with its figures unless ``plot`` is False)."""
    return of_config(config).train(config, out_dir, resume=resume, progress=progress, plot=plot, components=components)


def load_run(run_dir: str | Path, components: Components | None = None) -> TrainedRun:
    """A finished run directory, whatever its family."""
    return of_run(run_dir).load(run_dir, components)


def saved_config(run_dir: str | Path, given: dict | None = None) -> RunConfig:
    """The settings a run directory was started with; ``given`` settings must agree with them."""
    from pmaxent.core.runs import saved_config as core_saved_config

    return core_saved_config(run_dir, of_run(run_dir).config_class, given)


def collect_run(
    run_dir: str | Path,
    methods: Sequence[str] | None = None,
    *,
    trajectories: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> Collected:
    """Collect a run's exploration datasets (`pmaxent collect`): the datasets and their summary."""
    return of_run(run_dir).collect(Path(run_dir), methods, trajectories, overwrite, progress)


def export_run(
    run_dir: str | Path, out: str | Path, methods: Sequence[str] | None = None, *, trajectories: int = 1
) -> list[Path]:
    """Write a run's collected datasets in OGBench's file layout (`pmaxent export`): the files written."""
    return of_run(run_dir).export(Path(run_dir), Path(out), methods, trajectories)


def evaluate_run(
    run_dir: str | Path,
    options: dict | None = None,
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    trajectories: int = 1,
    quick: bool = False,
    progress: bool = True,
) -> dict[str, OfflineResult]:
    """Offline RL on a run's datasets (`pmaxent offline`): {title: result}; ``options`` are fields
    of the family's offline settings."""
    return of_run(run_dir).evaluate(
        Path(run_dir),
        dict(options or {}),
        seed=seed,
        methods=methods,
        trajectories=trajectories,
        quick=quick,
        progress=progress,
    )


def suites() -> dict[str, Family]:
    """Suite name -> the family that runs it."""
    return {suite: family for family in every() for suite in family.suites}


def reproduce(
    out_dir: str | Path | None = None,
    suite: str = "paper",
    *,
    quick: bool = False,
    progress: bool = True,
    skip: Sequence[str] = (),
    seeds: int | None = None,
    address: str | None = None,
) -> Path:
    """Run an experiment suite (`pmaxent reproduce`): 'paper' (the tabular paper) or 'continuous',
    on ``seeds`` seeds 0, 1, ... (default: the suite's own), its independent runs as Ray tasks on
    the cluster at ``address`` when given; returns its report."""
    by_name = suites()
    if suite not in by_name:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(by_name)}")
    if address is not None:
        from pmaxent.sweep.cluster import check_address

        check_address(address)
    on_cluster = {"address": address} if address is not None else {}  # a user's family may not take it
    return by_name[suite].reproduce(
        suite, Path(out_dir or f"runs/{suite}"), quick=quick, progress=progress, skip=skip, seeds=seeds, **on_cluster
    )


__all__ = [
    "Collected",
    "Family",
    "SummaryTable",
    "collect_run",
    "evaluate_run",
    "every",
    "for_env",
    "for_methods",
    "get",
    "known_envs",
    "load_run",
    "make",
    "names",
    "of_config",
    "of_run",
    "register",
    "reproduce",
    "run_training",
    "saved_config",
    "suites",
]
