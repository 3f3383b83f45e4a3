"""Environments: tabular MDPs, the paper's gridworlds, Gymnasium wrappers, a batched JAX simulator."""

from pmaxent.tabular.gymnasium_env import GOAL_EPISODE_STEPS, TabularEnv, register_envs, registered_id
from pmaxent.tabular.mdp import (
    ACTION_MOVES,
    ACTION_NAMES,
    MAZE_MAP,
    PAPER_ENVS,
    ROOM_MAP,
    TabularMDP,
    from_gymnasium,
    from_map,
    make,
    parse_map,
)
from pmaxent.tabular.simulator import Dynamics, make_dynamics, reset, rollout_actions, step

ENV_NAMES = tuple(PAPER_ENVS)

__all__ = [
    "ACTION_MOVES",
    "ACTION_NAMES",
    "ENV_NAMES",
    "GOAL_EPISODE_STEPS",
    "MAZE_MAP",
    "PAPER_ENVS",
    "ROOM_MAP",
    "Dynamics",
    "TabularEnv",
    "TabularMDP",
    "from_gymnasium",
    "from_map",
    "registered_id",
    "make",
    "make_dynamics",
    "parse_map",
    "register_envs",
    "reset",
    "rollout_actions",
    "step",
]
