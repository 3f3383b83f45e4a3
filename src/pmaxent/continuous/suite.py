"""The continuous experiment (``pmaxent reproduce --suite continuous``): teams of m agents against
the single agent with K' = m trajectories and the random policy, in GridWorldContinuous and the
continuous Room and Maze, then their datasets, and a report with the claims table of the tabular
report (SPEC sections 8, 11)."""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
from pathlib import Path

import jax
import numpy as np

from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.offline import QUICK_OFFLINE, ContinuousOfflineConfig, offline_available
from pmaxent.core.runs import load_run, run_training
from pmaxent.core.tables import read_csv
from pmaxent.reports import Stages, final_metric, parallel_highest_claim, prepare_reproduction, run_name, verdict
from pmaxent.statistics import comparison_rows, comparison_table, mean_std


@dataclasses.dataclass(frozen=True)
class ContinuousSuiteConfig:
    """Settings of the continuous experiment; training settings not named here are
    :class:`ContinuousTrainConfig`'s defaults."""

    envs: tuple[str, ...] = ("gridworld-continuous", "room-det-continuous", "maze-det-continuous")
    """Worlds of the grid."""
    agents: tuple[int, ...] = (2, 4)
    """Team sizes m."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds (one dataset per seed and method)."""
    updates: int = ContinuousTrainConfig.updates
    """Updates per run."""
    dataset_trajectories: int = 10
    """Trajectories per agent in each dataset (as many as team samples per update in training)."""
    offline: ContinuousOfflineConfig = ContinuousOfflineConfig()
    """Offline goal reaching on the datasets of the largest teams (needs the offline extra; skipped without it)."""
    quick: bool = False
    """A smoke-test-sized run (the preset below)."""

    def train_config(self, env: str, agents: int) -> ContinuousTrainConfig:
        return ContinuousTrainConfig(
            env=env,
            agents=agents,
            seeds=self.seeds,
            updates=self.updates,
            chunk=min(ContinuousTrainConfig.chunk, self.updates),
        )


QUICK_CONTINUOUS = ContinuousSuiteConfig(
    envs=("gridworld-continuous", "room-det-continuous"),
    agents=(2,),
    seeds=(0, 1),
    updates=10,
    offline=QUICK_OFFLINE,
    quick=True,
)
"""What the tests and ``--quick`` run."""


def reproduce_continuous(
    out_dir: str | Path = "runs/continuous",
    config: ContinuousSuiteConfig = ContinuousSuiteConfig(),
    progress: bool = True,
) -> Path:
    """Train, collect datasets and write OUT/report.md; finished stages are skipped on a re-run."""
    from pmaxent.continuous.datasets import collect_continuous_run
    from pmaxent.continuous.offline import evaluate_continuous_run
    from pmaxent.continuous.team import team_figures

    out = prepare_reproduction(out_dir, {"suite": "continuous", **dataclasses.asdict(config)})
    stages = Stages(out / "timings.json")
    for env in config.envs:
        for m in config.agents:
            run_dir = out / "runs" / run_name(env, m)
            train_config = config.train_config(env, m)
            stages.run(
                f"train {env} m={m}",
                (run_dir / "params.npz").exists(),
                lambda train_config=train_config, run_dir=run_dir: run_training(
                    train_config, run_dir, resume=True, progress=progress, figures=team_figures
                ),
            )
            stages.run(
                f"datasets {env} m={m}",
                (run_dir / "datasets.csv").exists(),
                lambda run_dir=run_dir: collect_continuous_run(
                    run_dir, trajectories=config.dataset_trajectories, overwrite=True, show_progress=False
                ),
            )
        if offline_available():
            run_dir = out / "runs" / run_name(env, max(config.agents))
            stages.run(
                f"offline {env} m={max(config.agents)}",
                (run_dir / "offline.csv").exists(),
                lambda run_dir=run_dir: evaluate_continuous_run(
                    run_dir, config.offline, trajectories=config.dataset_trajectories, show_progress=progress
                ),
            )
    return write_continuous_report(out, config)


def _offline_results(out: Path, config: ContinuousSuiteConfig) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """(env, m) -> method -> mean success over goals per training seed, from each offline.csv."""
    results = {}
    m = max(config.agents)
    for env in config.envs:
        path = out / "runs" / run_name(env, m) / "offline.csv"
        if not path.exists():
            continue
        rows = read_csv(path)
        results[(env, m)] = {
            method: np.array(
                [
                    np.mean([float(r["success"]) for r in rows if r["method"] == method and int(r["seed"]) == seed])
                    for seed in config.seeds
                ]
            )
            for method in ("parallel", "single", "random")
        }
    return results


