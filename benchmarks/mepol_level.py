"""How fast does a pmaxent team reach MEPOL's GridWorld level? MEPOL's paper reports 4.42 nats on
gridworld-continuous (k = 50 on 20 trajectories of 1,200 steps); its own code takes 37 minutes
for it. This trains the population team (m = 20, one trajectory of T = 1,200 per agent and
update: MEPOL's batch) and the single agent (K' = 20) side by side with ``pmaxent train`` as a
whole process, timed from its start to its end (imports and compilation included), and scores
both on fresh trajectories with MEPOL's yardstick.

    python benchmarks/mepol_level.py [--updates 150] [--k 15] [--save]
    python benchmarks/mepol_level.py --readme | --check-readme    # the docs' block (docs/populations.md)

The yardstick is not the training objective: 20 fresh trajectories of 1,200 steps (the team: one
per agent), the k-NN entropy (k = 50) of all their 24,020 points, for each training seed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)

RESULTS = ROOT / "docs" / "populations" / "mepol_level.json"
MEPOL_LEVEL = 4.42
"""MEPOL's GridWorld entropy (Mutti et al. 2021), k = 50 on 20 x 1,200 points."""
BUDGET_S = 60.0
TRAJECTORIES, HORIZON, YARDSTICK_K = 20, 1200, 50


def yardstick(run_dir: Path) -> dict[str, list[float]]:
    """k = 50 entropy of 20 fresh trajectories of each method, per training seed."""
    import numpy as np

    from pmaxent import families
    from pmaxent.continuous.knn import knn_entropy
    from pmaxent.continuous.team import team_positions

    run = families.load_run(run_dir)
    scores = {}
    for method in run.config.methods:
        per_agent = TRAJECTORIES // run.config.agents
        scores[method] = [
            float(knn_entropy(np.asarray(team_positions(run, method, s, per_agent, seed=1000 + s)).reshape(-1, 2), 50))
            for s in range(len(run.config.seeds))
        ]
    return scores


def readme_lines(saved: dict) -> list[str]:
    lines = [
        f"Written by `python benchmarks/mepol_level.py --readme` from `docs/populations/mepol_level.json` "
        f"({doc_blocks.provenance_text(saved)}; `{saved['command']}`).",
        "",
        f"`{saved['train']}` took {saved['seconds']:.1f} s as a whole process "
        f"(both methods, seeds {', '.join(map(str, saved['seeds']))}).",
        "",
        "| method | entropy, k = 50 on 20 fresh trajectories of 1,200 steps, per seed | reached 4.42 |",
        "|---|---|---|",
    ]
    for method, values in saved["scores"].items():
        reached = sum(value >= MEPOL_LEVEL for value in values)
        lines.append(f"| {method} | {', '.join(f'{v:.2f}' for v in values)} | {reached} of {len(values)} seeds |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=150, help="updates (default 150)")
    parser.add_argument("--k", type=int, default=15, help="k of the training estimator (default 15)")
    parser.add_argument("--seeds", default="0,1", help="training seeds (default 0,1)")
    parser.add_argument("--train-options", default="", help="further `pmaxent train` options, e.g. '--lr 0.005'")
    doc_blocks.add_results_options(parser, RESULTS, "result")
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "mepol-level", RESULTS, readme_lines)
    out = Path(tempfile.mkdtemp(prefix="mepol-level-")) / "run"
    train = (
        f"pmaxent train --env gridworld-continuous --agents {TRAJECTORIES} --batch 1 --horizon {HORIZON} "
        f"--k {args.k} --policy population --baseline loo-agent --method parallel --method single --seeds {args.seeds} "
        f"--updates {args.updates} --chunk {args.updates} {args.train_options}"
    ).strip()
    start = time.perf_counter()
    subprocess.run([*train.split(), "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    scores = yardstick(out)
    print(f"{train}: {seconds:.1f} s (budget {BUDGET_S:.0f} s)")
    for method, values in scores.items():
        print(f"  {method:9s} " + ", ".join(f"{v:.2f}" for v in values) + f" (MEPOL's level {MEPOL_LEVEL})")
    if args.save:
        seeds = [int(s) for s in args.seeds.split(",")]
        saved = {**doc_blocks.provenance("benchmarks/mepol_level.py"), "train": train, "seconds": seconds,
                 "seeds": seeds, "scores": scores}  # fmt: skip
        doc_blocks.save_results("mepol-level", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
