"""benchmarks/bench_continuous.py's NumPy baseline does the work of a PGPSE update: its gradient by
backpropagation equals JAX's autodiff of the same weighted log-likelihood."""

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

spec = importlib.util.spec_from_file_location(
    "bench_continuous", Path(__file__).parents[1] / "benchmarks" / "bench_continuous.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_the_numpy_score_gradient_is_autodiffs():
    rng = np.random.default_rng(1)
    sizes = (2, 8, 8, 2)
    net = [(rng.normal(0, 1, (a, b)), rng.normal(0, 0.1, b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    log_std, observations, actions, weights = (
        np.array([-1.0, -0.5]),
        rng.normal(size=(30, 2)),
        rng.normal(size=(30, 2)),
        rng.normal(size=30),
    )
    grads, grad_log_std = bench._score_gradient(net, log_std, observations, actions, weights)

    def objective(layers, log_std):  # sum_n w_n log N(a_n; MLP(o_n), exp(log_std)^2)
        h = observations
        for i, (w, b) in enumerate(layers):
            h = h @ w + b
            h = jnp.maximum(h, 0) if i < len(layers) - 1 else h
        return jnp.sum(
            weights
            * (
                -0.5 * jnp.sum(((actions - h) * jnp.exp(-log_std)) ** 2, axis=1)
                - jnp.sum(log_std)
                - jnp.log(2 * jnp.pi)
            )
        )

    with jax.enable_x64(True):
        expected, expected_log_std = jax.grad(objective, argnums=(0, 1))(net, log_std)
    for (w, b), (ew, eb) in zip(grads, expected, strict=True):
        np.testing.assert_allclose(w, ew, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b, eb, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grad_log_std, expected_log_std, rtol=1e-9, atol=1e-12)
