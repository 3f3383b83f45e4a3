"""Exploration datasets: collection by a trained team, Minari storage, metrics (SPEC section 6).

After training, each method collects a dataset per training seed:

- "parallel": the team of m agents samples one trajectory per agent (m trajectories);
- "single": the single agent's shared table samples m trajectories;
- "random": the uniform policy samples m trajectories.

With ``trajectories = N`` every agent samples N trajectories instead of one. Collection is one
jitted call per method, vmapped over the training seeds.

A dataset keeps its episode boundaries: episode e holds T + 1 observations s_0 .. s_T and T
actions; exploration is reward-free, so rewards are 0, ``terminated`` is always False and
``truncated`` is True at the horizon's last step only. Episode e = j * m + i is the j-th
trajectory of agent i.

Storage is a Minari dataset (HDF5) inside the run directory::

    RUN/datasets/pmaxent/<env>-<method>-m<m>-seed<k>[-n<N>]-v0/data/{metadata.json, main_data.hdf5}

so that ``MINARI_DATASETS_PATH=RUN/datasets`` makes ``minari.load_dataset("pmaxent/<...>-v0")``
read it. Our metadata lives under the key ``"pmaxent"`` of Minari's ``metadata.json``. The
``-n<N>`` part appears only when N != 1, so the paper's datasets have the paper's names.

Metrics count every observation of every episode (T + 1 per trajectory, SPEC section 2).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.tabular.entropy import entropy_from_counts
from pmaxent.tabular.gym_env import gym_id
from pmaxent.tabular.simulator import Dynamics, make_dynamics
from pmaxent.tabular.mdp import PAPER_ENVS, TabularMDP, make
from pmaxent.tabular.policy import TabularSoftmax
from pmaxent.progress import progress_bar
from pmaxent.rollout import sample_team
from pmaxent.tables import write_csv
from pmaxent.tabular.environment import dynamics_environment

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


def dynamics_fingerprint(mdp: TabularMDP) -> str:
    """SHA-256 of the dynamics (P, mu, valid): two MDPs share it iff their tables are equal."""
    digest = hashlib.sha256()
    for array in (mdp.P, mdp.mu, mdp.valid):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _id_slug(name: str) -> str:
    """An environment name made safe for a Minari dataset id ([-_A-Za-z0-9] only)."""
    slug = re.sub(r"[^-_a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise ValueError(f"environment name {name!r} has no character usable in a dataset id")
    return slug


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: where it comes from and how it was collected.

    Attributes:
        env: name of the TabularMDP it was collected in (``mdp.name``).
        method: "parallel", "single" or "random".
        agents: m, the number of agents (trajectories per team sample).
        seed: the training seed of the policy that collected it.
        trajectories_per_agent: N, trajectories each agent sampled.
        horizon: T, actions per trajectory.
        n_states, n_actions: S and A of the environment.
        dynamics_fingerprint: :func:`dynamics_fingerprint` of the environment.
        source: the run directory (or parameter file) of the policy.
        collection_seed: seed of the PRNG key of the collection.
    """

    env: str
    method: str
    agents: int
    seed: int
    trajectories_per_agent: int
    horizon: int
    n_states: int
    n_actions: int
    dynamics_fingerprint: str
    source: str = ""
    collection_seed: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown dataset method {self.method!r}; choose from {METHODS}")
        for field in ("agents", "trajectories_per_agent", "horizon", "n_states", "n_actions", "seed", "collection_seed"):
            value = getattr(self, field)
            if isinstance(value, bool) or int(value) != value:
                raise ValueError(f"{field} must be an integer; got {value!r}")
            object.__setattr__(self, field, int(value))
        for field in ("agents", "trajectories_per_agent", "horizon", "n_states", "n_actions"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be a positive integer; got {getattr(self, field)}")
        if self.seed < 0 or self.collection_seed < 0:
            raise ValueError(f"seeds must be non-negative; got seed={self.seed}, collection_seed={self.collection_seed}")

    @property
    def dataset_id(self) -> str:
        """Minari id, e.g. 'pmaxent/room-det-parallel-m6-seed0-v0'."""
        repeats = f"-n{self.trajectories_per_agent}" if self.trajectories_per_agent != 1 else ""
        return f"{NAMESPACE}/{_id_slug(self.env)}-{self.method}-m{self.agents}-seed{self.seed}{repeats}-v0"

    def to_json(self) -> dict:
        return {"metadata_version": METADATA_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, record: Mapping, where: str) -> "DatasetInfo":
        """Parse our metadata; ``where`` names the dataset in error messages."""
        if not isinstance(record, Mapping):
            raise ValueError(f"corrupt dataset {where}: its pmaxent metadata is not a mapping")
        names = [field.name for field in dataclasses.fields(cls)]
        missing = [name for name in names if name not in record]
        if missing:
            raise ValueError(f"corrupt dataset {where}: its pmaxent metadata lacks {', '.join(missing)}")
        if record.get("metadata_version") != METADATA_VERSION:
            raise ValueError(
                f"dataset {where} has pmaxent metadata version {record.get('metadata_version')!r}; "
                f"this version of pmaxent reads version {METADATA_VERSION}"
            )
        return cls(**{name: record[name] for name in names})


class Transitions(NamedTuple):
    """Flat transitions (s, a, s', terminated, truncated), each [E * T], episode-major."""

    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class ExplorationDataset:
    """A reward-free exploration dataset of E = m * N episodes of T steps.

    Attributes:
        info: metadata.
        observations: int32 [E, T+1], s_0 .. s_T of each episode.
        actions: int32 [E, T].
        terminations: bool [E, T] (all False: nothing terminates in exploration).
        truncations: bool [E, T] (True at the last step of each episode).
        episode_agents: int32 [E], the agent that collected each episode.
    """

    info: DatasetInfo
    observations: np.ndarray
    actions: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    episode_agents: np.ndarray

    def __post_init__(self):
        info = self.info
        observations = np.asarray(self.observations, np.int32)
        actions = np.asarray(self.actions, np.int32)
        terminations = np.asarray(self.terminations, bool)
        truncations = np.asarray(self.truncations, bool)
        agents = np.asarray(self.episode_agents, np.int32)
        name = info.dataset_id
        if observations.ndim != 2 or observations.shape[0] == 0:
            raise ValueError(f"dataset {name} is empty: it holds no episode (observations shape {observations.shape})")
        n_episodes, length = observations.shape
        if length != info.horizon + 1:
            raise ValueError(f"dataset {name}: episodes have {length} observations; horizon {info.horizon} needs {info.horizon + 1}")
        for label, array in (("actions", actions), ("terminations", terminations), ("truncations", truncations)):
            if array.shape != (n_episodes, info.horizon):
                raise ValueError(f"dataset {name}: {label} has shape {array.shape}, expected {(n_episodes, info.horizon)}")
        if n_episodes != info.agents * info.trajectories_per_agent:
            raise ValueError(
                f"dataset {name}: {n_episodes} episodes, but {info.agents} agents x "
                f"{info.trajectories_per_agent} trajectories = {info.agents * info.trajectories_per_agent}"
            )
        if agents.shape != (n_episodes,) or np.any(np.bincount(agents, minlength=info.agents) != info.trajectories_per_agent):
            raise ValueError(f"dataset {name}: episode_agents must give each of the {info.agents} agents {info.trajectories_per_agent} episodes")
        if observations.min() < 0 or observations.max() >= info.n_states:
            raise ValueError(f"dataset {name}: observations outside [0, {info.n_states})")
        if actions.min() < 0 or actions.max() >= info.n_actions:
            raise ValueError(f"dataset {name}: actions outside [0, {info.n_actions})")
        for field, value in (
            ("observations", observations), ("actions", actions), ("terminations", terminations),
            ("truncations", truncations), ("episode_agents", agents),
        ):
            object.__setattr__(self, field, value)

    @property
    def n_episodes(self) -> int:
        return self.observations.shape[0]

    @property
    def n_transitions(self) -> int:
        return self.actions.size

    def transitions(self) -> Transitions:
        """All (s, a, s', terminated, truncated), flattened episode by episode: each [E * T]."""
        return Transitions(
            self.observations[:, :-1].reshape(-1),
            self.actions.reshape(-1),
            self.observations[:, 1:].reshape(-1),
            self.terminations.reshape(-1),
            self.truncations.reshape(-1),
        )

    def states_by_agent(self) -> np.ndarray:
        """Observations grouped by agent: int32 [m, N, T+1] (episodes of an agent in stored order)."""
        order = np.argsort(self.episode_agents, kind="stable")
        return self.observations[order].reshape(self.info.agents, self.info.trajectories_per_agent, -1)

    def check_environment(self, mdp: TabularMDP) -> None:
        """Raise ValueError unless the dataset was collected in ``mdp``."""
        info = self.info
        if info.env != mdp.name:
            raise ValueError(f"dataset {info.dataset_id} was collected in environment {info.env!r}, not {mdp.name!r}")
        if (info.n_states, info.n_actions) != (mdp.n_states, mdp.n_actions):
            raise ValueError(
                f"dataset {info.dataset_id} has {info.n_states} states and {info.n_actions} actions; "
                f"{mdp.name} has {mdp.n_states} and {mdp.n_actions}"
            )
        if info.dynamics_fingerprint != dynamics_fingerprint(mdp):
            raise ValueError(
                f"dataset {info.dataset_id} was collected in an environment named {info.env!r} with other "
                f"dynamics (transition table, start or walls differ, e.g. another slip probability)"
            )
        if info.horizon != mdp.horizon:
            raise ValueError(f"dataset {info.dataset_id} has horizon {info.horizon}; {mdp.name} has horizon {mdp.horizon}")


# ---------------------------------------------------------------------------------------------
# Collection


def family_params(method: str, params: np.ndarray) -> np.ndarray:
    """Check that parameters [n_seeds, m, ...] fit the dataset family and return them as float32.

    "single" needs the m copies of each seed identical (one shared table); "random" needs zeros
    (the uniform policy, as returned by ``pmaxent.train.team_params(run, "random")``).
    """
    if method not in METHODS:
        raise ValueError(f"unknown dataset method {method!r}; choose from {METHODS}")
    params = np.asarray(params, np.float32)
    if params.ndim < 3:
        raise ValueError(f"params must have shape [n_seeds, m, ...]; got {params.shape}")
    if method == "single" and not np.all(params == params[:, :1]):
        raise ValueError("single-agent params must hold m identical copies of one table per seed")
    if method == "random" and np.any(params != 0):
        raise ValueError("random datasets use the uniform policy: their params must be zeros")
    return params


@partial(jax.jit, static_argnames=("policy", "trajectories", "horizon"))
def _sample_per_seed(dyn: Dynamics, policy: TabularSoftmax, params: jax.Array, keys: jax.Array, trajectories: int, horizon: int):
    """vmap of sample_team over seeds: params [D, m, ...], keys [D] -> states [D, N, m, T+1], actions [D, N, m, T].

    The tables ``dyn`` are an argument, so MDPs of one shape share a compilation."""
    env = dynamics_environment(dyn, horizon)
    return jax.vmap(lambda p, k: sample_team(env, policy, p, k, trajectories))(params, keys)


@jax.jit
def _keys_per_seed(collection_seed: jax.Array, family: jax.Array, seeds: jax.Array) -> jax.Array:
    family_key = jax.random.fold_in(jax.random.key(collection_seed), family)
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(family_key, seeds)


def collection_keys(method: str, seeds: Sequence[int], collection_seed: int = 0) -> jax.Array:
    """One PRNG key per training seed; each family gets its own stream so datasets are independent."""
    return _keys_per_seed(jnp.uint32(collection_seed), jnp.uint32(METHODS.index(method)), jnp.asarray(seeds, jnp.uint32))


def collect_datasets(
    mdp: TabularMDP,
    policy: TabularSoftmax,
    method: str,
    params: np.ndarray,
    seeds: Sequence[int],
    *,
    trajectories: int = 1,
    collection_seed: int = 0,
    source: str = "",
) -> list[ExplorationDataset]:
    """Collect one dataset per training seed (SPEC section 6), in one vmapped JAX call.

    Args:
        mdp: the environment.
        policy: the team's policy (tabular softmax, stationary or time-indexed).
        method: "parallel", "single" or "random" (see :func:`family_params`).
        params: float [n_seeds, m, S, A] or [n_seeds, m, T, S, A], one team per seed.
        seeds: the n_seeds training seeds (stored in each dataset's metadata).
        trajectories: N, trajectories per agent.
        collection_seed: seed of the collection's PRNG key.
        source: the run directory or parameter file the params come from.
    Returns:
        n_seeds datasets of E = m * N episodes each, episode e = j * m + i (agent i, trajectory j).
    """
    params = family_params(method, params)
    seeds = tuple(int(seed) for seed in seeds)
    if len(seeds) != params.shape[0]:
        raise ValueError(f"{len(seeds)} seeds for params of {params.shape[0]} seeds")
    if trajectories < 1:
        raise ValueError(f"trajectories per agent must be at least 1; got {trajectories}")
    expected = policy.table_shape(params.shape[1])
    if params.shape[1:] != expected:
        raise ValueError(f"params of one seed have shape {params.shape[1:]}; the policy on {mdp.name} needs {expected}")
    keys = collection_keys(method, seeds, collection_seed)
    states, actions = _sample_per_seed(make_dynamics(mdp), policy, jnp.asarray(params), keys, trajectories, mdp.horizon)
    states, actions = np.asarray(states), np.asarray(actions)
    n_seeds, _, n_agents, _ = states.shape
    truncations = np.zeros((trajectories * n_agents, mdp.horizon), bool)
    truncations[:, -1] = True
    fingerprint = dynamics_fingerprint(mdp)
    datasets = []
    for index, seed in enumerate(seeds):
        info = DatasetInfo(
            env=mdp.name, method=method, agents=n_agents, seed=seed, trajectories_per_agent=trajectories,
            horizon=mdp.horizon, n_states=mdp.n_states, n_actions=mdp.n_actions,
            dynamics_fingerprint=fingerprint, source=source, collection_seed=collection_seed,
        )
        datasets.append(
            ExplorationDataset(
                info=info,
                observations=states[index].reshape(trajectories * n_agents, -1),
                actions=actions[index].reshape(trajectories * n_agents, -1),
                terminations=np.zeros_like(truncations),
                truncations=truncations,
                episode_agents=np.tile(np.arange(n_agents, dtype=np.int32), trajectories),
            )
        )
    return datasets


# ---------------------------------------------------------------------------------------------
# Metrics


class DatasetMetrics(NamedTuple):
    """Metrics of D datasets with m agents each (SPEC sections 2 and 6).

    entropy: float [D], H of the pooled empirical state distribution (nats).
    normalized_entropy: float [D], entropy / log(number of valid states).
    support: int [D], distinct states visited.
    occupancy: float [D, S], the pooled empirical state distribution.
    agent_occupancy: float [D, m, S], each agent's empirical state distribution.
    """

    entropy: np.ndarray
    normalized_entropy: np.ndarray
    support: np.ndarray
    occupancy: np.ndarray
    agent_occupancy: np.ndarray


def metrics_from_agent_counts(agent_counts: np.ndarray, n_valid: int) -> DatasetMetrics:
    """Metrics from visit counts per agent, float [D, m, S]."""
    if n_valid < 2:
        raise ValueError(f"normalized entropy needs at least 2 valid states; got {n_valid}")
    agent_counts = np.asarray(agent_counts, np.float64)
    pooled = agent_counts.sum(axis=1)
    entropy = np.asarray(entropy_from_counts(jnp.asarray(pooled)), np.float64)
    return DatasetMetrics(
        entropy=entropy,
        normalized_entropy=entropy / np.log(n_valid),
        support=np.count_nonzero(pooled, axis=-1),
        occupancy=pooled / pooled.sum(axis=-1, keepdims=True),
        agent_occupancy=agent_counts / agent_counts.sum(axis=-1, keepdims=True),
    )


def dataset_metrics(datasets: Sequence[ExplorationDataset], mdp: TabularMDP) -> DatasetMetrics:
    """Metrics of datasets collected in ``mdp`` by teams of one size m."""
    if not datasets:
        raise ValueError("no dataset to measure")
    team_sizes = {dataset.info.agents for dataset in datasets}
    if len(team_sizes) > 1:
        raise ValueError(f"datasets of teams of different sizes {sorted(team_sizes)}; measure them separately")
    counts = np.zeros((len(datasets), team_sizes.pop(), mdp.n_states))
    for index, dataset in enumerate(datasets):
        dataset.check_environment(mdp)
        for agent, states in enumerate(dataset.states_by_agent()):
            counts[index, agent] = np.bincount(states.reshape(-1), minlength=mdp.n_states)
    return metrics_from_agent_counts(counts, mdp.n_valid)


# ---------------------------------------------------------------------------------------------
# Minari storage


def dataset_path(root: Path | str, info: DatasetInfo) -> Path:
    """Directory of a dataset under a Minari datasets root: ``root / dataset_id``."""
    return Path(root) / info.dataset_id


def _is_dataset_dir(path: Path) -> bool:
    return (path / _MINARI_DATA_DIRNAME / _MINARI_METADATA_FILE).is_file()


def _minari_env_spec(mdp_name: str, fingerprint: str):
    """The Gymnasium spec that recreates the environment, for the paper's unmodified environments."""
    if mdp_name in PAPER_ENVS and dynamics_fingerprint(make(mdp_name)) == fingerprint:
        return gymnasium.spec(gym_id(mdp_name))
    return None


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


def save_dataset(dataset: ExplorationDataset, root: Path | str, *, overwrite: bool = False) -> Path:
    """Write a dataset in Minari's format under ``root`` and return its directory (see
    :func:`write_minari_dataset`)."""
    info = dataset.info
    # Minari joins a relative data path to itself; absolute paths keep relative run dirs working
    target = dataset_path(Path(root).resolve(), info)
    return write_minari_dataset(
        target,
        observation_space=gymnasium.spaces.Discrete(info.n_states),
        action_space=gymnasium.spaces.Discrete(info.n_actions),
        env_spec=_minari_env_spec(info.env, info.dynamics_fingerprint),
        metadata={
            "dataset_id": info.dataset_id,
            "algorithm_name": f"pmaxent-{info.method}",
            "description": (
                f"Reward-free exploration data of the {info.method} method in {info.env}: "
                f"{info.agents} agents x {info.trajectories_per_agent} trajectories of {info.horizon} steps "
                f"(training seed {info.seed})."
            ),
            METADATA_KEY: {**info.to_json(), "episode_agents": dataset.episode_agents.tolist()},
        },
        episodes=(
            {
                "observations": dataset.observations[e].astype(np.int64),
                "actions": dataset.actions[e].astype(np.int64),
                "rewards": np.zeros(info.horizon),
                "terminations": dataset.terminations[e],
                "truncations": dataset.truncations[e],
            }
            for e in range(dataset.n_episodes)
        ),
        overwrite=overwrite,
    )


def load_dataset(path: Path | str, mdp: TabularMDP | None = None) -> ExplorationDataset:
    """Read a dataset written by :func:`save_dataset` into NumPy arrays.

    Args:
        path: the dataset directory (``root / dataset_id``) or its ``data`` sub-directory.
        mdp: if given, the environment the dataset must come from.
    Raises:
        FileNotFoundError: no dataset, or a file of it missing.
        ValueError: a corrupt or foreign dataset, an empty one, or one from another environment.
    """
    from minari import MinariDataset

    path = Path(path).resolve()
    data_dir = path if path.name == _MINARI_DATA_DIRNAME else path / _MINARI_DATA_DIRNAME
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}")
    for required in (_MINARI_METADATA_FILE, _MINARI_MAIN_FILE):
        if not (data_dir / required).is_file():
            raise FileNotFoundError(f"dataset at {path} is missing its file {data_dir / required}")
    try:
        metadata = json.loads((data_dir / _MINARI_METADATA_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"corrupt dataset at {path}: {_MINARI_METADATA_FILE} is not valid JSON ({error})") from error
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise ValueError(f"dataset at {path} is not a pmaxent exploration dataset (no {METADATA_KEY!r} metadata)")
    record = metadata[METADATA_KEY]
    try:
        info = DatasetInfo.from_json(record, where=str(path))
    except TypeError as error:
        raise ValueError(f"corrupt dataset at {path}: malformed pmaxent metadata ({error})") from error
    if metadata.get("total_episodes", 0) == 0:
        raise ValueError(f"dataset {info.dataset_id} at {path} is empty: it holds no episode")
    try:
        episodes = list(MinariDataset(data_dir).iterate_episodes())
    except (OSError, KeyError, ValueError, AssertionError) as error:
        raise ValueError(f"corrupt dataset at {path}: Minari cannot read it ({error})") from error
    try:
        dataset = ExplorationDataset(
            info=info,
            observations=np.stack([episode.observations for episode in episodes]),
            actions=np.stack([episode.actions for episode in episodes]),
            terminations=np.stack([episode.terminations for episode in episodes]),
            truncations=np.stack([episode.truncations for episode in episodes]),
            episode_agents=np.asarray(record.get("episode_agents", []), np.int32),
        )
    except ValueError as error:
        raise ValueError(f"corrupt dataset at {path}: {error}") from error
    if mdp is not None:
        dataset.check_environment(mdp)
    return dataset


# ---------------------------------------------------------------------------------------------
# Run directories (contract of pmaxent.train: load_run, team_params)


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


class RunDatasets(NamedTuple):
    """The environment of a run and datasets per family (each a list in the order of the run's seeds)."""

    mdp: TabularMDP
    datasets: dict[str, list[ExplorationDataset]]


def _trained_run_api():
    """(load_run, team_params) of pmaxent.train.

    Imported on use because pmaxent.train may itself import this module for its pipeline.
    """
    from pmaxent.train import load_run, team_params

    return load_run, team_params


def collect_run(
    run_dir: Path | str,
    methods: Sequence[str] | None = None,
    *,
    trajectories: int = 1,
    overwrite: bool = False,
    collection_seed: int = 0,
    show_progress: bool = True,
) -> RunDatasets:
    """Collect and store the datasets of a training run, then write datasets.csv and Figures 2, 8.

    Args:
        run_dir: a directory written by ``pmaxent train``.
        methods: dataset families (default: the run's methods plus "random").
        trajectories: N, trajectories per agent.
        overwrite: replace existing datasets; otherwise, if any target exists, raise
            FileExistsError before anything is written.
        collection_seed: seed of the collection's PRNG key.
        show_progress: show a progress bar while writing.
    Returns:
        the run's environment and the datasets just collected, per family.
    """
    load_run, team_params = _trained_run_api()
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    families = run_methods(run.config.methods, methods)
    root = datasets_root(run_dir)
    collected = {
        method: collect_datasets(
            run.world, run.policy, method, team_params(run, method), run.config.seeds,
            trajectories=trajectories, collection_seed=collection_seed, source=str(run_dir.resolve()),
        )
        for method in families
    }
    if not overwrite:
        existing = [dataset_path(root, d.info) for group in collected.values() for d in group if dataset_path(root, d.info).exists()]
        if existing:
            raise FileExistsError(
                f"{len(existing)} dataset(s) already exist, e.g. {existing[0]}; pass overwrite=True (--overwrite) to replace them"
            )
    total = sum(len(group) for group in collected.values())
    with progress_bar(total, "writing datasets", enabled=show_progress, unit="datasets") as bar:
        for group in collected.values():
            for dataset in group:
                save_dataset(dataset, root, overwrite=overwrite)
                bar.advance()
    stored = _load_stored_datasets(run, run_dir, run_methods(run.config.methods), trajectories, missing_ok=True)
    summarize_run_datasets(run_dir, stored, run.world)
    return RunDatasets(run.world, collected)


def load_run_datasets(
    run_dir: Path | str, methods: Sequence[str] | None = None, *, trajectories: int = 1
) -> RunDatasets:
    """The environment of a run and its stored datasets per family, in the order of its seeds.

    Raises:
        FileNotFoundError: a dataset of a requested family and seed is missing.
    """
    load_run, _ = _trained_run_api()
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    return RunDatasets(run.world, _load_stored_datasets(run, run_dir, run_methods(run.config.methods, methods), trajectories, missing_ok=False))


def _load_stored_datasets(run, run_dir: Path, families: Sequence[str], trajectories: int, missing_ok: bool) -> dict[str, list[ExplorationDataset]]:
    """Datasets of ``families`` x the run's seeds; with ``missing_ok`` absent ones are skipped."""
    root = datasets_root(run_dir)
    fingerprint = dynamics_fingerprint(run.world)
    loaded: dict[str, list[ExplorationDataset]] = {}
    for method in families:
        group = []
        for seed in run.config.seeds:
            info = DatasetInfo(
                env=run.world.name, method=method, agents=run.config.agents, seed=seed,
                trajectories_per_agent=trajectories, horizon=run.world.horizon, n_states=run.world.n_states,
                n_actions=run.world.n_actions, dynamics_fingerprint=fingerprint,
            )
            path = dataset_path(root, info)
            if not path.exists():
                if missing_ok:
                    continue
                raise FileNotFoundError(f"dataset {info.dataset_id} not found at {path}; run `pmaxent collect {run_dir}` first")
            group.append(load_dataset(path, run.world))
        if group:
            loaded[method] = group
    return loaded


DATASET_CSV_FIELDS = (
    "env", "method", "agents", "seed", "trajectories_per_agent", "episodes", "transitions",
    "entropy", "normalized_entropy", "support", "dataset_id",
)


def dataset_rows(datasets_by_method: Mapping[str, Sequence[ExplorationDataset]], mdp: TabularMDP) -> list[dict]:
    """One row of :data:`DATASET_CSV_FIELDS` per dataset."""
    rows = []
    for group in datasets_by_method.values():
        metrics = dataset_metrics(group, mdp)
        for index, dataset in enumerate(group):
            info = dataset.info
            rows.append({
                "env": info.env, "method": info.method, "agents": info.agents, "seed": info.seed,
                "trajectories_per_agent": info.trajectories_per_agent, "episodes": dataset.n_episodes,
                "transitions": dataset.n_transitions, "entropy": float(metrics.entropy[index]),
                "normalized_entropy": float(metrics.normalized_entropy[index]),
                "support": int(metrics.support[index]), "dataset_id": info.dataset_id,
            })
    return rows


def summarize_run_datasets(
    run_dir: Path | str, datasets_by_method: Mapping[str, Sequence[ExplorationDataset]], mdp: TabularMDP
) -> dict[str, DatasetMetrics]:
    """Write RUN/datasets.csv, RUN/figures/fig2_dataset_entropy.png and fig8_dataset_occupancy.png."""
    from pmaxent.plots.datasets import plot_dataset_entropy, plot_occupancy_heatmaps

    run_dir = Path(run_dir)
    rows = dataset_rows(datasets_by_method, mdp)
    write_csv(run_dir / "datasets.csv", DATASET_CSV_FIELDS, rows)
    metrics = {method: dataset_metrics(group, mdp) for method, group in datasets_by_method.items()}
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    plot_dataset_entropy({mdp.name: {method: m.normalized_entropy for method, m in metrics.items()}}, figures / "fig2_dataset_entropy.png")
    if mdp.grid_shape is not None:
        plot_occupancy_heatmaps(mdp, {method: m.occupancy.mean(axis=0) for method, m in metrics.items()}, figures / "fig8_dataset_occupancy.png")
    return metrics
