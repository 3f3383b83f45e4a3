"""The team, the single agent and MEPOL under the claims protocol (docs/claims.md), at the same
environment steps: every method tuned alike on tuning seeds, evaluated on other seeds by fresh
rollouts and the yardstick, compared by Welch's tests with Holm's correction.

    python benchmarks/mepol_claims.py [--out DIR] [--save]   # tune and evaluate (resumes DIR's runs; DIR/claims.json)
    python benchmarks/mepol_claims.py --quick                # a few updates and seeds: the pipeline only
    python benchmarks/mepol_claims.py --readme               # the docs' block (docs/mepol.md) from the saved file
    python benchmarks/mepol_claims.py --check-readme         # exit 1, printing the differences, if it disagrees

The setting is MEPOL's GridWorld (gridworld-continuous) at T = 400, as ``bench_mepol.py --quick``.
Every method samples 20 trajectories of T steps per update (MEPOL: per epoch) for the same number
of updates, so all see the same environment steps: a population of 20 agents with one trajectory
each (B = 1, the loo-agent baseline), the same population taking up to 30 off-policy steps per
batch as MEPOL does (``off_policy_steps``, its KL trust region and point stride at pmaxent's
defaults), the single
agent with K' = 20 trajectories, and MEPOL (20 trajectories per epoch, its KL trust region,
backtracking and off-policy steps). All have 64-64 networks.

Tuning: one grid for all four (Adam's step size, the initial log std, k of the training
estimator, and the policy's mean, tanh-squashed or MEPOL's raw one; no step size decay, which
MEPOL does not have), every setting trained on the tuning seeds by every method; each keeps the
setting with the highest mean yardstick entropy there. Evaluation: the chosen
settings on seeds 0..N-1 (N from the power calculation for the four comparisons), 16 fresh
samples of 20 trajectories per seed (the single agent's and MEPOL's one policy drives all 20),
k = 50 entropy on every point and coverage. Wall time is each method's training of all N seeds
as one process step (PGPSE trains its seeds as lanes at once, MEPOL one after the other), on
this machine as it was during the run.

Equal wall time: each PGPSE method then trains its chosen setting on the same evaluation seeds for
as many updates as fit in MEPOL's training time, at its own seconds per update in the run above,
and is measured and compared the same way (MEPOL's results are its run above). The update counts
are fixed by that one run's timings, so the trained numbers do not depend on the machine's speed
when this stage runs; how fair the split is depends on how evenly the machine was shared then.

``--save`` keeps the study in docs/mepol/claims.json and rewrites the ``mepol-claims`` block of
docs/mepol.md from it; ``tests/test_readme_results.py`` checks the block against the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
import numpy as np  # noqa: E402

from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.evaluation import YardstickConfig  # noqa: E402
from pmaxent.continuous.tuning import Candidate, SearchSpace, TuningConfig, team_scores, tune_candidates  # noqa: E402
from pmaxent.core.devices import use_all_cpu_cores  # noqa: E402
from pmaxent.core.runs import run_training  # noqa: E402
from pmaxent.mepol.algorithm import MepolConfig  # noqa: E402
from pmaxent.mepol.runs import run_mepol  # noqa: E402
from pmaxent.statistics import SIGNIFICANCE, compare, mean_std, seeds_for_power  # noqa: E402

RESULTS = ROOT / "docs" / "mepol" / "claims.json"
TIMING_FILE = "training_seconds.json"
"""In an evaluation run's directory: its training's wall time (a resumed run: the part after the resume)."""
ENV, TRAJECTORIES, HIDDEN = "gridworld-continuous", 20, (64, 64)
METHODS = ("parallel", "offpolicy", "single", "mepol")
LABELS = {
    "parallel": "team of 20 (population, B = 1)",
    "offpolicy": "team of 20, off-policy steps",
    "single": "single agent (K' = 20)",
    "mepol": "MEPOL",
}
OFF_POLICY_STEPS = 30
"""The off-policy team's most optimizer steps per batch: MEPOL's most off-policy steps per epoch."""
COMPARISONS = (("parallel", "single"), ("parallel", "mepol"), ("offpolicy", "mepol"), ("offpolicy", "parallel"))
"""(method, other): the tests, Holm-corrected together."""


@dataclasses.dataclass(frozen=True)
class ClaimsSpace(SearchSpace):
    """The tuning grid with the policies' mean as one more setting, tuned alike for every method."""

    bounded_mean: tuple[bool, ...] = (True, False)
    """pmaxent's tanh-squashed mean or MEPOL's raw MLP mean. Left at each method's default, MEPOL's raw
    mean met the others' squashed one: with a large log std a squashed mean (at most the action box's
    half-width) cannot make the clipped actions point one way, and a raw one can."""


