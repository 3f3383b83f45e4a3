"""The rollouts' uniform generators: distribution, independence, and sampling frequencies."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pmaxent import tabular
from pmaxent.core.random import uniform
from pmaxent.core.rollout import sample_team
from pmaxent.tabular.environment import tabular_environment
from pmaxent.tabular.policy import TabularSoftmax


@pytest.mark.parametrize("generator", ["hash", "jax"])
def test_uniforms_pass_kolmogorov_smirnov(generator):
    n = 200_000
    u = np.sort(np.asarray(uniform(jax.random.key(0), (n,), generator), np.float64))
    assert u.min() >= 0.0 and u.max() < 1.0
    ks = np.max(np.maximum(np.arange(1, n + 1) / n - u, u - np.arange(n) / n))
    assert ks < 1.95 / np.sqrt(n)  # the 0.1% critical value


def test_hash_streams_of_different_keys_and_neighbouring_counters_are_uncorrelated():
    keys = jax.random.split(jax.random.key(1), 2)
    a = np.asarray(uniform(keys[0], (100_000,), "hash"))
    b = np.asarray(uniform(keys[1], (100_000,), "hash"))
    # correlation of independent uniforms has std 1/sqrt(n) ~ 0.003
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.015
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 0.015
    assert not np.array_equal(a[:100], b[:100])


def test_team_sampling_with_hashed_uniforms_matches_policy_and_dynamics():
    mdp = tabular.make("room-stoc")
    policy = TabularSoftmax(mdp.n_states, mdp.n_actions, mdp.horizon)
    params = policy.init(jax.random.key(2), 2)
    samples = sample_team(tabular_environment(mdp), policy, params, jax.random.key(3), 20_000, "hash")
    first_action = np.asarray(samples.actions[:, 0, 0])
    expected = np.asarray(jax.nn.softmax(params[0, mdp.start_state]))
    observed = np.bincount(first_action, minlength=4) / len(first_action)
    sigma = np.sqrt(expected * (1 - expected) / len(first_action))
    assert np.all(np.abs(observed - expected) < 5 * sigma)
    # next-state frequencies after action "right" from the start: 0.8 intended + slips
    right = first_action == 2
    next_states = np.asarray(samples.states[:, 0, 1])[right]
    expected_next = mdp.P[mdp.start_state, 2]
    observed_next = np.bincount(next_states, minlength=mdp.n_states) / right.sum()
    sigma_next = np.sqrt(expected_next * (1 - expected_next) / right.sum())
    assert np.all(np.abs(observed_next - expected_next) <= 5 * sigma_next + 1e-12)
    assert np.all(observed_next[expected_next == 0] == 0)


def test_unknown_generator_is_refused():
    with pytest.raises(ValueError, match="unknown uniform generator"):
        uniform(jax.random.key(0), (3,), "mersenne")
    assert jnp.isfinite(uniform(jax.random.key(0), (3,), "jax")).all()
