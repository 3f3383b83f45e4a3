"""Exploration data judged by OGBench: datasets collected in OGBench's own point mazes by a trained
team, the single agent, MEPOL and uniform random actions, then offline GCIVL agents trained on each
and scored on OGBench's five evaluation tasks by OGBench's own success rule.

    python benchmarks/pointmaze.py [--mazes ogbench-pointmaze-medium ...] [--out DIR] [--untuned] [--save]
    python benchmarks/pointmaze.py --readme     # the docs' block (docs/offline.md) from the saved file

Per maze:

0. **tune** (the claims protocol; ``--untuned`` skips it): a draw of settings from one grid (step
   size, initial log std, k), each trained on the tuning seeds in the maze's JAX model by the
   team, the single agent and MEPOL at the study's budget; each method keeps the setting with the
   highest yardstick entropy (fresh rollouts in the model, k = 50), frozen for the evaluation seeds.

Then per evaluation seed:

1. **train** in the JAX model of the maze (:mod:`pmaxent.continuous.ogbench_mazes`: OGBench's map at
   its scale): the team (population policy, loo-agent baseline) and the single agent with
   K' = m trajectories (in one run where their settings agree; the random policy rides along),
   MEPOL in another, at the same environment steps (m x B trajectories of T = 1,000 steps per
   update or epoch) and with the same policy network, each at its chosen setting (untuned: its
   config's defaults), and measured by the yardstick in the model;
2. **collect** in OGBench's MuJoCo environment: every method's final policy acts from task 1's
   start, the same number of 1,000-step episodes for every method;
3. **learn** one GCIVL agent per dataset, all at once (the offline default,
   :class:`~pmaxent.continuous.offline_config.ContinuousOfflineConfig`);
4. **judge** each on OGBench's five tasks (``reset(options=dict(task_id=i))``, its goal tolerance,
   1,000-step episodes), acting at the offline default's temperature.

Every stage is kept in DIR (a tuned study's evaluation in DIR/MAZE/tuned) and skipped on a re-run.
Comparisons: Welch's test on the mean success over tasks per seed, Holm's correction over the
maze's three comparisons.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)

from pmaxent.continuous import ogbench_mazes  # noqa: E402
from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.evaluation import YardstickConfig  # noqa: E402
from pmaxent.continuous.offline_config import ContinuousOfflineConfig  # noqa: E402
from pmaxent.continuous.tuning import Candidate, SearchSpace, TuningConfig, team_scores, tune_candidates  # noqa: E402
from pmaxent.core.devices import use_all_cpu_cores  # noqa: E402
from pmaxent.core.host_rollout import make_act  # noqa: E402
from pmaxent.core.pytrees import save_npz, tree_from_arrays, tree_to_arrays  # noqa: E402
from pmaxent.core.runs import run_training, team_params  # noqa: E402
from pmaxent.gcrl.data import from_trajectories, stack  # noqa: E402
from pmaxent.gcrl.train import act as gc_act  # noqa: E402
from pmaxent.gcrl.train import make_learner, train_agents  # noqa: E402
from pmaxent.mepol.algorithm import MepolConfig  # noqa: E402
from pmaxent.mepol.runs import run_mepol  # noqa: E402
from pmaxent.statistics import compare, mean_interval, seeds_for_power  # noqa: E402

RESULTS = ROOT / "docs" / "offline" / "pointmaze.json"
METHODS = ("parallel", "single", "mepol", "random")
LABELS = {"parallel": "team", "single": "single agent", "mepol": "MEPOL", "random": "random actions"}
COMPARISONS = (("parallel", "single"), ("parallel", "mepol"), ("parallel", "random"))
PUBLISHED = {"ogbench-pointmaze-medium": "0.63 ± 0.06", "ogbench-pointmaze-large": "0.45 ± 0.05"}
"""OGBench's GCIVL on its own pointmaze-{medium,large}-navigate-v0 (the OGBench paper's results table: 1M
transitions of a noisy expert, 1M gradient steps, 512-512-512 networks, 8 seeds): other data, other budget."""
DETECTABLE_EFFECT = 1.5
"""The standardized effect the evaluation seeds are to find with power 0.8 (as the suite's)."""
SPACE = SearchSpace(lr=(1e-5, 1e-4, 1e-3, 1e-2), lr_decay=(1.0,), log_std_init=(-1.5, -1.0, -0.5), k=(15, 30, 50))
"""The grid every trained method is tuned over (benchmarks/mepol_claims.py's: no step size decay, which MEPOL
does not have; MEPOL's own step size, 1e-5, is in it)."""


@dataclasses.dataclass(frozen=True)
class Study:
    """The study's settings (everything else is its configs' defaults)."""

    mazes: tuple[str, ...] = tuple(ogbench_mazes.MAZES)
    """OGBench mazes, by the model's name."""
    seeds: tuple[int, ...] = tuple(range(seeds_for_power(DETECTABLE_EFFECT, configurations=len(COMPARISONS))))
    """Evaluation seeds (training, collection, learning and judging): as many as the power calculation
    for the maze's comparisons asks (SPEC section 13)."""
    agents: int = 8
    """m, the team's agents; the single agent's trajectories per sample."""
    hidden: tuple[int, ...] = ContinuousTrainConfig.hidden
    """Every method's policy network (MEPOL's too, whose own default is 300-300)."""
    batch_size: int = 2
    """B, team samples per update (MEPOL: m x B trajectories per epoch)."""
    updates: int = 150
    """Updates (MEPOL: epochs)."""
    episodes_per_agent: int = 10
    """Collected episodes per agent: every dataset holds m x this many 1,000-step episodes."""
    judge_episodes: int = 10
    """Evaluation episodes per task and agent."""
    offline: ContinuousOfflineConfig = ContinuousOfflineConfig()
    """The offline learner (its defaults: GCIVL, chosen on the continuous worlds' learner test)."""
    tuning: TuningConfig | None = TuningConfig(SPACE, budget=4, seeds=(1000, 1001))
    """Settings drawn for every trained method alike, tried on the tuning seeds in the maze's model,
    each method keeping its best by the yardstick there (None: every config's defaults, no tuning)."""
    measure: YardstickConfig = YardstickConfig(samples=4, k=50)
    """The yardstick in the maze's model (tuning, and the entropy column of the results)."""


QUICK = Study(
    mazes=("ogbench-pointmaze-medium",),
    seeds=(0, 1),
    agents=2,
    updates=2,
    episodes_per_agent=1,
    judge_episodes=1,
    offline=ContinuousOfflineConfig(steps=50, offline_hidden=(8,)),
    tuning=TuningConfig(SPACE, budget=2, seeds=(1000,)),
    measure=YardstickConfig(samples=2, k=10),
)


def pgpse_config(study: Study, maze: str, methods, seeds, setting: dict) -> ContinuousTrainConfig:
    return ContinuousTrainConfig(
        env=maze, agents=study.agents, batch_size=study.batch_size, policy="population", baseline="loo-agent",
        hidden=study.hidden, updates=study.updates, seeds=tuple(seeds), methods=tuple(methods),
        chunk=min(25, study.updates), **setting,
    )  # fmt: skip


def mepol_config(study: Study, maze: str, seeds, setting: dict) -> MepolConfig:
    tuned = {name: value for name, value in setting.items() if name != "lr_decay"}  # MEPOL has no decay
    return MepolConfig(
        env=maze, horizon=ogbench_mazes.episode_steps(maze), trajectories=study.agents * study.batch_size,
        hidden=study.hidden, updates=study.updates, seeds=tuple(seeds), chunk=min(25, study.updates), **tuned,
    )  # fmt: skip


def in_model(study: Study, run, method: str) -> dict[str, list[float]]:
    """The yardstick in the maze's model, per seed: fresh samples of m trajectories (the single
    agent's and MEPOL's one policy drives all m, the random policy acts uniformly)."""
    scores = team_scores(run, method, study.measure, study.agents, divergence=False)
    return {name: values.tolist() for name, values in scores.items()}


def tune(study: Study, maze: str, out: Path) -> dict:
    """Every drawn setting trained on the tuning seeds in the maze's model by the team, the single
    agent and MEPOL, measured by the yardstick there (OUT/tuning) -> {"rows", "chosen": method -> setting, ...}."""
    path, seeds = out / "tuning" / "tuning.json", study.tuning.seeds
    if path.exists():
        return json.loads(path.read_text())
    candidates = (
        Candidate("pgpse", lambda setting: pgpse_config(study, maze, ("parallel", "single"), seeds, setting)),
        Candidate("mepol", lambda setting: mepol_config(study, maze, seeds, setting)),
    )
    return tune_candidates(
        candidates, study.tuning, out / "tuning", study.measure, study.agents, divergence=False, title=f"tuning {maze}"
    )


def train(study: Study, maze: str, out: Path, chosen: dict) -> tuple[dict, dict]:
    """Each method's chosen setting ({} for the configs' defaults) trained on the evaluation seeds ->
    (method -> (policy, params [n_seeds, m, ...], uniform), method -> the yardstick in the model).

    The team and the single agent train in one run where their settings agree (the random policy
    rides along with the team)."""
    together: dict[str, list[str]] = {}
    for method in ("parallel", "single"):
        together.setdefault(json.dumps(chosen[method], sort_keys=True), []).append(method)
    runs = {}
    for methods in together.values():
        methods = methods + ["random"] if "parallel" in methods else methods
        name = "pgpse" if len(together) == 1 else "pgpse-" + "-".join(methods)
        config = pgpse_config(study, maze, methods, study.seeds, chosen[methods[0]])
        run = run_training(config, out / name, resume=True, progress=False, plot=False)
        runs.update(dict.fromkeys(methods, run))
    runs["mepol"] = run_mepol(
        mepol_config(study, maze, study.seeds, chosen["mepol"]), out / "mepol", True, False, False
    )
    path = out / "model.json"
    if not path.exists():
        path.write_text(json.dumps({method: in_model(study, run, method) for method, run in runs.items()}))
    policies = {method: (run.policy, team_params(run, method), method == "random") for method, run in runs.items()}
    return policies, json.loads(path.read_text())


def collect(study: Study, maze: str, policies: dict, out: Path) -> dict:
    """method -> [(observations [E, T+1, 2], actions [E, T, 2]) per seed], E = m x episodes_per_agent."""
    datasets = {}
    for method, (policy, params, uniform) in policies.items():
        path = out / f"dataset-{method}.npz"
        if not path.exists():
            act = make_act(policy)
            per_seed = []
            for s, seed in enumerate(study.seeds):
                lane = jax.tree.map(lambda x, s=s: jnp.asarray(x[s : s + 1]), params)
                m = jax.tree.leaves(lane)[0].shape[1]
                copies = study.agents * study.episodes_per_agent // m
                key = jax.random.key(seed)

                def moves(observations, t, act=act, lane=lane, m=m, copies=copies, key=key, uniform=uniform):
                    o = jnp.asarray(observations).reshape(1, copies, m, 2)
                    return np.asarray(act(lane, jnp.asarray([uniform]), key[None], o, t)).reshape(-1, 2)

                per_seed.append(ogbench_mazes.collect(maze, moves, copies * m, seed))
            np.savez_compressed(
                path, observations=np.stack([o for o, _ in per_seed]), actions=np.stack([a for _, a in per_seed])
            )
        saved = np.load(path)
        datasets[method] = list(zip(saved["observations"], saved["actions"], strict=True))
    return datasets


def learn(config: ContinuousOfflineConfig, datasets: list, seeds: list[int], path: Path) -> dict:
    """The GCIVL agents learned from ``datasets``, one per dataset and seed (params with leaves [D, ...]),
    kept in ``path`` so that a study stopped while judging resumes without learning again."""
    learner = config.learner()
    init, _ = make_learner(learner, datasets[0].observations.shape[-1], datasets[0].actions.shape[-1])
    template = jax.eval_shape(lambda: jax.vmap(init)(jax.vmap(jax.random.key)(jnp.asarray(seeds))).params)
    if path.exists():
        with np.load(path) as saved:
            return tree_from_arrays(template, saved, "params")
    params, _ = train_agents(learner, stack(datasets), seeds, True)
    save_npz(path, **tree_to_arrays(params, "params"))
    return params


def learn_and_judge(study: Study, maze: str, datasets: dict, out: Path) -> dict:
    """method -> success [n_seeds, tasks] of the GCIVL agent learned from each seed's dataset."""
    path = out / "success.json"
    if path.exists():
        return {method: np.asarray(rows) for method, rows in json.loads(path.read_text()).items()}
    config = study.offline
    listed = [(method, s, d) for method in METHODS for s, d in enumerate(datasets[method])]
    seeds = [1000 * s + i for i, (_, s, _) in enumerate(listed)]
    params = learn(config, [from_trajectories(o, a) for _, _, (o, a) in listed], seeds, out / "offline-params.npz")
    per_policy = len(ogbench_mazes.ogbench_env(maze).task_infos) * study.judge_episodes

    @jax.jit
    def policy_actions(observations, goals, key):
        o = observations.reshape(len(listed), per_policy, 2)
        g = goals.reshape(len(listed), per_policy, 2)
        keys = jax.random.split(key, len(listed))
        return jax.vmap(lambda p, o, g, k: gc_act(p, o, g, k, config.temperature))(params, o, g, keys).reshape(-1, 2)

    def actions(observations, goals, t):
        return np.asarray(policy_actions(observations, goals, jax.random.fold_in(jax.random.key(0), t)))

    success = ogbench_mazes.judge(maze, actions, len(listed), study.judge_episodes, seed=0)
    results = {method: success[[i for i, (m, _, _) in enumerate(listed) if m == method]] for method in METHODS}
    path.write_text(json.dumps({method: rows.tolist() for method, rows in results.items()}))
    return results


def tuning_text(saved: dict) -> str:
    tuning = saved["study"]["tuning"]
    if tuning is None:
        return "every method at its config's defaults (no tuning)"
    space = tuning["space"]
    names = {"lr": "lr", "log_std_init": "log std", "k": "k"}
    grid = ", ".join(f"{label} {{{', '.join(f'{v:g}' for v in space[name])}}}" for name, label in names.items())
    return (
        f"every method tuned alike: {tuning['budget']} settings drawn from {grid}, each trained on tuning seeds "
        f"{', '.join(map(str, tuning['seeds']))} in the model, the best by the yardstick there kept"
    )


def networks_text(study: dict) -> str:
    return f"{'-'.join(map(str, study['hidden']))} networks for every method"


def cell(values) -> str:
    low, high = mean_interval(values)
    return f"{np.mean(values):.2f} [{low:.2f}, {high:.2f}]"


def readme_lines(saved: dict) -> list[str]:
    study = saved["study"]
    lines = [
        f"Written by `python benchmarks/pointmaze.py --readme` from [docs/offline/pointmaze.json]"
        f"(docs/offline/pointmaze.json) ({doc_blocks.provenance_text(saved)}). Teams of {study['agents']} (population "
        f"policy, loo-agent baseline), the single agent with K' = {study['agents']}, MEPOL and uniform random "
        f"actions, trained in the JAX model of each maze for {study['updates']} updates of "
        f"{study['agents'] * study['batch_size']} trajectories "
        f"of 1,000 steps ({networks_text(study)}), {tuning_text(saved)}; each collects "
        f"{study['agents'] * study['episodes_per_agent']} episodes of 1,000 steps in OGBench's environment from "
        f"task 1's start; one GCIVL agent per dataset; "
        f"success on OGBench's five tasks, {study['judge_episodes']} episodes each, mean over seeds "
        f"{', '.join(map(str, study['seeds']))} with its 95% t interval:",
        "",
        "| maze | " + " | ".join(LABELS[m] for m in METHODS) + " | OGBench's GCIVL on its own navigate dataset |",
        "|---|" + "---|" * (len(METHODS) + 1),
    ]
    for maze, results in saved["results"].items():
        cells = [cell(np.mean(results[m], axis=1)) for m in METHODS]
        lines.append(f"| {maze} | " + " | ".join(cells) + f" | {PUBLISHED[maze]} (other data) |")
    lines += ["", "Success per task (mean over seeds):", ""]
    lines += ["| maze | task | " + " | ".join(LABELS[m] for m in METHODS) + " |", "|---|---|" + "---|" * len(METHODS)]
    for maze, results in saved["results"].items():
        per_task = {m: np.mean(results[m], axis=0) for m in METHODS}
        for task in range(len(per_task[METHODS[0]])):
            lines.append(f"| {maze} | {task + 1} | " + " | ".join(f"{per_task[m][task]:.2f}" for m in METHODS) + " |")
    measure = study["measure"]
    lines += [
        "",
        f"The same trained policies in the maze's model (the yardstick: {measure['samples']} fresh samples of "
        f"{study['agents']} trajectories per seed, k = {measure['k']} entropy normalized by ln of the free area; "
        f"coverage of the model's cells), and each method's setting:",
        "",
        "| maze | method | setting (lr, log std, k) | normalized entropy | coverage |",
        "|---|---|---|---|---|",
    ]
    for maze, model in saved["model"].items():
        for method in METHODS:
            setting = saved["chosen"][maze].get(method, {})
            text = ", ".join(f"{setting[n]:g}" for n in ("lr", "log_std_init", "k")) if setting else "defaults"
            text = "uniform actions" if method == "random" else text
            scores = model[method]
            lines.append(
                f"| {maze} | {LABELS[method]} | {text} | {cell(scores['normalized_entropy'])} | "
                f"{cell(scores['coverage'])} |"
            )
    lines += [
        "",
        "The model's transitions against OGBench's (2,000 states uniform over the free space, a random action each):",
        "",
    ]
    for maze, gap in saved["transition_gap"].items():
        lines.append(
            f"- {maze}: {100 * gap['above_0.01']:.1f}% of moves end more than 0.01 apart, {gap['mean']:.3f} on "
            f"average, at most {gap['max']:.2f} (a move into a wall: rejected in the model, slid along in MuJoCo)."
        )
    lines += [
        "",
        f"| maze | comparison (mean success over tasks) | difference [95% CI] | p (Holm, {len(COMPARISONS)} tests) "
        "| verdict |",
        "|---|---|---|---|---|",
    ]
    for maze, results in saved["results"].items():
        names = [f"{LABELS[a]} against {LABELS[b]}" for a, b in COMPARISONS]
        found = compare(
            {n: np.mean(results[a], axis=1) for n, (a, _) in zip(names, COMPARISONS, strict=True)},
            {n: np.mean(results[b], axis=1) for n, (_, b) in zip(names, COMPARISONS, strict=True)},
        )
        for name in names:
            c = found[name]
            lines.append(
                f"| {maze} | {name} | {c.effect:+.2f} [{c.interval[0]:+.2f}, {c.interval[1]:+.2f}] | {c.adjusted:.3g} "
                f"| {c.verdict} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/pmaxent-pointmaze"), help="the study's directory")
    parser.add_argument("--mazes", nargs="+", choices=tuple(ogbench_mazes.MAZES), default=None)
    parser.add_argument("--quick", action="store_true", help="a tiny study: checks the pipeline only")
    parser.add_argument("--untuned", action="store_true", help="every method at its config's defaults (no tuning)")
    doc_blocks.add_results_options(parser, RESULTS)
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "pointmaze", RESULTS, readme_lines)
    if args.quick and args.save:
        parser.error("--quick checks the pipeline; its numbers are not kept")
    use_all_cpu_cores()
    study = QUICK if args.quick else Study()
    if args.mazes:
        study = dataclasses.replace(study, mazes=tuple(args.mazes))
    if args.untuned:
        study = dataclasses.replace(study, tuning=None)
    results, gaps, model, settings = {}, {}, {}, {}
    for maze in study.mazes:
        out = args.out / maze
        out.mkdir(parents=True, exist_ok=True)
        gaps[maze] = ogbench_mazes.transition_gap(maze, 2000, 0)
        if study.tuning is None:
            stages, chosen = out, dict.fromkeys(("parallel", "single", "mepol"), {})
        else:
            stages, chosen = out / "tuned", tune(study, maze, out)["chosen"]
        policies, model[maze] = train(study, maze, stages, chosen)
        settings[maze] = chosen
        datasets = collect(study, maze, policies, stages)
        results[maze] = learn_and_judge(study, maze, datasets, stages)
        print(maze, {m: float(np.mean(r)) for m, r in results[maze].items()}, flush=True)
    saved = {
        **doc_blocks.provenance("benchmarks/pointmaze.py"),
        "study": dataclasses.asdict(study),
        "transition_gap": gaps,
        "chosen": settings,
        "model": model,
        "results": {maze: {m: r.tolist() for m, r in rows.items()} for maze, rows in results.items()},
    }
    print("\n".join(readme_lines(saved)))
    if args.save:
        doc_blocks.save_results("pointmaze", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