SPACE = ClaimsSpace(lr=(1e-4, 1e-3, 1e-2), lr_decay=(1.0,), log_std_init=(-0.5,), k=(30, 50))
"""Every setting is tried (the budget is the grid). Narrowed by the first study's tuning (tuning seeds only):
every method chose log std -0.5, k 30 or 50, and lr 1e-4 or 1e-3; MEPOL's own 1e-5 never led."""
DETECTABLE_EFFECT = 1.5
"""The standardized effect the evaluation seeds are to find with power 0.8 (as the suite's)."""


@dataclasses.dataclass(frozen=True)
class Study:
    """The sizes of the study (``--quick`` shrinks them to check the pipeline)."""

    horizon: int = 400
    updates: int = 120
    tuning: TuningConfig = TuningConfig(SPACE, budget=len(SPACE.grid()), seeds=(1000, 1001))
    seeds: int = seeds_for_power(DETECTABLE_EFFECT, configurations=len(COMPARISONS))
    measure: YardstickConfig = YardstickConfig(samples=16, k=50)


QUICK = Study(
    horizon=60, updates=3, tuning=TuningConfig(SPACE, budget=2, seeds=(1000,)), seeds=2, measure=YardstickConfig(2, 10)
)


def pgpse_config(
    study: Study, setting: dict, seeds, methods, off_policy_steps: int = 0, updates: int | None = None
) -> ContinuousTrainConfig:
    updates = updates or study.updates
    return ContinuousTrainConfig(
        env=ENV, horizon=study.horizon, agents=TRAJECTORIES, batch_size=1, baseline="loo-agent", policy="population",
        hidden=HIDDEN, updates=updates, chunk=updates, seeds=tuple(seeds), methods=methods,
        off_policy_steps=off_policy_steps, **setting,
    )  # fmt: skip


def mepol_config(study: Study, setting: dict, seeds) -> MepolConfig:
    tuned = {name: value for name, value in setting.items() if name != "lr_decay"}  # MEPOL has no decay
    return MepolConfig(
        env=ENV, horizon=study.horizon, hidden=HIDDEN, trajectories=TRAJECTORIES, updates=study.updates,
        chunk=study.updates, seeds=tuple(seeds), **tuned,
    )  # fmt: skip


def measure(study: Study, run, method: str) -> dict[str, list[float]]:
    """The yardstick on 20 trajectories per sample; MEPOL's one policy drives all of them."""
    learner = "parallel" if method == "offpolicy" else method
    scores = team_scores(run, learner, study.measure, TRAJECTORIES, divergence=False)
    return {name: values.tolist() for name, values in scores.items()}


def tune_all(study: Study, out: Path) -> tuple[list[dict], list[dict], dict]:
    """Every drawn setting trained on the tuning seeds by every method -> (settings, rows, chosen)."""
    seeds = study.tuning.seeds
    candidates = (
        Candidate("pgpse", lambda s: pgpse_config(study, s, seeds, ("parallel", "single"))),
        Candidate(
            "offpolicy",
            lambda s: pgpse_config(study, s, seeds, ("parallel",), OFF_POLICY_STEPS),
            {"parallel": "offpolicy"},
        ),
        Candidate("mepol", lambda s: mepol_config(study, s, seeds)),
    )
    result = tune_candidates(
        candidates, study.tuning, out / "tuning", study.measure, TRAJECTORIES, divergence=False, title="tuning"
    )
    return study.tuning.settings(), result["rows"], result["chosen"]


def training_seconds(run_dir: Path, start: float) -> float:
    """The training's wall time of run_dir, recorded the first time (since ``start``) and read after,
    so a re-run that loads the finished run reports the training's time, not the loading's."""
    timing = run_dir / TIMING_FILE
    if not timing.exists():
        timing.write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1)}))
    return json.loads(timing.read_text())["seconds"]


def train_and_measure(study: Study, run_dir: Path, method: str, setting: dict, updates: int) -> dict:
    """A method's setting trained on the evaluation seeds for ``updates`` (kept in run_dir, resumed)
    and measured -> {"seconds": its training's wall time, "updates", the yardstick's values}."""
    seeds = tuple(range(study.seeds))
    start = time.perf_counter()
    if method == "mepol":
        run = run_mepol(mepol_config(study, setting, seeds), run_dir, True, False, False)
    else:
        off_policy, learner = (OFF_POLICY_STEPS, "parallel") if method == "offpolicy" else (0, method)
        run = run_training(
            pgpse_config(study, setting, seeds, (learner,), off_policy, updates), run_dir, True, False, False
        )
    seconds = training_seconds(run_dir, start)
    result = {"seconds": seconds, "updates": updates, **measure(study, run, method)}
    print(f"{run_dir}: normalized entropy {np.mean(result['normalized_entropy']):.3f}", flush=True)
    return result


