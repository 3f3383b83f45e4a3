"""The measurements behind the continuous defaults: parallel teams against the single agent in
gridworld-continuous under a few settings, with where each agent goes.

    python benchmarks/continuous_defaults.py [--json out.json] [--agents 4] [--seeds 0,1,2]

For each setting (ContinuousTrainConfig fields changed from the defaults; the list below holds
MEPOL's initial log std -1.5 and ours, -0.5, at 300 and 600 updates) it trains the parallel team
and the single agent with K' = m trajectories, and prints per seed the final normalized k-NN
entropy and coverage (mean over the last 1% of updates) and each agent's share of its positions
in the four rooms (4 trajectories sampled after training), as digits 0-9 in the order
bottom-left (the start room), bottom-right, top-left, top-right: "3051" is an agent with 3/9 of
its positions at home, 5/9 in the top-left room and 1/9 in the far top-right one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time

from pmaxent.devices import use_all_cpu_cores

use_all_cpu_cores()

import jax  # noqa: E402
import numpy as np  # noqa: E402

from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.team import team_positions  # noqa: E402
from pmaxent.experiments import final_metric  # noqa: E402
from pmaxent.train import run_training  # noqa: E402

SETTINGS = (
    {"log_std_init": -1.5, "updates": 300},
    {"log_std_init": -1.5, "updates": 600},
    {"log_std_init": -0.5, "updates": 300},
    {"log_std_init": -0.5, "updates": 600},
)
ROOMS = ("bottom-left (start)", "bottom-right", "top-left", "top-right")


def room_shares(positions: np.ndarray) -> np.ndarray:
    """positions [m, P, 2] -> [m, 4]: each agent's share of its positions in each room of
    GridWorldContinuous (quadrants around the central walls, in the order of ROOMS)."""
    room = (positions[..., 0] > 0).astype(int) + 2 * (positions[..., 1] > 0).astype(int)
    return np.stack([(room == r).mean(axis=-1) for r in range(4)], axis=-1)


def measure(setting: dict, agents: int, seeds: tuple[int, ...]) -> dict:
    config = ContinuousTrainConfig(agents=agents, seeds=seeds, methods=("parallel", "single"), **setting)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        run = run_training(config, out, progress=False, plot=False)
    seconds = time.perf_counter() - start
    row = {"setting": setting, "seconds": round(seconds, 1)}
    for i, method in enumerate(config.methods):
        row[method] = {
            "normalized_entropy": final_metric(run.metrics["normalized_entropy"][i]).round(3).tolist(),
            "coverage": final_metric(run.metrics["coverage"][i]).round(3).tolist(),
            "rooms": [room_shares(team_positions(run, method, seed_index=s, trajectories=4)).round(3).tolist() for s in range(len(seeds))],
        }
    return row


def digits(shares) -> str:
    return " ".join("".join(str(int(round(9 * f))) for f in agent) for agent in shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=ContinuousTrainConfig.agents)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    defaults = {f.name: f.default for f in dataclasses.fields(ContinuousTrainConfig) if f.name in ("horizon", "lr", "batch_size", "k", "hidden")}
    print(f"gridworld-continuous, m = {args.agents}, seeds {seeds}; other settings the defaults {defaults}")
    print("| setting | parallel entropy | single entropy | parallel coverage | single coverage | parallel agents' rooms (per seed) | seconds |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for setting in SETTINGS:
        row = measure(setting, args.agents, seeds)
        rows.append(row)
        p, s = row["parallel"], row["single"]
        cells = [", ".join(f"{k}={v}" for k, v in setting.items())]
        for values in (p["normalized_entropy"], s["normalized_entropy"], p["coverage"], s["coverage"]):
            cells.append(f"{np.mean(values):.3f} ({' '.join(f'{v:.3f}' for v in values)})")
        cells.append(" / ".join(digits(shares) for shares in p["rooms"]))
        cells.append(str(row["seconds"]))
        print("| " + " | ".join(cells) + " |", flush=True)
    if args.json:
        machine = {"processor": platform.processor() or platform.machine(), "devices": [str(d) for d in jax.devices()], "jax": jax.__version__}
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
