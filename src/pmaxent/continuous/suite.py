"""The continuous experiment (``pmaxent reproduce --suite continuous``): does a team of m agents
explore better than one agent with K' = m trajectories, in GridWorldContinuous and the continuous
Room and Maze? Run by the protocol of SPEC section 13:

1. **tune**: per world, every method is tuned alike on tuning seeds (:mod:`pmaxent.continuous.tuning`);
2. **train**: per world, m and method, its chosen setting trains on evaluation seeds the tuning
   never saw (the team's run also holds the random policy);
3. **measure**: the final policies' fresh rollouts, by a yardstick that is not the training
   objective (:mod:`pmaxent.continuous.evaluation`);
4. **datasets** from the final policies, and offline goal reaching on them (:mod:`pmaxent.continuous.offline`);
5. **report**: per world and m, "holds / does not hold / not enough evidence" from Welch's tests
   with Holm's correction, and rliable's aggregates across worlds (:mod:`pmaxent.continuous.claims`).

Every stage is skipped on a re-run once its files exist, so an interrupted suite continues.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np

from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.evaluation import YardstickConfig, yardstick
from pmaxent.continuous.offline_config import QUICK_OFFLINE, ContinuousOfflineConfig
from pmaxent.continuous.tuning import (
    TUNED_METHODS,
    SearchSpace,
    TuningConfig,
    check_disjoint,
    method_config,
    method_label,
    tune,
    tuned_config,
)
from pmaxent.core.runs import load_run, load_snapshots, run_training
from pmaxent.core.tables import read_csv, write_csv
from pmaxent.reports import Stages, prepare_reproduction, run_name
from pmaxent.statistics import seeds_for_power
from pmaxent.sweep.cluster import Cluster, Job, run_jobs

DETECTABLE_EFFECT = 1.5
"""The standardized effect (difference of means over the pooled standard deviation) that the
default evaluation seeds detect with power 0.8, after Holm's correction across the suite's
(world, m) configurations."""

SUITE_METHODS = ("parallel", "single", "latent", "random")
"""The team, the single agent, the single agent with latent modes and the random policy."""
MEASURES = ("entropy", "normalized_entropy", "coverage", "divergence")
"""The yardstick's measures, in the order of measures.csv."""


@dataclasses.dataclass(frozen=True)
class ContinuousSuiteConfig:
    """Settings of the continuous experiment; training settings not named here (nor tuned) are
    :class:`ContinuousTrainConfig`'s defaults."""

    envs: tuple[str, ...] = ("gridworld-continuous", "room-det-continuous", "maze-det-continuous")
    """Worlds of the grid."""
    agents: tuple[int, ...] = (2, 4, 8)
    """Team sizes m."""
    seeds: tuple[int, ...] | None = None
    """Evaluation seeds (default: 0, 1, ... as many as seeds_for_power(DETECTABLE_EFFECT) asks for over the
    suite's configurations, at least 10)."""
    updates: int = 300
    """Updates per run, for every method."""
    batch_size: int = 4
    """B, team samples per update, for every method."""
    policy: str = "population"
    """The team's policy (the single agent shares its every parameter across its K' = m trajectories)."""
    tuning: TuningConfig = TuningConfig()
    """The search space, budget and tuning seeds, the same for every method."""
    tune_agents: int = 4
    """The team size tuning runs at, per world; its choices serve every m."""
    measure: YardstickConfig = YardstickConfig()
    """The yardstick of the final policies."""
    dataset_trajectories: int = 10
    """Trajectories per agent in each dataset."""
    offline: ContinuousOfflineConfig = ContinuousOfflineConfig()
    """Offline goal reaching on the datasets of the largest teams."""
    offline_seeds: int = 3
    """How many evaluation seeds' datasets offline agents train on (the first ones)."""
    quick: bool = False
    """A smoke-test-sized run (the preset below)."""

    def evaluation_seeds(self) -> tuple[int, ...]:
        if self.seeds is not None:
            return tuple(self.seeds)
        return tuple(range(seeds_for_power(DETECTABLE_EFFECT, len(self.envs) * len(self.agents))))

    def base_config(self, env: str, agents: int) -> ContinuousTrainConfig:
        """The training settings every method shares, before its tuned ones."""
        return ContinuousTrainConfig(
            env=env,
            agents=agents,
            updates=self.updates,
            batch_size=self.batch_size,
            policy=self.policy,
            chunk=min(ContinuousTrainConfig.chunk, self.updates),
        )


QUICK_CONTINUOUS = ContinuousSuiteConfig(
    envs=("gridworld-continuous", "room-det-continuous"),
    agents=(2,),
    seeds=(0, 1, 2),
    updates=10,
    batch_size=2,
    tuning=TuningConfig(SearchSpace(lr=(3e-3, 1e-2), lr_decay=(1.0,), log_std_init=(-1.5,), k=(10,)), budget=2),
    tune_agents=2,
    measure=YardstickConfig(samples=2, k=10),
    dataset_trajectories=2,
    offline=QUICK_OFFLINE,
    offline_seeds=2,
    quick=True,
)
"""What the tests and ``--quick`` run."""


