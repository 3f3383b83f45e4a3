"""The plug-in entropy estimator against direct NumPy computation."""

import jax.numpy as jnp
import numpy as np
import pytest

from pmaxent.tabular.entropy import PluginEntropy, entropy, mixture_decomposition


def test_plugin_entropy_against_numpy():
    rng = np.random.default_rng(0)
    states = rng.integers(0, 9, (6, 4, 5))
    entropies = PluginEntropy(9)(jnp.asarray(states))
    support = entropies.extras["support"]

    def h(sample):
        p = np.bincount(sample.ravel(), minlength=9) / sample.size
        p = p[p > 0]
        return -np.sum(p * np.log(p))

    for b in range(6):
        assert entropies.team[b] == pytest.approx(h(states[b]), abs=1e-5)
        assert support[b] == pytest.approx(len(np.unique(states[b])), abs=1e-4)
        for i in range(4):
            assert entropies.agents[b, i] == pytest.approx(h(states[b, i]), abs=1e-5)
            assert entropies.without_agent[b, i] == pytest.approx(h(np.delete(states[b], i, 0)), abs=1e-5)


def test_entropy_of_a_distribution_and_decomposition_identity():
    rng = np.random.default_rng(1)
    dists = rng.dirichlet(np.ones(6), size=(3, 4))  # [3 batches, m = 4, S = 6]
    mix, mean_h, mean_kl = mixture_decomposition(jnp.asarray(dists))
    np.testing.assert_allclose(mix, mean_h + mean_kl, rtol=1e-5)
    p = dists.mean(axis=1)
    np.testing.assert_allclose(mix, -(p * np.log(p)).sum(-1), rtol=1e-5)
    assert float(entropy(jnp.array([0.5, 0.5, 0.0]))) == pytest.approx(np.log(2))
