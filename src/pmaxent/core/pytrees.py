"""Pytrees (parameters, optimizer and training states) to and from flat named arrays, for
``.npz`` files: one array per leaf, named by the prefix and the leaf's path in the tree."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _is_key(leaf) -> bool:
    return jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def tree_to_arrays(tree: Any, prefix: str) -> dict[str, np.ndarray]:
    """{prefix + path: array} for every leaf of ``tree`` (PRNG keys stored as their key data).

    A tree that is a single array is stored under ``prefix`` itself.
    """
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {
        prefix + jax.tree_util.keystr(path): np.asarray(jax.random.key_data(leaf) if _is_key(leaf) else leaf)
        for path, leaf in leaves
    }


def tree_from_arrays(template: Any, arrays: Mapping[str, np.ndarray], prefix: str, to_device: bool = True) -> Any:
    """The tree of ``template``'s structure whose leaves are ``arrays`` as written by
    :func:`tree_to_arrays`; a missing name or a leaf of another shape raises ValueError."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    filled = []
    for path, leaf in leaves:
        name = prefix + jax.tree_util.keystr(path)
        if name not in arrays:
            raise ValueError(f"array {name!r} is missing")
        value = np.asarray(arrays[name])
        if _is_key(leaf):
            key = jax.random.wrap_key_data(jnp.asarray(value), impl=jax.random.key_impl(leaf))
            if key.shape != leaf.shape:
                raise ValueError(f"array {name!r} holds keys of shape {key.shape}, expected {leaf.shape}")
            filled.append(key)
            continue
        if value.shape != tuple(leaf.shape):
            raise ValueError(f"array {name!r} has shape {value.shape}, expected {tuple(leaf.shape)}")
        filled.append(jnp.asarray(value) if to_device else value)
    return jax.tree_util.tree_unflatten(treedef, filled)


def partial_path(path: Path) -> Path:
    """Where :func:`save_npz` writes before renaming over ``path``."""
    return path.with_suffix(".tmp.npz")


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` of ``arrays`` to ``path``, written whole or not at all: to :func:`partial_path`
    first, then renamed, so an interrupted write never leaves half a file at ``path``."""
    partial = partial_path(path)
    np.savez(partial, **arrays)
    os.replace(partial, path)
