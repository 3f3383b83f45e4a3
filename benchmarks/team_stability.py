"""Is a population team at least as stable as the single agent, at every batch size? Final entropy
of the team (population policy) and of the single agent with K' = m trajectories, for B in
{1, 2, 4, 10}, m in {4, 20} and k in {15, 50}, in gridworld-continuous.

    python benchmarks/team_stability.py [--updates N] [--seeds 0,1,2] [--agents 4,20] [--batches 1,2,4,10]
                                        [--ks 15,50] [--lr 0.01] [--save]
    python benchmarks/team_stability.py --readme | --check-readme    # the docs' block (docs/populations.md)

Both methods train side by side in one run per configuration (the same updates and seeds; the
team's loo-agent baseline, the single agent's leave-one-sample-out one where B >= 2, as the
trainer gives each). The yardstick is not the training objective: 16 fresh team samples per seed
from the final parameters, the k-NN entropy (k = 50) of all their points, no stride; and the
coverage of the 0.5 x 0.5 grid cells. A seed counts as stable where its final entropy is at least the
untrained policy's on the same yardstick.

``--save`` keeps the rows with command, date, commit and machine in docs/populations/stability.json
(after each configuration, beside the rows of other configurations already there, so a long run
can be split) and rewrites the docs' block from them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
import jax  # noqa: E402
import numpy as np  # noqa: E402

from pmaxent import families  # noqa: E402
from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.knn import knn_entropy  # noqa: E402
from pmaxent.core.rollout import map_copies, sample_team  # noqa: E402
from pmaxent.core.train import init_state, key_impl  # noqa: E402

RESULTS = ROOT / "docs" / "populations" / "stability.json"
YARDSTICK_K = 50
FRESH_SAMPLES = 16


def yardstick(components, params, method: str, seeds) -> dict[str, list[float]]:
    """Entropy (k = 50, every point) and coverage of fresh team samples, per seed."""
    env, policy = components.env, components.policy

    def sample(p, key):
        samples = sample_team(env, policy, p, key, FRESH_SAMPLES, "jax", method == "random")
        return map_copies(env.features, 3)(samples.states)

    sampler = jax.jit(sample)
    entropy, coverage = [], []
    for index in range(len(seeds)):
        p = jax.tree.map(lambda leaf, index=index: leaf[index], params)
        points = np.asarray(sampler(p, jax.random.key(777 + index)))  # [S, m, T+1, 2]
        entropy.append(float(knn_entropy(points.reshape(-1, points.shape[-1]), YARDSTICK_K)))
        coverage.append(float(np.asarray(env.team_metrics(points[None].reshape(1, 1, -1, 2))["coverage"]).mean()))
    return {"entropy": entropy, "coverage": coverage}


def run_config(batch: int, agents: int, k: int, updates: int, seeds, lr: float) -> dict:
    config = ContinuousTrainConfig(
        agents=agents, batch_size=batch, k=k, updates=updates, chunk=updates, seeds=seeds, lr=lr,
        methods=("parallel", "single"), policy="population", baseline="loo-agent" if batch == 1 else "both",
    )  # fmt: skip
    start = time.perf_counter()
    run = families.run_training(config, progress=False)
    seconds = time.perf_counter() - start
    components = run.components
    keys = [jax.random.key(seed, impl=key_impl(config)) for seed in seeds]
    initial = jax.tree.map(
        lambda *leaves: np.stack(leaves), *(init_state(config, components, key).params for key in keys)
    )
    return {
        "batch": batch, "agents": agents, "k": k, "lr": lr, "updates": updates, "seeds": list(seeds),
        "seconds": round(seconds, 1),
        "untrained": yardstick(components, initial, "parallel", seeds),
        **{method: yardstick(components, run.params[method], method, seeds) for method in config.methods},
    }  # fmt: skip


def readme_lines(saved: dict) -> list[str]:
    lines = [
        f"Written by `python benchmarks/team_stability.py --readme` from `docs/populations/stability.json` "
        f"({doc_blocks.provenance_text(saved)}; entropy: k = {YARDSTICK_K} on {FRESH_SAMPLES} fresh team samples "
        "per seed, ln 100.25 = 4.61 the most; Adam's step size lr, decayed by 0.998 per update).",
        "",
        "| B | m | k | lr | updates, seeds | untrained | population team | single agent, K' = m | "
        "team - single (seeds won) | seeds at or above untrained: team / single |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in saved["rows"]:
        team, single, untrained = (np.array(row[name]["entropy"]) for name in ("parallel", "single", "untrained"))
        difference = team - single
        lines.append(
            f"| {row['batch']} | {row['agents']} | {row['k']} | {row['lr']:g} | {row['updates']}, "
            f"{_seed_range(row['seeds'])} | {untrained.mean():.2f} | "
            f"{team.mean():.2f} ± {team.std():.2f} | {single.mean():.2f} ± {single.std():.2f} | "
            f"{difference.mean():+.2f} ({int((difference > 0).sum())}/{len(difference)}) | "
            f"{int((team >= untrained).sum())} / {int((single >= untrained).sum())} of {len(team)} |"
        )
    lines.append("")
    groups = sorted({(row["k"], row["lr"]) for row in saved["rows"]}, key=lambda group: (group[0], -group[1]))
    for k, lr in groups:
        rows = [row for row in saved["rows"] if (row["k"], row["lr"]) == (k, lr)]
        team, single, untrained = (
            np.concatenate([row[name]["entropy"] for row in rows]) for name in ("parallel", "single", "untrained")
        )
        lines.append(
            f"- k = {k}, lr {lr:g} ({len(rows)} configurations, {len(team)} runs per method): the team kept "
            f"{int((team >= untrained).sum())} runs at or above the untrained policy, the single agent "
            f"{int((single >= untrained).sum())}; the team ended above the single agent in "
            f"{int((team > single).sum())}."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=300, help="updates per run (default 300)")
    parser.add_argument("--seeds", default="0,1,2", help="training seeds (default 0,1,2)")
    parser.add_argument("--agents", default="4,20", help="team sizes m (default 4,20)")
    parser.add_argument("--batches", default="1,2,4,10", help="team samples per update B (default 1,2,4,10)")
    parser.add_argument("--ks", default="15,50", help="k of the training estimator (default 15,50)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's initial step size (default 0.01)")
    doc_blocks.add_results_options(parser, RESULTS, "rows")
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "stability", RESULTS, readme_lines)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    numbers = lambda text: tuple(int(x) for x in text.split(","))  # noqa: E731
    for agents, k, batch in itertools.product(numbers(args.agents), numbers(args.ks), numbers(args.batches)):
        row = run_config(batch, agents, k, args.updates, seeds, args.lr)
        team, single = np.mean(row["parallel"]["entropy"]), np.mean(row["single"]["entropy"])
        print(
            f"B={batch:2d} m={agents:2d} k={k} lr={args.lr:g}: team {team:.2f} single {single:.2f} "
            f"({row['seconds']} s)",
            flush=True,
        )
        if args.save:
            save(row)


def _seed_range(seeds) -> str:
    return f"seeds {seeds[0]}-{seeds[-1]}" if list(seeds) == list(range(seeds[0], seeds[-1] + 1)) else str(seeds)


def _configuration(row: dict) -> tuple:
    return row["agents"], row["k"], -row["lr"], row["batch"]


def save(row: dict) -> None:
    """Keep ``row`` in the results file (replacing a row of the same configuration) and rewrite the block."""
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": []}
    rows = [r for r in saved["rows"] if _configuration(r) != _configuration(row)]
    rows = sorted([*rows, row], key=_configuration)
    saved = {**doc_blocks.provenance("benchmarks/team_stability.py"), "rows": rows}
    doc_blocks.save_results("stability", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
