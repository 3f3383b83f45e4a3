"""A continuous world as the trainer's components: the world's environment, a Gaussian MLP team
and the k-NN entropy estimator."""

from __future__ import annotations

import dataclasses

from pmaxent.continuous import mjx_worlds, ogbench_mazes, worlds
from pmaxent.continuous.host_gymnasium import gym_environment, parse_gym_name
from pmaxent.continuous.knn import KNNEntropy
from pmaxent.continuous.policy import GaussianMLPTeam
from pmaxent.continuous.population import GaussianPopulation
from pmaxent.core.components import Components


def make_world(config) -> worlds.ContinuousWorld:
    """The world ``config`` (a ContinuousTrainConfig or a MepolConfig: this module reads their
    fields and imports neither) names, or its text map, with its overrides of horizon, slip and step."""
    overrides = {
        name: value
        for name, value in (("max_step", config.max_step), ("horizon", config.horizon), ("slip", config.slip))
        if value is not None
    }
    if config.layout is not None:
        return worlds.from_map(config.layout, name=config.env, **overrides)
    if config.env in ogbench_mazes.MAZES:
        return dataclasses.replace(ogbench_mazes.maze_world(config.env), **overrides)
    return dataclasses.replace(worlds.make(config.env), **overrides)


def continuous_components(config) -> Components:
    """Environment, Gaussian MLP team and k-NN estimator of ``config`` (a gym:ID environment is
    stepped from the host, :mod:`pmaxent.continuous.host_gymnasium`; a navigation world or map
    with ``physics='mjx'`` is its point-mass MJX version, :func:`mjx_worlds.point_mass_world`);
    k is checked against the number of points each estimate uses."""
    env_id = parse_gym_name(config.env)
    if env_id is not None:
        if config.layout is not None or config.slip is not None or config.max_step is not None:
            raise ValueError(f"{config.env}: layout, slip and max_step apply to pmaxent's own continuous worlds only")
        world, env = None, gym_environment(env_id, config.features, config.horizon)
        feature_dim = len(env.feature_indices)
    elif config.env in mjx_worlds.MJX_NAMES:
        if config.layout is not None or config.slip is not None or config.max_step is not None:
            raise ValueError(f"{config.env}: layout, slip and max_step apply to the kinematic continuous worlds only")
        world = mjx_worlds.make(config.env, config.horizon)
        env = mjx_worlds.mjx_environment(world)
        feature_dim = len(world.feature_indices)
    elif config.physics == "mjx":  # the navigation world's walls as MuJoCo geometry
        world = mjx_worlds.point_mass_world(
            make_world(config), name=f"{config.env}-mjx" if config.layout is not None else None
        )
        env = mjx_worlds.mjx_environment(world)
        feature_dim = 2
    else:
        world = make_world(config)
        env = worlds.world_environment(world)
        feature_dim = 2
    stride = config.stride_for(env.horizon)
    points_per_agent = -(-config.trajectories * (env.horizon + 1) // stride)
    if config.k >= points_per_agent:
        raise ValueError(
            f"k = {config.k} must be below the number of points of one agent's sample, ceil(K x (T + 1) / "
            f"point_stride) = {points_per_agent} (its per-agent entropy is estimated from them)"
        )
    shape = {"hidden": config.hidden, "log_std_init": config.log_std_init, "bounded_mean": config.bounded_mean}
    if getattr(config, "policy", "networks") == "population":  # MEPOL's one agent has no population
        policy = GaussianPopulation.from_spaces(
            env.observation_space, env.action_space, **shape, embedding=config.embedding, heads=config.heads
        )
    else:
        policy = GaussianMLPTeam.from_spaces(env.observation_space, env.action_space, **shape)
    search = getattr(config, "knn_search", "auto")  # MEPOL's config has no team search
    return Components(env, policy, KNNEntropy(config.k, dimension=feature_dim, stride=stride, search=search), world)
