"""The maximum state entropy of an MDP, solved independently of Frank-Wolfe as a convex program
over occupancy measures (SPEC section 10).

The only theory module that imports cvxpy; ``pmaxent.tabular.theory`` loads it on first use of
:func:`optimal_entropy` or :class:`OptimalEntropy`, so importing the package does not import cvxpy.
"""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np

from pmaxent.tabular.mdp import TabularMDP


@dataclasses.dataclass(frozen=True)
class OptimalEntropy:
    """Solution of :func:`optimal_entropy`.

    Attributes:
        value: max_pi H(d_pi) in nats (or max H_sigma when solved with sigma > 0).
        state_distribution: the maximising d [S] = (1 / (T + 1)) sum_t Pr(s_t = s).
        occupancy: x [T, S, A], x[t, s, a] = Pr(s_t = s, a_t = a).
        final_distribution: Pr(s_T = s) [S].
        policy: [T, S, A], pi_t(a | s) = x[t, s, a] / sum_a x[t, s, a] (uniform where the state
            is not reached), a policy that attains the optimum.
    """

    value: float
    state_distribution: np.ndarray
    occupancy: np.ndarray
    final_distribution: np.ndarray
    policy: np.ndarray


def optimal_entropy(mdp: TabularMDP, sigma: float = 0.0) -> OptimalEntropy:
    """max over (non-stationary, stochastic) policies of H(d_pi), by a convex program solved with
    Clarabel (SPEC section 10 states the objective; this is an independent check of Frank-Wolfe).

    Variables x_t(s, a) >= 0 for t < T and d_T(s) >= 0, with the flow constraints
    sum_a x_0(s, a) = mu(s), sum_a x_{t+1}(s, a) = sum_{s', a'} P[s', a', s] x_t(s', a'), and
    d_T(s) = sum_{s', a'} P[s', a', s] x_{T-1}(s', a'); maximise sum_s entr(d(s)) where
    d = (sum_t sum_a x_t(., a) + d_T) / (T + 1). Every feasible x is the occupancy of a policy,
    so the optimum is max_pi H(d_pi).

    With sigma > 0 the objective is H_sigma(d) = sum_s entr(d + sigma) + sigma log(d + sigma),
    the smoothed entropy that Frank-Wolfe ascends.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative; got {sigma}")
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    kernel_t = mdp.P.reshape(S * A, S).T  # [S, S*A]: inflow into s of each (s', a')
    action_sum = np.kron(np.eye(S), np.ones((1, A)))  # [S, S*A]: sum over a of x(s, a)
    x = [cp.Variable(S * A, nonneg=True) for _ in range(T)]  # index s * A + a
    final = cp.Variable(S, nonneg=True)
    constraints = [action_sum @ x[0] == mdp.mu]
    constraints += [action_sum @ x[t + 1] == kernel_t @ x[t] for t in range(T - 1)]
    constraints.append(final == kernel_t @ x[T - 1])
    d = (sum(action_sum @ x_t for x_t in x) + final) / (T + 1)
    if sigma > 0:
        objective = cp.sum(cp.entr(d + sigma) + sigma * cp.log(d + sigma))
    else:
        objective = cp.sum(cp.entr(d))
    problem = cp.Problem(cp.Maximize(objective), constraints)
    problem.solve(solver=cp.CLARABEL)
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"the convex program ended with status {problem.status!r}")
    occupancy = np.clip(np.stack([x_t.value.reshape(S, A) for x_t in x]), 0.0, None)
    final_distribution = np.clip(final.value, 0.0, None)
    state_distribution = (occupancy.sum(axis=2).sum(axis=0) + final_distribution) / (T + 1)
    state_mass = occupancy.sum(axis=2, keepdims=True)
    policy = np.where(state_mass > 1e-12, occupancy / np.where(state_mass > 1e-12, state_mass, 1.0), 1.0 / A)
    return OptimalEntropy(
        value=float(problem.value),
        state_distribution=state_distribution,
        occupancy=occupancy,
        final_distribution=final_distribution,
        policy=policy,
    )