def _results(out: Path, config: ContinuousSuiteConfig):
    curves, datasets = {}, {}
    for env in config.envs:
        for m in config.agents:
            run = load_run(out / "runs" / run_name(env, m), ContinuousTrainConfig)
            curves[(env, m)] = {
                method: {k: v[i] for k, v in run.metrics.items()} for i, method in enumerate(run.config.methods)
            }
            rows = read_csv(out / "runs" / run_name(env, m) / "datasets.csv")
            datasets[(env, m)] = {
                metric: {
                    method: np.array([float(r[metric]) for r in rows if r["method"] == method])
                    for method in ("parallel", "single", "random")
                }
                for metric in ("normalized_entropy", "coverage")
            }
    return curves, datasets


def continuous_claims(
    curves: dict, datasets: dict, config: ContinuousSuiteConfig, offline: dict | None = None
) -> list[dict]:
    """Claims (a) to (d) of the tabular report, measured in the continuous worlds; claim (c),
    offline RL, from ``offline`` ((env, m) -> method -> success per seed; None or empty: not
    measured)."""
    keys = [(env, m) for env in config.envs for m in config.agents]
    entropy_wins = coverage_wins = 0
    details = []
    for key in keys:
        h = {method: final_metric(curves[key][method]["normalized_entropy"]) for method in ("parallel", "single")}
        c = {method: final_metric(curves[key][method]["coverage"]) for method in ("parallel", "single")}
        entropy_wins += h["parallel"].mean() > h["single"].mean()
        coverage_wins += c["parallel"].mean() > c["single"].mean()
        details.append(
            f"{key[0]} m={key[1]}: entropy {mean_std(h['parallel'])} vs {mean_std(h['single'])}, coverage "
            f"{c['parallel'].mean():.3f} vs {c['single'].mean():.3f}"
        )
    rows = [
        {
            "claim": (
                "(a) parallel agents reach higher normalized entropy and coverage than the single agent with K' = m"
            ),
            "measured": (
                f"entropy higher in {entropy_wins}/{len(keys)}, coverage higher in {coverage_wins}/{len(keys)} "
                "(world, m); " + "; ".join(details)
            ),
            "holds": bool(entropy_wins == len(keys) and coverage_wins == len(keys)),
        }
    ]
    rows.append(parallel_highest_claim(
        "(b) parallel datasets have higher k-NN entropy than single and random ones",
        {key: datasets[key]["normalized_entropy"] for key in keys}, decimals=3,
    ))  # fmt: skip
    claim_c = "(c) offline goal reaching on parallel datasets succeeds more often than on single and random ones"
    if offline:
        rows.append(
            parallel_highest_claim(
                f"{claim_c} (mean success over goals, d3rlpy {config.offline.algorithm})", offline, decimals=3
            )
        )
    else:
        rows.append(
            {
                "claim": claim_c,
                "measured": "not measured: offline RL in continuous worlds needs the offline extra (pip install "
                "'pmaxent[offline]')",
                "holds": None,
            }
        )
    agents = sorted(config.agents)
    if len(agents) >= 3:
        shrinks, notes = 0, []
        for env in config.envs:
            finals = [final_metric(curves[(env, m)]["parallel"]["normalized_entropy"]).mean() for m in agents]
            gains = np.diff(finals) / np.diff(agents)
            shrinks += bool(np.all(np.diff(gains) < 0))
            notes.append(f"{env}: gain per agent " + ", ".join(f"{g:+.4f}" for g in gains))
        rows.append(
            {
                "claim": "(d) the benefit per added agent shrinks as m grows",
                "measured": f"shrinking in {shrinks}/{len(config.envs)}; " + "; ".join(notes),
                "holds": bool(shrinks == len(config.envs)),
            }
        )
    else:
        rows.append(
            {
                "claim": "(d) the benefit per added agent shrinks as m grows",
                "measured": f"not measured: needs three team sizes, the suite ran m in {agents}",
                "holds": None,
            }
        )
    return rows