def method_run_dir(out: Path, env: str, agents: int, method: str) -> Path:
    """Where a method's evaluation run lives (the random policy's: in the team's run)."""
    return out / "runs" / run_name(env, agents) / ("parallel" if method == "random" else method)


def reproduce_continuous(
    out_dir: str | Path = "runs/continuous",
    config: ContinuousSuiteConfig = ContinuousSuiteConfig(),
    progress: bool = True,
    address: str | None = None,
) -> Path:
    """Tune, train, measure, collect datasets and write OUT/report.md; finished stages are skipped on a re-run.
    With ``address``, the tuning runs and each world's evaluation runs are Ray tasks on that cluster."""
    from pmaxent.continuous.claims import write_continuous_report
    from pmaxent.continuous.datasets import collect_continuous_run

    seeds = config.evaluation_seeds()
    check_disjoint(config.tuning.seeds, seeds)
    out = prepare_reproduction(out_dir, {"suite": "continuous", **dataclasses.asdict(config), "seeds": list(seeds)})
    stages = Stages(out / "timings.json")
    for env in config.envs:
        tuning_dir = out / "tuning" / env
        stages.run(
            f"tune {env}",
            (tuning_dir / "tuning.json").exists(),
            lambda env=env, tuning_dir=tuning_dir: tune(
                config.base_config(env, config.tune_agents), config.tuning, tuning_dir, config.measure, progress,
                address,
            ),
        )  # fmt: skip
        chosen = read_chosen(tuning_dir)
        evaluation = {
            (m, method): method_config(
                dataclasses.replace(tuned_config(config.base_config(env, m), chosen, method), seeds=seeds), method
            )
            for m in config.agents
            for method in TUNED_METHODS
        }
        if address is not None:
            jobs = [
                Job(f"train {env} m={m} {method}", (str(method_run_dir(out, env, m, method).relative_to(out)),),
                    functools.partial(train_evaluation_run, c, method))
                for (m, method), c in evaluation.items()
            ]  # fmt: skip
            stages.run(
                f"train {env} on the cluster",
                all(job.done(out) for job in jobs),
                lambda jobs=jobs: run_jobs(jobs, out, Cluster(address), progress, label="runs"),
            )
        for m in config.agents:
            for method in TUNED_METHODS:
                run_dir = method_run_dir(out, env, m, method)
                stages.run(
                    f"train {env} m={m} {method}",
                    (run_dir / "params.npz").exists(),
                    lambda c=evaluation[m, method], d=run_dir, method=method: train_evaluation_run(
                        c, method, d, progress
                    ),
                )
                stages.run(
                    f"datasets {env} m={m} {method}",
                    (run_dir / "datasets.csv").exists(),
                    lambda d=run_dir: collect_continuous_run(
                        d, trajectories=config.dataset_trajectories, overwrite=True, show_progress=False
                    ),
                )
                stages.run(
                    f"measure {env} m={m} {method}",
                    (run_dir / "measures.csv").exists(),
                    lambda d=run_dir: measure_run(d, config.measure, config.dataset_trajectories),
                )
        m = max(config.agents)
        path = out / "runs" / run_name(env, m) / "offline.csv"
        stages.run(
            f"offline {env} m={m}",
            path.exists(),
            lambda env=env, m=m, path=path: offline_stage(out, env, m, config, seeds, path, progress),
        )
    pictures = {env: method_run_dir(out, env, max(config.agents), "parallel") / "team.png" for env in config.envs}
    return write_continuous_report(out, config, suite_results(out, config), pictures)


def train_evaluation_run(config: ContinuousTrainConfig, method: str, run_dir: Path, progress: bool = False):
    """Train (or resume) an evaluation run, keeping its snapshots for the learning curves."""
    from pmaxent.continuous.team import team_figures

    figures = team_figures if method == "parallel" else None
    return run_training(config, run_dir, resume=True, progress=progress, figures=figures, snapshots=True)


def read_chosen(tuning_dir: Path) -> dict[str, dict]:
    return json.loads((tuning_dir / "tuning.json").read_text())["chosen"]


