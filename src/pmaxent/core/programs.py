"""Compiled programs kept on disk between processes and found without tracing.

JAX's persistent compilation cache (:func:`pmaxent.core.devices.use_compilation_cache`) skips XLA's
compile, but it finds an entry by the program's HLO, so every process still traces and lowers
each program first. For a short ``pmaxent train`` that was most of what the cache left: tracing
and lowering the training program took several times longer than loading the compiled program.
A :class:`StoredProgram` keys a compiled program by what it is built from instead
(a fingerprint of its settings, pmaxent's source, the versions of the libraries, XLA's flags,
the devices and the arguments' shapes and shardings) and loads it with
``jax.experimental.serialize_executable``. A program built from something the key cannot see
(components a user passed in) must not be stored: :class:`StoredProgram` is then not used.
Nor is a program that calls kernels outside itself (custom calls, e.g. LAPACK's in MJX) or whose
argument or result structure does not survive pickling: it is compiled, through the persistent
cache, in every process.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.metadata
import io
import os
import pickle
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
from jax.experimental.compilation_cache.compilation_cache import reset_cache
from jax.experimental.serialize_executable import deserialize_and_load, serialize
from jax.sharding import NamedSharding, SingleDeviceSharding

_store: Path | None = None
_LIBRARIES = ("jax", "jaxlib", "numpy", "optax", "flax", "mujoco", "mujoco-mjx")
"""The distributions whose code can end up in a compiled program of pmaxent's."""


def use_program_store(directory: str | Path | None) -> None:
    """Keep compiled programs in ``directory`` (None: keep none; every StoredProgram is then a
    plain jitted function)."""
    global _store
    _store = Path(directory).expanduser() if directory is not None else None


@contextlib.contextmanager
def _persistent_cache_off():
    """JAX's persistent cache is bypassed inside: a program it returns serializes without its
    kernels (jaxlib 0.10.2 on CPU: "Function wrapped_broadcast not found" when the reloaded
    program runs), so a program to store is compiled afresh."""
    enabled = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", False)
    reset_cache()  # JAX decides once per process whether the cache is used; this asks again
    try:
        yield
    finally:
        jax.config.update("jax_enable_compilation_cache", enabled)
        reset_cache()


@functools.cache
def _build_digest() -> str:
    """pmaxent's source and the versions of the libraries its programs are made of."""
    digest = hashlib.sha256()
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for name in _LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}={version};".encode())
    return digest.hexdigest()


def _leaf_signature(leaf: Any) -> str:
    if isinstance(leaf, jax.Array):
        return f"{leaf.dtype}{leaf.shape}{getattr(leaf, 'weak_type', False)}@{leaf.sharding}"
    dtype = getattr(leaf, "dtype", type(leaf).__name__)
    return f"{dtype}{getattr(leaf, 'shape', ())}@host"


def _execution_devices(compiled) -> list | None:
    """The devices ``compiled`` runs on, in its device assignment's order (a reloaded program is
    otherwise put on every device); None when its shardings do not say."""
    shardings = jax.tree.leaves((compiled.input_shardings, compiled.output_shardings))
    meshes = {tuple(s.mesh.devices.flat) for s in shardings if isinstance(s, NamedSharding)}
    singles = {tuple(s.device_set) for s in shardings if isinstance(s, SingleDeviceSharding)}
    if len(meshes) == 1 and all(set(d) <= set(*meshes) for d in singles):
        return list(*meshes)
    if not meshes and len(singles) == 1:
        return list(*singles)
    return None


def _calls_outside_kernels(lowered) -> bool:
    """Whether the program calls kernels that live outside it (custom calls: MJX's constraint
    solver calls LAPACK's Cholesky, lapack_spotrf_ffi). A stored program holding them crashed the
    process that reloaded it (segmentation fault, jaxlib 0.10.2 on CPU), so such programs are
    never stored."""
    return "custom_call" in lowered.as_text()


