"""Gaussian MLP team policies: per-agent parameters, near-zero initial mean, log-density,
sampling statistics, the uniform baseline, the autodiff score and shared parameters."""

import dataclasses
import functools

import equinox as eqx
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from pmaxent.continuous.policy import GaussianMLPTeam
from pmaxent.core.components import Environment
from pmaxent.core.pgpse import autodiff_weighted_score
from pmaxent.core.random import uniform
from pmaxent.core.rollout import sample_team

LOW, HIGH = (-0.2, -0.5), (0.2, 1.0)


def small_policy(activation="tanh"):
    return GaussianMLPTeam(obs_dim=3, action_low=LOW, action_high=HIGH, hidden=(16, 8), activation=activation)


@functools.partial(jax.jit, static_argnums=(0, 1))
def spread_params(policy, n_agents):
    """Parameters whose means and standard deviations clearly differ between agents."""
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    params = policy.init(k1, n_agents)
    last = params["mean"].layers[-1]
    mean = eqx.tree_at(
        lambda net: (net.layers[-1].weight, net.layers[-1].bias),
        params["mean"],
        (50.0 * last.weight, jax.random.normal(k2, last.bias.shape)),
    )
    return {"mean": mean, "log_std": jax.random.uniform(k3, params["log_std"].shape, minval=-2.0, maxval=0.5)}


def hand_mean(params, observations, activation, bounded=True):
    """The mean network written out layer by layer, agent by agent: [m, T, d] -> [m, T, A],
    squashed into the box [LOW, HIGH] where ``bounded``."""
    linears = [layer for layer in params["mean"].layers if isinstance(layer, eqx.nn.Linear)]
    out = []
    for i in range(observations.shape[0]):
        x = observations[i]
        for j, layer in enumerate(linears):
            x = x @ layer.weight[i].T + layer.bias[i]
            if j < len(linears) - 1:
                x = activation(x)
        out.append(x)
    out = jnp.stack(out)
    if not bounded:
        return out
    low, high = np.array(LOW, np.float32), np.array(HIGH, np.float32)
    return (high + low) / 2 + (high - low) / 2 * jnp.tanh(out)


def test_params_have_agent_axis_agents_differ_and_mean_starts_near_zero():
    policy = GaussianMLPTeam.from_spaces(gymnasium.spaces.Box(-6, 6, (2,)), gymnasium.spaces.Box(-0.2, 0.2, (2,)))
    assert (policy.hidden, policy.log_std_init, policy.activation, policy.noise) == ((300, 300), -1.5, "relu", 2)
    m = 3
    params = jax.jit(policy.init, static_argnums=1)(jax.random.key(0), m)
    leaves = jax.tree.leaves(params)
    assert len(leaves) == 7  # 3 weights, 3 biases, log std
    assert all(leaf.shape[0] == m for leaf in leaves)
    for leaf in jax.tree.leaves(params["mean"]):
        if leaf.ndim == 3:  # weights: every agent its own network
            assert not np.allclose(leaf[0], leaf[1]) and not np.allclose(leaf[1], leaf[2])
    np.testing.assert_array_equal(params["log_std"], np.full((m, 2), -1.5, np.float32))
    observations = jax.random.uniform(jax.random.key(1), (m, 500, 2), minval=-6.0, maxval=6.0)
    mean = jax.jit(policy.mean)(params, observations)
    assert mean.shape == (m, 500, 2)
    assert float(jnp.abs(mean).max()) < 0.1 * np.exp(-1.5)


def test_invalid_spaces_and_settings():
    box = gymnasium.spaces.Box(-1, 1, (2,))
    with pytest.raises(ValueError, match="1-D Box action"):
        GaussianMLPTeam.from_spaces(box, gymnasium.spaces.Discrete(4))
    with pytest.raises(ValueError, match="1-D Box observation"):
        GaussianMLPTeam.from_spaces(gymnasium.spaces.Box(-1, 1, (2, 2)), box)
    with pytest.raises(ValueError, match="finite"):
        GaussianMLPTeam.from_spaces(box, gymnasium.spaces.Box(-np.inf, np.inf, (2,)))
    with pytest.raises(ValueError, match="activation"):
        GaussianMLPTeam(2, LOW, HIGH, activation="sigmoid")


def test_log_prob_is_the_diagonal_gaussian_density():
    policy = small_policy()
    m, horizon = 3, 5
    params = spread_params(policy, m)
    k1, k2 = jax.random.split(jax.random.key(2))
    observations = jax.random.normal(k1, (m, horizon, 3))
    actions = jax.random.normal(k2, (m, horizon, 2))
    mean = np.asarray(jax.jit(hand_mean, static_argnums=2)(params, observations, jnp.tanh))
    std = np.exp(np.asarray(params["log_std"]))[:, None, :]
    expected = scipy.stats.norm.logpdf(np.asarray(actions), mean, std).sum(axis=-1)
    got = jax.jit(policy.log_prob)(params, observations, actions)
    assert got.shape == (m, horizon)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_act_samples_each_agents_gaussian():
    policy = small_policy()
    m, n = 3, 20_000
    params = spread_params(policy, m)
    observations = jax.random.normal(jax.random.key(3), (m, 3))
    u = uniform(jax.random.key(4), (n, m, 2))
    actions = jax.jit(jax.vmap(policy.act, in_axes=(None, None, None, 0)))(
        policy.prepare(params), observations, jnp.int32(0), u
    )
    assert actions.shape == (n, m, 2) and bool(jnp.all(jnp.isfinite(actions)))
    mu = np.asarray(policy.mean(params, observations))
    sigma = np.exp(np.asarray(params["log_std"]))
    assert np.ptp(mu[:, 0]) > 0.15 and np.ptp(sigma[:, 0]) > 0.2  # the agents really differ (the box is 0.4 wide)
    actions = np.asarray(actions, np.float64)
    assert np.all(np.abs(actions.mean(axis=0) - mu) < 5 * sigma / np.sqrt(n))
    assert np.all(np.abs(actions.std(axis=0) - sigma) < 5 * sigma / np.sqrt(2 * n))


