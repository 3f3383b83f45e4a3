"""Parallel Frank-Wolfe (SPEC section 10, the paper's Algorithm 2) on any :class:`TabularMDP`:
the smoothed entropy H_sigma it ascends, the constants and step size of Theorem A.2, and the
algorithm itself with exact and Monte-Carlo density oracles.

Shapes: S states, A actions, T horizon, N agents, K mixture components.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np

from pmaxent.tabular.entropy import entropy_np
from pmaxent.tabular.mdp import TabularMDP
from pmaxent.tabular.theory._checks import check_eps
from pmaxent.tabular.theory.distributions import exact_state_distribution, monte_carlo_state_distribution, plan

# --------------------------------------------------------------------------------------------
# Smoothed entropy and the constants of Theorem A.2
# --------------------------------------------------------------------------------------------


def smoothed_entropy(d, sigma: float) -> np.ndarray:
    """H_sigma(d) = -sum_s d(s) log(d(s) + sigma) (SPEC section 10), d [..., S] -> [...].

    H_sigma <= H, and H - H_sigma = sum d log(1 + sigma / d) <= log(1 + S sigma) (Jensen).
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    d = np.asarray(d, dtype=np.float64)
    return -np.sum(d * np.log(d + sigma), axis=-1)


def smoothed_entropy_gradient(d, sigma: float) -> np.ndarray:
    """dH_sigma/dd(s) = -log(d(s) + sigma) - d(s) / (d(s) + sigma), d [..., S] -> [..., S]:
    the state reward of a Frank-Wolfe step."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    d = np.asarray(d, dtype=np.float64)
    return -np.log(d + sigma) - d / (d + sigma)


def smoothness_constant(sigma: float) -> float:
    """beta = 2 / sigma, the smoothness constant of H_sigma on the simplex.

    The Hessian of H_sigma is diagonal with entries -(d + 2 sigma) / (d + sigma)^2, largest in
    magnitude at d = 0 where it is 2 / sigma; so |H_sigma(y) - H_sigma(x) - <grad, y - x>|
    <= (beta / 2) ||y - x||_2^2.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    return 2.0 / sigma


def gradient_bound(sigma: float) -> float:
    """B = max over d in [0, 1] of |dH_sigma/dd|: the gradient decreases in d from log(1 / sigma)
    at d = 0 to -log(1 + sigma) - 1 / (1 + sigma) at d = 1."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    return max(math.log(1.0 / sigma), math.log1p(sigma) + 1.0 / (1.0 + sigma))


def theorem_step_size(n_agents: int, eps: float, n_states: int, sigma: float) -> float:
    """Theorem A.2: eta = 0.1 N eps / (|S| beta), beta = :func:`smoothness_constant` (sigma).

    |S| is the size of the state space (``mdp.n_valid`` for a grid). Capped at 1, the largest
    step a mixture update allows.
    """
    check_eps(eps)
    return min(1.0, 0.1 * n_agents * eps / (n_states * smoothness_constant(sigma)))


def theorem_iterations(n_agents: int, eps: float, n_states: int, sigma: float) -> int:
    """Theorem A.2: 10 beta |S| / (eps N) log(10 B / eps) iterations suffice for eps-optimality
    (beta = :func:`smoothness_constant`, B = :func:`gradient_bound`)."""
    check_eps(eps)
    beta, bound = smoothness_constant(sigma), gradient_bound(sigma)
    return math.ceil(10.0 * beta * n_states / (eps * n_agents) * math.log(10.0 * bound / eps))


# --------------------------------------------------------------------------------------------
# Parallel Frank-Wolfe (Algorithm 2)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AgentMixture:
    """One agent's mixture of non-stationary deterministic policies.

    Attributes:
        policies: int32 [K, T, S]; weights: [K], summing to 1. A policy planned more than once
            is stored once with the sum of its weights (the same mixture).
        state_distributions: [K, S], the exact state distribution of each component.
    """

    policies: np.ndarray
    weights: np.ndarray
    state_distributions: np.ndarray

    def state_distribution(self) -> np.ndarray:
        """The mixture's state distribution [S] = sum_k weights[k] d_k."""
        return self.weights @ self.state_distributions


