"""Host-stepped rollouts: a team sampled in a Gymnasium vector environment, for worlds that cannot be
stepped inside ``jax.jit`` (:class:`pmaxent.core.components.HostEnvironment`).

Every lane (method x seed) x B*K team samples x m agents is one copy of the environment in a single
``gymnasium.vector.SyncVectorEnv``. Per step the policy's actions of all copies come from one jitted
JAX call; after T steps the pooled features go to the same jitted ``learn`` (k-NN estimator,
PGPSE gradient, optax update) as the JAX worlds (:func:`pmaxent.core.train.make_learn`).

Episodes that end early (``terminated`` or ``truncated``): the copy's last observation is
**repeated** for the rest of the horizon, so every trajectory still has T + 1 points and the pooled
sample keeps exactly the states that were reached, the terminal one counted once per remaining
step (as an agent that stays in place in a navigation world; the k-NN estimator floors the zero
distances between the repeats, see :mod:`pmaxent.continuous.knn`). The actions sampled after the
end are recorded and scored: they do not change any feature, so their score terms have zero mean
and the gradient estimate stays unbiased. The vector environment's own autoreset (next-step mode)
is ignored for ended copies.

Randomness: each update splits the lane's key into the next key and a sample key, and that into a
reset key, which gives the copies' reset seeds (``vector.reset(seed=[...])``), and an action key,
which folded with t gives the uniforms of the actions of step t. A run is therefore a function of
its seeds, and resuming from a checkpoint reproduces it exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.components import Components, HostEnvironment, Params, TeamPolicy, agent_count


def make_act(policy: TeamPolicy) -> Callable:
    """jitted ``act(params [L, m, ...], uniform [L], keys [L], observations [L, N, m, obs_dim], t)
    -> actions [L, N, m, action_dim]``: each lane's team acting in its N copies at step t."""

    def lane(params, uniform, key, observations, t):
        prepared = policy.prepare(params, uniform)
        u = jax.random.uniform(jax.random.fold_in(key, t), observations.shape[:2] + (policy.noise,))
        return jax.vmap(policy.act, in_axes=(None, 0, None, 0))(prepared, observations, t, u)

    return jax.jit(jax.vmap(lane, in_axes=(0, 0, 0, 0, None)))


def reset_seeds(keys: jax.Array, n_copies: int) -> list[int]:
    """Reset seeds [L * n_copies] of the copies, drawn from the lanes' sample keys [L]."""
    seeds = jax.vmap(lambda key: jax.random.randint(key, (n_copies,), 0, 2**31 - 1))(keys)
    return [int(s) for s in np.asarray(seeds).reshape(-1)]


def sample_host(
    env: HostEnvironment, act: Callable, vector, params: Params, uniform: jax.Array, keys: jax.Array, batch: int
):
    """T steps of L lanes x ``batch`` team samples x m agents in ``vector`` (L * batch * m copies).

    Args:
        env: the host environment.
        act: :func:`make_act` of the team policy.
        vector: ``env.make_vector(L * batch * m)``, reset here.
        params: the lanes' parameters, leaves [L, m, ...].
        uniform: [L] bool, lanes whose team acts uniformly (the random baseline).
        keys: [L] sample keys.
        batch: B * K, trajectories of each agent per lane.
    Returns:
        (features [L, batch, m, T+1, F], observations [L, batch, m, T+1, obs_dim] (the last is
        the state the T-th action led to), actions [L, batch, m, T, action_dim],
        alive [L, batch, m, T+1] bool: False after an episode ended, where the last observation
        is repeated).
    """
    n_lanes = keys.shape[0]
    n_agents = vector.num_envs // (n_lanes * batch)
    lead = (n_lanes, batch, n_agents)
    low, high = env.action_space.low, env.action_space.high
    reset_keys, keys = jnp.moveaxis(jax.vmap(jax.random.split)(keys), 1, 0)
    obs, _ = vector.reset(seed=reset_seeds(reset_keys, batch * n_agents))
    obs = np.asarray(obs, np.float32)
    alive = np.ones(obs.shape[0], bool)
    observations, actions, alives = [obs], [], [alive]
    for t in range(env.horizon):
        action = np.asarray(act(params, uniform, keys, obs.reshape(lead + obs.shape[1:]), t)).reshape(
            (obs.shape[0],) + low.shape
        )
        returned, _, terminated, truncated, _ = vector.step(np.clip(action, low, high).astype(env.action_space.dtype))
        obs = np.where(alive[:, None], np.asarray(returned, np.float32), obs)
        alive = alive & ~(terminated | truncated)
        observations.append(obs)
        actions.append(action)
        alives.append(alive)
    stack = lambda xs: np.stack(xs, axis=1).reshape(lead + (len(xs),) + xs[0].shape[1:])  # noqa: E731
    states, actions = stack(observations), stack(actions)
    return np.asarray(env.features(states)), states, actions, stack(alives)


def make_host_chunk_runner(
    components: Components, lanes, learn: Callable, shared: jax.Array, learning: jax.Array, batch: int
):
    """``run(packed_states, length) -> (packed_states, metrics [n_packed_lanes, length])`` like
    :func:`pmaxent.core.runs.make_chunk_runner`, each update sampled on the host and learned by the
    jitted ``learn`` (:func:`pmaxent.core.train.make_learn`) vmapped over the lanes.

    ``shared``, ``learning``: the packed lanes' method flags [n_packed_lanes]; ``batch``: B * K.
    """
    env, policy = components.env, components.policy
    act = make_act(policy)
    learn_lanes = jax.jit(jax.vmap(learn))
    split = jax.jit(jax.vmap(jax.random.split))
    cache = {}  # the vector environment, made at the first call (it needs m)

    def run(states, length: int):
        n_agents = agent_count(policy, states.params, axis=1)
        if "vector" not in cache:
            cache["vector"] = env.make_vector(lanes.n_padded * batch * n_agents)
        per_update = []
        for _ in range(length):
            keys = split(states.key)
            features, observations, actions, _ = sample_host(
                env, act, cache["vector"], states.params, ~learning, keys[:, 1], batch
            )
            states, metrics = learn_lanes(
                states._replace(key=keys[:, 0]), shared, learning, features, observations[..., :-1, :], actions
            )
            per_update.append(metrics)
        return states, jax.tree.map(lambda *xs: jnp.stack(xs, axis=1), *per_update)

    return run
