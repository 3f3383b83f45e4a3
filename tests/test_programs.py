"""StoredProgram: compiled programs kept on disk, reloaded without tracing, with the jitted results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pmaxent.core import programs
from pmaxent.core.devices import Lanes


class CountingJit:
    """A jitted function that counts how often it is traced and lowered."""

    def __init__(self, fun, static_argnums=()):
        self.jitted = jax.jit(fun, static_argnums=static_argnums)
        self.lowerings = 0

    def __call__(self, *args):
        return self.jitted(*args)

    def lower(self, *args):
        self.lowerings += 1
        return self.jitted.lower(*args)


def _scan_power(x, length):
    return jax.lax.scan(lambda c, _: (c * 1.5 + jnp.sin(c), c.sum()), x, None, length=length)


@pytest.fixture
def store(tmp_path):
    programs.use_program_store(tmp_path / "programs")
    yield tmp_path / "programs"
    programs.use_program_store(None)


def test_a_stored_program_is_reloaded_without_tracing_and_gives_the_jitted_result(store):
    x = jnp.linspace(-1.0, 1.0, 7)
    expected = jax.jit(_scan_power, static_argnums=1)(x, 5)
    first = CountingJit(_scan_power, static_argnums=(1,))
    result = programs.StoredProgram(first, "scan", "fingerprint-a", static_argnums=(1,))(x, 5)
    assert first.lowerings == 1 and len(list(store.glob("scan-*.pkl"))) == 1
    again = CountingJit(_scan_power, static_argnums=(1,))  # a new process would build a new one
    reloaded = programs.StoredProgram(again, "scan", "fingerprint-a", static_argnums=(1,))(x, 5)
    assert again.lowerings == 0
    for got in (result, reloaded):
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


def test_the_key_changes_with_the_fingerprint_the_static_arguments_and_the_shapes(store):
    x = jnp.ones(4)
    for fingerprint, length, argument in [("a", 3, x), ("b", 3, x), ("a", 4, x), ("a", 3, jnp.ones(5))]:
        counting = CountingJit(_scan_power, static_argnums=(1,))
        programs.StoredProgram(counting, "scan", fingerprint, static_argnums=(1,))(argument, length)
        assert counting.lowerings == 1
    assert len(list(store.glob("scan-*.pkl"))) == 4


def test_a_corrupt_stored_program_is_compiled_again(store):
    x = jnp.arange(3.0)
    programs.StoredProgram(jax.jit(jnp.cumsum), "cumsum", "f")(x)
    (path,) = store.glob("cumsum-*.pkl")
    path.write_bytes(b"not a program")
    counting = CountingJit(jnp.cumsum)
    np.testing.assert_array_equal(programs.StoredProgram(counting, "cumsum", "f")(x), [0.0, 1.0, 3.0])
    assert counting.lowerings == 1 and path.read_bytes() != b"not a program"


def test_a_program_sharded_over_the_devices_is_reloaded_onto_the_same_devices(store):
    lanes = Lanes((2, 3))
    packed = lanes.pack(jax.random.normal(jax.random.key(0), (2, 3, 4)))
    fun = jax.vmap(lambda v: jnp.cumsum(v) ** 2)
    expected = lanes.unpack(jax.jit(fun)(packed))
    programs.StoredProgram(jax.jit(fun), "lanes", "f")(packed)
    counting = CountingJit(fun)
    reloaded = programs.StoredProgram(counting, "lanes", "f")(packed)
    assert counting.lowerings == 0
    assert reloaded.sharding == packed.sharding
    np.testing.assert_array_equal(lanes.unpack(reloaded), expected)


def test_without_a_store_a_stored_program_is_the_jitted_function(tmp_path):
    programs.use_program_store(None)
    counting = CountingJit(jnp.cumsum)
    np.testing.assert_array_equal(programs.StoredProgram(counting, "cumsum", "f")(jnp.ones(3)), [1.0, 2.0, 3.0])
    assert counting.lowerings == 0 and not any(tmp_path.iterdir())


def test_a_program_returning_an_equinox_network_is_stored_and_rebuilds_it(store):
    # an Equinox module's structure holds equinox's MISSING sentinel, compared by identity: the
    # store pickles it by name, so the reloaded program rebuilds the network
    import equinox as eqx

    def make_mlp(key):
        first, second = jax.random.split(key)
        return eqx.nn.Linear(2, 8, key=first), eqx.nn.Linear(8, 2, use_bias=False, key=second)

    key = jax.random.key(1)
    expected = jax.jit(make_mlp)(key)
    programs.StoredProgram(jax.jit(make_mlp), "mlp", "f")(key)
    assert len(list(store.glob("mlp-*.pkl"))) == 1
    counting = CountingJit(make_mlp)
    reloaded = programs.StoredProgram(counting, "mlp", "f")(key)
    assert counting.lowerings == 0 and all(isinstance(layer, eqx.nn.Linear) for layer in reloaded)
    assert jax.tree.structure(reloaded) == jax.tree.structure(expected)
    np.testing.assert_array_equal(reloaded[1](reloaded[0](jnp.ones(2))), expected[1](expected[0](jnp.ones(2))))


@jax.tree_util.register_pytree_node_class
class _Tagged:
    """A pytree node whose structure holds an object compared by identity that is no module's
    value: a pickled copy of the structure is not equal to it."""

    def __init__(self, value, tag=None):
        self.value, self.tag = value, tag if tag is not None else object()

    def tree_flatten(self):
        return (self.value,), self.tag

    @classmethod
    def tree_unflatten(cls, tag, children):
        return cls(children[0], tag)


def test_a_program_whose_results_do_not_survive_pickling_is_not_stored_and_runs_in_every_process(store):
    tagged = _Tagged(jnp.ones(3))

    def double(x):
        return _Tagged(x.value * 2, x.tag)

    for _ in range(2):  # the second is what a later process does
        counting = CountingJit(double)
        result = programs.StoredProgram(counting, "tagged", "f")(tagged)
        assert counting.lowerings == 1 and result.tag is tagged.tag
        np.testing.assert_array_equal(result.value, [2.0, 2.0, 2.0])
    assert not list(store.glob("tagged-*.pkl"))


def test_a_program_calling_kernels_outside_itself_is_not_stored(store):
    # a Cholesky factorisation on a CPU is a custom call into LAPACK (as in MJX's constraint
    # solver); a stored program holding custom calls crashed the process that reloaded it
    matrix = jnp.array([[4.0, 2.0], [2.0, 3.0]])
    for _ in range(2):
        counting = CountingJit(jnp.linalg.cholesky)
        factor = programs.StoredProgram(counting, "cholesky", "f")(matrix)
        assert counting.lowerings == 1
        np.testing.assert_allclose(factor @ factor.T, matrix, rtol=1e-6)
    assert not list(store.glob("cholesky-*.pkl"))