def write_continuous_report(out: Path, config: ContinuousSuiteConfig) -> Path:
    """OUT/report.md with the learning curves, the teams, the dataset table and the claims."""
    from pmaxent.plots.training import plot_learning_grid

    curves, datasets = _results(out, config)
    offline = _offline_results(out, config)
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    plot_learning_grid(
        curves,
        figures / "learning_curves.png",
        list(config.envs),
        list(config.agents),
        metrics=("normalized_entropy", "coverage"),
    )
    lines = [
        "# Parallel maximum state entropy in continuous worlds",
        "",
        "Teams of m agents (parallel), one agent with K' = m trajectories (single) and uniform random actions "
        f"(random), trained with the k-NN entropy estimator (k = {ContinuousTrainConfig.k}), Gaussian MLP policies "
        f"{ContinuousTrainConfig.hidden} and Adam (lr {ContinuousTrainConfig.lr}, decayed by "
        f"{ContinuousTrainConfig.lr_decay} per update), {config.updates} updates of B = "
        f"{ContinuousTrainConfig.batch_size} team samples, seeds {', '.join(map(str, config.seeds))}. "
        "Final values: mean over the last 1% of updates; mean ± std over seeds.",
        "",
        "## Claims",
        "",
        "| claim | measured | holds here |",
        "|---|---|---|",
    ]
    for claim in continuous_claims(curves, datasets, config, offline):
        lines.append(
            f"| {claim['claim']} | {claim['measured']} | "
            f"{'not measured' if claim['holds'] is None else verdict(claim)} |"
        )
    keys = [(env, m) for env in config.envs for m in config.agents]

    def final(metric):
        return {
            key: {method: final_metric(curves[key][method][metric]) for method in ("parallel", "single")}
            for key in keys
        }

    rows = comparison_rows("(a) entropy", final("normalized_entropy"), others=("single",))
    rows += comparison_rows("(a) coverage", final("coverage"), others=("single",))
    rows += comparison_rows("(b) dataset entropy", {key: datasets[key]["normalized_entropy"] for key in keys})
    rows += comparison_rows("(c) offline success", offline)
    lines += ["", *comparison_table(rows)]
    lines += [
        "",
        "## Learning curves",
        "",
        "![learning curves](figures/learning_curves.png)",
        "",
        "## Where the agents go (training seed 0)",
        "",
    ]
    for env in config.envs:
        m = max(config.agents)
        picture = figures / f"team_{run_name(env, m)}.png"
        shutil.copyfile(out / "runs" / run_name(env, m) / "team.png", picture)
        lines += [f"![{env}, m = {m}](figures/{picture.name})", ""]
    lines += [
        "## Datasets",
        "",
        f"One dataset per method and training seed, {config.dataset_trajectories} trajectories per agent (the single "
        "agent and the random policy: m times as many); its k-NN entropy is estimated as in training.",
        "",
        "| world | m | method | normalized k-NN entropy | coverage |",
        "|---|---|---|---|---|",
    ]
    for (env, m), values in datasets.items():
        for method in ("parallel", "single", "random"):
            lines.append(
                f"| {env} | {m} | {method} | {mean_std(values['normalized_entropy'][method])} | "
                f"{mean_std(values['coverage'][method])} |"
            )
    if offline:
        offline_config = config.offline
        lines += [
            "", "## Offline goal reaching", "",
            f"The datasets of the teams of {max(config.agents)} relabelled for every goal (the centre of every floor "
            f"cell but the start on the maps; a grid of spacing {offline_config.goal_spacing} in GridWorldContinuous), "
            f"reward 1 and termination within {offline_config.goal_radius} of the goal. "
            f"One goal-conditioned d3rlpy {offline_config.algorithm} agent per dataset, {offline_config.steps} "
            f"gradient steps of {offline_config.offline_batch_size} transitions, networks "
            f"{offline_config.offline_hidden}; success over {offline_config.eval_episodes} episodes per goal from the "
            f"start, cut at {offline_config.max_episode_steps} steps.",
            "", "| world | m | method | mean success over goals |", "|---|---|---|---|",
        ]  # fmt: skip
        for (env, m), values in offline.items():
            for method in ("parallel", "single", "random"):
                lines.append(f"| {env} | {m} | {method} | {mean_std(values[method])} |")
        lines.append("")
        for env, m in offline:
            picture = figures / f"offline_{run_name(env, m)}.png"
            shutil.copyfile(out / "runs" / run_name(env, m) / "figures" / "fig9_offline_heatmaps.png", picture)
            lines += [f"![offline success per goal, {env}, m = {m}](figures/{picture.name})", ""]
    timings = json.loads((out / "timings.json").read_text()) if (out / "timings.json").exists() else {}
    total = sum(t["seconds"] or 0 for t in timings.values())
    lines += [
        "",
        "## Settings",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {len(jax.devices())} JAX devices "
        f"({jax.default_backend()}), JAX {jax.__version__}. Stage times add up to {total:.0f} s.",
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
