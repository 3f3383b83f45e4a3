"""The theory of the paper made runnable (SPEC sections 9 and 10), one module per concern.

* :mod:`~pmaxent.tabular.theory.concentration`: Theorem 4.1, the concentration bound of the
  plug-in entropy, the sample size it asks for, a Monte-Carlo estimate of the probability it
  bounds; and why parallel helps: the pooled plug-in entropy of m specialised agents against
  identical agents and against one agent alone.
* The mixture decomposition H(mix) = mean H(d_i) + mean KL(d_i || mix) (``pmaxent.tabular.entropy``).
* :mod:`~pmaxent.tabular.theory.distributions`: exact and Monte-Carlo density oracles, a
  dynamic-programming planning oracle, mixtures of non-stationary deterministic policies.
* :mod:`~pmaxent.tabular.theory.frank_wolfe`: parallel Frank-Wolfe (Algorithm 2) on any
  :class:`TabularMDP`, the smoothed entropy and the step size of Theorem A.2.
* :mod:`~pmaxent.tabular.theory.optimum`: the maximum state entropy of an MDP, solved
  independently as a convex program over occupancy measures (cvxpy; loaded on first use, so
  importing this package does not import cvxpy).
* :mod:`~pmaxent.tabular.theory.run`: the experiments ("iterations to reach eps of the optimum
  against the number of agents", the concentration figures) and the CSVs and figures they write.

Conventions (SPEC section 2): an episode has T actions and T + 1 states s_0 .. s_T, and the state
distribution of a policy is the average of the T + 1 marginals. Entropies are in nats.
Shapes: S states, A actions, T horizon, N agents, K mixture components.
"""

from __future__ import annotations

import importlib

from pmaxent.tabular.entropy import mixture_decomposition
from pmaxent.tabular.theory.concentration import (
    ParallelSamplingCurves,
    bernoulli_concentration_terms,
    concentration_bound,
    deviation_probability,
    parallel_sampling_curves,
    samples_needed,
    specialised_distributions,
    variance_term,
)
from pmaxent.tabular.theory.distributions import (
    exact_state_distribution,
    monte_carlo_state_distribution,
    plan,
    rollout_deterministic,
    sample_mixture_policy,
)
from pmaxent.tabular.theory.frank_wolfe import (
    DENSITY_ORACLES,
    AgentMixture,
    FrankWolfeResult,
    frank_wolfe,
    gradient_bound,
    smoothed_entropy,
    smoothed_entropy_gradient,
    smoothness_constant,
    theorem_iterations,
    theorem_step_size,
)
from pmaxent.tabular.theory.run import (
    SKEWED_5,
    TABLE_COLUMNS,
    UNIFORM_5,
    FrankWolfeSettings,
    entropy_curves,
    iterations_to_eps,
    run_concentration,
    run_frank_wolfe,
    run_theory,
    write_table_csv,
)

#: Names served by :mod:`~pmaxent.tabular.theory.optimum`, imported on first access (PEP 562).
_LAZY = {"OptimalEntropy": "optimum", "optimal_entropy": "optimum"}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DENSITY_ORACLES",
    "SKEWED_5",
    "TABLE_COLUMNS",
    "UNIFORM_5",
    "AgentMixture",
    "FrankWolfeResult",
    "FrankWolfeSettings",
    "OptimalEntropy",
    "ParallelSamplingCurves",
    "bernoulli_concentration_terms",
    "concentration_bound",
    "deviation_probability",
    "entropy_curves",
    "exact_state_distribution",
    "frank_wolfe",
    "gradient_bound",
    "iterations_to_eps",
    "mixture_decomposition",
    "monte_carlo_state_distribution",
    "optimal_entropy",
    "parallel_sampling_curves",
    "plan",
    "rollout_deterministic",
    "run_concentration",
    "run_frank_wolfe",
    "run_theory",
    "sample_mixture_policy",
    "samples_needed",
    "smoothed_entropy",
    "smoothed_entropy_gradient",
    "smoothness_constant",
    "specialised_distributions",
    "theorem_iterations",
    "theorem_step_size",
    "variance_term",
    "write_table_csv",
]
