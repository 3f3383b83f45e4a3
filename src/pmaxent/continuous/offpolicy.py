"""Off-policy team steps (SPEC section 12): several optimizer steps per behaviour batch on the
importance-weighted k-NN entropy of the team's samples, stopped by a per-agent k-NN KL trust
region, as MEPOL does for one agent.

Per update the team's behaviour parameters sample the batch as in PGPSE. The neighbourhoods of
every team sample's pooled points, and of each agent's own points, are fixed for the batch; then
up to ``off_policy_steps`` optimizer steps ascend the mean over team samples of H_k(theta | theta')
(:func:`pmaxent.continuous.importance.team_entropy_and_kls`). Every point is weighted by its own
agent's trajectory prefix (``importance='own-agent'``), or by the team's target mixture against its
behaviour mixture (``'team-mixture'``: every agent learns from every trajectory it could have
sampled, at the cost of the policy's log-likelihood of all m x m agent-trajectory pairs per step).
A step after which some agent's KL_k(theta' || theta), on its own points and by its own weights,
exceeds ``kl_threshold`` (or the entropy is not finite) is undone, and the update ends; a first
step that is undone is retried at half the size, as MEPOL backtracks. The estimate's gradient at
theta = theta' is the on-policy one's; later steps reuse the batch.

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

from pmaxent.continuous.importance import mixture_log_likelihoods, team_entropy_and_kls, team_log_weights
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


def make_log_weights(importance: str, policy, behaviour_params, observations, actions, stride: int) -> Callable:
    """``log_weights(params) -> (team [B, m, P], own [B, m, P])``: the unnormalised log weights of a
    batch's points (observations [B, m, T, ...] and actions [B, m, T, ...] of one trajectory per
    agent and team sample) for the team entropy, by ``importance``, and by each point's own agent
    for the KLs; the behaviour's log-likelihoods are computed once."""
    log_probs = jax.vmap(policy.log_prob, in_axes=(None, 0, 0))
    behaviour = jax.lax.stop_gradient(log_probs(behaviour_params, observations, actions))

    def own(params):
        return team_log_weights(log_probs(params, observations, actions) - behaviour, stride)

    if importance == "own-agent":

        def own_agent(params):
            weights = own(params)
            return weights, weights

        return own_agent
    n_samples, m = observations.shape[:2]
    flat = [x.reshape(n_samples * m, *x.shape[2:]) for x in (observations, actions)]

    def mixture(params):  # every trajectory under every agent: [B, m, P]
        return mixture_log_likelihoods(policy, params, *flat, stride).reshape(n_samples, m, -1)

    behaviour_mixture = jax.lax.stop_gradient(mixture(behaviour_params))
    return lambda params: (mixture(params) - behaviour_mixture, own(params))


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
        log_weights = make_log_weights(config.importance, policy, state.params, observations, actions, stride)

        def measure(params):
            team_weights, agent_weights = log_weights(params)
            entropy, kls = jax.vmap(lambda w, aw, tn, an: team_entropy_and_kls(w, aw, tn, an, d))(
                team_weights, agent_weights, team_nbhd, agent_nbhd
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
