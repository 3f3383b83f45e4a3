"""The settings every run shares, whatever its family: the base of each family's config.

A family's config subclasses :class:`RunConfig` (PGPSE families through
:class:`pmaxent.core.train.TrainConfig`), adds its own fields, each with a docstring that the CLI's
help shows, and says how its components are built (:meth:`RunConfig.make_components`). Run
directories store a config as JSON with its family's name, so the family that wrote it reads it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np

if TYPE_CHECKING:
    from pmaxent.core.components import Components

Config = TypeVar("Config", bound="RunConfig")


def check_positive_int(name: str, value, optional: bool = False) -> None:
    """Raise ValueError unless ``value`` is a positive integer (or None when ``optional``)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")


def check_layer_sizes(name: str, value) -> None:
    """Raise ValueError unless ``value`` is a non-empty sequence of positive integers (a network's hidden layers)."""
    if not value or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in value):
        raise ValueError(f"{name} must be positive layer sizes; got {value!r}")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What every run has: an environment, methods, seeds, a number of updates and checkpoints."""

    family: ClassVar[str] = ""
    """The name of the family whose runs this config describes (stored in config.json)."""
    method_names: ClassVar[tuple[str, ...]] = ()
    """The methods runs of this config may train."""

    env: str = ""
    """Environment name (or a label for `layout`)."""
    layout: tuple[str, ...] | None = None
    """A custom text map ('F' floor, 'S' start, '-' wall) used instead of a named environment."""
    horizon: int | None = None
    """T, steps per trajectory (default: the environment's)."""
    methods: tuple[str, ...] = ()
    """The methods to train, side by side."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds."""
    updates: int = 1
    """Number of updates."""
    chunk: int = 1
    """Updates between checkpoints of the run directory."""

    def __post_init__(self):
        for field in ("updates", "chunk"):
            check_positive_int(field, getattr(self, field))
        check_positive_int("horizon", self.horizon, optional=True)
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct; got {tuple(self.seeds)}")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be a non-empty list of distinct names; got {tuple(self.methods)}")
        for method in self.methods:
            if method not in self.method_names:
                raise ValueError(f"unknown method {method!r}; choose from {', '.join(self.method_names)}")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "methods", tuple(self.methods))
        if self.layout is not None:
            object.__setattr__(self, "layout", tuple(self.layout))

    def make_components(self) -> Components:
        """The environment, policy and entropy estimator this config trains with."""
        raise NotImplementedError(f"{type(self).__name__} does not say how to build its components")

    def to_json(self) -> str:
        return json.dumps({"family": self.family, **dataclasses.asdict(self)}, indent=2)

    @classmethod
    def from_json(cls: type[Config], text: str) -> Config:
        """The config a run directory's config.json holds; it must be of this class's family."""
        data = json.loads(text)
        family = data.pop("family", cls.family)
        if family != cls.family:
            raise ValueError(f"the config is of the {family} family, not {cls.family} ({cls.__name__})")
        for field in dataclasses.fields(cls):
            if isinstance(data.get(field.name), list):
                data[field.name] = tuple(data[field.name])
        return cls(**data)
