"""The measurements behind the continuous defaults: parallel teams against the single agent in
gridworld-continuous under a few settings, with where each agent goes.

    python benchmarks/continuous_defaults.py [--json out.json] [--agents 4] [--seeds 0,1,2,3,4,5] [--setting k=15 ...]

For each setting (ContinuousTrainConfig fields changed from the defaults: the k-NN estimator's k
from 4 to 25, and the horizon 400 against the default 200) it trains the parallel team and the single agent
with K' = m trajectories, and prints the final normalized k-NN entropy and coverage (mean over
the last 1% of updates) of each method, the team's lead in entropy with its 95% bootstrap
interval and the seeds it leads in, and each parallel agent's share of its positions in the four
rooms (4 trajectories sampled after training), as digits 0-9 in the order bottom-left (the start
room), bottom-right, top-left, top-right: "3051" is an agent with 3/9 of its positions at home,
5/9 in the top-left room and 1/9 in the far top-right one.
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
from pmaxent.statistics import difference_interval  # noqa: E402
from pmaxent.runs import run_training  # noqa: E402

SETTINGS = (
    *({"k": k} for k in (15, 25, 10, 7, 4)),
    {"k": 15, "horizon": 400},
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
    parser.add_argument("--seeds", default="0,1,2,3,4,5", help="comma-separated training seeds")
    parser.add_argument("--setting", action="append", help="only this setting, as FIELD=NUMBER[,FIELD=NUMBER] (repeatable; default: SETTINGS)")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    settings = SETTINGS if not args.setting else tuple({name: json.loads(value) for name, value in (item.split("=") for item in text.split(","))} for text in args.setting)
    defaults = {f.name: f.default for f in dataclasses.fields(ContinuousTrainConfig) if f.name in ("horizon", "lr", "batch_size", "k", "hidden", "log_std_init", "updates", "lr_decay")}
    print(f"gridworld-continuous, m = {args.agents}, seeds {seeds}; other settings the defaults {defaults}")
    print("| setting | parallel entropy | single entropy | parallel - single (95% interval), seeds led | parallel coverage | single coverage | parallel agents' rooms (per seed) | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for setting in settings:
        row = measure(setting, args.agents, seeds)
        rows.append(row)
        p, s = row["parallel"], row["single"]
        cells = [", ".join(f"{k}={v}" for k, v in setting.items())]
        for values in (p["normalized_entropy"], s["normalized_entropy"]):
            cells.append(f"{np.mean(values):.3f} ({' '.join(f'{v:.3f}' for v in values)})")
        lead = np.subtract(p["normalized_entropy"], s["normalized_entropy"])
        low, high = difference_interval(np.array(p["normalized_entropy"]), np.array(s["normalized_entropy"]))
        cells.append(f"{lead.mean():+.3f} ({low:+.3f}, {high:+.3f}), {int(np.sum(lead > 0))} of {len(lead)}")
        for values in (p["coverage"], s["coverage"]):
            cells.append(f"{np.mean(values):.3f}")
        cells.append(" / ".join(digits(shares) for shares in p["rooms"]))
        cells.append(str(row["seconds"]))
        print("| " + " | ".join(cells) + " |", flush=True)
    if args.json:
        machine = {"processor": platform.processor() or platform.machine(), "devices": [str(d) for d in jax.devices()], "jax": jax.__version__}
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
