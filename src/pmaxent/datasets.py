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

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

#: Dataset families in the order of the paper's figures, then MEPOL's (continuous runs only).
DATASET_METHODS = ("parallel", "single", "random", "mepol")
#: Minari namespace of every pmaxent dataset id.
NAMESPACE = "pmaxent"
#: Sub-directory of a run directory that is the Minari datasets root.
DATASETS_DIRNAME = "datasets"
#: Key of our metadata inside Minari's metadata.json.
METADATA_KEY = "pmaxent"
#: Version of the layout of our metadata; bump it when its fields change meaning.
METADATA_VERSION = 1

MINARI_DATA_DIRNAME = "data"
MINARI_METADATA_FILE = "metadata.json"
MINARI_MAIN_FILE = "main_data.hdf5"
_MINARI_ROOT_VARIABLE = "MINARI_DATASETS_PATH"
#: Minari's warnings about metadata that only datasets shared on its hub need.
_MINARI_HUB_WARNINGS = (
    r"(`(code_permalink|author|author_email|algorithm_name|description|eval_env)` is set to None|env_spec is None)"
)


def id_slug(name: str) -> str:
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
    return _keys_per_seed(
        jnp.uint32(collection_seed), jnp.uint32(DATASET_METHODS.index(method)), jnp.asarray(seeds, jnp.uint32)
    )


def _is_dataset_dir(path: Path) -> bool:
    return (path / MINARI_DATA_DIRNAME / MINARI_METADATA_FILE).is_file()


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

    ``metadata`` holds the dataset's ``dataset_id``, optionally its ``algorithm_name`` and
    ``description``, and any other keys of ours (stored as they are in Minari's metadata.json).
    The dataset is written with Minari's public writer, ``minari.create_dataset_from_buffers``,
    to a hidden temporary directory and then renamed, so a crash never leaves a half-written
    dataset under its id. That writer writes only under ``MINARI_DATASETS_PATH``, so the
    variable points at the temporary directory while it runs (and is restored after: the
    write is not thread-safe); it takes no metadata of ours, which is added afterwards through
    the dataset's storage (``MinariDataset.storage.update_metadata``). Given an ``env_spec``,
    the writer makes the environment once (``gymnasium.make``; under a millisecond for pmaxent's
    and Gymnasium's classic worlds) though our spaces are the ones stored.

    Raises:
        FileExistsError: the dataset exists and ``overwrite`` is False, or the target path is
            occupied by something that is not a dataset (never deleted).
    """
    import warnings

    import minari
    from minari.data_collector import EpisodeBuffer

    if target.exists():
        if not _is_dataset_dir(target):
            raise FileExistsError(f"{target} exists and is not a Minari dataset; not touching it")
        if not overwrite:
            raise FileExistsError(
                f"dataset {metadata['dataset_id']} already exists at {target}; pass overwrite=True to replace it"
            )
    ours = dict(metadata)
    dataset_id, algorithm_name, description = (
        ours.pop("dataset_id"),
        ours.pop("algorithm_name", None),
        ours.pop("description", None),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    # A leading dot hides the work directory from minari.list_local_datasets.
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent)).resolve()
    previous_root = os.environ.get(_MINARI_ROOT_VARIABLE)
    os.environ[_MINARI_ROOT_VARIABLE] = str(staging)
    try:
        with warnings.catch_warnings():
            # what Minari asks of datasets meant for its hub (author, code_permalink, eval_env...)
            warnings.filterwarnings("ignore", message=_MINARI_HUB_WARNINGS, category=UserWarning)
            dataset = minari.create_dataset_from_buffers(
                dataset_id,
                [EpisodeBuffer(**episode) for episode in episodes],
                env=env_spec,
                algorithm_name=algorithm_name,
                description=description,
                observation_space=observation_space,
                action_space=action_space,
                jpeg_encoding=False,
            )
        storage = dataset.storage
        storage.update_metadata(ours)
        # Minari's size in MB counts metadata.json: measured again now that it holds ours
        storage.update_metadata({"dataset_size": storage.get_size()})
        if target.exists():
            shutil.rmtree(target)
        (staging / dataset_id).rename(target)
    finally:
        if previous_root is None:
            os.environ.pop(_MINARI_ROOT_VARIABLE, None)
        else:
            os.environ[_MINARI_ROOT_VARIABLE] = previous_root
        if staging.exists():
            shutil.rmtree(staging)
    return target


def datasets_root(run_dir: Path | str) -> Path:
    """The Minari datasets root of a run: set ``MINARI_DATASETS_PATH`` to it to use minari.load_dataset."""
    return Path(run_dir) / DATASETS_DIRNAME


def run_methods(trained_methods: Iterable[str], requested: Iterable[str] | None = None) -> tuple[str, ...]:
    """The dataset families of a run: the requested ones (default: every trained method and
    "random"), checked and put in the order of :data:`DATASET_METHODS`."""
    available = set(trained_methods) | {"random"}
    wanted = available if requested is None or not list(requested) else set(requested)
    unknown = wanted - set(DATASET_METHODS)
    if unknown:
        raise ValueError(f"unknown dataset method(s) {sorted(unknown)}; choose from {DATASET_METHODS}")
    untrained = wanted - available
    if untrained:
        raise ValueError(f"the run did not train {sorted(untrained)}; it trained {sorted(set(trained_methods))}")
    return tuple(method for method in DATASET_METHODS if method in wanted)


def write_ogbench_dataset(path: Path | str, observations, actions) -> Path:
    """Trajectories in OGBench's dataset file layout, which ``ogbench.utils.load_dataset`` reads
    (and so OGBench's own agents): an ``.npz`` of ``observations`` [E (T+1), d] and ``actions``
    [E (T+1), a] (float32; a trajectory's last action, which no transition follows, is zero) and
    ``terminals`` [E (T+1)] (1 at each trajectory's last state).

    Args:
        observations: float [E, T+1, d], E trajectories' states.
        actions: float [E, T, a].
    """
    observations, actions = np.asarray(observations, np.float32), np.asarray(actions, np.float32)
    n, horizon = actions.shape[:2]
    if actions.ndim != 3 or observations.shape[:2] != (n, horizon + 1) or observations.ndim != 3:
        raise ValueError(
            f"observations must be [E, T+1, d] and actions [E, T, a]; got {observations.shape}, {actions.shape}"
        )
    padded = np.concatenate([actions, np.zeros((n, 1, actions.shape[-1]), np.float32)], axis=1)
    terminals = np.zeros((n, horizon + 1), np.float32)
    terminals[:, -1] = 1.0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        observations=observations.reshape(n * (horizon + 1), -1),
        actions=padded.reshape(n * (horizon + 1), -1),
        terminals=terminals.reshape(-1),
    )
    return path
