"""Lanes: methods x seeds flattened, padded to the device count, sharded, and back."""

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.devices import Lanes, cache_usage, clear_compilation_cache


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


def _train_process(cache, out, *flags):
    """A `pmaxent train` process with the compilation cache setting ``cache``; its XLA flags unset."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"} | {
        "PMAXENT_COMPILATION_CACHE": str(cache)
    }
    command = [
        sys.executable,
        "-c",
        "from pmaxent.cli import main; main()",
        *flags,
        "train",
        "--env",
        "room-det",
        "-m",
        "2",
        "--updates",
        "20",
        "--seeds",
        "0",
        "--chunk",
        "20",
        "--out",
        str(out),
        "--quiet",
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=out.parent)


def test_grouped_lanes_run_every_device_group_after_group_and_keep_each_lane_in_its_place():
    devices = len(jax.devices())
    for n_lanes, group in ((1, 1), (5, 1), (7, 2), (3, 4)):
        lanes = Lanes((n_lanes,), group)
        assert lanes.devices == jax.devices()  # a single lane too: one device computes differently
        assert lanes.n_padded % (devices * group) == 0 and lanes.n_padded - n_lanes < devices * group
        assert lanes.groups * devices * group == lanes.n_padded
        values = np.arange(n_lanes * 3, dtype=np.float32).reshape(n_lanes, 3)
        sizes = []

        def double(x, sizes=sizes):
            sizes.append(x.shape[0])  # traced once: the lanes computed at once
            return x * 2

        out = lanes.unpack(
            jax.jit(lambda x, lanes=lanes, double=double: lanes.map_groups(double, x))(lanes.pack(values))
        )
        np.testing.assert_array_equal(out, values * 2)
        assert sizes == [devices * group]


def test_the_cli_keeps_compiled_programs_and_reuses_them_with_the_same_result(tmp_path):
    cache, store = tmp_path / "cache", tmp_path / "cache-programs"
    first = _train_process(cache, tmp_path / "a")
    assert first.returncode == 0, first.stderr
    entries = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert entries, "no compiled program was cached"
    stored = {p.name: p.stat().st_mtime_ns for p in store.glob("*.pkl")}
    assert {name.split("-")[0] for name in stored} == {"initial", "train"}  # initial-states, train-chunk
    second = _train_process(cache, tmp_path / "b")
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == entries  # all hits: nothing new compiled
    assert {
        p.name: p.stat().st_mtime_ns for p in store.glob("*.pkl")
    } == stored  # loaded, not compiled and written again
    assert (tmp_path / "a" / "metrics.csv").read_text() == (tmp_path / "b" / "metrics.csv").read_text()
    usage = cache_usage(cache)
    assert usage[cache][0] == len(entries) and usage[store] == (2, sum(p.stat().st_size for p in store.glob("*.pkl")))
    assert clear_compilation_cache(cache) == (len(entries) + 2, sum(size for _, size in usage.values()))
    assert not cache.exists() and not store.exists()


def test_the_compilation_cache_can_be_turned_off(tmp_path):
    cache = tmp_path / "cache"
    result = _train_process(cache, tmp_path / "a", "--no-compile-cache")
    assert result.returncode == 0, result.stderr
    assert not cache.exists() and not (tmp_path / "cache-programs").exists()
    result = _train_process("off", tmp_path / "b")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "off").exists() and not (tmp_path / "off-programs").exists()


def test_importing_pmaxent_gives_the_python_api_one_device_per_core():
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    code = "import pmaxent, jax, os; print(len(jax.devices()), os.cpu_count())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    devices, cores = result.stdout.split()
    assert devices == cores


def test_xla_is_capped_at_a_portable_instruction_set_unless_the_user_chose_one():
    """The cap is what makes a seed's numbers the same on AVX2 and AVX-512 machines; a user's own
    XLA_FLAGS choice wins."""
    import os
    import platform
    import subprocess
    import sys

    from pmaxent.core.devices import PORTABLE_X86_ISA

    code = "import os, pmaxent; print(os.environ['XLA_FLAGS'])"
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    chosen = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    expected = f"--xla_cpu_max_isa={PORTABLE_X86_ISA}" if platform.machine().lower() in ("x86_64", "amd64") else None
    assert chosen.returncode == 0, chosen.stderr
    assert (expected in chosen.stdout.split()) if expected else "xla_cpu_max_isa" not in chosen.stdout
    env["XLA_FLAGS"] = "--xla_cpu_max_isa=SSE4_2"
    kept = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert kept.stdout.split().count("--xla_cpu_max_isa=SSE4_2") == 1 and "AVX2" not in kept.stdout


def test_describe_machine_names_the_cpu_its_vector_width_and_the_devices():
    from pmaxent.core.devices import describe_machine

    machine = describe_machine()
    assert machine["isa"] in ("AVX-512", "AVX2", "AVX", None)
    assert machine["devices"] == [str(d) for d in jax.devices()] and machine["cores"] >= 1 and machine["processor"]
