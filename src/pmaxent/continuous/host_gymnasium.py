"""Any registered Gymnasium environment with Box observation and action spaces as a trainer
environment (``--env gym:ID``), stepped from the host (:mod:`pmaxent.core.host_rollout`).

The entropy features are observation coordinates (``features``, default all). The environment's
time limit is set to the horizon T, so a trajectory ends before T only when the environment
terminates it (the rollout then repeats its last observation: see :mod:`pmaxent.core.host_rollout`).
"""

from __future__ import annotations

import functools
import math

import gymnasium
import numpy as np

from pmaxent.core.components import HostEnvironment

GYM_PREFIX = "gym:"
PRESET_HORIZONS = {"MountainCarContinuous-v0": 400}
"""Horizons of MEPOL's settings (MountainCarContinuous: k = 4, T = 400; see
:func:`pmaxent.continuous.config.mountain_car_config`)."""


def parse_gym_name(env: str) -> str | None:
    """The Gymnasium id of an environment name 'gym:ID', or None for any other name."""
    return env.strip()[len(GYM_PREFIX) :] if env.strip().startswith(GYM_PREFIX) else None


def _box(space, what: str, env_id: str, finite: bool = False) -> gymnasium.spaces.Box:
    if not isinstance(space, gymnasium.spaces.Box) or len(space.shape) != 1:
        raise ValueError(
            f"Gymnasium environment {env_id!r} has a {what} space {space}; pmaxent needs a 1-D Box {what} space "
            "(discrete spaces are not supported)"
        )
    if finite and not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        raise ValueError(
            f"Gymnasium environment {env_id!r} has an unbounded {what} space {space}; the uniform baseline needs a "
            "finite action box"
        )
    return space


def _make(env_id: str, **kwargs) -> gymnasium.Env:
    try:
        return gymnasium.make(env_id, **kwargs)
    except (gymnasium.error.DependencyNotInstalled, ImportError) as error:
        raise ValueError(f"Gymnasium environment {env_id!r} cannot be made: {error}") from error


def _vector(env_id: str, horizon: int, n: int) -> gymnasium.vector.SyncVectorEnv:
    """n copies, time limit T, autoreset in next-step mode (the rollout ignores ended copies)."""
    make = functools.partial(_make, env_id, max_episode_steps=horizon)
    return gymnasium.vector.SyncVectorEnv([make] * n, autoreset_mode=gymnasium.vector.AutoresetMode.NEXT_STEP)


def gym_environment(
    env_id: str, features: tuple[int, ...] | None = None, horizon: int | None = None
) -> HostEnvironment:
    """The host environment of a registered Gymnasium id.

    Args:
        env_id: a registered id, e.g. "MountainCarContinuous-v0".
        features: observation indices whose entropy is maximised (default: all).
        horizon: T (default: MEPOL's preset for the id, else the id's time limit).
    Raises:
        ValueError naming the id if it is not registered or cannot be made, if a space is not
        a 1-D Box (or the action box is unbounded), if a feature index is out of range, or if
        no horizon is known.
    """
    if env_id not in gymnasium.envs.registry:
        raise ValueError(
            f"Gymnasium id {env_id!r} is not registered (gymnasium.pprint_registry() lists the registered ids)"
        )
    probe = _make(env_id)
    try:
        obs_space = _box(probe.observation_space, "observation", env_id)
        action_space = _box(probe.action_space, "action", env_id, finite=True)
        limit = probe.spec.max_episode_steps if probe.spec is not None else None
    finally:
        probe.close()
    obs_dim = obs_space.shape[0]
    features = tuple(range(obs_dim)) if features is None else tuple(features)
    bad = [i for i in features if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < obs_dim]
    if bad or len(set(features)) != len(features) or not features:
        raise ValueError(
            f"feature indices {features} of {env_id!r} must be distinct integers in [0, {obs_dim}) (its observation "
            f"has {obs_dim} coordinates)"
        )
    horizon = horizon or PRESET_HORIZONS.get(env_id) or limit
    if horizon is None:
        raise ValueError(f"Gymnasium environment {env_id!r} has no time limit: give the horizon T (--horizon)")
    sides = obs_space.high[list(features)].astype(np.float64) - obs_space.low[list(features)]
    volume = float(np.prod(sides))
    return HostEnvironment(
        name=f"{GYM_PREFIX}{env_id}",
        horizon=int(horizon),
        make_vector=functools.partial(_vector, env_id, int(horizon)),
        observation_space=obs_space,
        action_space=action_space,
        feature_indices=features,
        feature_volume=volume if math.isfinite(volume) and volume > 1 else None,
    )