def measure_run(run_dir: Path, measure: YardstickConfig, trajectories: int) -> None:
    """RUN/measures.csv: the yardstick of every method and seed of a run, for its final policies
    (source "policy": fresh rollouts) and for its datasets (source "dataset": all their points);
    RUN/curves.csv: the normalized entropy of fresh rollouts from every snapshot (the learning curves)."""
    from pmaxent.continuous.datasets import load_continuous_run_datasets
    from pmaxent.continuous.knn import knn_entropy

    run = load_run(run_dir, ContinuousTrainConfig)
    volume = run.components.env.feature_volume
    rows = []
    for method in run.config.methods:
        scores = yardstick(run.components, run.params[method], run.config.seeds, measure, uniform=method == "random")
        label = method_label(run.config, method)
        for i, seed in enumerate(run.config.seeds):
            rows.append(("policy", label, seed, *(float(scores[name][i]) for name in MEASURES)))
    _, datasets = load_continuous_run_datasets(run, trajectories=trajectories)
    for method, group in datasets.items():
        method = method_label(run.config, method)
        for dataset in group:
            points = np.asarray(dataset.observations, np.float32).reshape(-1, 2)
            entropy = float(knn_entropy(points, measure.k))
            divergence = np.nan  # a dataset's episodes are not grouped by agent here
            rows.append(
                ("dataset", method, dataset.seed, entropy, entropy / np.log(volume), dataset.coverage, divergence)
            )
    curve = []
    for update, params in load_snapshots(run):
        for method in run.config.methods:
            scores = yardstick(
                run.components, params[method], run.config.seeds, measure, method == "random",
                samples=measure.curve_samples, divergence=False,
            )  # fmt: skip
            label = method_label(run.config, method)
            curve += [
                (label, seed, update, float(v))
                for seed, v in zip(run.config.seeds, scores["normalized_entropy"], strict=True)
            ]
    write_csv(run_dir / "curves.csv", ("method", "seed", "update", "normalized_entropy"), curve, float_format=".6g")
    write_csv(run_dir / "measures.csv", ("source", "method", "seed", *MEASURES), rows, float_format=".6g")


def offline_stage(out: Path, env: str, m: int, config: ContinuousSuiteConfig, seeds, path: Path, progress: bool):
    """Offline goal reaching on the first ``offline_seeds`` seeds' datasets of every method."""
    from pmaxent.continuous.datasets import load_continuous_run_datasets
    from pmaxent.continuous.offline import evaluate_continuous_datasets, write_offline_csv

    by_method, world = {}, None
    for method in SUITE_METHODS:
        stored = "single" if method == "latent" else method
        world, loaded = load_continuous_run_datasets(
            method_run_dir(out, env, m, method), [stored], trajectories=config.dataset_trajectories
        )
        by_method[method] = [d for d in loaded[stored] if d.seed in seeds[: config.offline_seeds]]
    result = evaluate_continuous_datasets(world, by_method, config.offline, show_progress=progress)
    write_offline_csv(path, result)


def per_seed(rows: list[dict], method: str, field: str, seeds) -> np.ndarray:
    """``field`` of ``method`` over ``seeds`` (in that order) from CSV rows with method and seed."""
    values = {int(r["seed"]): float(r[field]) for r in rows if r["method"] == method}
    return np.array([values[s] for s in seeds])


def suite_results(out: Path, config: ContinuousSuiteConfig) -> dict:
    """Everything the report needs: measures[(env, m)][method][name] and datasets[...] over the
    evaluation seeds, offline[(env, m)][method] mean success over goals per seed, the tunings, and
    curves[(env, m)][method] = (updates [U], normalized entropy of fresh rollouts [n_seeds, U])."""
    seeds = config.evaluation_seeds()
    measures, datasets, offline, tunings, curves = {}, {}, {}, {}, {}
    for env in config.envs:
        tunings[env] = json.loads((out / "tuning" / env / "tuning.json").read_text())
        for m in config.agents:
            measures[env, m], datasets[env, m], curves[env, m] = {}, {}, {}
            for method in SUITE_METHODS:
                run_dir = method_run_dir(out, env, m, method)
                rows = [r for r in read_csv(run_dir / "curves.csv") if r["method"] == method]
                updates = sorted({int(r["update"]) for r in rows})
                values = {(int(r["seed"]), int(r["update"])): float(r["normalized_entropy"]) for r in rows}
                curves[env, m][method] = (np.array(updates), np.array([[values[s, u] for u in updates] for s in seeds]))
                rows = read_csv(run_dir / "measures.csv")
                for source, table in (("policy", measures), ("dataset", datasets)):
                    chosen = [r for r in rows if r["source"] == source]
                    table[env, m][method] = {name: per_seed(chosen, method, name, seeds) for name in MEASURES}
        path = out / "runs" / run_name(env, max(config.agents)) / "offline.csv"
        if path.exists():
            rows = read_csv(path)
            offline[env, max(config.agents)] = {
                method: np.array(
                    [
                        np.mean([float(r["success"]) for r in rows if r["method"] == method and int(r["seed"]) == s])
                        for s in seeds[: config.offline_seeds]
                    ]
                )
                for method in SUITE_METHODS
            }
    return {
        "seeds": seeds, "measures": measures, "datasets": datasets, "offline": offline, "tunings": tunings,
        "curves": curves,
    }  # fmt: skip
