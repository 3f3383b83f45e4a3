"""Theorem 4.1 (SPEC section 9): the concentration bound of the plug-in entropy, the sample size
it asks for, a Monte-Carlo estimate of the probability it bounds, and why parallel helps: the
deviation of the pooled plug-in entropy when m specialised agents each draw from their own
region, against identical agents and against one agent alone.

Entropies are in nats.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.tabular.entropy import entropy_from_counts, entropy_np, mixture_decomposition
from pmaxent.tabular.theory._checks import check_eps, check_sample_sizes, probability_vector

# --------------------------------------------------------------------------------------------
# Theorem 4.1: concentration of the plug-in entropy
# --------------------------------------------------------------------------------------------


def variance_term(d) -> float:
    """Var(d) = sum_s d(s) (1 - d(s)) of Theorem 4.1 (SPEC section 9), for d [S]."""
    d = probability_vector(d)
    return float(np.sum(d * (1.0 - d)))


def concentration_bound(d, n, eps: float):
    """Theorem 4.1: P(H(d) - H(d_n) > eps) <= 2 S exp(-n eps^2 Var(d) / (2 S^3 H(d)^2)).

    S is ``len(d)``, the number of categories of d, including categories of probability zero
    (they loosen the bound; pass the restriction of d to its support for the tighter one).
    For a point mass H(d) = Var(d) = 0 and the formula reads 0/0; its limit along d -> point
    mass is 0, which is also the true probability (d_n = d), so 0 is returned.

    Args:
        d: probability vector [S].
        n: number of i.i.d. samples, a positive integer or an array of them [K].
        eps: deviation, > 0 (nats).
    Returns:
        the bound (not clipped at 1), a float or an array [K] like ``n``.
    """
    d = probability_vector(d)
    n_arr = check_sample_sizes(n)
    eps = check_eps(eps)
    n_categories = d.size
    h = float(entropy_np(d))
    if h == 0.0:
        bound = np.zeros_like(n_arr)
    else:
        rate = eps**2 * variance_term(d) / (2.0 * n_categories**3 * h**2)
        bound = 2.0 * n_categories * np.exp(-n_arr * rate)
    return float(bound) if np.ndim(n) == 0 else bound


def samples_needed(d, eps: float, delta: float) -> int:
    """Theorem 4.1 inverted: n >= 2 S^3 H(d)^2 / (eps^2 Var(d)) ln(2 S / delta) gives
    P(H(d) - H(d_n) > eps) <= delta. S = ``len(d)`` as in :func:`concentration_bound`.

    Args:
        d: probability vector [S].
        eps: deviation, > 0.
        delta: confidence parameter in (0, 1).
    Returns:
        the smallest integer n meeting the inequality (0 for a point mass, see
        :func:`concentration_bound`).
    """
    d = probability_vector(d)
    eps = check_eps(eps)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1); got {delta}")
    h = float(entropy_np(d))
    if h == 0.0:
        return 0
    n_categories = d.size
    n = 2.0 * n_categories**3 * h**2 / (eps**2 * variance_term(d)) * math.log(2.0 * n_categories / delta)
    return max(1, math.ceil(n))


# Compiling the binomial sampler inside jax.random.multinomial takes seconds. For these few
# draws over a handful of categories XLA's unoptimised backend is faster end to end (it compiles
# in half the time); the why-parallel sampler below draws a hundred times more and is not.
@functools.partial(jax.jit, static_argnames="n_trials", compiler_options={"xla_backend_optimization_level": 0})
def _deviation_rate(
    key: jax.Array, index: jax.Array, n: jax.Array, probs: jax.Array, target: jax.Array, eps: jax.Array, n_trials: int
) -> jax.Array:
    """Fraction of n_trials multinomial draws of n samples of probs [S] whose plug-in entropy
    is more than eps below target, with randomness fold_in(key, index). n and index are traced,
    so one compilation serves every sample size (compiling the binomial sampler is slow)."""
    counts = jax.random.multinomial(jax.random.fold_in(key, index), n, probs, shape=(n_trials, probs.shape[-1]))
    return jnp.mean(target - entropy_from_counts(counts) > eps)


def deviation_probability(key: jax.Array, d, n, eps: float, n_trials: int = 2000):
    """Monte-Carlo estimate of P(H(d) - H(d_n) > eps), the probability bounded by Theorem 4.1.

    Each trial draws the counts of n i.i.d. samples of d (multinomial, vectorized over trials in
    JAX) and computes the plug-in entropy H(d_n).

    Args:
        key: JAX PRNG key.
        d: probability vector [S].
        n: samples per trial, a positive integer or an array of them [K].
        eps: deviation, > 0.
        n_trials: Monte-Carlo trials per sample size.
    Returns:
        the estimated probability, a float or an array [K] like ``n``; its standard error is
        at most 0.5 / sqrt(n_trials).
    """
    d = probability_vector(d)
    n_arr = check_sample_sizes(n)
    eps = check_eps(eps)
    if n_trials < 1:
        raise ValueError(f"n_trials must be positive; got {n_trials}")
    probs, target = jnp.asarray(d, jnp.float32), jnp.float32(entropy_np(d))
    estimates = [
        float(_deviation_rate(key, i, jnp.float32(n_value), probs, target, jnp.float32(eps), n_trials))
        for i, n_value in enumerate(n_arr.reshape(-1))
    ]
    result = np.asarray(estimates).reshape(n_arr.shape)
    return float(result) if np.ndim(n) == 0 else result


def bernoulli_concentration_terms(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """H(p), Var(p) and Var(p) / H(p)^2 of a Bernoulli(p) (the paper's Figure 4).

    Var is the Theorem 4.1 term sum_s d(s)(1 - d(s)) = 2 p (1 - p) for d = (p, 1 - p); the ratio
    is the factor in the exponent of the bound: larger means faster concentration.

    Args:
        p: success probabilities in (0, 1), any shape.
    Returns:
        (entropy, variance, ratio), each of p's shape.
    """
    p = np.asarray(p, dtype=np.float64)
    if np.any(p <= 0) or np.any(p >= 1):
        raise ValueError("p must lie strictly inside (0, 1): at 0 and 1 the ratio is 0/0")
    dists = np.stack([p, 1.0 - p], axis=-1)
    h = entropy_np(dists)
    var = np.sum(dists * (1.0 - dists), axis=-1)
    return h, var, var / h**2


# --------------------------------------------------------------------------------------------
# Why parallel helps: specialised agents against identical ones and a lone agent
# --------------------------------------------------------------------------------------------


def specialised_distributions(n_states: int, n_agents: int, leak: float = 0.05) -> np.ndarray:
    """m agents with nearly disjoint supports: the states are split into m contiguous blocks;
    agent i puts 1 - leak uniformly on block i and leak uniformly on the other states.

    Returns:
        dists [m, S], each row a probability vector. With leak = 0 the supports are disjoint
        and the mixture entropy is log m plus the mean agent entropy (SPEC section 9).
    """
    if n_agents < 1 or n_states < n_agents:
        raise ValueError(f"need 1 <= n_agents <= n_states; got n_agents={n_agents}, n_states={n_states}")
    if not 0.0 <= leak < 1.0:
        raise ValueError(f"leak must lie in [0, 1); got {leak}")
    if n_agents == 1 and leak > 0:
        raise ValueError("a single agent has no other region to leak into; use leak=0")
    dists = np.zeros((n_agents, n_states))
    for agent, block in enumerate(np.array_split(np.arange(n_states), n_agents)):
        outside = np.setdiff1d(np.arange(n_states), block)
        dists[agent, block] = (1.0 - leak) / len(block)
        if len(outside):
            dists[agent, outside] = leak / len(outside)
    return dists


@dataclasses.dataclass(frozen=True)
class ParallelSamplingCurves:
    """Deviation probabilities P(H(mix) - H(pooled plug-in) > eps) against samples per agent k.

    Attributes:
        samples_per_agent: k [K].
        specialised: m specialists, agent i draws k samples from its own d_i; m k pooled samples.
        identical: m identical agents, each draws k samples from the mixture; m k pooled
            samples (the same law as m k i.i.d. samples of the mixture).
        single: one agent alone covering everything: k samples from the mixture (the data one
            agent collects in the time each team member collects its k).
        mixture_entropy, mean_agent_entropy, mean_kl: the decomposition of H(mix).
        n_agents, eps, n_trials: the settings.
    """

    samples_per_agent: np.ndarray
    specialised: np.ndarray
    identical: np.ndarray
    single: np.ndarray
    mixture_entropy: float
    mean_agent_entropy: float
    mean_kl: float
    n_agents: int
    eps: float
    n_trials: int


@functools.partial(jax.jit, static_argnames="n_trials")
def _pooled_deviation_rates(
    key: jax.Array,
    index: jax.Array,
    k: jax.Array,
    dists: jax.Array,
    mixture: jax.Array,
    target: jax.Array,
    eps: jax.Array,
    n_trials: int,
) -> jax.Array:
    """[specialised, identical, single] deviation rates for k samples per agent (see
    :func:`parallel_sampling_curves`), with randomness fold_in(key, index); dists [m, S]."""
    n_agents = dists.shape[0]
    # Rows 0..m-1: the specialists; rows m..2m-1: identical agents, all following the mixture
    # (the first of them alone is the lone agent). One multinomial call: one compiled sampler.
    probs = jnp.concatenate([dists, jnp.broadcast_to(mixture, dists.shape)])
    counts = jax.random.multinomial(jax.random.fold_in(key, index), k, probs, shape=(n_trials, *probs.shape))
    specialists, identical = counts[:, :n_agents], counts[:, n_agents:]
    pooled = jnp.stack([specialists.sum(axis=1), identical.sum(axis=1), identical[:, 0]])
    return jnp.mean(target - entropy_from_counts(pooled) > eps, axis=1)


def parallel_sampling_curves(
    key: jax.Array, dists, samples_per_agent, eps: float, n_trials: int = 2000
) -> ParallelSamplingCurves:
    """Why parallel helps: how often the pooled plug-in entropy falls eps below H(mixture).

    Every setting estimates the same target, the entropy of the mixture mix = (1/m) sum_i d_i.
    Specialists sample each region exactly k times (stratified), so the share of each region
    in the pool is exact; identical agents leave it to chance; a lone agent has m times fewer
    samples. See :class:`ParallelSamplingCurves` for the three settings.

    Args:
        key: JAX PRNG key.
        dists: the agents' distributions [m, S] (e.g. :func:`specialised_distributions`).
        samples_per_agent: k, positive integers [K].
        eps: deviation, > 0.
        n_trials: Monte-Carlo trials per k.
    """
    dists = np.asarray(dists, dtype=np.float64)
    if dists.ndim != 2:
        raise ValueError(f"dists must have shape [m, S]; got {dists.shape}")
    for i, row in enumerate(dists):
        probability_vector(row, name=f"dists[{i}]")
    k_values = check_sample_sizes(samples_per_agent, "samples_per_agent").reshape(-1)
    eps = check_eps(eps)
    if n_trials < 1:
        raise ValueError(f"n_trials must be positive; got {n_trials}")
    n_agents = dists.shape[0]
    mixture = dists.mean(axis=0)
    rates = np.asarray(
        [
            _pooled_deviation_rates(
                key,
                i,
                jnp.float32(k),
                jnp.asarray(dists, jnp.float32),
                jnp.asarray(mixture, jnp.float32),
                jnp.float32(entropy_np(mixture)),
                jnp.float32(eps),
                n_trials,
            )
            for i, k in enumerate(k_values)
        ]
    )  # [K, 3]
    h_mix, h_agents, kl = (float(x) for x in jax.jit(mixture_decomposition)(jnp.asarray(dists)))
    return ParallelSamplingCurves(
        samples_per_agent=k_values.astype(int),
        specialised=rates[:, 0],
        identical=rates[:, 1],
        single=rates[:, 2],
        mixture_entropy=h_mix,
        mean_agent_entropy=h_agents,
        mean_kl=kl,
        n_agents=n_agents,
        eps=eps,
        n_trials=n_trials,
    )
