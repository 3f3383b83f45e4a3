"""The yardstick of the continuous claims (SPEC section 13): final policies judged by fresh rollouts.

Training reports its own objective (the estimator it ascends, on the trajectories it learned
from, with a stride and the training k). A claim is measured apart from it: the final parameters
of every seed run ``samples`` fresh team samples from a key stream training never used, and

- **entropy**: the Kozachenko-Leonenko estimate with a fixed ``k`` on *every* point of those
  samples pooled (no stride), the entropy of the team's state distribution (the agents' mixture
  over all steps); ``normalized_entropy`` divides it by ln of the free area;
- **coverage**: the fraction of free cells one team sample visits, averaged over the samples;
- **divergence**: the mean k-NN KL divergence between two agents' state distributions
  (:mod:`pmaxent.continuous.divergence`; about 0 for the single agent's K' = m copies of one policy).

Every method gets the same environment steps: a team sample is m trajectories of T steps, the
single agent's is K' = m trajectories of its one policy, the random policy's m uniform ones.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.continuous.divergence import mean_divergence
from pmaxent.continuous.knn import knn_entropy
from pmaxent.core.components import Components, HostEnvironment, Params
from pmaxent.core.rollout import map_copies, sample_team

EVALUATION_STREAM = 0x5EED_E7A1
"""Folded into a seed's root key for its evaluation rollouts: a stream training never draws from
(training splits the root key; it never folds this constant in)."""


@dataclasses.dataclass(frozen=True)
class YardstickConfig:
    """How final policies are measured."""

    samples: int = 16
    """Fresh team samples per seed (each m trajectories of T steps, for every method; at least 2)."""
    k: int = 50
    """k of the yardstick's k-NN entropy, on all points of a seed's samples pooled."""
    curve_samples: int = 4
    """Fresh team samples per seed at each checkpoint of the learning curves."""

    def __post_init__(self):
        for name in ("samples", "curve_samples"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 2):
                raise ValueError(f"{name} must be an integer of at least 2; got {value!r}")
        if not (isinstance(self.k, int) and self.k >= 1):
            raise ValueError(f"k must be a positive integer; got {self.k!r}")


def evaluation_keys(seeds, impl: str = "threefry2x32") -> jax.Array:
    """One evaluation key per training seed: [n_seeds] keys, never used by training."""
    return jnp.stack([jax.random.fold_in(jax.random.key(int(s), impl=impl), EVALUATION_STREAM) for s in seeds])


def fresh_points(components: Components, params: Params, keys: jax.Array, samples: int, uniform: bool) -> jax.Array:
    """Fresh team samples of every seed's parameters.

    Args:
        params: leaves [n_seeds, m, ...] (or the population's shared leaves [n_seeds, ...]).
        keys: [n_seeds] keys.
        uniform: act uniformly at random (the random baseline).
    Returns:
        features [n_seeds, samples, m, T+1, d].
    """
    env, policy = components.env, components.policy
    if isinstance(env, HostEnvironment):
        raise ValueError(
            f"the yardstick rolls out JAX worlds; {env.name!r} is stepped on the host (a Gymnasium environment)"
        )

    def one(p, key):
        states = sample_team(env, policy, p, key, samples, "jax", uniform).states
        return map_copies(env.features, 3)(states)

    return jax.jit(jax.vmap(one))(params, keys)


def yardstick(
    components: Components,
    params: Params,
    seeds,
    config: YardstickConfig = YardstickConfig(),
    uniform: bool = False,
    samples: int | None = None,
    divergence: bool = True,
) -> dict[str, np.ndarray]:
    """Entropy, normalized entropy and coverage of fresh rollouts, one value per seed.

    Args:
        params: leaves [n_seeds, ...], seeds in the order of ``seeds``.
        seeds: the training seeds (they pick the evaluation keys).
        uniform: the random baseline (params are then ignored).
        samples: fresh team samples per seed (default: ``config.samples``).
        divergence: also estimate the agents' KL divergence (the slowest part).
    Returns:
        name -> float64 [n_seeds]: ``entropy`` (nats), ``normalized_entropy``, ``coverage``, ``divergence`` (nats).
    """
    env = components.env
    samples = samples or config.samples
    points = np.asarray(fresh_points(components, params, evaluation_keys(seeds), samples, uniform))
    n_seeds, d = points.shape[0], points.shape[-1]
    pooled = points.reshape(n_seeds, -1, d)
    entropy = np.array([float(knn_entropy(p, config.k)) for p in pooled])
    result = {
        "entropy": entropy,
        "normalized_entropy": entropy / math.log(env.feature_volume)
        if env.feature_volume is not None
        else np.full(n_seeds, np.nan),
    }
    if divergence:
        result["divergence"] = np.array([mean_divergence(p, config.k) for p in points])
    if env.team_metrics is not None:
        per_sample = points.reshape(n_seeds * samples, 1, -1, d)
        for name, value in env.team_metrics(jnp.asarray(per_sample)).items():
            result[name] = np.asarray(value, np.float64).reshape(n_seeds, samples).mean(axis=1)
    return result
