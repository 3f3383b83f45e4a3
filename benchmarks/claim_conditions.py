"""Where does a team's lead over the single agent hold? Claim (a) of the continuous suite tested
across conditions (the horizon T, the training k, the initial log std), one factor at a time
around the suite's base settings, instead of at one chosen point.

    python benchmarks/claim_conditions.py [--env gridworld-continuous] [--agents 4] [--seeds 10] [--save]
    python benchmarks/claim_conditions.py --readme | --check-readme    # the docs' block (docs/claims.md)

Each condition trains the population team and the single agent (K' = m) side by side with the
same settings on the same seeds, measures both by the suite's yardstick (fresh rollouts, k-NN
entropy with k = 50 on every point, normalized by ln of the free area) and compares them by
Welch's test with Holm's correction across the conditions (pmaxent.statistics.compare): "holds"
where the team is significantly ahead, "does not hold" where it is behind, "not enough evidence"
otherwise. The settings are not tuned per condition: this maps where the claim holds, the suite
tests it at tuned settings.

``--save`` keeps the table with command, date, commit and machine in docs/claims/conditions.json
and rewrites the docs' block from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
import numpy as np  # noqa: E402

from pmaxent import families  # noqa: E402
from pmaxent.continuous.evaluation import YardstickConfig, yardstick  # noqa: E402
from pmaxent.continuous.suite import ContinuousSuiteConfig  # noqa: E402
from pmaxent.statistics import compare  # noqa: E402

RESULTS = ROOT / "docs" / "claims" / "conditions.json"
CONDITIONS = (
    {},
    {"horizon": 400},
    {"k": 10},
    {"k": 30},
    {"log_std_init": -1.0},
    {"log_std_init": -0.5},
)
"""One factor at a time around the base (the suite's settings, ContinuousTrainConfig's otherwise)."""


def label(condition: dict) -> str:
    return ", ".join(f"{name} = {value:g}" for name, value in condition.items()) or "base"


def run_condition(env: str, agents: int, seeds: tuple[int, ...], condition: dict) -> dict:
    suite = ContinuousSuiteConfig()
    config = dataclasses.replace(
        suite.base_config(env, agents), seeds=seeds, methods=("parallel", "single"), **condition
    )
    start = time.perf_counter()
    run = families.run_training(config, progress=False)
    measure = YardstickConfig()
    scores = {
        method: yardstick(run.components, run.params[method], seeds, measure)["normalized_entropy"].tolist()
        for method in config.methods
    }
    return {
        "condition": condition,
        "settings": {name: getattr(config, name) for name in ("horizon", "k", "log_std_init", "lr", "lr_decay")},
        "seconds": round(time.perf_counter() - start, 1),
        **scores,
    }


def readme_lines(saved: dict) -> list[str]:
    rows = saved["rows"]
    names = [label(row["condition"]) for row in rows]
    comparisons = compare(
        {n: np.array(r["parallel"]) for n, r in zip(names, rows, strict=True)},
        {n: np.array(r["single"]) for n, r in zip(names, rows, strict=True)},
    )
    base = rows[0]["settings"]
    horizon = base["horizon"] or "the world's"  # None: the world's own horizon
    lines = [
        f"Written by `python benchmarks/claim_conditions.py --readme` from `docs/claims/conditions.json` "
        f"({doc_blocks.provenance_text(saved)}; {saved['env']}, m = {saved['agents']}, {len(saved['seeds'])} seeds; "
        f"base: T = {horizon}, k = {base['k']}, log std {base['log_std_init']:g}, lr {base['lr']:g} decayed by "
        f"{base['lr_decay']:g}, the suite's updates, B and policy; normalized entropy of fresh rollouts, k = 50).",
        "",
        "| condition | team | single agent | difference [95% CI] | seeds won | p (Holm) | the team's lead |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in zip(names, rows, strict=True):
        c = comparisons[name]
        team, single = np.array(row["parallel"]), np.array(row["single"])
        lines.append(
            f"| {name} | {team.mean():.3f} ± {team.std():.3f} | {single.mean():.3f} ± {single.std():.3f} | "
            f"{c.effect:+.3f} [{c.interval[0]:+.3f}, {c.interval[1]:+.3f}] | {c.won}/{c.seeds} | {c.adjusted:.3g} | "
            f"{c.verdict} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="gridworld-continuous", help="world (default gridworld-continuous)")
    parser.add_argument("--agents", type=int, default=4, help="team size m (default 4)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    doc_blocks.add_results_options(parser, RESULTS, "table")
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "conditions", RESULTS, readme_lines)
    seeds = tuple(range(args.seeds))
    rows = []
    for condition in CONDITIONS:
        row = run_condition(args.env, args.agents, seeds, condition)
        rows.append(row)
        team, single = np.mean(row["parallel"]), np.mean(row["single"])
        print(f"{label(condition):22s} team {team:.3f} single {single:.3f} ({row['seconds']} s)", flush=True)
    saved = {
        **doc_blocks.provenance("benchmarks/claim_conditions.py"),
        "env": args.env,
        "agents": args.agents,
        "seeds": list(seeds),
        "rows": rows,
    }
    print("\n".join(readme_lines(saved)))
    if args.save:
        doc_blocks.save_results("conditions", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
