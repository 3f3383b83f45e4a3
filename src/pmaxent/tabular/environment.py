"""A :class:`TabularMDP` as the trainer's components: environment, softmax team and plug-in entropy."""

from __future__ import annotations

import gymnasium
import jax

from pmaxent.core.components import Components, Environment
from pmaxent.tabular.entropy import PluginEntropy
from pmaxent.tabular.mdp import TabularMDP
from pmaxent.tabular.policy import TabularSoftmax
from pmaxent.tabular.simulator import Dynamics, make_dynamics, reset_from_uniform, step_from_uniform


def tabular_environment(mdp: TabularMDP) -> Environment:
    """The MDP as pure per-copy functions of one uniform each: the state is an int32 index, which
    is also the observation and the entropy feature; entropy is normalised by ln(reachable states).

    The sparse successor table is built once here, outside the hot loop.
    """
    return dynamics_environment(make_dynamics(mdp), mdp.horizon, mdp.name, mdp.n_valid)


def dynamics_environment(
    dynamics: Dynamics, horizon: int, name: str = "tabular", n_valid: int | None = None
) -> Environment:
    """:func:`tabular_environment` from the simulator's tables, which may be traced arguments of a
    jitted function (so MDPs of one shape share its compilation); ``n_valid`` defaults to S."""
    n_states, n_actions = dynamics.successors.shape[:2]

    def reset(u: jax.Array) -> jax.Array:
        return reset_from_uniform(dynamics, u[0])

    def step(state: jax.Array, action: jax.Array, u: jax.Array) -> jax.Array:
        return step_from_uniform(dynamics, state, action, u[0])

    return Environment(
        name=name,
        horizon=horizon,
        reset=reset,
        step=step,
        observation_space=gymnasium.spaces.Discrete(n_states),
        action_space=gymnasium.spaces.Discrete(n_actions),
        feature_volume=n_valid or n_states,
    )


def tabular_components(mdp: TabularMDP, time_indexed: bool = False, initialisation: str = "uniform") -> Components:
    """Environment, softmax team policy and plug-in estimator of a tabular MDP."""
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions, mdp.horizon, time_indexed, initialisation)
    return Components(tabular_environment(mdp), policy, PluginEntropy(mdp.n_states), mdp)
