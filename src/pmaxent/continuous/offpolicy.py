"""Off-policy team steps (SPEC section 12): several optimizer steps per behaviour batch on the
importance-weighted k-NN entropy of the team's samples, stopped by a per-agent k-NN KL trust
region, as MEPOL does for one agent.

Per update the team's behaviour parameters sample the batch as in PGPSE. The neighbourhoods of
every team sample's pooled points, and of each agent's own points, are fixed for the batch; then
up to ``off_policy_steps`` optimizer steps ascend the mean over team samples of H_k(theta | theta')
(:func:`pmaxent.continuous.importance.team_entropy_and_kls`, every point weighted by its own
agent's trajectory prefix). A step after which some agent's KL_k(theta' || theta), on its own
points, exceeds ``kl_threshold`` (or the entropy is not finite) is undone, and the update ends;
a first step that is undone is retried at half the size, as MEPOL backtracks.
The estimate's gradient at theta = theta' is the on-policy one's; later steps reuse the batch.

A team sample's neighbourhoods are found by brute force over its m P pooled points (P points per
agent after ``point_stride``; memory m^2 P^2), or by the sweep where the estimator searches by it
(large teams, low-dimensional features); each agent's own by brute force, as many agents at once
as keep the distances within ``AGENT_SEARCH_PAIRS``. Team samples are searched one at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from pmaxent.continuous.importance import team_entropy_and_kls
from pmaxent.continuous.team_sweep import sorted_neighbours
from pmaxent.core.components import Components
from pmaxent.core.pgpse import group_trajectories, team_metrics, tie_shared
from pmaxent.core.train import TrainState, make_optimizer

BACKTRACKS = 10
"""Tries of a first step at half the size of the last (MEPOL's max_backtrack_try, coefficient 2)."""
AGENT_SEARCH_PAIRS = 2**24
"""Most point pairs whose distances the agents' own neighbourhood searches hold at once (64 MB of float32)."""


def brute_neighbourhoods(points: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """points [N, d] -> (indices [N, k]: each point itself, then its k - 1 nearest others; rho [N]:
    the distance to its k-th nearest other point), by a full distance matrix."""
    sq = jnp.sum((points[:, None, :] - points[None, :, :]) ** 2, axis=-1)
    sq = jnp.where(jnp.eye(points.shape[0], dtype=bool), -1.0, sq)  # itself first, whatever the ties
    negated, indices = jax.lax.top_k(-sq, k + 1)
    return indices[:, :k], jnp.sqrt(jnp.maximum(-negated[:, k], 0.0))


def swept_neighbourhoods(points: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """:func:`brute_neighbourhoods` by the sweep of :mod:`pmaxent.continuous.team_sweep`: memory
    and time near-linear in N, for the large teams whose estimator searches by the sweep."""
    found = sorted_neighbours(points, k)
    itself = jnp.arange(points.shape[0], dtype=found.ids.dtype)[:, None]
    return jnp.concatenate([itself, found.ids[:, : k - 1]], axis=1), jnp.sqrt(found.sq[:, k - 1])


def agent_neighbourhoods(points: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """points [n, P, d] -> (indices [n, P, k], rho [n, P]): :func:`brute_neighbourhoods` of each row's
    own P points, as many rows at once as keep their distances within ``AGENT_SEARCH_PAIRS``."""
    rows, per_row = points.shape[:2]
    batch = max(1, min(rows, AGENT_SEARCH_PAIRS // (per_row * per_row)))
    return jax.lax.map(lambda row: brute_neighbourhoods(row, k), points, batch_size=batch)


def make_offpolicy_learn(config, components: Components) -> Callable:
    """A ``learn(state, shared, learning, features, observations, actions) -> (state, metrics)`` of
    :func:`pmaxent.core.train.make_learn`'s form, taking off-policy steps on the batch."""
    env, policy, estimator = components.env, components.policy, components.estimator
    k, stride, steps, threshold = config.k, config.stride_for(env.horizon), config.off_policy_steps, config.kl_threshold

    def learn(state: TrainState, shared, learning, features, observations, actions):
        optimizer = make_optimizer(config, state.hyperparameters)
        points = features[:, :, ::stride]  # [B, m, P, d] (one trajectory per agent and team sample)
        n_samples, m, per_agent, d = points.shape
        search = swept_neighbourhoods if estimator.uses_sweep(m, per_agent, d) else brute_neighbourhoods
        team_nbhd = jax.lax.map(lambda p: search(p.reshape(m * per_agent, d), k), points)
        agent_nbhd = jax.tree.map(
            lambda leaf: leaf.reshape(n_samples, m, *leaf.shape[1:]),
            agent_neighbourhoods(points.reshape(n_samples * m, per_agent, d), k),
        )
        log_probs = jax.vmap(policy.log_prob, in_axes=(None, 0, 0))
        behaviour = jax.lax.stop_gradient(log_probs(state.params, observations, actions))

        def measure(params):
            ratios = log_probs(params, observations, actions) - behaviour
            entropy, kls = jax.vmap(lambda r, tn, an: team_entropy_and_kls(r, tn, an, d, stride))(
                ratios, team_nbhd, agent_nbhd
            )
            return -entropy.mean(), (entropy.mean(), kls.mean(axis=0))

        def step(carry):
            params, opt_state, taken, tries, scale, _ = carry
            grad = jax.grad(lambda p: measure(p)[0])(params)
            grad = jax.tree.map(lambda g: g * learning, tie_shared(policy, params, grad, shared, config.single_modes))
            updates, new_opt_state = optimizer.update(grad, opt_state, params)
            candidate = optax.apply_updates(params, jax.tree.map(lambda u: u * scale, updates))
            _, (entropy, kls) = measure(candidate)
            inside = jnp.all(kls <= threshold) & jnp.isfinite(entropy)
            keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(inside, a, b), new, old)  # noqa: E731
            # MEPOL's backtracking: a first step that leaves the region is retried at half the size;
            # after an accepted backtracked step, or a later step that leaves it, the update ends
            retry = ~inside & (taken == 0) & (tries < BACKTRACKS)
            stopped = (~inside & ~retry) | (inside & (scale < 1))
            return (
                keep(candidate, params), keep(new_opt_state, opt_state), taken + inside, tries + retry,
                jnp.where(retry, scale / 2, scale), stopped,
            )  # fmt: skip

        def more(carry):
            _, _, taken, _, _, stopped = carry
            return (taken < steps) & ~stopped

        start = (state.params, state.opt_state, jnp.int32(0), jnp.int32(0), jnp.float32(1.0), jnp.asarray(False))
        params, opt_state, taken, _, _, _ = jax.lax.while_loop(more, step, start)
        _, (_, kls) = measure(params)
        entropies = estimator(group_trajectories(features, 1))
        metrics = team_metrics(entropies, env.feature_volume)
        if env.team_metrics is not None:
            metrics.update({name: value.mean() for name, value in env.team_metrics(features).items()})
        metrics.update(off_steps=taken.astype(jnp.float32), kl=kls.max())
        finite = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(params)]
        metrics["finite"] = jnp.all(jnp.stack(finite)) & jnp.isfinite(metrics["entropy"])
        return state._replace(params=params, opt_state=opt_state, step=state.step + 1), metrics

    return learn
