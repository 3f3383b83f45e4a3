"""The datasets of a tabular run directory (contract of :mod:`pmaxent.core.runs`: ``load_run``,
``team_params``): collect them (``pmaxent collect``), load them back, and their metrics,
``RUN/datasets.csv`` and Figures 2 and 8."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from pmaxent.core.progress import progress_bar
from pmaxent.core.tables import write_csv
from pmaxent.datasets import datasets_root, run_methods
from pmaxent.tabular.datasets import (
    DatasetInfo,
    ExplorationDataset,
    collect_datasets,
    dataset_path,
    dynamics_fingerprint,
    load_dataset,
    save_dataset,
)
from pmaxent.tabular.entropy import entropy_from_counts
from pmaxent.tabular.mdp import TabularMDP


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


class RunDatasets(NamedTuple):
    """The environment of a run and datasets per family (each a list in the order of the run's seeds)."""

    mdp: TabularMDP
    datasets: dict[str, list[ExplorationDataset]]


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
    from pmaxent.core.runs import load_run, team_params
    from pmaxent.tabular.config import TabularTrainConfig

    run_dir = Path(run_dir)
    run = load_run(run_dir, TabularTrainConfig)
    families = run_methods(run.config.methods, methods)
    root = datasets_root(run_dir)
    collected = {
        method: collect_datasets(
            run.world,
            run.policy,
            method,
            team_params(run, method),
            run.config.seeds,
            trajectories=trajectories,
            collection_seed=collection_seed,
            source=str(run_dir.resolve()),
        )
        for method in families
    }
    if not overwrite:
        existing = [
            dataset_path(root, d.info)
            for group in collected.values()
            for d in group
            if dataset_path(root, d.info).exists()
        ]
        if existing:
            raise FileExistsError(
                f"{len(existing)} dataset(s) already exist, e.g. {existing[0]}; pass overwrite=True (--overwrite) to "
                "replace them"
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
    from pmaxent.core.runs import load_run
    from pmaxent.tabular.config import TabularTrainConfig

    run_dir = Path(run_dir)
    run = load_run(run_dir, TabularTrainConfig)
    return RunDatasets(
        run.world,
        _load_stored_datasets(run, run_dir, run_methods(run.config.methods, methods), trajectories, missing_ok=False),
    )


def _load_stored_datasets(
    run, run_dir: Path, families: Sequence[str], trajectories: int, missing_ok: bool
) -> dict[str, list[ExplorationDataset]]:
    """Datasets of ``families`` x the run's seeds; with ``missing_ok`` absent ones are skipped."""
    root = datasets_root(run_dir)
    fingerprint = dynamics_fingerprint(run.world)
    loaded: dict[str, list[ExplorationDataset]] = {}
    for method in families:
        group = []
        for seed in run.config.seeds:
            info = DatasetInfo(
                env=run.world.name,
                method=method,
                agents=run.config.agents,
                seed=seed,
                trajectories_per_agent=trajectories,
                horizon=run.world.horizon,
                n_states=run.world.n_states,
                n_actions=run.world.n_actions,
                dynamics_fingerprint=fingerprint,
            )
            path = dataset_path(root, info)
            if not path.exists():
                if missing_ok:
                    continue
                raise FileNotFoundError(
                    f"dataset {info.dataset_id} not found at {path}; run `pmaxent collect {run_dir}` first"
                )
            group.append(load_dataset(path, run.world))
        if group:
            loaded[method] = group
    return loaded


DATASET_CSV_FIELDS = (
    "env",
    "method",
    "agents",
    "seed",
    "trajectories_per_agent",
    "episodes",
    "transitions",
    "entropy",
    "normalized_entropy",
    "support",
    "dataset_id",
)


def dataset_rows(datasets_by_method: Mapping[str, Sequence[ExplorationDataset]], mdp: TabularMDP) -> list[dict]:
    """One row of :data:`DATASET_CSV_FIELDS` per dataset."""
    rows = []
    for group in datasets_by_method.values():
        metrics = dataset_metrics(group, mdp)
        for index, dataset in enumerate(group):
            info = dataset.info
            rows.append(
                {
                    "env": info.env,
                    "method": info.method,
                    "agents": info.agents,
                    "seed": info.seed,
                    "trajectories_per_agent": info.trajectories_per_agent,
                    "episodes": dataset.n_episodes,
                    "transitions": dataset.n_transitions,
                    "entropy": float(metrics.entropy[index]),
                    "normalized_entropy": float(metrics.normalized_entropy[index]),
                    "support": int(metrics.support[index]),
                    "dataset_id": info.dataset_id,
                }
            )
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
    plot_dataset_entropy(
        {mdp.name: {method: m.normalized_entropy for method, m in metrics.items()}},
        figures / "fig2_dataset_entropy.png",
    )
    if mdp.grid_shape is not None:
        plot_occupancy_heatmaps(
            mdp,
            {method: m.occupancy.mean(axis=0) for method, m in metrics.items()},
            figures / "fig8_dataset_occupancy.png",
        )
    return metrics
