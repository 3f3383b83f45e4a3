"""MEPOL against a pmaxent team on MEPOL's GridWorld (gridworld-continuous), side by side:
entropy against wall time and against environment steps.

    python benchmarks/bench_mepol.py [--quick] [--budget SECONDS] [--json out.json] [--plot out.png] [--save]
    python benchmarks/bench_mepol.py --readme          # the docs' block (docs/mepol.md) from docs/mepol/results.json
    python benchmarks/bench_mepol.py --check-readme    # exit 1, printing the differences, if it disagrees

Both methods are measured with one yardstick: after each MEPOL epoch and each chunk of PGPSE
updates, 20 fresh trajectories of T steps of the current policy (MEPOL: 20 of its one agent;
the team: 20 / m of each of its m agents, pooled) and their Kozachenko-Leonenko entropy with
k = 50 (:func:`pmaxent.continuous.knn.knn_entropy`). Environment steps count every step either
trainer sampled to learn (MEPOL: 20 x T per epoch; PGPSE: B x m x T per update); wall time is
cumulative and includes compilation; evaluation time is excluded.

MEPOL runs its GridWorld setting (k = 50, 20 x T, Adam 1e-5, KL threshold 15, at most 30
off-policy steps, backtracking, 300-300 network, log std -1.5) with MEPOL's T = 1200, or
T = 400 and a smaller network (64-64) with ``--quick``. Two teams run at the same T: pmaxent's
continuous defaults (m = 4, B = 10, k = 15, 64-64, Adam, baseline "both"), and a population of
20 agents with one trajectory each per update (MEPOL's 20 trajectories per epoch, the loo-agent
baseline), so that its environment steps per update are MEPOL's per epoch.

``--save`` keeps the run, with its command, date, commit and machine, in docs/mepol/results.json
and rewrites the ``mepol`` block of docs/mepol.md from it; ``tests/test_readme_results.py`` checks
that block against the file, so the documentation quotes no figure of this benchmark by hand. Its figures
depend on the machine's speed (a fixed budget of seconds): the block says which machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
import jax  # noqa: E402
import numpy as np  # noqa: E402

from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.knn import knn_entropy  # noqa: E402
from pmaxent.core.devices import Lanes  # noqa: E402
from pmaxent.core.rollout import map_copies, sample_team  # noqa: E402
from pmaxent.core.runs import _initial_states, make_chunk_runner  # noqa: E402
from pmaxent.mepol.algorithm import Mepol, MepolConfig  # noqa: E402

EVAL_TRAJECTORIES, EVAL_K = 20, 50
RESULTS = ROOT / "docs" / "mepol" / "results.json"
LAST = 5
"""The block's final entropy of a method: the mean of its last LAST evaluations."""