def test_uniform_mode_covers_the_box_with_a_traced_flag():
    policy = small_policy()
    m, n = 2, 5_000
    params = spread_params(policy, m)
    observations = jax.random.normal(jax.random.key(5), (m, 3))
    u = uniform(jax.random.key(6), (n, m, 2))
    act_all = jax.vmap(policy.act, in_axes=(None, None, None, 0))
    low, high = np.asarray(LOW), np.asarray(HIGH)
    actions = np.asarray(jax.jit(act_all)(policy.prepare(params, True), observations, 0, u))
    assert np.all((actions >= low) & (actions < high))
    for i in range(m):
        for d in range(2):
            assert scipy.stats.kstest((actions[:, i, d] - low[d]) / (high[d] - low[d]), "uniform").pvalue > 1e-3

    @jax.jit
    @jax.vmap
    def by_flag(flag):
        return act_all(policy.prepare(params, flag), observations, 0, u[:100])

    both = by_flag(jnp.array([False, True]))
    np.testing.assert_allclose(
        both[0], jax.jit(act_all)(policy.prepare(params, False), observations, 0, u[:100]), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(both[1], actions[:100], rtol=1e-6, atol=1e-6)


def test_autodiff_score_equals_grad_of_the_weighted_log_likelihood():
    policy = small_policy("relu")
    n, m, horizon = 4, 2, 3
    params = spread_params(policy, m)
    k1, k2, k3 = jax.random.split(jax.random.key(7), 3)
    observations = jax.random.normal(k1, (n, m, horizon, 3))
    actions = jax.random.normal(k2, (n, m, horizon, 2))
    weights = jax.random.normal(k3, (n, m))

    def objective(p):
        total = 0.0
        for b in range(n):
            mean = hand_mean(p, observations[b], jax.nn.relu)
            std = jnp.exp(p["log_std"])[:, None, :]
            log_density = -0.5 * ((actions[b] - mean) / std) ** 2 - jnp.log(std) - 0.5 * jnp.log(2 * jnp.pi)
            total += jnp.sum(weights[b][:, None] * log_density.sum(axis=-1))
        return total

    expected = jax.jit(jax.grad(objective))(params)
    got = jax.jit(lambda p: autodiff_weighted_score(policy, p, observations, actions, weights))(params)
    assert jax.tree.structure(got) == jax.tree.structure(params)
    for g, e in zip(jax.tree.leaves(got), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_shared_parameters_act_identically():
    policy = small_policy()
    m = 4
    params = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf[:1], leaf.shape), spread_params(policy, m))
    observations = jnp.broadcast_to(jax.random.normal(jax.random.key(8), (1, 3)), (m, 3))
    u = jnp.broadcast_to(uniform(jax.random.key(9), (1, 2)), (m, 2))
    actions = jax.jit(policy.act)(policy.prepare(params), observations, 0, u)
    np.testing.assert_array_equal(actions, jnp.broadcast_to(actions[:1], actions.shape))
    log_probs = jax.jit(policy.log_prob)(params, observations[:, None], actions[:, None])
    np.testing.assert_array_equal(log_probs, jnp.broadcast_to(log_probs[:1], log_probs.shape))


def test_rollout_samples_team_trajectories():
    policy = GaussianMLPTeam(2, (-0.2, -0.2), (0.2, 0.2), hidden=(8,))
    env = Environment(
        name="drift",
        horizon=4,
        reset=lambda u: 2.0 * u - 1.0,
        step=lambda s, a, u: jnp.clip(s + jnp.clip(a, -0.2, 0.2), -6.0, 6.0),
        observation_space=gymnasium.spaces.Box(-6, 6, (2,)),
        action_space=gymnasium.spaces.Box(-0.2, 0.2, (2,)),
        feature_volume=144.0,
        reset_noise=2,
        step_noise=0,
    )
    params = policy.init(jax.random.key(10), 3)
    sample = jax.jit(lambda flag: sample_team(env, policy, params, jax.random.key(11), 5, uniform_actions=flag))
    for flag in (False, True):
        samples = sample(jnp.asarray(flag))
        assert samples.states.shape == (5, 3, 5, 2) and samples.actions.shape == (5, 3, 4, 2)
        assert bool(jnp.all(jnp.isfinite(samples.actions)))


def test_the_mean_stays_in_the_action_box_unless_unbounded():
    bounded, raw = small_policy(), dataclasses.replace(small_policy(), bounded_mean=False)
    params = spread_params(bounded, 3)  # output weights x 50: raw means far outside the box
    observations = 10.0 * jax.random.normal(jax.random.key(4), (3, 50, 3))
    means = np.asarray(bounded.mean(params, observations))
    assert np.all(means >= np.array(LOW) - 1e-6) and np.all(means <= np.array(HIGH) + 1e-6)
    raw_means = np.asarray(raw.mean(params, observations))
    np.testing.assert_allclose(
        raw_means, hand_mean(params, observations, jnp.tanh, bounded=False), rtol=1e-4, atol=1e-4
    )
    assert np.mean((raw_means < np.array(LOW)) | (raw_means > np.array(HIGH))) > 0.5
