"""Do off-policy steps learn more from every state of a trajectory than from every few? On-policy
PGPSE weighs a whole trajectory by one entropy term, so a subsample of its states (at most 101,
``POINTS_PER_TRAJECTORY``) estimates that term nearly as well; an off-policy step credits each
action through the importance weights of the states after it, so a state it leaves out may be
signal lost. This trains both kinds of step at both strides and measures the difference.

    python benchmarks/offpolicy_stride.py [--out DIR] [--save]   # train (resumes DIR's runs) and measure
    python benchmarks/offpolicy_stride.py --readme | --check-readme   # the docs' block (docs/populations.md)

The setting is ``mepol_claims.py``'s (gridworld-continuous, T = 400, 120 updates of 20
trajectories: a team of 20 with one trajectory per agent, and the single agent with K' = 20), at
one setting of its grid (Adam's step 1e-4, log std -0.5, k = 30, the tanh mean) and its
off-policy bounds (up to 30 steps per batch within MEPOL's KL threshold). Off-policy steps train
with the population policy and with one network per agent (MEPOL's plain network, whose inputs
are not rescaled), on-policy ones with the population; each with every state a k-NN point
(stride 1) and with every 4th (the capped stride of T = 400). The stride's effect was seen on
``mepol_claims.py``'s tuning seeds (1000, 1001); this measures it on seeds 0 to 5 by that study's
yardstick (fresh rollouts, k = 50 entropy of every point) and tests stride 1 against stride 4
per run and method (Welch, Holm over all of them).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
import mepol_claims  # noqa: E402  (benchmarks/mepol_claims.py: the setting and its yardstick)
import numpy as np  # noqa: E402

from pmaxent.core.devices import use_all_cpu_cores  # noqa: E402
from pmaxent.core.runs import run_training  # noqa: E402
from pmaxent.mepol.algorithm import MepolConfig  # noqa: E402
from pmaxent.statistics import SIGNIFICANCE, compare, mean_std  # noqa: E402

RESULTS = ROOT / "docs" / "populations" / "offpolicy_stride.json"
SETTING = {"lr": 1e-4, "lr_decay": 1.0, "log_std_init": -0.5, "k": 30, "bounded_mean": True}
"""One setting of mepol_claims' grid (MEPOL's chosen step size and k in that study's first tuning)."""
SEEDS = tuple(range(6))
RUNS = (
    ("off-policy", mepol_claims.OFF_POLICY_STEPS, "population"),
    ("off-policy", mepol_claims.OFF_POLICY_STEPS, "networks"),
    ("on-policy", 0, "population"),
)
"""(kind of step, most steps per batch, policy): each trained at both strides."""
METHODS = {"parallel": "team of 20", "single": "single agent"}
KL_THRESHOLD = next(field.default for field in dataclasses.fields(MepolConfig) if field.name == "kl_threshold")
"""MEPOL's KL threshold, so the off-policy steps take MEPOL's 30 steps per batch (at pmaxent's 0.2 they stop
after a few)."""
POLICIES = {"population": "population", "networks": "one network per agent"}


def stride_runs(study: mepol_claims.Study, out: Path) -> list[dict]:
    """Every run of ``RUNS`` at both strides, both methods per run -> rows of the yardstick's values."""
    capped = mepol_claims.pgpse_config(study, SETTING, SEEDS, ("parallel",)).stride_for(study.horizon)
    rows = []
    for kind, steps, policy in RUNS:
        for stride in (1, capped):
            base = mepol_claims.pgpse_config(study, SETTING, SEEDS, tuple(METHODS), steps)
            bounds = {"kl_threshold": KL_THRESHOLD} if steps else {}
            config = dataclasses.replace(base, point_stride=stride, policy=policy, **bounds)
            run_dir, start = out / f"{kind}-{policy}-{stride}", time.perf_counter()
            run = run_training(config, run_dir, True, False, False)
            seconds = mepol_claims.training_seconds(run_dir, start)
            for method in METHODS:
                scores = mepol_claims.measure(study, run, method)
                rows.append(
                    {"steps": kind, "policy": policy, "stride": stride, "method": method, "seconds": seconds, **scores}
                )
                print(f"{kind} {policy} stride {stride} {method}: {np.mean(scores['normalized_entropy']):.3f}")
    return rows


def readme_lines(saved: dict) -> list[str]:
    rows = saved["rows"]
    lines = [
        f"Written by `python benchmarks/offpolicy_stride.py --readme` from "
        f"[docs/populations/offpolicy_stride.json](docs/populations/offpolicy_stride.json) "
        f"({doc_blocks.provenance_text(saved)}; gridworld-continuous, T = {saved['horizon']}, {saved['updates']} "
        f"updates of 20 trajectories, lr {saved['setting']['lr']:g}, log std {saved['setting']['log_std_init']:g}, "
        f"k = {saved['setting']['k']}, tanh mean; off-policy: up to {saved['offpolicy']['steps']} steps per batch "
        f"within a per-agent KL threshold of {saved['offpolicy']['kl_threshold']:g}; seeds {saved['seeds'][0]} to "
        f"{saved['seeds'][-1]}, "
        f"{saved['yardstick']['samples']} fresh samples each, k = {saved['yardstick']['k']} entropy normalized by "
        f"ln of the free area; training wall time of both methods and all seeds in one process):",
        "",
        "| steps per batch | policy | k-NN points | method | normalized entropy | coverage | training wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        points = f"every {mepol_claims.ordinal(row['stride'])}state"
        lines.append(
            f"| {row['steps']} | {POLICIES[row['policy']]} | {points} | {METHODS[row['method']]} | "
            f"{mean_std(row['normalized_entropy'])} | {mean_std(row['coverage'])} | {row['seconds']:.0f} s |"
        )
    by_stride = {}
    for row in rows:
        name = f"{row['steps']}, {POLICIES[row['policy']]}, {METHODS[row['method']]}"
        by_stride.setdefault(name, {})[row["stride"]] = np.array(row["normalized_entropy"])
    results = compare(
        {name: strides[1] for name, strides in by_stride.items()},
        {name: strides[max(strides)] for name, strides in by_stride.items()},
    )
    lines += [
        "",
        f"| every state against the capped stride | difference [95% CI] | seeds won | p (Holm, {len(results)} tests) | "
        f"verdict (level {SIGNIFICANCE:g}) |",
        "|---|---|---|---|---|",
    ]
    for name, c in results.items():
        lines.append(
            f"| {name} | {c.effect:+.3f} [{c.interval[0]:+.3f}, {c.interval[1]:+.3f}] | {c.won}/{c.seeds} | "
            f"{c.adjusted:.3g} | {c.verdict} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/pmaxent-offpolicy-stride"), help="run directories")
    doc_blocks.add_results_options(parser, RESULTS, "rows")
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "offpolicy-stride", RESULTS, readme_lines)
    use_all_cpu_cores()
    study = mepol_claims.Study()
    saved = {
        **doc_blocks.provenance("benchmarks/offpolicy_stride.py"),
        "horizon": study.horizon,
        "updates": study.updates,
        "setting": SETTING,
        "seeds": list(SEEDS),
        "offpolicy": {"steps": mepol_claims.OFF_POLICY_STEPS, "kl_threshold": KL_THRESHOLD},
        "yardstick": dataclasses.asdict(study.measure),
        "rows": stride_runs(study, args.out),
    }
    print("\n".join(readme_lines(saved)))
    if args.save:
        doc_blocks.save_results("offpolicy-stride", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
