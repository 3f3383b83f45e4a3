"""What every exploration dataset of pmaxent shares, tabular or continuous (SPEC section 6): the
dataset families and their collection streams, the naming and layout of a run's Minari
datasets, and the one writer of Minari datasets.

A run's datasets live in a Minari datasets root inside the run directory::

    RUN/datasets/pmaxent/<env>-<method>-m<m>-seed<k>[-n<N>]-v0/data/{metadata.json, main_data.hdf5}

so that ``MINARI_DATASETS_PATH=RUN/datasets`` makes ``minari.load_dataset("pmaxent/<...>-v0")``
read them. Our metadata lives under the key ``"pmaxent"`` of Minari's ``metadata.json``. The
``-n<N>`` part appears only when N != 1 trajectories per agent, so the paper's datasets have the
paper's names. The tabular datasets are :mod:`pmaxent.tabular.datasets`, the continuous ones
:mod:`pmaxent.continuous.datasets`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import gymnasium
import jax
import jax.numpy as jnp

#: Dataset families in the order of the paper's figures, then MEPOL's (continuous runs only).
METHODS = ("parallel", "single", "random", "mepol")
#: Minari namespace of every pmaxent dataset id.
NAMESPACE = "pmaxent"
#: Sub-directory of a run directory that is the Minari datasets root.
DATASETS_DIRNAME = "datasets"
#: Key of our metadata inside Minari's metadata.json.
METADATA_KEY = "pmaxent"
#: Version of the layout of our metadata; bump it when its fields change meaning.
METADATA_VERSION = 1

_MINARI_DATA_DIRNAME = "data"
_MINARI_METADATA_FILE = "metadata.json"
_MINARI_MAIN_FILE = "main_data.hdf5"


def _id_slug(name: str) -> str:
    """An environment name made safe for a Minari dataset id ([-_A-Za-z0-9] only)."""
    slug = re.sub(r"[^-_a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise ValueError(f"environment name {name!r} has no character usable in a dataset id")
    return slug


@jax.jit
def _keys_per_seed(collection_seed: jax.Array, family: jax.Array, seeds: jax.Array) -> jax.Array:
    family_key = jax.random.fold_in(jax.random.key(collection_seed), family)
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(family_key, seeds)


def collection_keys(method: str, seeds: Sequence[int], collection_seed: int = 0) -> jax.Array:
    """One PRNG key per training seed; each family gets its own stream so datasets are independent."""
    return _keys_per_seed(jnp.uint32(collection_seed), jnp.uint32(METHODS.index(method)), jnp.asarray(seeds, jnp.uint32))


def _is_dataset_dir(path: Path) -> bool:
    return (path / _MINARI_DATA_DIRNAME / _MINARI_METADATA_FILE).is_file()


def write_minari_dataset(
    target: Path,
    *,
    observation_space: gymnasium.spaces.Space,
    action_space: gymnasium.spaces.Space,
    env_spec,
    metadata: dict,
    episodes: Iterable[dict],
    overwrite: bool = False,
) -> Path:
    """Write episodes (dicts of observations, actions, rewards, terminations, truncations) as a
    Minari dataset in the directory ``target`` and return it.

    The dataset is written to a hidden temporary directory and then renamed, so a crash never
    leaves a half-written dataset under its id. Minari's public writer,
    ``minari.create_dataset_from_buffers``, can only write under the process-wide
    ``MINARI_DATASETS_PATH`` and takes ``EpisodeBuffer`` objects that Minari exports only from
    ``minari.data_collector.episode_buffer``; to write into a run directory we use that class and
    ``minari.dataset.minari_storage.MinariStorage`` directly, which is why pyproject.toml pins
    Minari to the 0.5 releases these modules are tested with.

    Raises:
        FileExistsError: the dataset exists and ``overwrite`` is False, or the target path is
            occupied by something that is not a dataset (never deleted).
    """
    from minari import __version__ as minari_version
    from minari.data_collector.episode_buffer import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage

    if target.exists():
        if not _is_dataset_dir(target):
            raise FileExistsError(f"{target} exists and is not a Minari dataset; not touching it")
        if not overwrite:
            raise FileExistsError(f"dataset {metadata['dataset_id']} already exists at {target}; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    # A leading dot hides the work directory from minari.list_local_datasets.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        storage = MinariStorage.new(
            staging / _MINARI_DATA_DIRNAME, observation_space=observation_space, action_space=action_space, env_spec=env_spec, jpeg_encoding=False
        )
        storage.update_metadata({"minari_version": minari_version, **metadata})
        storage.update_episodes(EpisodeBuffer(**episode) for episode in episodes)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def datasets_root(run_dir: Path | str) -> Path:
    """The Minari datasets root of a run: set ``MINARI_DATASETS_PATH`` to it to use minari.load_dataset."""
    return Path(run_dir) / DATASETS_DIRNAME


def run_methods(trained_methods: Iterable[str], requested: Iterable[str] | None = None) -> tuple[str, ...]:
    """The dataset families of a run: the requested ones (default: every trained method and
    "random"), checked and put in the order of :data:`METHODS`."""
    available = set(trained_methods) | {"random"}
    wanted = available if requested is None or not list(requested) else set(requested)
    unknown = wanted - set(METHODS)
    if unknown:
        raise ValueError(f"unknown dataset method(s) {sorted(unknown)}; choose from {METHODS}")
    untrained = wanted - available
    if untrained:
        raise ValueError(f"the run did not train {sorted(untrained)}; it trained {sorted(set(trained_methods))}")
    return tuple(method for method in METHODS if method in wanted)