def _singleton_name(obj: Any) -> tuple[str, str] | None:
    """(module, name) when obj is compared by identity and is a module-level value of its class's
    module (a sentinel such as Equinox's MISSING), else None."""
    kind = type(obj)
    if kind.__eq__ is not object.__eq__ or isinstance(obj, (type, types.FunctionType, types.ModuleType)):
        return None
    module = sys.modules.get(kind.__module__)
    return (
        next(((kind.__module__, name) for name, value in vars(module).items() if value is obj), None)
        if module
        else None
    )


class _Pickler(pickle.Pickler):
    """Pickles module-level sentinels by name, so that an unpickled pytree structure holds the same
    objects: an Equinox module's structure holds equinox's MISSING, compared by identity, and a
    copy of it would leave the reloaded program unable to rebuild its results ("'_Missing' object
    is not subscriptable")."""

    def persistent_id(self, obj):
        return _singleton_name(obj)


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        module, name = pid
        return getattr(importlib.import_module(module), name)


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(value)
    return buffer.getvalue()


def _loads(data: bytes) -> Any:
    return _Unpickler(io.BytesIO(data)).load()


def _survives_pickling(treedef) -> bool:
    """Whether a pickled copy of treedef is equal to it: a stored program is reloaded with copies
    of its argument and result structures, so a program whose structures do not survive (a node
    whose data pickle cannot rebuild) is not stored."""
    try:
        return _loads(_dumps(treedef)) == treedef
    except Exception:  # a node type pickle cannot handle
        return False


class StoredProgram:
    """``jitted`` (a ``jax.jit`` function) whose compiled programs are kept in the program store
    and loaded from it in later processes.

    Args:
        jitted: the function, jitted with ``static_argnums``.
        name: a label for the stored files.
        fingerprint: everything the traced program depends on besides pmaxent's code, the
            libraries and the arguments (e.g. a config's JSON).
        static_argnums: the positions of ``jitted``'s static arguments.
    """

    def __init__(self, jitted: Callable, name: str, fingerprint: str, static_argnums: tuple[int, ...] = ()):
        self._jitted = jitted
        self._name = name
        self._fingerprint = fingerprint
        self._static = tuple(static_argnums)
        self._loaded: dict[str, Callable] = {}

    def __call__(self, *args):
        if _store is None:
            return self._jitted(*args)
        dynamic = tuple(a for i, a in enumerate(args) if i not in self._static)
        key = self._key(args, dynamic)
        if key not in self._loaded:
            self._loaded[key] = self._load_or_compile(key, args)
        return self._loaded[key](*dynamic)

    def _key(self, args: tuple, dynamic: tuple) -> str:
        leaves, treedef = jax.tree.flatten(dynamic)
        parts = [
            self._name,
            self._fingerprint,
            _build_digest(),
            os.environ.get("XLA_FLAGS", ""),
            repr(sorted((k, repr(v)) for k, v in jax.config.values.items())),
            repr([(d.platform, d.device_kind, d.id) for d in jax.devices()]),
            repr(tuple(args[i] for i in self._static)),
            str(treedef),
            *map(_leaf_signature, leaves),
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]

    def _load_or_compile(self, key: str, args: tuple) -> Callable:
        path = _store / f"{self._name}-{key}.pkl"
        if path.exists():
            try:
                serialized, in_tree, out_tree, device_ids = _loads(path.read_bytes())
                devices = {d.id: d for d in jax.devices()}
                return deserialize_and_load(
                    serialized, in_tree, out_tree, execution_devices=[devices[i] for i in device_ids]
                )
            except Exception:  # a file cut short or from another XLA: compile it again
                path.unlink(missing_ok=True)
        lowered = self._jitted.lower(*args)
        if _calls_outside_kernels(lowered) or not (
            _survives_pickling(lowered.in_tree) and _survives_pickling(lowered.out_tree)
        ):
            return lowered.compile()
        with _persistent_cache_off():
            compiled = lowered.compile()
        devices = _execution_devices(compiled)
        if devices is None:
            return compiled
        try:
            serialized = serialize(compiled)
        except (ValueError, NotImplementedError):  # the program cannot be serialized (e.g. it holds host callbacks)
            return compiled
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(_dumps((*serialized, [d.id for d in devices])))
        os.replace(partial, path)  # a process reading it meanwhile never sees half a file
        return compiled
