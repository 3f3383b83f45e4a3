"""Environment names -> run settings and the trainer's components (environment, team policy,
entropy estimator).

Each family of worlds lives in its own subpackage and is imported only when one of its names is
asked for, so the trainer depends on none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmaxent.components import Components

if TYPE_CHECKING:
    from pmaxent.train import TrainConfig

FAMILIES = ("tabular", "continuous")


def family_names(family: str) -> tuple[str, ...]:
    """The environment names of a family of worlds."""
    if family == "tabular":
        from pmaxent.tabular.mdp import PAPER_ENVS

        return tuple(PAPER_ENVS)
    if family == "continuous":
        from pmaxent.continuous.mjx_worlds import MJX_NAMES
        from pmaxent.continuous.worlds import CONTINUOUS_ENVS

        return (*CONTINUOUS_ENVS, *MJX_NAMES)
    raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")


def known_envs() -> tuple[str, ...]:
    """Every environment name the registry builds."""
    return tuple(name for family in FAMILIES for name in family_names(family))


def family_of(env: str) -> str:
    """The family an environment name belongs to (gym:ID names are continuous); unknown names raise
    ValueError listing the known ones."""
    if env.strip().startswith("gym:"):
        return "continuous"
    for family in FAMILIES:
        if env.strip().lower() in family_names(family):
            return family
    raise ValueError(f"unknown environment {env!r}; valid names: {', '.join(known_envs())}, or gym:ID for a registered Gymnasium id")


def config_class(family: str, methods=None) -> type["TrainConfig"]:
    """The settings dataclass of a family (each holds its own defaults); with ``methods`` naming
    mepol, MEPOL's (:class:`pmaxent.continuous.mepol.MepolConfig`, continuous worlds only)."""
    if methods is not None and "mepol" in methods:
        if family != "continuous":
            raise ValueError(f"MEPOL trains in continuous worlds; a {family} environment was given")
        from pmaxent.continuous.mepol import MepolConfig

        return MepolConfig
    if family == "tabular":
        from pmaxent.train import TrainConfig

        return TrainConfig
    if family == "continuous":
        from pmaxent.continuous.config import ContinuousTrainConfig

        return ContinuousTrainConfig
    raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")


def make_components(config: "TrainConfig") -> Components:
    """The components of ``config.env`` (or of ``config.layout``, a custom text map)."""
    family = config.family if config.layout is not None else family_of(config.env)
    if family != config.family:
        raise ValueError(f"{config.env!r} is a {family} environment; use the {family} settings (pmaxent.registry.config_class({family!r}))")
    if family == "tabular":
        from pmaxent.tabular import environment, mdp

        if config.layout is not None:
            world = mdp.from_map(config.layout, slip=config.slip or 0.0, horizon=config.horizon or 10, name=config.env)
        else:
            world = mdp.make(config.env, slip=config.slip, horizon=config.horizon)
        return environment.tabular_components(world, config.time_indexed, config.init)
    from pmaxent.continuous.components import continuous_components

    return continuous_components(config)


def write_figures(run) -> None:
    """The figures of a finished run that belong to its world (a continuous navigation world, or
    the MJX point mass among its walls: the team picture)."""
    if run.config.family == "continuous":
        from pmaxent.continuous.team import write_team_picture
        from pmaxent.continuous.worlds import ContinuousWorld

        if isinstance(run.world, ContinuousWorld) or getattr(run.world, "drawing", None) is not None:
            write_team_picture(run)
