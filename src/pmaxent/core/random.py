"""Uniform random numbers for the simulator's hot loop.

On a CPU, JAX's default threefry generator costs more than everything else a tabular update
does (benchmarks/bench_train.py measures it). ``"hash"`` draws one 64-bit seed from the key with
threefry and expands it with a counter-based integer hash (two rounds of the `lowbias32`
finaliser, keyed by both halves of the seed), several times cheaper. Every other choice is a
``"jax"`` is ``jax.random.uniform`` with the key's own implementation (threefry2x32, rbg or
unsafe_rbg). The tests check the frequencies of both.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

UNIFORM_GENERATORS = ("hash", "jax")


def _lowbias32(x: jax.Array) -> jax.Array:
    """A 32-bit integer hash with low bias (C. Wellons' `lowbias32` constants)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def hashed_uniform(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """float32 uniforms in [0, 1) of ``shape`` from a counter hashed under a key-derived seed."""
    seed = jax.random.bits(key, (2,), jnp.uint32)
    counter = jnp.arange(int(np.prod(shape)), dtype=jnp.uint32).reshape(shape)
    bits = _lowbias32(_lowbias32(counter ^ seed[0]) + seed[1])
    return (bits >> 8).astype(jnp.float32) * jnp.float32(1.0 / (1 << 24))


def uniform(key: jax.Array, shape: tuple[int, ...], generator: str = "hash") -> jax.Array:
    """Uniforms in [0, 1) from ``key`` with the named generator ("hash" or "jax")."""
    if generator == "hash":
        return hashed_uniform(key, shape)
    if generator == "jax":
        # drawn flat then reshaped: the same values, and XLA:CPU compiles it several times faster
        return jax.random.uniform(key, (int(np.prod(shape)),)).reshape(shape)
    raise ValueError(f"unknown uniform generator {generator!r}; choose from {UNIFORM_GENERATORS}")
