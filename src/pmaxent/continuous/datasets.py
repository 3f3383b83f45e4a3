"""Exploration datasets of continuous runs: Minari datasets with Box spaces (SPEC sections 6, 11).

Laid out like the tabular datasets (:mod:`pmaxent.datasets`, :mod:`pmaxent.tabular.datasets`): one
dataset per method and training seed under
``RUN/datasets/pmaxent/<env>-<method>-m<m>-seed<k>[-n<N>]-v0``, episode e = j * m + i the j-th
trajectory of agent i, reward 0. An episode holds the observations the policy saw (the
position (x, y) in a navigation world, (qpos, qvel) in an MJX world, the Gymnasium observation of
a gym:ID world) and the actions the world applied (clipped to the action box): T + 1
observations and T actions, truncated at the horizon, except a gym:ID episode that the
environment terminated at step t < T, which keeps its t + 1 reached observations and is marked
terminated. ``RUN/datasets.csv`` lists each dataset's k-NN entropy of the entropy features of
every stored observation, estimated as in training (the run's k and point stride, all episodes
pooled), normalized by ln(feature volume) where the world has one (NaN otherwise, e.g. the Ant),
and its coverage where the world defines it (NaN otherwise).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.gymnasium_env import registered_id
from pmaxent.continuous.host_gymnasium import parse_gym_name
from pmaxent.continuous.knn import knn_entropy
from pmaxent.continuous.worlds import CONTINUOUS_ENVS, ContinuousWorld
from pmaxent.core.components import HostEnvironment
from pmaxent.core.host_rollout import make_act, sample_host
from pmaxent.core.progress import progress_bar
from pmaxent.core.rollout import map_copies, sample_team
from pmaxent.core.runs import TrainedRun, load_run, team_params
from pmaxent.core.tables import write_csv
from pmaxent.datasets import (
    DATASET_METHODS,
    METADATA_KEY,
    NAMESPACE,
    collection_keys,
    datasets_root,
    id_slug,
    run_methods,
    write_minari_dataset,
)

CSV_FIELDS = (
    "env",
    "method",
    "agents",
    "seed",
    "trajectories_per_agent",
    "episodes",
    "transitions",
    "entropy",
    "normalized_entropy",
    "coverage",
    "dataset_id",
)


class ContinuousDataset(NamedTuple):
    """One collected dataset of E = m * N episodes: observations, actions and the episodes'
    lengths (T, or fewer where a gym:ID environment terminated an episode)."""

    dataset_id: str
    method: str
    seed: int
    observations: np.ndarray
    """[E, T+1, obs_dim]; after an early end the last reached observation is repeated."""
    actions: np.ndarray
    """[E, T, action_dim], clipped to the action box."""
    lengths: np.ndarray
    """[E] int, the steps of each episode (the stored episode e is observations[e, :lengths[e] + 1])."""
    entropy: float
    normalized_entropy: float
    coverage: float


def dataset_id(env: str, method: str, agents: int, seed: int, trajectories: int = 1) -> str:
    repeats = f"-n{trajectories}" if trajectories != 1 else ""
    return f"{NAMESPACE}/{id_slug(env)}-{method}-m{agents}-seed{seed}{repeats}-v0"


def as_run(run: TrainedRun | Path | str) -> TrainedRun:
    """A continuous run: ``run`` itself, or the run a directory holds (a PGPSE run; other
    families' runs in continuous worlds, MEPOL's, are loaded by their family and passed as runs)."""
    if isinstance(run, TrainedRun):
        return run
    return load_run(Path(run), ContinuousTrainConfig)


def collect_continuous_run(
    run: TrainedRun | Path | str,
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
    policy (uniform actions) N * m, MEPOL's one agent N. Raises FileExistsError, before writing
    anything, when a dataset exists and ``overwrite`` is False.
    """
    from pmaxent.plots.datasets import plot_dataset_entropy

    if trajectories < 1:
        raise ValueError(f"trajectories per agent must be at least 1; got {trajectories}")
    run = as_run(run)
    run_dir = run.run_dir
    config, env = run.config, run.components.env
    families = run_methods(config.methods, methods)
    root = datasets_root(run_dir).resolve()
    targets = {
        (method, seed): root / dataset_id(config.env, method, config.agents, seed, trajectories)
        for method in families
        for seed in config.seeds
    }
    existing = [path for path in targets.values() if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"{len(existing)} dataset(s) already exist, e.g. {existing[0]}; pass overwrite=True (--overwrite) to "
            "replace them"
        )
    sample = _sampler(run, trajectories)
    stride = config.stride_for(env.horizon)
    collected: dict[str, list[ContinuousDataset]] = {}
    with progress_bar(len(targets), "collecting datasets", enabled=show_progress, unit="datasets") as bar:
        for method in families:
            keys = collection_keys(method, config.seeds, collection_seed)
            params = team_params(run, method)
            for index, seed in enumerate(config.seeds):
                features, observations, actions, lengths = sample(
                    jax.tree.map(lambda leaf, index=index: leaf[index], params), keys[index], method == "random"
                )
                # the features of every stored observation (each episode's first lengths[e] + 1); the entropy
                # of every stride-th
                stored = [episode[: n + 1] for episode, n in zip(features, lengths, strict=True)]
                points = np.concatenate(stored)
                entropy = float(knn_entropy(np.concatenate([episode[::stride] for episode in stored]), config.k))
                identifier = dataset_id(config.env, method, config.agents, seed, trajectories)
                dataset = ContinuousDataset(
                    identifier,
                    method,
                    seed,
                    observations,
                    actions,
                    lengths,
                    entropy,
                    _normalized(entropy, env.feature_volume),
                    _coverage(env, points),
                )
                _write(targets[(method, seed)], dataset, env, run_dir, config, trajectories, overwrite)
                collected.setdefault(method, []).append(dataset)
                bar.advance()
    _write_summary(run_dir, config, collected, trajectories, plot_dataset_entropy)
    return collected