class _PlannedComponents:
    """The components every agent adds, C <- (C, pi_new), alpha <- ((1 - eta) alpha, eta),
    with a repeated plan merged into its earlier entry."""

    def __init__(self):
        self._index: dict[bytes, int] = {}
        self.policies: list[np.ndarray] = []
        self.distributions: list[np.ndarray] = []
        self.weights = np.zeros(0)

    def add(self, policy: np.ndarray, distribution: np.ndarray, eta: float) -> None:
        self.weights *= 1.0 - eta
        position = self._index.setdefault(policy.tobytes(), len(self.policies))
        if position == len(self.policies):
            self.policies.append(policy)
            self.distributions.append(distribution)
            self.weights = np.append(self.weights, eta)
        else:
            self.weights[position] += eta

    def __len__(self) -> int:
        return len(self.policies)


@dataclasses.dataclass(frozen=True)
class FrankWolfeResult:
    """What :func:`frank_wolfe` returns; I = iterations run (fewer than asked if it stopped early).

    Attributes:
        mixtures: the N agents' mixtures.
        joint_distributions: [I + 1, S], the exact state distribution of the joint mixture
            (1/N) sum_i mix_i before iteration 1 and after each iteration.
        entropy: [I + 1], H of those; smoothed_entropy: [I + 1], H_sigma of those.
        gap: [I], the Frank-Wolfe gap g_t = max_pi <grad H_sigma(x_t), d_pi - x_t> at the exact
            joint x_t, a certificate: H_sigma(x_t) <= max H_sigma <= H_sigma(x_t) + g_t.
        eta, sigma, density_oracle, n_episodes: the settings.
    """

    mixtures: list[AgentMixture]
    joint_distributions: np.ndarray
    entropy: np.ndarray
    smoothed_entropy: np.ndarray
    gap: np.ndarray
    eta: float
    sigma: float
    density_oracle: str
    n_episodes: int

    @property
    def n_agents(self) -> int:
        return len(self.mixtures)

    @property
    def iterations(self) -> int:
        return len(self.gap)

    @property
    def joint_distribution(self) -> np.ndarray:
        """The final joint state distribution [S]."""
        return self.joint_distributions[-1]


DENSITY_ORACLES = ("exact", "monte-carlo")


