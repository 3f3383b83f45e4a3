"""The paper's experiments end to end: train the grid, collect datasets, offline RL, theory, report.

``reproduce(out_dir)`` runs SPEC section 8's grid (4 environments x m in {2, 4, 6} x
{parallel, single} x 5 seeds x 10,000 updates), the random baseline, the datasets, offline
Q-learning for every goal and the theory figures, and writes ``report.md`` with every figure
and a claims table. Every stage writes its outputs into the run directory and is skipped when
they exist, so re-running continues where an interrupted run stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import platform
from pathlib import Path

import jax
import numpy as np

from pmaxent import tabular
from pmaxent.core.runs import load_run, run_training
from pmaxent.core.tables import read_csv
from pmaxent.reports import (
    Stages,
    claims_table,
    configuration_table,
    final_metric,
    prepare_reproduction,
    run_name,
    shrinking_claim,
    shrinking_rows,
    tested_claim,
    tested_rows,
)
from pmaxent.statistics import SIGNIFICANCE, mean_std
from pmaxent.sweep.cluster import Cluster, Job, run_jobs
from pmaxent.tabular.config import PAPER_SEEDS, TabularTrainConfig
from pmaxent.tabular.entropy import entropy_np


@dataclasses.dataclass(frozen=True)
class ReproduceConfig:
    """Settings of a reproduction (defaults: the paper's, SPEC sections 5-8)."""

    envs: tuple[str, ...] = tabular.ENV_NAMES
    """Environments of the grid."""
    agents: tuple[int, ...] = (2, 4, 6)
    """Team sizes m."""
    updates: int = 10_000
    """PGPSE updates per run."""
    seeds: tuple[int, ...] = PAPER_SEEDS
    """Training seeds (one dataset per seed and method)."""
    batch_size: int = 40
    """Team samples per update B."""
    lr: float = 0.1
    """Constant step size (see SPEC section 5 for why not the paper's decay)."""
    offline_seed: int = 0
    """Seed of the offline Q-learning minibatches and evaluation episodes."""
    theory: bool = True
    """Include the theory figures (concentration bound, parallel Frank-Wolfe)."""
    quick: bool = False
    """A smoke-test-sized run (the preset below), also passed to the theory stage."""

    def train_config(self, env: str, agents: int, methods: tuple[str, ...], updates: int) -> TabularTrainConfig:
        return TabularTrainConfig(
            env=env, agents=agents, methods=methods, batch_size=self.batch_size, updates=updates,
            seeds=self.seeds, lr=self.lr, baseline="none", chunk=min(500, updates),
        )  # fmt: skip


QUICK = ReproduceConfig(
    envs=("room-det", "maze-stoc"), agents=(2, 4, 6), updates=150, seeds=(0, 1), batch_size=20, quick=True
)
"""What the tests and ``--quick`` run: two environments, two seeds, 150 updates."""


def reproduce(
    out_dir: str | Path = "runs/paper",
    config: ReproduceConfig = ReproduceConfig(),
    progress: bool = True,
    address: str | None = None,
) -> Path:
    """Run every stage into ``out_dir`` (skipping finished ones) and return the report's path. With
    ``address``, the grid's training runs are Ray tasks on that cluster."""
    from pmaxent.tabular.offline import evaluate_run
    from pmaxent.tabular.run_datasets import collect_run

    out = prepare_reproduction(out_dir, dataclasses.asdict(config))
    stages = Stages(out / "timings.json")
    if address is not None:
        jobs = [
            Job(f"train {env} m={m}", (f"runs/{run_name(env, m)}",),
                functools.partial(run_training, config.train_config(env, m, ("parallel", "single"), config.updates),
                                  resume=True, progress=False))
            for env in config.envs
            for m in config.agents
        ]  # fmt: skip
        stages.run(
            "train on the cluster",
            all(job.done(out) for job in jobs),
            lambda: run_jobs(jobs, out, Cluster(address), progress, label="runs"),
        )
    for env in config.envs:
        for m in config.agents:
            run_dir = out / "runs" / run_name(env, m)
            train_config = config.train_config(env, m, ("parallel", "single"), config.updates)
            stages.run(
                f"train {env} m={m}",
                (run_dir / "params.npz").exists(),
                lambda train_config=train_config, run_dir=run_dir: run_training(
                    train_config, run_dir, resume=True, progress=progress
                ),
            )
            stages.run(
                f"datasets {env} m={m}",
                (run_dir / "datasets.csv").exists(),
                lambda run_dir=run_dir: collect_run(run_dir, overwrite=True, show_progress=False),
            )
            stages.run(
                f"offline {env} m={m}",
                (run_dir / "offline.csv").exists(),
                lambda run_dir=run_dir: evaluate_run(run_dir, "both", seed=config.offline_seed, show_progress=False),
            )
    if config.theory:
        from pmaxent.tabular.theory import run_theory

        theory_dir = out / "theory"
        stages.run(
            "theory",
            (theory_dir / "done").exists(),
            lambda: (run_theory(theory_dir, quick=config.quick), (theory_dir / "done").touch()),
        )
    return write_report(out, config)


# ---------------------------------------------------------------------------------------------
# Numbers the report is made of
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class GridResults:
    """Everything measured, per (env, m)."""

    curves: dict[tuple[str, int], dict[str, dict[str, np.ndarray]]]
    """(env, m) -> method (parallel, single) -> metric -> [n_seeds, updates]."""
    dataset_entropy: dict[tuple[str, int], dict[str, np.ndarray]]
    """(env, m) -> method -> normalized entropy of each seed's dataset."""
    dataset_support: dict[tuple[str, int], dict[str, np.ndarray]]
    offline: dict[tuple[str, int], dict[str, dict[str, np.ndarray]]]
    """(env, m) -> variant -> method -> success per goal (mean over seeds) [G]."""
    offline_per_seed: dict[tuple[str, int], dict[str, dict[str, np.ndarray]]]
    """(env, m) -> variant -> method -> mean success over goals of each seed's dataset [n_seeds]."""


def collect_results(out: Path, config: ReproduceConfig) -> GridResults:
    """Read every number back from the run directories' files (what the report shows)."""
    from pmaxent.core.tables import read_metrics_csv

    curves, dataset_entropy, dataset_support, offline, offline_per_seed = {}, {}, {}, {}, {}
    for env in config.envs:
        for m in config.agents:
            run_dir = out / "runs" / run_name(env, m)
            curves[(env, m)] = read_metrics_csv(run_dir / "metrics.csv")
            rows = read_csv(run_dir / "datasets.csv")
            dataset_entropy[(env, m)] = {
                method: np.array([float(r["normalized_entropy"]) for r in rows if r["method"] == method])
                for method in ("parallel", "single", "random")
            }
            dataset_support[(env, m)] = {
                method: np.array([float(r["support"]) for r in rows if r["method"] == method])
                for method in ("parallel", "single", "random")
            }
            by_goal: dict[str, dict[str, dict[int, list[float]]]] = {}
            by_seed: dict[str, dict[str, dict[int, list[float]]]] = {}
            for r in read_csv(run_dir / "offline.csv"):
                by_goal.setdefault(r["variant"], {}).setdefault(r["method"], {}).setdefault(int(r["goal"]), []).append(
                    float(r["success"])
                )
                by_seed.setdefault(r["variant"], {}).setdefault(r["method"], {}).setdefault(int(r["seed"]), []).append(
                    float(r["success"])
                )

            def means(table):
                return {
                    variant: {
                        method: np.array([np.mean(v) for _, v in sorted(groups.items())])
                        for method, groups in by_method.items()
                    }
                    for variant, by_method in table.items()
                }

            offline[(env, m)], offline_per_seed[(env, m)] = means(by_goal), means(by_seed)
    return GridResults(curves, dataset_entropy, dataset_support, offline, offline_per_seed)


def claims(results: GridResults, config: ReproduceConfig) -> tuple[list[dict], list[dict], list[dict]]:
    """The claims of SPEC section 8, (a) to (d), tested as every suite's are (Welch's test per
    configuration, Holm's correction across configurations; :mod:`pmaxent.reports`).

    Returns (the claims' lines, the per-configuration tests, claim (d) per world).
    """
    keys = [(env, m) for env in config.envs for m in config.agents]

    def final(metric):
        return {
            key: {method: final_metric(results.curves[key][method][metric]) for method in ("parallel", "single")}
            for key in keys
        }

    entropy = tested_rows("(a) entropy", final("normalized_entropy"), ("single",))
    support = tested_rows("(a) support", final("support"), ("single",))
    dataset_entropy = {key: results.dataset_entropy[key] for key in keys}
    datasets = tested_rows("(b) dataset entropy", dataset_entropy, ("single", "random"))
    offline = tested_rows(
        "(c) offline success", {key: results.offline_per_seed[key]["paper"] for key in keys}, ("single", "random")
    )
    per_world = shrinking_rows(
        {key: final_metric(results.curves[key]["parallel"]["normalized_entropy"]) for key in keys}, config.agents
    )
    small_spread = sum(
        h["parallel"].std() <= max(h["single"].std(), h["random"].std()) for h in dataset_entropy.values()
    )
    lines = [
        tested_claim(
            "(a) parallel agents reach higher normalized entropy and support than the single agent with K' = m",
            entropy + support,
        ),
        tested_claim(
            "(b) parallel datasets have higher entropy than single and random ones, with small variance across seeds",
            datasets,
        ),
        tested_claim(
            "(c) offline Q-learning on parallel datasets reaches more goals (mean success over goals, paper protocol)",
            offline,
        ),
        shrinking_claim("(d) the benefit per added agent shrinks as m grows (parallel final entropy)", per_world),
    ]
    lines[1]["measured"] += f"; parallel std not above the others' in {small_spread}/{len(keys)}"
    return lines, entropy + support + datasets + offline, per_world


def policy_entropy_per_state(probs: np.ndarray, mdp, state_weights: np.ndarray | None = None) -> np.ndarray:
    """Action entropy per state, normalized by log |A|, averaged over states: probs [k, S, A] -> [k].

    ``state_weights`` [k, S] weights each policy's states (e.g. by its own state distribution);
    by default every valid state counts equally.
    """
    per_state = entropy_np(probs) / np.log(mdp.n_actions)
    if state_weights is None:
        return per_state[:, mdp.valid].mean(-1)
    return (per_state * state_weights).sum(-1) / state_weights.sum(-1)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def write_report(out: Path, config: ReproduceConfig) -> Path:
    """Draw the figures from the files of ``out`` and write ``out/report.md``."""
    from pmaxent.plots.datasets import plot_dataset_entropy
    from pmaxent.plots.maps import plot_map
    from pmaxent.plots.training import plot_learning_grid

    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    results = collect_results(out, config)
    claim_lines, tests, per_world = claims(results, config)
    (out / "claims.json").write_text(json.dumps(claim_lines, indent=2))
    largest = max(config.agents)

    lines = ["# pmaxent: reproduction of *Enhancing Diversity in Parallel Agents* (ICML 2025)", ""]
    lines += [
        f"Run directory `{out}`; pmaxent on {platform.machine()} {platform.system()}, JAX {jax.__version__}, "
        f"{'quick preset' if config.quick else 'full grid'}; {len(config.seeds)} seeds. Verdicts per (world, m): "
        "Welch's test of parallel against each other method, Holm's correction across configurations, level "
        f"{SIGNIFICANCE}; final values are means over the last 1% of updates.",
        "",
        *claims_table(claim_lines),
        "",
        *configuration_table(tests),
        "",
    ]
    if per_world:
        lines += ["### (d) by world: second difference of parallel's final normalized entropy in m", ""]
        lines += [
            f"- {r['world']}: {r['effect']:+.4f}, p (Holm) {r['adjusted']:.3g}: {r['verdict']}" for r in per_world
        ]
        lines.append("")

    # Figures 1 and 7
    envs_order = list(config.envs)
    fig1_agents = [m for m in config.agents if m in (2, 6)] or list(config.agents)
    plot_learning_grid(results.curves, figures / "fig1_learning_curves.png", envs_order, fig1_agents)
    lines += [
        "## Learning curves (Figures 1 and 7)",
        "",
        f"Normalized entropy (top) and support (bottom), mean and std over {len(config.seeds)} seeds; m = "
        f"{', '.join(map(str, fig1_agents))}.",
        "",
        "![Figure 1](figures/fig1_learning_curves.png)",
        "",
    ]
    if 4 in config.agents:
        plot_learning_grid(results.curves, figures / "fig7_learning_curves_m4.png", envs_order, [4])
        lines += ["m = 4 (Figure 7):", "", "![Figure 7](figures/fig7_learning_curves_m4.png)", ""]
    lines += [
        "Final values (mean ± std over seeds of the batch mean over the last 1% of updates; the untrained random "
        "policy: the entropy of its team samples, one per seed, as collected for the datasets):",
        "",
        "| env | m | parallel entropy | single entropy | random entropy | parallel support | single support |",
        "|---|---|---|---|---|---|---|",
    ]
    for env in envs_order:
        for m in config.agents:
            c = results.curves[(env, m)]
            lines.append(
                f"| {env} | {m} | {mean_std(final_metric(c['parallel']['normalized_entropy']))} | "
                f"{mean_std(final_metric(c['single']['normalized_entropy']))} | "
                f"{mean_std(results.dataset_entropy[(env, m)]['random'])} | "
                f"{mean_std(final_metric(c['parallel']['support']))} | "
                f"{mean_std(final_metric(c['single']['support']))} |"
            )
    lines.append("")

    # Figure 2
    plot_dataset_entropy(
        {env: results.dataset_entropy[(env, largest)] for env in envs_order},
        figures / "fig2_dataset_entropy.png",
        title=f"dataset normalized entropy, m = {largest}",
    )
    lines += [
        "## Datasets (Figures 2 and 8)",
        "",
        f"One dataset per training seed and method, m trajectories each (m = {largest} in the figure).",
        "",
        "![Figure 2](figures/fig2_dataset_entropy.png)",
        "",
    ]
    lines += ["| env | m | parallel | single | random |", "|---|---|---|---|---|"]
    for env in envs_order:
        for m in config.agents:
            h = results.dataset_entropy[(env, m)]
            lines.append(
                f"| {env} | {m} | {mean_std(h['parallel'])} | {mean_std(h['single'])} | {mean_std(h['random'])} |"
            )
    lines.append("")
    for env in envs_order:
        lines += [
            f"Occupancy of the datasets, {env}, m = {largest} (Figure 8):",
            "",
            f"![Figure 8 {env}](runs/{run_name(env, largest)}/figures/fig8_dataset_occupancy.png)",
            "",
        ]

    # Figures 3 and 9
    lines += [
        "## Offline RL (Figures 3 and 9)",
        "",
        "Tabular Q-learning for every goal (100 updates of 20 transitions; SPEC section 7), and the same greedy "
        "evaluation after value iteration on the dataset's empirical MDP (converged).",
        "",
    ]
    lines += ["| env | m | protocol | parallel | single | random |", "|---|---|---|---|---|---|"]
    for env in envs_order:
        for m in config.agents:
            for variant, by_method in results.offline[(env, m)].items():
                lines.append(
                    f"| {env} | {m} | {variant} | {by_method['parallel'].mean():.3f} | "
                    f"{by_method['single'].mean():.3f} | {by_method['random'].mean():.3f} |"
                )
    lines.append("")
    for env in envs_order:
        lines += [
            f"{env}, m = {largest}:",
            "",
            f"![Figure 3 {env}](runs/{run_name(env, largest)}/figures/fig3_offline_success_paper.png)",
            "",
            f"![Figure 9 {env}](runs/{run_name(env, largest)}/figures/fig9_offline_success_paper.png)",
            "",
        ]

    # Figures 5, 6 and 10
    for number, env in ((5, "room-det"), (6, "maze-det")):
        plot_map(tabular.make(env), figures / f"fig{number}_{env.split('-')[0]}_map.png", title=env)
    lines += [
        "## Maps (Figures 5 and 6)",
        "",
        "![Figure 5](figures/fig5_room_map.png) ![Figure 6](figures/fig6_maze_map.png)",
        "",
    ]
    lines += _policy_section(out, config, figures)

    theory_dir = out / "theory"
    if config.theory and theory_dir.exists():
        lines += ["## Theory", ""]
        for png in sorted(theory_dir.glob("*.png")):
            lines += [f"![{png.stem}](theory/{png.name})", ""]
        for csv_file in sorted(theory_dir.glob("*.csv")):
            lines += [f"- [{csv_file.name}](theory/{csv_file.name})"]
        lines.append("")

    lines += _settings_section(out, config)
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _policy_section(out: Path, config: ReproduceConfig, figures: Path) -> list[str]:
    """Figure 10 and the number behind it: action entropy per state, parallel against single."""
    from pmaxent.plots.maps import plot_policies

    env = "room-det" if "room-det" in config.envs else config.envs[0]
    m = max(config.agents)
    run = load_run(out / "runs" / run_name(env, m), TabularTrainConfig)
    parallel, single = (np.asarray(jax.nn.softmax(run.params[method], axis=-1)) for method in ("parallel", "single"))
    if parallel.ndim == 5:  # time-indexed tables: draw the first step's policy
        parallel, single = parallel[:, :, 0], single[:, :, 0]
    plot_policies(
        run.world,
        np.concatenate([parallel[0], single[0, :1]]),
        figures / "fig10_policies.png",
        titles=[f"parallel agent {i + 1}" for i in range(m)] + ["single agent"],
    )
    from pmaxent.tabular.theory import exact_state_distribution

    agents_probs = parallel.reshape(-1, *parallel.shape[2:])
    h_parallel = policy_entropy_per_state(agents_probs, run.world).reshape(len(config.seeds), m)
    h_single = policy_entropy_per_state(single[:, 0], run.world)

    def visited(probs):  # each policy's own state distribution over an episode
        return exact_state_distribution(run.world, np.repeat(probs[:, None], run.world.horizon, axis=1))

    hv_parallel = policy_entropy_per_state(agents_probs, run.world, visited(agents_probs)).reshape(len(config.seeds), m)
    hv_single = policy_entropy_per_state(single[:, 0], run.world, visited(single[:, 0]))
    return [
        "## Learned policies (Figure 10)",
        "",
        f"{env}, m = {m}, seed {config.seeds[0]}: arrows scaled by action probability.",
        "",
        "![Figure 10](figures/fig10_policies.png)",
        "",
        "Action entropy per state (normalized by log 4; 0 = deterministic, 1 = uniform), mean ± std over seeds:",
        "",
        "| states | parallel agents | single agent |",
        "|---|---|---|",
        f"| where the policy goes (weighted by its own state distribution) | {mean_std(hv_parallel.mean(-1))} | "
        f"{mean_std(hv_single)} |",
        f"| every valid state alike | {mean_std(h_parallel.mean(-1))} | {mean_std(h_single)} |",
        "",
        "States a policy never visits keep their random initial tables, so the unweighted mean mostly measures how few "
        "states an agent visits.",
        "",
    ]


def _settings_section(out: Path, config: ReproduceConfig) -> list[str]:
    example = config.train_config(config.envs[0], config.agents[0], ("parallel", "single"), config.updates)
    lines = ["## Settings", "", "| setting | value |", "|---|---|"]
    for field in dataclasses.fields(ReproduceConfig):
        lines.append(f"| reproduce.{field.name} | {getattr(config, field.name)} |")
    for field in dataclasses.fields(TabularTrainConfig):
        if field.name not in ("env", "agents", "methods", "layout", "seeds", "updates", "batch_size", "lr"):
            lines.append(f"| train.{field.name} | {getattr(example, field.name)} |")
    lines += ["| offline | 100 updates x 20 transitions, alpha 0.1, gamma 0.99, 10 episodes of at most 200 steps |", ""]
    timings_path = out / "timings.json"
    if timings_path.exists():
        timings = json.loads(timings_path.read_text())
        total = sum(t["seconds"] or 0 for t in timings.values())
        lines += [
            "## Wall time per stage",
            "",
            f"Machine: {platform.processor() or platform.machine()}, {jax.device_count()} JAX device(s). Total "
            f"{total:.0f} s.",
            "",
            "| stage | seconds |",
            "|---|---|",
        ]
        lines += [f"| {name} | {t['seconds']} |" for name, t in timings.items()]
        lines.append("")
    return lines
