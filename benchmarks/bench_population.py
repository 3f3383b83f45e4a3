"""Population teams at scale: time per update and peak memory against m, one trajectory per agent
(B = 1), the population policy (one shared trunk), in gridworld-continuous and in an open arena.

    python benchmarks/bench_population.py [--agents 4,16,64,256,1024] [--updates 5] [--json out.json] [--save]
    python benchmarks/bench_population.py --readme | --check-readme    # the docs' block (docs/populations.md)

Each (world, m) runs in a process of its own, so that its peak memory (max RSS) is its own: one
update compiled and run, then ``--updates`` updates timed (one training seed, the parallel method;
the k-NN estimator computes the team's, every agent's and every leave-one-agent-out entropy, as
training does). The arena is a square of open floor, a map of ARENA x ARENA unit cells with the
start in its centre.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)

RESULTS = ROOT / "docs" / "populations" / "scale.json"

ARENA = 48
"""Side of the open arena in unit cells (2,304 cells: about two per agent at m = 1,024)."""


def arena_layout(side: int = ARENA) -> tuple[str, ...]:
    rows = ["F" * side for _ in range(side)]
    middle = side // 2
    rows[middle] = "F" * middle + "S" + "F" * (side - middle - 1)
    return tuple(rows)


def measure(world: str, agents: int, updates: int, search: str) -> dict:
    """One process's measurement (run by the parent in a subprocess)."""
    import jax
    import jax.numpy as jnp

    from pmaxent.continuous.config import ContinuousTrainConfig
    from pmaxent.core.train import init_state, key_impl, make_update

    settings = {"env": world} if world != "arena" else {"env": "arena", "layout": arena_layout(), "horizon": 200}
    config = ContinuousTrainConfig(
        **settings, agents=agents, batch_size=1, baseline="loo-agent", policy="population", seeds=(0,),
        updates=updates, knn_search=search,
    )  # fmt: skip
    components = config.make_components()
    state = init_state(config, components, jax.random.key(0, impl=key_impl(config)))
    update = jax.jit(make_update(config, components))
    start = time.perf_counter()
    state, metrics = update(state, jnp.asarray(False), jnp.asarray(True))
    jax.block_until_ready(metrics)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(updates):
        state, metrics = update(state, jnp.asarray(False), jnp.asarray(True))
    jax.block_until_ready(metrics)
    per_update = (time.perf_counter() - start) / updates
    parameters = sum(leaf.size for leaf in jax.tree.leaves(state.params))
    return {
        "world": world, "agents": agents, "search": search,
        "first_update_s": round(first, 2), "update_s": round(per_update, 4),
        "points_per_update": agents * (components.env.horizon // config.stride_for(components.env.horizon) + 1),
        "parameters": int(parameters), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "entropy": float(metrics["entropy"]),
    }  # fmt: skip


def readme_lines(saved: dict) -> list[str]:
    lines = [
        f"Written by `python benchmarks/bench_population.py --readme` from `docs/populations/scale.json` "
        f"({doc_blocks.provenance_text(saved)}; `{saved['command']}`).",
        "",
        "| world | m | pooled points per update | parameters | search | seconds per update | "
        "first update (compiling) | peak memory |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in saved["rows"]:
        if "timeout_s" in row:
            timeout = f"over {row['timeout_s']:.0f} s"
            lines.append(f"| {row['world']} | {row['agents']:,} | | | {row['search']} | {timeout} | | |")
            continue
        lines.append(
            f"| {row['world']} | {row['agents']:,} | {row['points_per_update']:,} | {row['parameters']:,} | "
            f"{row['search']} | {row['update_s']:.3g} | {row['first_update_s']:.3g} s | {row['peak_rss_mb']:,} MB |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="4,16,64,256,1024", help="team sizes (default 4,16,64,256,1024)")
    parser.add_argument("--worlds", default="gridworld-continuous,arena", help="worlds (default both)")
    parser.add_argument("--updates", type=int, default=5, help="timed updates after the first (default 5)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per (world, m) before it is given up")
    parser.add_argument("--json", default=None, help="write the rows here")
    doc_blocks.add_results_options(parser, RESULTS, "rows")
    parser.add_argument("--searches", default="all-pairs,sweep", help="team k-NN searches (default both)")
    parser.add_argument("--child", nargs=4, metavar=("WORLD", "M", "UPDATES", "SEARCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "scale", RESULTS, readme_lines)
    if args.child:
        world, agents, updates, search = args.child
        print(json.dumps(measure(world, int(agents), int(updates), search)))
        return
    rows = []
    runs = itertools.product(args.worlds.split(","), (int(m) for m in args.agents.split(",")), args.searches.split(","))
    for world, agents, search in runs:
        command = [sys.executable, __file__, "--child", world, str(agents), str(args.updates), search]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            rows.append({"world": world, "agents": agents, "search": search, "timeout_s": args.timeout})
            print(f"{world:22s} m = {agents:5d} {search}: over {args.timeout:.0f} s", flush=True)
            continue
        if done.returncode:
            print(done.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{world} m = {agents} failed")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{world:22s} m = {agents:5d} {search:9s}: {row['update_s']:8.3f} s per update "
            f"(first {row['first_update_s']} s), "
            f"{row['points_per_update']:7d} points, {row['parameters']:7d} parameters, "
            f"peak {row['peak_rss_mb']} MB",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    if args.save:
        saved = {**doc_blocks.provenance("benchmarks/bench_population.py"), "rows": rows}
        doc_blocks.save_results("scale", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
