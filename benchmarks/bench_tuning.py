"""The continuous suite's tuning stage in one world, its settings as lanes of one program per shape
or each setting a program of its own: a command for farm-bench to time as a whole process, pair by
pair.

    farm-bench -n 2 --timeout 1800 -- python benchmarks/bench_tuning.py OUT_A \\
        --vs 'python benchmarks/bench_tuning.py OUT_B --separate'

Both train the same runs (the suite's default search space, budget, tuning seeds and training
settings at m = ``tune_agents``) into a fresh directory, with the compilation cache off (a first
tuning run compiles everything it trains), and print the chosen settings, which must agree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ["PMAXENT_COMPILATION_CACHE"] = "off"

from pmaxent.continuous import tuning  # noqa: E402
from pmaxent.continuous.suite import ContinuousSuiteConfig  # noqa: E402
from pmaxent.core.devices import use_all_cpu_cores  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a scratch directory (emptied first)")
    parser.add_argument("--env", default="gridworld-continuous", help="the world (default gridworld-continuous)")
    parser.add_argument("--separate", action="store_true", help="each setting a program of its own")
    args = parser.parse_args()
    use_all_cpu_cores()
    if args.separate:
        tuning.program_groups = lambda settings, lane_fields: [[i] for i in range(len(settings))]
    shutil.rmtree(args.out, ignore_errors=True)
    suite = ContinuousSuiteConfig()
    result = tuning.tune(
        suite.base_config(args.env, suite.tune_agents), suite.tuning, args.out, suite.measure, progress=False
    )
    print(json.dumps(result["chosen"], sort_keys=True))


if __name__ == "__main__":
    main()
