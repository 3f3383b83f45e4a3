"""Environment names -> the trainer's components (environment, team policy, entropy estimator).

Each family of worlds lives in its own subpackage and is imported only when one of its names is
asked for, so the trainer depends on none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmaxent.components import Components

if TYPE_CHECKING:
    from pmaxent.train import TrainConfig


def tabular_names() -> tuple[str, ...]:
    from pmaxent.tabular.mdp import PAPER_ENVS

    return tuple(PAPER_ENVS)


def known_envs() -> tuple[str, ...]:
    """Every environment name the registry builds."""
    return tabular_names()


def make_components(config: "TrainConfig") -> Components:
    """The components of ``config.env`` (or of ``config.layout``, a custom text map)."""
    if config.layout is not None or config.env.strip().lower() in tabular_names():
        from pmaxent.tabular import environment, mdp

        if config.layout is not None:
            world = mdp.from_map(config.layout, slip=config.slip or 0.0, horizon=config.horizon or 10, name=config.env)
        else:
            world = mdp.make(config.env, slip=config.slip, horizon=config.horizon)
        return environment.tabular_components(world, config.time_indexed, config.init)
    raise ValueError(f"unknown environment {config.env!r}; valid names: {', '.join(known_envs())}")