def evaluate(env, policy, params, key, m: int = 1) -> float:
    """k = 50 entropy of 20 fresh trajectories pooled over the m agents of params."""
    samples = sample_team(env, policy, params, key, EVAL_TRAJECTORIES // m, "jax")
    features = map_copies(env.features, 3)(samples.states)
    return float(knn_entropy(features.reshape(-1, features.shape[-1]), EVAL_K))


def run_mepol(horizon: int, hidden: tuple[int, ...], budget: float) -> list[dict]:
    mepol = Mepol(MepolConfig(horizon=horizon, hidden=hidden))
    params, opt_state, key = mepol.init()
    rows, wall, steps, epoch = [], 0.0, 0, 0
    rows.append(
        {
            "epoch": 0,
            "env_steps": 0,
            "wall_time": 0.0,
            "entropy": evaluate(mepol.env, mepol.policy, params, jax.random.key(10_000)),
        }
    )
    while wall < budget:
        key, sample_key = jax.random.split(key)
        start = time.perf_counter()
        params, opt_state, stats = mepol.epoch(params, opt_state, sample_key)
        jax.block_until_ready(params)
        wall += time.perf_counter() - start
        steps += mepol.config.trajectories * horizon
        epoch += 1
        rows.append(
            {
                "epoch": epoch,
                "env_steps": steps,
                "wall_time": wall,
                "entropy": evaluate(mepol.env, mepol.policy, params, jax.random.key(10_000 + epoch)),
                "off_iters": stats["off_iters"],
                "kl": stats["kl"],
            }
        )
    return rows


TEAMS = {
    "pmaxent m=4": {},
    "population m=20, B=1": {"agents": 20, "batch_size": 1, "policy": "population", "baseline": "loo-agent"},
}
"""The teams beside MEPOL: pmaxent's continuous defaults (m = 4, B = 10), and a population of 20
agents with one trajectory each per update, MEPOL's batch of 20 trajectories."""

TEAM_LABELS = {"pmaxent m=4": "team of 4 (pmaxent defaults)", "population m=20, B=1": "population of 20, B = 1"}


def run_team(horizon: int, budget: float, chunk: int, settings: dict) -> list[dict]:
    config = ContinuousTrainConfig(
        horizon=horizon, methods=("parallel",), seeds=(0,), updates=10**6, chunk=chunk, **settings
    )
    components = config.make_components()
    lanes = Lanes((1, 1))
    packed = lanes.pack(_initial_states(config, components))
    run = make_chunk_runner(config, components, lanes)
    env, policy = components.env, components.policy
    first = lambda tree: jax.tree.map(lambda x: x[0, 0], lanes.unpack(tree))  # noqa: E731
    rows, wall, steps, updates = [], 0.0, 0, 0
    rows.append(
        {
            "update": 0,
            "env_steps": 0,
            "wall_time": 0.0,
            "entropy": evaluate(env, policy, first(packed.params), jax.random.key(10_000), config.agents),
        }
    )
    while wall < budget:
        start = time.perf_counter()
        packed, _ = run(packed, chunk)
        jax.block_until_ready(packed)
        wall += time.perf_counter() - start
        updates += chunk
        steps += chunk * config.batch_size * config.agents * horizon
        rows.append(
            {
                "update": updates,
                "env_steps": steps,
                "wall_time": wall,
                "entropy": evaluate(env, policy, first(packed.params), jax.random.key(10_000 + updates), config.agents),
            }
        )
    return rows


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for name, rows in results.items():
        for ax, x in zip(axes, ("wall_time", "env_steps"), strict=True):
            ax.plot([r[x] for r in rows], [r["entropy"] for r in rows], marker=".", label=name)
            ax.set_xlabel(x.replace("_", " ") + (" (s)" if x == "wall_time" else ""))
    axes[0].set_ylabel(f"entropy (k = {EVAL_K}, 20 trajectories, nats)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def readme_lines(saved: dict) -> list[str]:
    """The docs' block (docs/mepol.md), made only from a saved run (docs/mepol/results.json)."""
    results = saved["results"]
    final = {name: float(np.mean([r["entropy"] for r in rows[-LAST:]])) for name, rows in results.items()}
    mepol = results["mepol"]
    lines = [
        "Written by `python benchmarks/bench_mepol.py --readme` from "
        f"[docs/mepol/results.json](docs/mepol/results.json): `{saved['command']}` "
        f"({doc_blocks.provenance_text(saved)}; T = {saved['horizon']}, {saved['budget']:.0f} s of training each; "
        f"entropy: k = {EVAL_K} over {EVAL_TRAJECTORIES} fresh trajectories, final: the mean of the last {LAST} "
        "evaluations):",
        "",
        "| method | updates | environment steps | entropy at the start | final entropy |",
        "|---|---|---|---|---|",
        f"| MEPOL | {mepol[-1]['epoch']} epochs | {mepol[-1]['env_steps']:,} | {mepol[0]['entropy']:.2f} | "
        f"{final['mepol']:.2f} |",
    ]
    teams = [name for name in results if name != "mepol"]
    for name in teams:
        rows = results[name]
        lines.append(
            f"| {TEAM_LABELS.get(name, name)} | {rows[-1]['update']:,} | {rows[-1]['env_steps']:,} | "
            f"{rows[0]['entropy']:.2f} | {final[name]:.2f} |"
        )
    lines.append("")
    mepol_at = {r["env_steps"]: r for r in mepol}
    for name in teams:
        team_at = {r["env_steps"]: r for r in results[name]}
        common = sorted(set(mepol_at) & set(team_at) - {0})
        label = TEAM_LABELS.get(name, name)
        if not common:
            lines.append(f"- MEPOL and the {label} were never evaluated at the same number of environment steps.")
            continue
        at = common[-1]
        m, t = mepol_at[at], team_at[at]
        lines.append(
            f"- At {at:,} environment steps, the largest count at which MEPOL and the {label} were both evaluated, "
            f"MEPOL scored {m['entropy']:.2f} ({m['wall_time']:.1f} s into its budget) and the {label} "
            f"{t['entropy']:.2f} ({t['wall_time']:.1f} s into its budget, compilation included)."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="T = 400, 64-64 MEPOL network, 60 s per method")
    parser.add_argument(
        "--budget", type=float, default=None, help="training seconds per method (default 600, quick 60)"
    )
    parser.add_argument("--json", default=None, help="write the rows here")
    parser.add_argument("--plot", default=None, help="write the two-panel figure here")
    parser.add_argument(
        "--save",
        action="store_true",
        help=f"keep the run in {RESULTS.relative_to(ROOT)} and rewrite the docs' block from it",
    )
    parser.add_argument(
        "--readme", action="store_true", help="only rewrite the docs' block (docs/mepol.md) from the saved run"
    )
    parser.add_argument(
        "--check-readme",
        action="store_true",
        help="only check the docs' block (docs/mepol.md) against the saved run (exit 1 if it differs)",
    )
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "mepol", RESULTS, readme_lines)
    horizon, hidden = (400, (64, 64)) if args.quick else (1200, (300, 300))
    budget = args.budget or (60.0 if args.quick else 600.0)
    results = {"mepol": run_mepol(horizon, hidden, budget)}
    for name, settings in TEAMS.items():
        results[name] = run_team(horizon, budget, 5 if args.quick else 20, settings)
    print(
        f"gridworld-continuous, T = {horizon}, {budget:.0f} s of training per method; entropy: k = {EVAL_K}, 20 fresh "
        "trajectories (ln 100.25 = 4.608 is the most)"
    )
    for name, rows in results.items():
        print(f"{name}:")
        for row in rows:
            print(f"  steps {row['env_steps']:>9d}  wall {row['wall_time']:7.1f} s  entropy {row['entropy']:.3f}")
    saved = {
        **doc_blocks.provenance("benchmarks/bench_mepol.py"),
        "horizon": horizon,
        "budget": budget,
        "results": results,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(saved, indent=1) + "\n")
    if args.save:
        doc_blocks.save_results("mepol", RESULTS, saved, readme_lines)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
