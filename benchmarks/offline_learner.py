"""The offline learner's settings, chosen by measurement: the learner test (scripted shortest-path
data covering GridWorldContinuous, and the same confined to the start room) at several network
sizes and step counts, judged on the world's 15 goals acting at temperature 1 (the Gaussian as
learned) and 0 (its mean).

    python benchmarks/offline_learner.py [--save]   # train and judge (docs/offline/learner.json)
    python benchmarks/offline_learner.py --readme   # the docs' block (docs/offline.md) from the saved file

Each size trains both datasets' learners at once (one program) with the default learner's other
settings (:class:`~pmaxent.continuous.offline_config.ContinuousOfflineConfig`), and is judged after
every ``--every`` steps: 20 episodes per goal, cut at 400 steps. The default network is the
smallest here whose learner reaches every goal in at least 90% of episodes from the scripted data.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)

from pmaxent.continuous import worlds  # noqa: E402
from pmaxent.continuous.goal_reaching import success_rates  # noqa: E402
from pmaxent.continuous.goals import goal_points  # noqa: E402
from pmaxent.continuous.offline_config import ContinuousOfflineConfig  # noqa: E402
from pmaxent.continuous.paths import shortest_path_data  # noqa: E402
from pmaxent.core.devices import use_all_cpu_cores  # noqa: E402
from pmaxent.gcrl.data import from_trajectories, stack  # noqa: E402
from pmaxent.gcrl.train import make_learner  # noqa: E402

RESULTS = ROOT / "docs" / "offline" / "learner.json"
START_ROOM = (-6.0, 0.0, -6.0, 0.0)
EPISODES = 20


def measure(hidden: tuple[int, ...], steps: int, every: int) -> list[dict]:
    world = worlds.make("gridworld-continuous")
    config = ContinuousOfflineConfig()
    data = stack(
        [
            from_trajectories(*shortest_path_data(world, 100, 200, seed=0), world.max_step),
            from_trajectories(*shortest_path_data(world, 100, 200, seed=0, region=START_ROOM), world.max_step),
        ]
    )
    learner = dataclasses.replace(config.learner(), hidden=hidden)
    init, run = make_learner(learner, 2, 2)
    states = jax.vmap(init)(jax.vmap(jax.random.key)(jnp.zeros(2, jnp.uint32)))
    chunk = jax.jit(jax.vmap(lambda s, d: run(s, d, every)))
    goals = goal_points(world)
    rows, seconds = [], 0.0
    for done in range(every, steps + 1, every):
        start = time.perf_counter()
        states = jax.block_until_ready(chunk(states, data)[0])
        seconds += time.perf_counter() - start
        judged = {
            t: success_rates(world, states.params, goals, jax.random.key(0), EPISODES, config.max_episode_steps,
                             config.goal_radius, t)
            for t in (1.0, 0.0)
        }  # fmt: skip
        rows.append(
            {
                "hidden": list(hidden),
                "steps": done,
                "seconds": round(seconds, 1),
                "scripted": judged[1.0][0].tolist(),
                "scripted_mean_action": judged[0.0][0].tolist(),
                "confined": judged[1.0][1].tolist(),
            }
        )
        print(json.dumps({k: rows[-1][k] for k in ("hidden", "steps", "seconds")}), f"min {min(rows[-1]['scripted'])}")
    return rows


def readme_lines(saved: dict) -> list[str]:
    goals = np.asarray(saved["goals"])
    outside = (goals[:, 0] > 0) | (goals[:, 1] > 0)
    lines = [
        f"Written by `python benchmarks/offline_learner.py --readme` from "
        f"[docs/offline/learner.json](docs/offline/learner.json) ({doc_blocks.provenance_text(saved)}; "
        f"GridWorldContinuous, {len(goals)} goals, {EPISODES} episodes each cut at "
        f"{saved['max_episode_steps']} steps; batch {saved['batch_size']}; the training seconds of the two "
        f"datasets' learners together, compilation excluded):",
        "",
        "| hidden | steps | scripted: mean success (temperature 1) | worst goal | goals >= 0.9 | mean success "
        "acting by the mean | confined: best goal outside the start room | training seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in saved["rows"]:
        scripted, confined = np.asarray(row["scripted"]), np.asarray(row["confined"])
        lines.append(
            f"| {'-'.join(map(str, row['hidden']))} | {row['steps']:,} | {scripted.mean():.2f} | {scripted.min():.2f} "
            f"| {int((scripted >= 0.9).sum())}/{len(scripted)} | {np.mean(row['scripted_mean_action']):.2f} | "
            f"{confined[outside].max():.2f} | {row['seconds']:.0f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["16,16", "32,32", "64,64"], help="hidden sizes, e.g. 32,32")
    parser.add_argument("--steps", type=int, default=80_000, help="gradient steps per learner")
    parser.add_argument("--every", type=int, default=20_000, help="judge after every this many steps")
    doc_blocks.add_results_options(parser, RESULTS)
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "offline-learner", RESULTS, readme_lines)
    use_all_cpu_cores()
    config = ContinuousOfflineConfig()
    rows = []
    for size in args.sizes:
        rows += measure(tuple(int(h) for h in size.split(",")), args.steps, args.every)
    saved = {
        **doc_blocks.provenance("benchmarks/offline_learner.py"),
        "goals": goal_points(worlds.make("gridworld-continuous")).tolist(),
        "batch_size": config.offline_batch_size,
        "max_episode_steps": config.max_episode_steps,
        "rows": rows,
    }
    print("\n".join(readme_lines(saved)))
    if args.save:
        doc_blocks.save_results("offline-learner", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