def _normalized(entropy: float, volume: float | None) -> float:
    return entropy / math.log(volume) if volume is not None else math.nan


def _coverage(env, points: np.ndarray) -> float:
    """The world's coverage of points [N, d] (NaN where it defines none)."""
    metrics = env.team_metrics(points[None, None]) if env.team_metrics is not None else {}
    return float(metrics["coverage"][0]) if "coverage" in metrics else math.nan


def _sampler(run, trajectories: int):
    """``sample(params [m, ...], key, uniform) -> (features [E, T+1, d], observations [E, T+1, obs],
    actions [E, T, a] clipped, lengths [E])`` of the run's world, E = m * trajectories episodes
    (episode j * m + i: the j-th trajectory of agent i)."""
    env, policy = run.components.env, run.policy
    low, high = env.action_space.low, env.action_space.high
    flat = lambda x: np.asarray(x).reshape((-1,) + x.shape[2:])  # noqa: E731  [N, m, ...] -> [N * m, ...]
    if isinstance(env, HostEnvironment):
        act, vector = make_act(policy), env.make_vector(trajectories * run.config.agents)

        def sample_on_host(params, key, uniform):
            lane = jax.tree.map(lambda leaf: leaf[None], params)
            features, observations, actions, alive = sample_host(
                env, act, vector, lane, np.array([uniform]), key[None], trajectories
            )
            lengths = np.minimum(
                flat(alive[0]).sum(axis=-1), env.horizon
            )  # alive[t]: the episode had not ended before observation t
            return flat(features[0]), flat(observations[0]), np.clip(flat(actions[0]), low, high), lengths

        return sample_on_host

    @jax.jit
    def rollout(params, key, uniform):
        samples = sample_team(env, policy, params, key, trajectories, "jax", uniform)
        return map_copies(env.features, 3)(samples.states), map_copies(env.observe, 3)(samples.states), samples.actions

    def sample_in_jax(params, key, uniform):
        features, observations, actions = rollout(params, key, uniform)
        return (
            flat(features),
            flat(observations),
            np.clip(flat(actions), low, high),
            np.full(features.shape[0] * features.shape[1], env.horizon),
        )

    return sample_in_jax


