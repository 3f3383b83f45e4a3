"""Exploration datasets of continuous runs: Minari datasets with Box spaces (SPEC sections 6, 11).

Laid out like the tabular datasets (:mod:`pmaxent.datasets`): one dataset per method and training
seed under ``RUN/datasets/pmaxent/<env>-<method>-m<m>-seed<k>[-n<N>]-v0``, episode e = j * m + i
the j-th trajectory of agent i, T + 1 observations (x, y) and T actions per episode, reward 0,
never terminated, truncated at the horizon. ``RUN/datasets.csv`` lists each dataset's k-NN
entropy, estimated as in training (the run's k and point stride, the points of all episodes
pooled), normalized by ln(free area), and its coverage (of all points).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple, Sequence

import jax
import numpy as np

from pmaxent.continuous.gym_env import gym_id
from pmaxent.continuous.knn import knn_entropy
from pmaxent.continuous.worlds import CONTINUOUS_ENVS, coverage
from pmaxent.datasets import METADATA_KEY, NAMESPACE, METHODS, _id_slug, collection_keys, datasets_root, run_methods, write_minari_dataset
from pmaxent.progress import progress_bar
from pmaxent.rollout import sample_team
from pmaxent.tables import write_csv

CSV_FIELDS = ("env", "method", "agents", "seed", "trajectories_per_agent", "episodes", "transitions", "entropy", "normalized_entropy", "coverage", "dataset_id")


class ContinuousDataset(NamedTuple):
    """One collected dataset: observations [E, T+1, 2], actions [E, T, 2] (E = m * N episodes)."""

    dataset_id: str
    method: str
    seed: int
    observations: np.ndarray
    actions: np.ndarray
    entropy: float
    normalized_entropy: float
    coverage: float


def dataset_id(env: str, method: str, agents: int, seed: int, trajectories: int = 1) -> str:
    repeats = f"-n{trajectories}" if trajectories != 1 else ""
    return f"{NAMESPACE}/{_id_slug(env)}-{method}-m{agents}-seed{seed}{repeats}-v0"


def collect_continuous_run(
    run_dir: Path | str,
    methods: Sequence[str] | None = None,
    *,
    trajectories: int = 1,
    overwrite: bool = False,
    collection_seed: int = 0,
    show_progress: bool = True,
) -> dict[str, list[ContinuousDataset]]:
    """Collect and store the datasets of a continuous run (one per method and seed), write
    RUN/datasets.csv and RUN/figures/fig2_dataset_entropy.png, and return the datasets per method.

    The parallel team samples N trajectories per agent, the single agent N * m, the random
    policy (uniform actions) N * m. Raises FileExistsError, before writing anything, when a
    dataset exists and ``overwrite`` is False.
    """
    from pmaxent.plots.datasets import plot_dataset_entropy
    from pmaxent.train import load_run, team_params

    if trajectories < 1:
        raise ValueError(f"trajectories per agent must be at least 1; got {trajectories}")
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    config, env, policy, world = run.config, run.components.env, run.policy, run.world
    if world is None:
        raise ValueError(f"{run_dir} trained in {config.env}, a Gymnasium environment stepped from the host: pmaxent collect supports pmaxent's own continuous worlds only")
    families = run_methods(config.methods, methods)
    root = datasets_root(run_dir).resolve()
    targets = {(method, seed): root / dataset_id(config.env, method, config.agents, seed, trajectories) for method in families for seed in config.seeds}
    existing = [path for path in targets.values() if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{len(existing)} dataset(s) already exist, e.g. {existing[0]}; pass overwrite=True (--overwrite) to replace them")
    sample = jax.jit(lambda params, key, uniform: sample_team(env, policy, params, key, trajectories, "jax", uniform))
    log_volume = float(np.log(env.feature_volume))
    stride = config.stride_for(env.horizon)
    collected: dict[str, list[ContinuousDataset]] = {}
    with progress_bar(len(targets), "collecting datasets", enabled=show_progress, unit="datasets") as bar:
        for method in families:
            keys = collection_keys(method, config.seeds, collection_seed)
            params = team_params(run, method)
            for index, seed in enumerate(config.seeds):
                samples = sample(jax.tree.map(lambda leaf: leaf[index], params), keys[index], method == "random")
                observations = np.asarray(samples.states).reshape((-1,) + samples.states.shape[2:])  # [N*m, T+1, 2]
                # the actions the world applied: a Gaussian policy's samples clipped to the action box
                actions = np.clip(np.asarray(samples.actions), env.action_space.low, env.action_space.high)
                actions = actions.reshape((-1,) + samples.actions.shape[2:])
                points = observations.reshape(-1, observations.shape[-1])
                entropy = float(knn_entropy(observations[:, ::stride].reshape(-1, points.shape[-1]), config.k))
                covered = float(coverage(world, points[None])[0])
                identifier = dataset_id(config.env, method, config.agents, seed, trajectories)
                dataset = ContinuousDataset(identifier, method, seed, observations, actions, entropy, entropy / log_volume, covered)
                _write(targets[(method, seed)], dataset, env, run_dir, config, trajectories, overwrite)
                collected.setdefault(method, []).append(dataset)
                bar.advance()
    _write_summary(run_dir, config, collected, trajectories, plot_dataset_entropy)
    return collected


def _write(target, dataset: ContinuousDataset, env, run_dir, config, trajectories, overwrite) -> None:
    import gymnasium

    identifier, method, seed, observations, actions = dataset.dataset_id, dataset.method, dataset.seed, dataset.observations, dataset.actions
    horizon = actions.shape[1]
    env_spec = gymnasium.spec(gym_id(config.env)) if config.env in CONTINUOUS_ENVS and config.layout is None else None
    write_minari_dataset(
        target,
        observation_space=env.observation_space,
        action_space=env.action_space,
        env_spec=env_spec,
        metadata={
            "dataset_id": identifier,
            "algorithm_name": f"pmaxent-{method}",
            "description": f"Reward-free exploration data of the {method} method in {config.env}: {config.agents} agents x {trajectories} trajectories of {horizon} steps (training seed {seed}).",
            METADATA_KEY: {"env": config.env, "method": method, "agents": config.agents, "seed": seed, "trajectories_per_agent": trajectories, "horizon": horizon, "source": str(Path(run_dir).resolve()), "family": "continuous",
                           "entropy": dataset.entropy, "normalized_entropy": dataset.normalized_entropy, "coverage": dataset.coverage},
        },
        episodes=(
            {"observations": observations[e].astype(np.float32), "actions": actions[e].astype(np.float32), "rewards": np.zeros(horizon),
             "terminations": np.zeros(horizon, bool), "truncations": np.arange(horizon) == horizon - 1}
            for e in range(observations.shape[0])
        ),
        overwrite=overwrite,
    )


def load_continuous_dataset(path: Path | str) -> ContinuousDataset:
    """Read a dataset written by :func:`collect_continuous_run`.

    Raises:
        FileNotFoundError: no dataset at ``path``.
        ValueError: a corrupt dataset, or one that is not a continuous pmaxent dataset.
    """
    from minari import MinariDataset

    path = Path(path).resolve()
    metadata_file = path / "data" / "metadata.json"
    if not metadata_file.is_file():
        raise FileNotFoundError(f"no dataset at {path} (no {metadata_file.name})")
    try:
        metadata = json.loads(metadata_file.read_text())
        identifier, record = metadata["dataset_id"], metadata[METADATA_KEY]
        fields = {name: record[name] for name in ("method", "seed", "entropy", "normalized_entropy", "coverage")}
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"corrupt dataset at {path}: its metadata is not that of a continuous pmaxent dataset ({error!r}); collect it again with --overwrite") from error
    if record.get("family") != "continuous":
        raise ValueError(f"dataset at {path} is not a continuous pmaxent dataset")
    try:
        episodes = list(MinariDataset(path / "data").iterate_episodes())
        observations = np.stack([episode.observations for episode in episodes]).astype(np.float32)
        actions = np.stack([episode.actions for episode in episodes]).astype(np.float32)
    except (OSError, KeyError, ValueError, AssertionError) as error:
        raise ValueError(f"corrupt dataset at {path}: Minari cannot read it ({error})") from error
    if observations.ndim != 3 or observations.shape[1] != actions.shape[1] + 1 or not np.isfinite(observations).all():
        raise ValueError(f"corrupt dataset at {path}: observations {observations.shape} do not fit actions {actions.shape}, or are not finite")
    return ContinuousDataset(identifier, fields["method"], int(fields["seed"]), observations, actions, float(fields["entropy"]), float(fields["normalized_entropy"]), float(fields["coverage"]))


def load_continuous_run_datasets(run_dir: Path | str, methods: Sequence[str] | None = None, *, trajectories: int = 1):
    """(the run's world, {method: datasets in the order of the run's seeds}) of a continuous run.

    Raises:
        FileNotFoundError: a dataset of a requested method and seed is missing.
        ValueError: the run trained in a Gymnasium environment (no datasets), or a dataset is corrupt.
    """
    from pmaxent.train import load_run

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    config = run.config
    if run.world is None:
        raise ValueError(f"{run_dir} trained in {config.env}, a Gymnasium environment: offline goal reaching needs one of pmaxent's continuous worlds")
    root = datasets_root(run_dir)
    loaded: dict[str, list[ContinuousDataset]] = {}
    for method in run_methods(config.methods, methods):
        for seed in config.seeds:
            path = root / dataset_id(config.env, method, config.agents, seed, trajectories)
            if not path.exists():
                raise FileNotFoundError(f"dataset {dataset_id(config.env, method, config.agents, seed, trajectories)} not found at {path}; run `pmaxent collect {run_dir}` first")
            loaded.setdefault(method, []).append(load_continuous_dataset(path))
    return run.world, loaded


def _write_summary(run_dir: Path, config, collected: dict[str, list[ContinuousDataset]], trajectories: int, plot_dataset_entropy) -> None:
    rows = []
    for method in METHODS:
        for dataset in collected.get(method, []):
            rows.append({
                "env": config.env, "method": method, "agents": config.agents, "seed": dataset.seed, "trajectories_per_agent": trajectories,
                "episodes": dataset.observations.shape[0], "transitions": dataset.actions.shape[0] * dataset.actions.shape[1],
                "entropy": dataset.entropy, "normalized_entropy": dataset.normalized_entropy, "coverage": dataset.coverage,
                "dataset_id": dataset.dataset_id,
            })  # fmt: skip
    write_csv(run_dir / "datasets.csv", CSV_FIELDS, rows, float_format=".6g")
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    plot_dataset_entropy({config.env: {method: [d.normalized_entropy for d in group] for method, group in collected.items()}}, figures / "fig2_dataset_entropy.png")