def frank_wolfe(
    mdp: TabularMDP,
    n_agents: int = 1,
    eta: float = 0.05,
    iterations: int = 200,
    sigma: float = 1e-3,
    density_oracle: str = "exact",
    n_episodes: int = 50,
    seed: int = 0,
    stop_at_entropy: float | None = None,
) -> FrankWolfeResult:
    """Parallel Frank-Wolfe for max_pi H(d_pi) (SPEC section 10, the paper's Algorithm 2).

    Each of N agents keeps a mixture C^i of non-stationary deterministic policies with weights
    alpha^i, started from one uniformly random deterministic policy per agent (so the agents
    start apart). Every iteration:

    1. estimate the density of the joint mixture (1/N) sum_i mix_i: exactly, or from the team's
       pooled sample of n episodes per agent, each agent running its own mixture (one
       component drawn per episode);
    2. take the reward r = grad H_sigma at the estimate and plan against it (:func:`plan`);
       every agent holds the same estimate, so one plan serves all of them;
    3. every agent updates C^i <- (C^i, pi_new), alpha^i <- ((1 - eta) alpha^i, eta).

    Because the joint is the mean of the agents' mixtures, step 3 moves it to
    (1 - eta) x + eta d_{pi_new}: the number of agents enters through the admissible step size
    of Theorem A.2 (:func:`theorem_step_size`), the start, and the Monte-Carlo sample size.

    Args:
        mdp: the MDP (its horizon is T).
        n_agents: N.
        eta: constant step size in (0, 1].
        iterations: the most iterations to run.
        sigma: smoothing of H_sigma, > 0.
        density_oracle: "exact" (forward recursion) or "monte-carlo".
        n_episodes: episodes per agent per iteration of the Monte-Carlo oracle.
        seed: seeds the initial policies and the Monte-Carlo oracle.
        stop_at_entropy: stop after the first iteration whose exact joint entropy reaches this.
    """
    if n_agents < 1:
        raise ValueError(f"n_agents must be positive; got {n_agents}")
    if not 0.0 < eta <= 1.0:
        raise ValueError(f"eta must lie in (0, 1]; got {eta}")
    if iterations < 0:
        raise ValueError(f"iterations must be non-negative; got {iterations}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    if density_oracle not in DENSITY_ORACLES:
        raise ValueError(f"unknown density oracle {density_oracle!r}; choose from {DENSITY_ORACLES}")
    if density_oracle == "monte-carlo" and n_episodes < 1:
        raise ValueError(f"n_episodes must be positive; got {n_episodes}")

    rng = np.random.default_rng(seed)
    initial_policies = rng.integers(0, mdp.n_actions, size=(n_agents, mdp.horizon, mdp.n_states), dtype=np.int32)
    initial_distributions = exact_state_distribution(mdp, initial_policies)  # [N, S]
    # Every agent adds the same plans, so agent i's mixture is its initial policy with weight
    # (1 - eta)^t followed by the shared components: one list serves all agents.
    initial_weight = 1.0
    planned = _PlannedComponents()

    joint = initial_distributions.mean(axis=0)
    joints, gaps = [joint], []
    for iteration in range(iterations):
        if stop_at_entropy is not None and entropy_np(joint) >= stop_at_entropy:
            break
        exact_reward = smoothed_entropy_gradient(joint, sigma)
        best_policy = plan(mdp, exact_reward).astype(np.int32)
        best_distribution = exact_state_distribution(mdp, best_policy)
        gaps.append(float(exact_reward @ (best_distribution - joint)))
        if density_oracle == "exact":
            new_policy, new_distribution = best_policy, best_distribution
        else:
            policies, weights = _padded_mixtures(initial_policies, initial_weight, planned, iterations + 1)
            estimate = monte_carlo_state_distribution(
                jax.random.fold_in(jax.random.PRNGKey(seed), iteration), mdp, policies, weights, n_episodes
            ).mean(axis=0)
            new_policy = plan(mdp, smoothed_entropy_gradient(estimate, sigma)).astype(np.int32)
            new_distribution = exact_state_distribution(mdp, new_policy)
        planned.add(new_policy, new_distribution, eta)
        initial_weight *= 1.0 - eta
        joint = (1.0 - eta) * joint + eta * new_distribution
        joints.append(joint)

    joints = np.stack(joints)
    mixtures = [
        AgentMixture(
            policies=np.stack([initial_policies[i], *planned.policies]),
            weights=np.append(initial_weight, planned.weights),
            state_distributions=np.stack([initial_distributions[i], *planned.distributions]),
        )
        for i in range(n_agents)
    ]
    return FrankWolfeResult(
        mixtures=mixtures,
        joint_distributions=joints,
        entropy=entropy_np(joints),
        smoothed_entropy=smoothed_entropy(joints, sigma),
        gap=np.asarray(gaps, dtype=np.float64),
        eta=float(eta),
        sigma=float(sigma),
        density_oracle=density_oracle,
        n_episodes=int(n_episodes),
    )


def _padded_mixtures(
    initial_policies: np.ndarray, initial_weight: float, planned: _PlannedComponents, capacity: int
) -> tuple[np.ndarray, np.ndarray]:
    """All agents' mixtures as policies [N, capacity, T, S] and weights [N, capacity], padded
    with zero weights to a size fixed for the whole run, so the sampler compiles once."""
    n_agents = initial_policies.shape[0]
    shared = np.zeros((capacity - 1,) + initial_policies.shape[1:], np.int32)
    shared_weights = np.zeros(capacity - 1)
    if len(planned):
        shared[: len(planned)] = np.stack(planned.policies)
        shared_weights[: len(planned)] = planned.weights
    policies = np.concatenate([initial_policies[:, None], np.broadcast_to(shared, (n_agents,) + shared.shape)], axis=1)
    weights = np.append(initial_weight, shared_weights)
    return policies, np.broadcast_to(weights / weights.sum(), (n_agents, capacity))