def evaluate(study: Study, out: Path, chosen: dict) -> dict:
    """Each method's chosen setting trained on the evaluation seeds for the study's updates (the same
    environment steps) and measured -> method -> results."""
    return {
        method: train_and_measure(study, out / "evaluation" / method, method, chosen[method], study.updates)
        for method in METHODS
    }


def equal_time(study: Study, out: Path, chosen: dict, same_steps: dict) -> dict:
    """Each PGPSE method's chosen setting trained on the evaluation seeds for as many updates as fit
    in MEPOL's training time at the same environment steps, at its own seconds per update there
    (both measured in :func:`evaluate`), and measured -> method -> results (MEPOL's: its run there).

    The update counts come from one run's timings, so they are reproducible once recorded (the
    trained numbers do not depend on the machine's speed when this stage runs)."""
    budget, results = same_steps["mepol"]["seconds"], {"mepol": same_steps["mepol"]}
    for method in METHODS:
        if method != "mepol":
            updates = max(1, int(budget * study.updates // same_steps[method]["seconds"]))
            results[method] = train_and_measure(study, out / "equal-time" / method, method, chosen[method], updates)
    return results


def readme_lines(saved: dict) -> list[str]:
    results, chosen = saved["evaluation"], saved["chosen"]
    steps = saved["updates"] * TRAJECTORIES * saved["horizon"]
    lines = [
        "Written by `python benchmarks/mepol_claims.py --readme` from "
        "[docs/mepol/claims.json](docs/mepol/claims.json) "
        f"({doc_blocks.provenance_text(saved)}; {ENV}, T = {saved['horizon']}, {saved['updates']} updates of "
        f"{TRAJECTORIES} trajectories each = {steps:,} environment steps per method and seed; tuned on seeds "
        f"{', '.join(map(str, saved['tuning_seeds']))} over {budget_text(saved)} lr "
        f"{{{', '.join(f'{v:g}' for v in saved['space']['lr'])}}}, log std "
        f"{{{', '.join(f'{v:g}' for v in saved['space']['log_std_init'])}}}, k "
        f"{{{', '.join(map(str, saved['space']['k']))}}}{space_means_text(saved['space'])}; evaluated on seeds 0 to "
        f"{len(saved['seeds']) - 1} by "
        f"{saved['yardstick']['samples']} fresh samples of {TRAJECTORIES} trajectories per seed, k = "
        f"{saved['yardstick']['k']} entropy normalized by ln of the free area):",
        "",
        "| method | chosen lr, log std, k, mean | normalized entropy | coverage | training wall time, all seeds |",
        "|---|---|---|---|---|",
    ]
    lines[2:2] = [offpolicy_text(saved), ""]
    lines += method_lines(results, chosen)
    lines += comparison_lines(results)
    if "equal_time" in saved:
        timed = saved["equal_time"]
        lines += [
            "",
            f"At MEPOL's wall time: each PGPSE method trained for as many updates as fit in MEPOL's "
            f"{timed['mepol']['seconds']:.0f} s above at its own seconds per update there (the same settings, seeds "
            f"and yardstick):",
            "",
            "| method | updates | environment steps per seed | training wall time, all seeds | normalized entropy "
            "| coverage |",
            "|---|---|---|---|---|---|",
        ]
        for method in METHODS:
            result = timed[method]
            updates = result.get("updates", saved["updates"])
            lines.append(
                f"| {LABELS[method]} | {updates} | {updates * TRAJECTORIES * saved['horizon']:,} | "
                f"{result['seconds']:.0f} s | {mean_std(result['normalized_entropy'])} | "
                f"{mean_std(result['coverage'])} |"
            )
        lines += comparison_lines(timed)
    return lines


def offpolicy_text(saved: dict) -> str:
    """How the off-policy team's steps were bounded (a study from before they were recorded: as this script's)."""
    config = pgpse_config(Study(horizon=saved["horizon"]), {}, (0,), ("parallel",), OFF_POLICY_STEPS)
    off = saved.get("offpolicy", offpolicy_record(config, saved["horizon"]))
    return (
        f"The off-policy team took up to {off['steps']} steps per batch within a per-agent KL threshold of "
        f"{off['kl_threshold']:g}, with every {ordinal(off['point_stride'])}state a k-NN point."
    )


def offpolicy_record(config: ContinuousTrainConfig, horizon: int) -> dict:
    return {
        "steps": config.off_policy_steps,
        "kl_threshold": config.kl_threshold,
        "point_stride": config.stride_for(horizon),
    }


def ordinal(stride: int) -> str:
    return "" if stride == 1 else {2: "second ", 3: "third "}.get(stride, f"{stride}th ")


def budget_text(saved: dict) -> str:
    grid = int(np.prod([len(values) for values in saved["space"].values()]))
    return f"all {grid} settings of" if saved["budget"] == grid else f"{saved['budget']} settings drawn from"


def mean_text(bounded: bool) -> str:
    return "tanh" if bounded else "raw"


def space_means_text(space: dict) -> str:
    """The grid's policy means; a study from before they were tuned had each method's default."""
    if "bounded_mean" not in space:
        return "; each method's default mean: tanh-squashed for PGPSE, raw for MEPOL"
    return f", mean {{{', '.join(mean_text(bounded) for bounded in space['bounded_mean'])}}}"


def method_lines(results: dict, chosen: dict, methods=METHODS, labels=LABELS) -> list[str]:
    """The rows of the methods' table: each method's chosen setting and its results."""
    lines = []
    for method in methods:
        setting, result = chosen[method], results[method]
        lines.append(
            f"| {labels[method]} | {setting['lr']:g}, {setting['log_std_init']:g}, {setting['k']}, "
            f"{mean_text(setting.get('bounded_mean', method != 'mepol'))} | "
            f"{mean_std(result['normalized_entropy'])} | {mean_std(result['coverage'])} | {result['seconds']:.0f} s |"
        )
    return lines


def comparison_lines(results: dict, pairs=COMPARISONS, labels=LABELS) -> list[str]:
    """The table of ``pairs`` (method, other) of ``labels``' methods (Welch's tests, Holm's correction
    over them) on the results' normalized entropy."""
    names = [f"{labels[a]} against {labels[b]}" for a, b in pairs]
    comparisons = compare(
        {n: np.array(results[a]["normalized_entropy"]) for n, (a, _) in zip(names, pairs, strict=True)},
        {n: np.array(results[b]["normalized_entropy"]) for n, (_, b) in zip(names, pairs, strict=True)},
    )
    lines = [
        "",
        f"| comparison (normalized entropy) | difference [95% CI] | Hedges' g | seeds won | "
        f"p (Holm, {len(pairs)} tests) | verdict (level {SIGNIFICANCE:g}) |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        c = comparisons[name]
        lines.append(
            f"| {name} | {c.effect:+.3f} [{c.interval[0]:+.3f}, {c.interval[1]:+.3f}] | {c.standardized:+.2f} | "
            f"{c.won}/{c.seeds} | {c.adjusted:.3g} | {c.verdict} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/pmaxent-mepol-claims"), help="run directories")
    parser.add_argument("--quick", action="store_true", help="a few updates and seeds: checks the pipeline only")
    doc_blocks.add_results_options(parser, RESULTS, "study")
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "mepol-claims", RESULTS, readme_lines)
    if args.quick and args.save:
        parser.error("--quick checks the pipeline; its numbers are not kept")
    use_all_cpu_cores()
    study = QUICK if args.quick else Study()
    settings, rows, chosen = tune_all(study, args.out)
    saved = {
        **doc_blocks.provenance("benchmarks/mepol_claims.py"),
        "horizon": study.horizon,
        "updates": study.updates,
        "space": dataclasses.asdict(study.tuning.space),
        "budget": study.tuning.budget,
        "tuning_seeds": list(study.tuning.seeds),
        "seeds": list(range(study.seeds)),
        "yardstick": dataclasses.asdict(study.measure),
        "settings": settings,
        "tuning": rows,
        "chosen": chosen,
        "offpolicy": offpolicy_record(pgpse_config(study, {}, (0,), ("parallel",), OFF_POLICY_STEPS), study.horizon),
        "evaluation": evaluate(study, args.out, chosen),
    }
    saved["equal_time"] = equal_time(study, args.out, chosen, saved["evaluation"])
    (args.out / "claims.json").write_text(json.dumps(saved, indent=1) + "\n")
    print("\n".join(readme_lines(saved)))
    if args.save:
        doc_blocks.save_results("mepol-claims", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
