"""Tabular softmax policies: initialisation, sampling frequencies, log-probabilities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pmaxent.tabular.policy import TabularSoftmax


def test_initialisations():
    policy = TabularSoftmax(7, 4, 3)
    params = policy.init(jax.random.key(0), 5)
    assert params.shape == (5, 7, 4)
    assert float(params.min()) >= -1.0 and float(params.max()) <= 1.0 and float(params.std()) > 0.4
    assert np.all(TabularSoftmax(7, 4, 3, initialisation="zeros").init(jax.random.key(0), 2) == 0)
    assert TabularSoftmax(7, 4, 3, time_indexed=True).init(jax.random.key(0), 2).shape == (2, 3, 7, 4)
    uniform_cdf = policy.prepare(params, uniform=True)
    np.testing.assert_allclose(uniform_cdf, np.broadcast_to([0.25, 0.5, 0.75, 1.0], params.shape), atol=1e-6)
    with pytest.raises(ValueError, match="initialisation"):
        TabularSoftmax(7, 4, 3, initialisation="normal")


@pytest.mark.parametrize("time_indexed", [False, True])
def test_act_samples_each_agents_own_probabilities(time_indexed):
    policy = TabularSoftmax(3, 4, 2, time_indexed=time_indexed)
    params = 2.0 * policy.init(jax.random.key(1), 2)
    n = 40_000
    states = jnp.full((n, 2), 1)
    t = jnp.int32(1)
    actions = np.asarray(
        policy.act(policy.prepare(params), states, t, jax.random.uniform(jax.random.key(2), (n, 2, 1)))
    )
    probs = np.asarray(policy.probs(params))
    for agent in range(2):
        expected = probs[agent, 1, 1] if time_indexed else probs[agent, 1]
        observed = np.bincount(actions[:, agent], minlength=4) / n
        assert np.all(np.abs(observed - expected) < 5 * np.sqrt(expected * (1 - expected) / n))


def test_log_prob_is_log_softmax_of_the_visited_rows():
    policy = TabularSoftmax(3, 2, 2)
    params = policy.init(jax.random.key(3), 2)
    states = jnp.array([[[0, 2], [1, 1]]])  # [B=1, m=2, T=2]
    actions = jnp.array([[[1, 0], [0, 1]]])
    logp = np.asarray(policy.log_prob(params, states, actions))
    log_softmax = np.asarray(jax.nn.log_softmax(params, axis=-1))
    for i in range(2):
        for t in range(2):
            assert logp[0, i, t] == pytest.approx(log_softmax[i, states[0, i, t], actions[0, i, t]], abs=1e-6)
