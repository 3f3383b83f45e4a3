"""Exploration datasets of tabular runs: collection by a trained team and Minari storage
(SPEC section 6); the datasets of a run directory are :mod:`pmaxent.tabular.run_datasets`.

After training, each method collects a dataset per training seed:

- "parallel": the team of m agents samples one trajectory per agent (m trajectories);
- "single": the single agent's shared table samples m trajectories;
- "random": the uniform policy samples m trajectories.

With ``trajectories = N`` every agent samples N trajectories instead of one. Collection is one
jitted call per method, vmapped over the training seeds.

A dataset keeps its episode boundaries: episode e holds T + 1 observations s_0 .. s_T and T
actions; exploration is reward-free, so rewards are 0, ``terminated`` is always False and
``truncated`` is True at the horizon's last step only. Episode e = j * m + i is the j-th
trajectory of agent i. Storage and naming are those of every pmaxent dataset
(:mod:`pmaxent.datasets`): a Minari dataset (HDF5) under ``RUN/datasets``.

Metrics count every observation of every episode (T + 1 per trajectory, SPEC section 2).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.rollout import sample_team
from pmaxent.datasets import (
    DATASET_METHODS,
    METADATA_KEY,
    METADATA_VERSION,
    MINARI_DATA_DIRNAME,
    MINARI_MAIN_FILE,
    MINARI_METADATA_FILE,
    NAMESPACE,
    collection_keys,
    id_slug,
    write_minari_dataset,
)
from pmaxent.tabular.environment import dynamics_environment
from pmaxent.tabular.gymnasium_env import registered_id
from pmaxent.tabular.mdp import PAPER_ENVS, TabularMDP, make
from pmaxent.tabular.policy import TabularSoftmax
from pmaxent.tabular.simulator import Dynamics, make_dynamics


def dynamics_fingerprint(mdp: TabularMDP) -> str:
    """SHA-256 of the dynamics (P, mu, valid): two MDPs share it iff their tables are equal."""
    digest = hashlib.sha256()
    for array in (mdp.P, mdp.mu, mdp.valid):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


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
        if self.method not in DATASET_METHODS:
            raise ValueError(f"unknown dataset method {self.method!r}; choose from {DATASET_METHODS}")
        for field in (
            "agents",
            "trajectories_per_agent",
            "horizon",
            "n_states",
            "n_actions",
            "seed",
            "collection_seed",
        ):
            value = getattr(self, field)
            if isinstance(value, bool) or int(value) != value:
                raise ValueError(f"{field} must be an integer; got {value!r}")
            object.__setattr__(self, field, int(value))
        for field in ("agents", "trajectories_per_agent", "horizon", "n_states", "n_actions"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be a positive integer; got {getattr(self, field)}")
        if self.seed < 0 or self.collection_seed < 0:
            raise ValueError(
                f"seeds must be non-negative; got seed={self.seed}, collection_seed={self.collection_seed}"
            )

    @property
    def dataset_id(self) -> str:
        """Minari id, e.g. 'pmaxent/room-det-parallel-m6-seed0-v0'."""
        repeats = f"-n{self.trajectories_per_agent}" if self.trajectories_per_agent != 1 else ""
        return f"{NAMESPACE}/{id_slug(self.env)}-{self.method}-m{self.agents}-seed{self.seed}{repeats}-v0"

    def to_json(self) -> dict:
        return {"metadata_version": METADATA_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, record: Mapping, where: str) -> DatasetInfo:
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
            raise ValueError(
                f"dataset {name}: episodes have {length} observations; horizon {info.horizon} needs {info.horizon + 1}"
            )
        for label, array in (("actions", actions), ("terminations", terminations), ("truncations", truncations)):
            if array.shape != (n_episodes, info.horizon):
                raise ValueError(
                    f"dataset {name}: {label} has shape {array.shape}, expected {(n_episodes, info.horizon)}"
                )
        if n_episodes != info.agents * info.trajectories_per_agent:
            raise ValueError(
                f"dataset {name}: {n_episodes} episodes, but {info.agents} agents x "
                f"{info.trajectories_per_agent} trajectories = {info.agents * info.trajectories_per_agent}"
            )
        if agents.shape != (n_episodes,) or np.any(
            np.bincount(agents, minlength=info.agents) != info.trajectories_per_agent
        ):
            raise ValueError(
                f"dataset {name}: episode_agents must give each of the {info.agents} agents "
                f"{info.trajectories_per_agent} episodes"
            )
        if observations.min() < 0 or observations.max() >= info.n_states:
            raise ValueError(f"dataset {name}: observations outside [0, {info.n_states})")
        if actions.min() < 0 or actions.max() >= info.n_actions:
            raise ValueError(f"dataset {name}: actions outside [0, {info.n_actions})")
        for field, value in (
            ("observations", observations),
            ("actions", actions),
            ("terminations", terminations),
            ("truncations", truncations),
            ("episode_agents", agents),
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
            raise ValueError(
                f"dataset {info.dataset_id} has horizon {info.horizon}; {mdp.name} has horizon {mdp.horizon}"
            )


# ---------------------------------------------------------------------------------------------
# Collection


def family_params(method: str, params: np.ndarray) -> np.ndarray:
    """Check that parameters [n_seeds, m, ...] fit the dataset family and return them as float32.

    "single" needs the m copies of each seed identical (one shared table); "random" needs zeros
    (the uniform policy, as returned by ``pmaxent.core.runs.team_params(run, "random")``).
    """
    if method not in DATASET_METHODS:
        raise ValueError(f"unknown dataset method {method!r}; choose from {DATASET_METHODS}")
    params = np.asarray(params, np.float32)
    if params.ndim < 3:
        raise ValueError(f"params must have shape [n_seeds, m, ...]; got {params.shape}")
    if method == "single" and not np.all(params == params[:, :1]):
        raise ValueError("single-agent params must hold m identical copies of one table per seed")
    if method == "random" and np.any(params != 0):
        raise ValueError("random datasets use the uniform policy: their params must be zeros")
    return params


@partial(jax.jit, static_argnames=("policy", "trajectories", "horizon"))
def _sample_per_seed(
    dyn: Dynamics, policy: TabularSoftmax, params: jax.Array, keys: jax.Array, trajectories: int, horizon: int
):
    """vmap of sample_team over seeds: params [D, m, ...], keys [D] -> states [D, N, m, T+1], actions [D, N, m, T].

    The tables ``dyn`` are an argument, so MDPs of one shape share a compilation."""
    env = dynamics_environment(dyn, horizon)
    return jax.vmap(lambda p, k: sample_team(env, policy, p, k, trajectories))(params, keys)


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
            env=mdp.name,
            method=method,
            agents=n_agents,
            seed=seed,
            trajectories_per_agent=trajectories,
            horizon=mdp.horizon,
            n_states=mdp.n_states,
            n_actions=mdp.n_actions,
            dynamics_fingerprint=fingerprint,
            source=source,
            collection_seed=collection_seed,
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
# Minari storage


def dataset_path(root: Path | str, info: DatasetInfo) -> Path:
    """Directory of a dataset under a Minari datasets root: ``root / dataset_id``."""
    return Path(root) / info.dataset_id


def _minari_env_spec(mdp_name: str, fingerprint: str):
    """The Gymnasium spec that recreates the environment, for the paper's unmodified environments."""
    if mdp_name in PAPER_ENVS and dynamics_fingerprint(make(mdp_name)) == fingerprint:
        return gymnasium.spec(registered_id(mdp_name))
    return None


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
    data_dir = path if path.name == MINARI_DATA_DIRNAME else path / MINARI_DATA_DIRNAME
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}")
    for required in (MINARI_METADATA_FILE, MINARI_MAIN_FILE):
        if not (data_dir / required).is_file():
            raise FileNotFoundError(f"dataset at {path} is missing its file {data_dir / required}")
    try:
        metadata = json.loads((data_dir / MINARI_METADATA_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"corrupt dataset at {path}: {MINARI_METADATA_FILE} is not valid JSON ({error})") from error
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
