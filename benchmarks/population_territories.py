"""Where 256 agents of a population go: a population team and the single agent (K' = 256) trained
side by side in the open arena of benchmarks/bench_population.py, one trajectory per agent and
update, and a picture of one fresh trajectory of every agent, each agent in its own colour.

    python benchmarks/population_territories.py [--agents 256] [--updates 300] [--out DIR] [--save]
    python benchmarks/population_territories.py --readme | --check-readme    # the docs' block

The yardstick is not the training objective: 4 fresh team samples per method from the final
parameters, the k-NN entropy (k = 50) of all their points and the coverage of the arena's unit
cells. ``--save`` writes docs/populations/territories.png and territories.json (with command,
date, commit and machine) and rewrites the docs' block.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
from bench_population import ARENA, arena_layout  # noqa: E402

RESULTS = ROOT / "docs" / "populations" / "territories.json"
PICTURE = ROOT / "docs" / "populations" / "territories.png"
YARDSTICK_K = 50
FRESH_SAMPLES = 4


def measure(run, method: str) -> dict:
    """Fresh-sample entropy (k = 50, every point) and unit-cell coverage of a trained method."""
    import numpy as np

    from pmaxent.continuous.knn import knn_entropy
    from pmaxent.continuous.team import team_positions

    points = team_positions(run, method, trajectories=FRESH_SAMPLES, seed=777)  # [m, S (T+1), 2]
    pooled = points.reshape(-1, 2)
    cells = {(int(x), int(y)) for x, y in np.floor(pooled)}
    return {"entropy": float(knn_entropy(pooled, YARDSTICK_K)), "coverage": len(cells) / ARENA**2}


def readme_lines(saved: dict) -> list[str]:
    lines = [
        f"Written by `python benchmarks/population_territories.py --readme` from "
        f"`docs/populations/territories.json` ({doc_blocks.provenance_text(saved)}; `{saved['command']}`; "
        f"m = {saved['agents']}, B = 1, {saved['updates']} updates, seed 0, {saved['seconds']:.0f} s of training).",
        "",
        "| method | entropy of 4 fresh team samples (k = 50) | arena cells visited |",
        "|---|---|---|",
    ]
    for method, row in saved["methods"].items():
        lines.append(f"| {method} | {row['entropy']:.2f} | {row['coverage']:.0%} |")
    lines += ["", "![256 agents' territories](docs/populations/territories.png)"]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=256, help="m (default 256)")
    parser.add_argument("--updates", type=int, default=300, help="updates (default 300)")
    parser.add_argument("--out", default=None, help="the run directory (default: a temporary one)")
    doc_blocks.add_results_options(
        parser, RESULTS, "rows", save_help="write the picture and rows under docs/populations"
    )
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "territories", RESULTS, readme_lines)

    from pmaxent import families
    from pmaxent.continuous.config import ContinuousTrainConfig
    from pmaxent.continuous.team import write_team_picture
    from pmaxent.core.devices import use_all_cpu_cores

    use_all_cpu_cores()
    config = ContinuousTrainConfig(
        env="arena", layout=arena_layout(), horizon=200, agents=args.agents, batch_size=1, baseline="loo-agent",
        policy="population", methods=("parallel", "single"), seeds=(0,), updates=args.updates,
        chunk=max(1, args.updates // 6),
    )  # fmt: skip
    out = Path(args.out or tempfile.mkdtemp(prefix="territories-"))
    start = time.perf_counter()
    run = families.run_training(config, out)
    seconds = time.perf_counter() - start
    methods = {method: measure(run, method) for method in config.methods}
    for method, row in methods.items():
        print(f"{method:9s} entropy {row['entropy']:.2f}, cells {row['coverage']:.0%}")
    picture = write_team_picture(run, PICTURE if args.save else out / "territories.png", trajectories=1)
    print(f"picture: {picture}; training {seconds:.0f} s")
    if args.save:
        saved = {
            **doc_blocks.provenance("benchmarks/population_territories.py"), "agents": args.agents,
            "updates": args.updates, "seconds": seconds, "methods": methods,
        }  # fmt: skip
        doc_blocks.save_results("territories", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
