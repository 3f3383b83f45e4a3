"""One continuous training run, its lanes (methods x seeds) grouped or not: a command for farm-bench
to time as a whole process, grouped against ungrouped, pair by pair.

    farm-bench -n 3 --timeout 1800 -- python benchmarks/bench_lanes.py --lane-group 1 \\
        --vs 'python benchmarks/bench_lanes.py --lane-group 0'

The run: gridworld-continuous, ``--seeds`` seeds and the three methods (``pmaxent train``'s
defaults otherwise), ``--updates`` updates; it prints seed 0's final team entropy, which grouped
lanes keep the same whatever ``--seeds`` is (docs/determinism.md).
"""

from __future__ import annotations

import argparse

from pmaxent import families
from pmaxent.continuous.config import ContinuousTrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lane-group", type=int, default=1, help="lanes per device at once (0: all at once)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--agents", type=int, default=ContinuousTrainConfig.agents, help="team size m")
    parser.add_argument("--batch-size", type=int, default=ContinuousTrainConfig.batch_size, help="B")
    parser.add_argument("--policy", default=ContinuousTrainConfig.policy, help="networks or population")
    parser.add_argument("--updates", type=int, default=60, help="updates (default 60)")
    args = parser.parse_args()
    config = ContinuousTrainConfig(
        agents=args.agents, batch_size=args.batch_size, policy=args.policy, updates=args.updates,
        chunk=args.updates, seeds=tuple(range(args.seeds)), lane_group=args.lane_group,
    )  # fmt: skip
    run = families.run_training(config, progress=False)
    print(f"seed 0, team: final training entropy {run.metrics['entropy'][0, 0, -1]:.6f}")


if __name__ == "__main__":
    main()
