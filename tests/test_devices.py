"""Lanes: methods x seeds flattened, padded to the device count, sharded, and back."""

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.devices import Lanes


def test_pack_pads_to_device_count_and_unpack_restores_every_leaf():
    lanes = Lanes((1, 5))
    assert lanes.n_padded % len(jax.devices()) == 0 and lanes.n_padded >= 5
    tree = {"params": jnp.arange(5 * 3, dtype=jnp.float32).reshape(1, 5, 3), "step": jnp.arange(5).reshape(1, 5)}
    packed = lanes.pack(tree)
    assert packed["params"].shape == (lanes.n_padded, 3)
    np.testing.assert_array_equal(packed["params"][5:], np.repeat(packed["params"][:1], lanes.n_padded - 5, axis=0))
    restored = lanes.unpack(jax.tree.map(lambda x: x * 2, packed))
    np.testing.assert_array_equal(restored["params"], 2 * tree["params"])
    np.testing.assert_array_equal(restored["step"], 2 * tree["step"])


def test_packed_computation_matches_unpacked():
    lanes = Lanes((2, 3))
    x = jax.random.normal(jax.random.key(0), (2, 3, 4))
    packed_result = lanes.unpack(jax.jit(jax.vmap(lambda v: jnp.cumsum(v) ** 2))(lanes.pack(x)))
    np.testing.assert_allclose(packed_result, jnp.cumsum(x, axis=-1) ** 2, rtol=1e-6)
