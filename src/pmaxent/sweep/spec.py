"""A sweep file (SWEEP.toml): settings every run shares, a grid of config fields x values, the
seeds, and where the runs go. Every combination of the grid's values is a setting; each setting
trains on the seeds, ``seeds_per_run`` of them vmapped in one run (one Ray task on a cluster).

    family = "tabular"          # optional: the family of the env named below otherwise
    seeds = [0, 1, 2, 3]
    seeds_per_run = 2           # optional: all seeds in one run otherwise

    [base]                      # fields of the family's config, the same for every run
    env = "room-det"
    updates = 200

    [grid]                      # field = [values]: one setting per combination, in the file's order
    lr = [0.05, 0.1]
    agents = [2, 4]

    [cluster]                   # optional: what each run asks Ray for (pmaxent.sweep.cluster.Cluster)
    cpus_per_run = 1

Fields and values are checked against the family's config class (its names, types and its own
validation) before any run starts.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pmaxent.core.config import RunConfig, check_positive_int
from pmaxent.sweep.cluster import Cluster

RESERVED = ("seeds",)
"""Config fields a sweep file sets at its top level, not in [base] or [grid]."""


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A sweep: its grid, its seeds and where its runs go."""

    family: str | None = None
    """The family whose config the runs take (default: the family of the env each run names)."""
    base: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Fields of the family's config that every run shares."""
    grid: dict[str, tuple] = dataclasses.field(default_factory=dict)
    """Field -> values: one setting per combination, in the order of the fields."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds of every setting."""
    seeds_per_run: int | None = None
    """Seeds vmapped in one run (one Ray task): the seeds are split into runs of this many (default: all in one)."""
    cluster: Cluster = Cluster()
    """What each run asks Ray for (its [cluster] table); --address says where the runs go."""

    def __post_init__(self):
        seeds = self.seeds
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise ValueError(f"seeds must be a non-empty list of integers; got {seeds!r}")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct; got {list(seeds)}")
        object.__setattr__(self, "seeds", tuple(seeds))
        check_positive_int("seeds_per_run", self.seeds_per_run, optional=True)
        for name, values in self.grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise ValueError(f"[grid] {name} must be a non-empty list of values; got {values!r}")
        object.__setattr__(self, "grid", {name: tuple(values) for name, values in self.grid.items()})
        both = sorted(set(self.base) & set(self.grid))
        if both:
            raise ValueError(f"{', '.join(both)} set both in [base] and in [grid]; keep each field in one of them")
        for name in RESERVED:
            if name in self.base or name in self.grid:
                raise ValueError(f"{name} is set at the top of the sweep file, not in [base] or [grid]")

    def runs_settings(self) -> dict:
        """What the runs' results depend on (sweep.json): all but [cluster]."""
        data = dataclasses.asdict(self)
        data.pop("cluster")
        data["grid"] = {name: list(values) for name, values in self.grid.items()}
        return data


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of a sweep: a setting of the grid on a group of seeds."""

    name: str
    """Its run directory under OUT/runs."""
    setting: dict[str, Any]
    """The grid's fields -> this run's values."""
    config: RunConfig


def read_sweep(path: str | Path) -> SweepSpec:
    """The sweep file at ``path``; ValueError naming what is wrong with it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"sweep file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from None
    try:
        return parse_sweep(data)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def parse_sweep(data: dict) -> SweepSpec:
    """A sweep from the tables of a sweep file."""
    keys = [f.name for f in dataclasses.fields(SweepSpec)]
    unknown = sorted(set(data) - set(keys))
    if unknown:
        raise ValueError(f"unknown key {', '.join(map(repr, unknown))}; a sweep file has {', '.join(keys)}")
    for table in ("base", "grid", "cluster"):
        if not isinstance(data.get(table, {}), dict):
            raise ValueError(f"{table} must be a table ([{table}]); got {data[table]!r}")
    values = dict(data)
    if "seeds" in values:
        values["seeds"] = _typed(values["seeds"], tuple[int, ...], "seeds")
    if "cluster" in values:
        if "address" in values["cluster"]:
            raise ValueError("[cluster] takes no address: give it on the command line (--address)")
        values["cluster"] = Cluster(**_fields_of(Cluster, values["cluster"], "[cluster]"))
    return SweepSpec(**values)


def expand(spec: SweepSpec) -> list[Run]:
    """Every run of the sweep: each setting of the grid (in its order) on each group of seeds,
    its config built and checked by the family's config class."""
    per_run = spec.seeds_per_run or len(spec.seeds)
    groups = [spec.seeds[i : i + per_run] for i in range(0, len(spec.seeds), per_run)]
    names = list(spec.grid)
    runs = []
    for combination in itertools.product(*(spec.grid[name] for name in names)):
        setting = dict(zip(names, combination, strict=True))
        cls = _config_class(spec.family, {**spec.base, **setting})
        setting = _fields_of(cls, setting, "[grid]")
        fields = {**_fields_of(cls, spec.base, "[base]"), **setting}
        for group in groups:
            name = _run_name(setting, group if len(groups) > 1 else None)
            try:
                config = cls(**fields, seeds=group)
            except (TypeError, ValueError) as error:
                raise ValueError(f"run {name}: {error}") from None
            runs.append(Run(name, setting, config))
    families = {run.config.family for run in runs}
    if len(families) > 1:
        raise ValueError(f"a sweep's runs are of one family; these settings mix {', '.join(sorted(families))}")
    return runs


def _config_class(family: str | None, fields: dict) -> type[RunConfig]:
    from pmaxent import families

    if family is not None:
        return families.get(family).config_class
    if "env" not in fields:
        raise ValueError("name the family (family = ...) or an env in [base] or [grid]")
    if not isinstance(fields["env"], str):
        raise ValueError(f"env must be a string; got {fields['env']!r}")
    methods = fields.get("methods")
    return families.for_env(fields["env"], methods if isinstance(methods, list | tuple) else None).config_class


def _fields_of(cls: type, values: dict, table: str) -> dict:
    """``values`` checked against the fields of the dataclass ``cls`` (names and types)."""
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)} - set(getattr(cls, "not_applicable", ()))
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(
            f"{table}: {cls.__name__} has no field {', '.join(map(repr, unknown))}; its fields: "
            f"{', '.join(sorted(fields - set(RESERVED)))}"
        )
    return {name: _typed(value, hints[name], f"{table} {name}") for name, value in values.items()}


def _typed(value: Any, hint: Any, where: str) -> Any:
    """``value`` read from TOML as the field type ``hint`` says (a list as a tuple, an integer as a
    float where a float is asked for); ValueError naming ``where`` when it is of another type."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        hint = options[0] if len(options) == 1 else Any
    if hint is bool or hint is str:
        if not isinstance(value, hint):
            raise ValueError(f"{where} must be {'true or false' if hint is bool else 'a string'}; got {value!r}")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer; got {value!r}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} must be a number; got {value!r}")
        return float(value)
    elif typing.get_origin(hint) is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} must be a list; got {value!r}")
        items = typing.get_args(hint)
        item = items[0] if len(items) == 2 and items[1] is Ellipsis else Any
        return tuple(_typed(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    return value


def _run_name(setting: dict, seeds: tuple[int, ...] | None) -> str:
    """A run directory's name: its settings (and its seeds, where a setting has several runs)."""

    def shown(value):
        return "+".join(map(str, value)) if isinstance(value, tuple) else str(value)

    parts = [f"{name}={shown(value)}" for name, value in setting.items()]
    if seeds is not None:
        parts.append(f"seeds={shown(seeds)}")
    return "_".join(parts).replace("/", "-").replace(" ", "") or "base"