def _write(target, dataset: ContinuousDataset, env, run_dir, config, trajectories, overwrite) -> None:
    import gymnasium

    identifier, method, seed, observations, actions, lengths = (
        dataset.dataset_id,
        dataset.method,
        dataset.seed,
        dataset.observations,
        dataset.actions,
        dataset.lengths,
    )
    horizon = actions.shape[1]
    if parse_gym_name(config.env) is not None:
        env_spec = gymnasium.spec(parse_gym_name(config.env))
        try:
            env_spec.to_json()
        except ValueError:  # registered with a callable entry point, which Minari cannot store
            env_spec = None
    else:
        env_spec = (
            gymnasium.spec(registered_id(config.env))
            if config.env in CONTINUOUS_ENVS and config.layout is None
            else None
        )

    def episode(e: int) -> dict:
        n = int(lengths[e])
        return {
            "observations": observations[e, : n + 1].astype(np.float32), "actions": actions[e, :n].astype(np.float32),
            "rewards": np.zeros(n),
            "terminations": (np.arange(n) == n - 1) & (n < horizon),
            "truncations": (np.arange(n) == n - 1) & (n == horizon),
        }  # fmt: skip

    write_minari_dataset(
        target,
        observation_space=env.observation_space,
        action_space=env.action_space,
        env_spec=env_spec,
        metadata={
            "dataset_id": identifier,
            "algorithm_name": f"pmaxent-{method}",
            "description": f"Reward-free exploration data of the {method} method in {config.env}: {config.agents} "
            f"agents x {trajectories} trajectories of {horizon} steps (training seed {seed}).",
            METADATA_KEY: {
                "env": config.env,
                "method": method,
                "agents": config.agents,
                "seed": seed,
                "trajectories_per_agent": trajectories,
                "horizon": horizon,
                "source": str(Path(run_dir).resolve()),
                "family": "continuous",
                "entropy": dataset.entropy,
                "normalized_entropy": dataset.normalized_entropy,
                "coverage": dataset.coverage,
            },
        },
        episodes=(episode(e) for e in range(observations.shape[0])),
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
        raise ValueError(
            f"corrupt dataset at {path}: its metadata is not that of a continuous pmaxent dataset ({error!r}); collect "
            "it again with --overwrite"
        ) from error
    if record.get("family") != "continuous":
        raise ValueError(f"dataset at {path} is not a continuous pmaxent dataset")
    try:
        episodes = list(MinariDataset(path / "data").iterate_episodes())
        lengths = np.array([len(episode.actions) for episode in episodes])
        horizon = int(record["horizon"])
        # an episode that ended early keeps repeating its last observation, as at collection
        observations = np.stack(
            [
                np.concatenate(
                    [e.observations, np.repeat(e.observations[-1:], horizon + 1 - len(e.observations), axis=0)]
                )
                for e in episodes
            ]
        ).astype(np.float32)
        actions = np.stack(
            [
                np.concatenate(
                    [e.actions, np.zeros((horizon - len(e.actions),) + e.actions.shape[1:], e.actions.dtype)]
                )
                for e in episodes
            ]
        ).astype(np.float32)
    except (OSError, KeyError, ValueError, AssertionError) as error:
        raise ValueError(f"corrupt dataset at {path}: Minari cannot read it ({error})") from error
    if observations.ndim != 3 or observations.shape[1] != actions.shape[1] + 1 or not np.isfinite(observations).all():
        raise ValueError(
            f"corrupt dataset at {path}: observations {observations.shape} do not fit actions {actions.shape}, or are "
            "not finite"
        )
    return ContinuousDataset(
        identifier,
        fields["method"],
        int(fields["seed"]),
        observations,
        actions,
        lengths,
        float(fields["entropy"]),
        float(fields["normalized_entropy"]),
        float(fields["coverage"]),
    )


def load_continuous_run_datasets(
    run: TrainedRun | Path | str, methods: Sequence[str] | None = None, *, trajectories: int = 1
):
    """(the run's world, {method: datasets in the order of the run's seeds}) of a continuous run.

    Raises:
        FileNotFoundError: a dataset of a requested method and seed is missing.
        ValueError: the run trained in a world other than a kinematic continuous one, or a dataset is corrupt.
    """
    run = as_run(run)
    run_dir, config = run.run_dir, run.config
    if not isinstance(run.world, ContinuousWorld):
        raise ValueError(
            f"{run_dir} trained in {config.env}: offline goal reaching needs one of pmaxent's kinematic continuous "
            "worlds (gridworld-continuous, the continuous Room and Maze, a text map)"
        )
    root = datasets_root(run_dir)
    loaded: dict[str, list[ContinuousDataset]] = {}
    for method in run_methods(config.methods, methods):
        for seed in config.seeds:
            path = root / dataset_id(config.env, method, config.agents, seed, trajectories)
            if not path.exists():
                raise FileNotFoundError(
                    f"dataset {dataset_id(config.env, method, config.agents, seed, trajectories)} not found at {path}; "
                    f"run `pmaxent collect {run_dir}` first"
                )
            loaded.setdefault(method, []).append(load_continuous_dataset(path))
    return run.world, loaded


def _write_summary(
    run_dir: Path, config, collected: dict[str, list[ContinuousDataset]], trajectories: int, plot_dataset_entropy
) -> None:
    rows = []
    for method in DATASET_METHODS:
        for dataset in collected.get(method, []):
            rows.append({
                "env": config.env, "method": method, "agents": config.agents, "seed": dataset.seed,
                "trajectories_per_agent": trajectories, "episodes": dataset.observations.shape[0],
                "transitions": dataset.actions.shape[0] * dataset.actions.shape[1],
                "entropy": dataset.entropy, "normalized_entropy": dataset.normalized_entropy,
                "coverage": dataset.coverage, "dataset_id": dataset.dataset_id,
            })  # fmt: skip
    write_csv(run_dir / "datasets.csv", CSV_FIELDS, rows, float_format=".6g")
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    normalized = all(math.isfinite(d.normalized_entropy) for group in collected.values() for d in group)
    value = (lambda d: d.normalized_entropy) if normalized else (lambda d: d.entropy)
    plot_dataset_entropy(
        {config.env: {method: [value(d) for d in group] for method, group in collected.items()}},
        figures / "fig2_dataset_entropy.png",
        normalized=normalized,
    )


def export_ogbench(
    run: TrainedRun | Path | str, out: Path | str, methods: Sequence[str] | None = None, trajectories: int = 1
) -> list[Path]:
    """The run's collected datasets in OGBench's file layout
    (:func:`pmaxent.datasets.write_ogbench_dataset`), one ``OUT/<env>-<method>-m<m>-seed<k>[-n<N>]-v0.npz``
    per method and seed, actions divided by the world's max_step so that they lie in [-1, 1] as
    OGBench's do: OGBench's loader and agents read them unchanged."""
    from pmaxent.datasets import write_ogbench_dataset

    world, datasets_by_method = load_continuous_run_datasets(run, methods, trajectories=trajectories)
    return [
        write_ogbench_dataset(
            Path(out) / f"{d.dataset_id.split('/', 1)[1]}.npz", d.observations, d.actions / world.max_step
        )
        for datasets in datasets_by_method.values()
        for d in datasets
    ]
