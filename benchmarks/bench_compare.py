"""Training throughput of this checkout against another commit, side by side in one run.

    python benchmarks/bench_compare.py --rev c7b7185 [--rounds 3] [--updates 5000]

Checks the other commit out into a temporary git worktree, then times the paper configuration
(room-det, m = 6, B = 40, 5 seeds, the paper's estimator; compile excluded, see
bench_train.jax_throughput) alternately in each tree, each in a fresh process, and prints the
median agent-steps per second of each. Alternating rounds spread any load on the machine evenly.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MEASURE = """
import json, sys
sys.path.insert(0, {benchmarks!r})
import bench_train
from pmaxent.tabular.config import paper_config
print(json.dumps(bench_train.jax_throughput(paper_config("room-det", 6, methods=("parallel",), updates={updates}))))
"""


def measure(tree: Path, updates: int) -> float:
    code = MEASURE.format(benchmarks=str(tree / "benchmarks"), updates=updates)
    env = {"PYTHONPATH": str(tree / "src"), "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["agent_steps_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--updates", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), args.rev],
            check=True,
            capture_output=True,
        )
        try:
            speeds = {"this checkout": [], args.rev: []}
            for _ in range(args.rounds):
                speeds[args.rev].append(measure(other, args.updates))
                speeds["this checkout"].append(measure(ROOT, args.updates))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=True)
    for name, values in speeds.items():
        print(
            f"{name:>14s}: median {statistics.median(values) / 1e6:.1f} M agent-steps/s  (rounds: "
            f"{', '.join(f'{v / 1e6:.1f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
