"""Does a team learn more from its batch when every agent draws on every trajectory? Off-policy team
steps weight each point by its own agent's trajectory ratio (``importance='own-agent'``): at one
trajectory per agent, each agent's parameters move by a twentieth of the batch. The team-mixture
weights (``'team-mixture'``, the balance heuristic) weigh every point by the team's target mixture
against its behaviour mixture, so an agent learns from every trajectory it could have sampled.
This puts both under the claims protocol and against MEPOL at the same environment steps.

    python benchmarks/team_mixture.py [--out DIR] [--save]   # tune and evaluate (resumes DIR's runs)
    python benchmarks/team_mixture.py --readme | --check-readme   # the docs' block (docs/populations.md)

The setting is ``mepol_claims.py``'s (gridworld-continuous, T = 400, 120 updates of 20
trajectories: a population of 20 agents with one trajectory each), with up to 30 off-policy
steps per batch within MEPOL's KL threshold (as ``offpolicy_stride.py``) and the population
without agent embeddings (its trunk then runs once per state for all agents' likelihoods). Both
weightings are tuned alike on that study's tuning seeds over its grid (Adam's step, k, the
tanh or raw mean), each keeping its best setting by the yardstick there; the chosen settings train
on seeds 0..N-1 (that study's evaluation seeds) and are measured by its yardstick. MEPOL's results
are that study's (docs/mepol/claims.json: the same seeds, environment steps, grid and yardstick).
The three comparisons are Welch's tests with Holm's correction.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "benchmarks"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
import mepol_claims  # noqa: E402  (benchmarks/mepol_claims.py: the setting, its grid and its yardstick)
import numpy as np  # noqa: E402
from offpolicy_stride import KL_THRESHOLD  # noqa: E402

from pmaxent.continuous.tuning import Candidate, tune_candidates  # noqa: E402
from pmaxent.core.devices import use_all_cpu_cores  # noqa: E402
from pmaxent.core.runs import run_training  # noqa: E402

RESULTS = ROOT / "docs" / "populations" / "team_mixture.json"
WEIGHTINGS = {"own-agent": "own agent's ratio", "team-mixture": "team mixture's ratio"}
LABELS = {**{name: f"team of 20, {text}" for name, text in WEIGHTINGS.items()}, "mepol": "MEPOL"}
COMPARISONS = (("team-mixture", "own-agent"), ("team-mixture", "mepol"), ("own-agent", "mepol"))
"""(method, other): the tests, Holm-corrected together."""


def team_config(study: mepol_claims.Study, setting: dict, seeds, importance: str):
    base = mepol_claims.pgpse_config(study, setting, seeds, ("parallel",), mepol_claims.OFF_POLICY_STEPS)
    return dataclasses.replace(base, embedding=0, kl_threshold=KL_THRESHOLD, importance=importance)


def tune_weightings(study: mepol_claims.Study, out: Path) -> dict:
    """Both weightings over the study's grid on its tuning seeds -> tune_candidates' result."""
    candidates = [
        Candidate(name, lambda s, name=name: team_config(study, s, study.tuning.seeds, name), {"parallel": name})
        for name in WEIGHTINGS
    ]
    return tune_candidates(
        candidates, study.tuning, out / "tuning", study.measure, mepol_claims.TRAJECTORIES, divergence=False
    )


def evaluate(study: mepol_claims.Study, out: Path, chosen: dict) -> dict:
    """Each weighting's chosen setting on the evaluation seeds -> name -> {"seconds", yardstick values}."""
    results = {}
    for name in WEIGHTINGS:
        run_dir, start = out / "evaluation" / name, time.perf_counter()
        config = team_config(study, chosen[name], range(study.seeds), name)
        run = run_training(config, run_dir, True, False, False)
        seconds = mepol_claims.training_seconds(run_dir, start)
        results[name] = {"seconds": seconds, **mepol_claims.measure(study, run, "parallel")}
        print(f"{name}: normalized entropy {np.mean(results[name]['normalized_entropy']):.3f}", flush=True)
    return results


def readme_lines(saved: dict) -> list[str]:
    results = {**saved["evaluation"], "mepol": saved["mepol"]}
    steps = saved["updates"] * mepol_claims.TRAJECTORIES * saved["horizon"]
    space = saved["space"]
    lines = [
        f"Written by `python benchmarks/team_mixture.py --readme` from "
        f"[docs/populations/team_mixture.json](docs/populations/team_mixture.json) "
        f"({doc_blocks.provenance_text(saved)}; gridworld-continuous, T = {saved['horizon']}, {saved['updates']} "
        f"updates of 20 trajectories = {steps:,} environment steps per method and seed; up to "
        f"{saved['offpolicy']['steps']} off-policy steps per batch within a per-agent KL threshold of "
        f"{saved['offpolicy']['kl_threshold']:g}, every {mepol_claims.ordinal(saved['offpolicy']['point_stride'])}"
        f"state a k-NN point, a population without embeddings; tuned on seeds "
        f"{', '.join(map(str, saved['tuning_seeds']))} over lr {{{', '.join(f'{v:g}' for v in space['lr'])}}}, "
        f"log std {{{', '.join(f'{v:g}' for v in space['log_std_init'])}}}, k {{{', '.join(map(str, space['k']))}}}"
        f"{mepol_claims.space_means_text(space)}; evaluated on seeds 0 to {len(saved['seeds']) - 1} by "
        f"{saved['yardstick']['samples']} fresh samples of 20 trajectories per seed, k = {saved['yardstick']['k']} "
        f"entropy normalized by ln of the free area; MEPOL: the claims study's evaluation, "
        f"[MEPOL page](docs/mepol.md#under-the-claims-protocol)):",
        "",
        "| method | chosen lr, log std, k, mean | normalized entropy | coverage | training wall time, all seeds |",
        "|---|---|---|---|---|",
    ]
    chosen = {**saved["chosen"], "mepol": saved["mepol_setting"]}
    lines += mepol_claims.method_lines(results, chosen, (*WEIGHTINGS, "mepol"), LABELS)
    return lines + mepol_claims.comparison_lines(results, COMPARISONS, LABELS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/pmaxent-team-mixture"), help="run directories")
    doc_blocks.add_results_options(parser, RESULTS, "study")
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "team-mixture", RESULTS, readme_lines)
    use_all_cpu_cores()
    study = mepol_claims.Study()
    claims = json.loads(mepol_claims.RESULTS.read_text())
    if claims["seeds"] != list(range(study.seeds)) or claims["tuning_seeds"] != list(study.tuning.seeds):
        raise SystemExit(f"{mepol_claims.RESULTS} is not of this study's seeds; rerun benchmarks/mepol_claims.py")
    tuning = tune_weightings(study, args.out)
    config = team_config(study, {}, (0,), "own-agent")
    saved = {
        **doc_blocks.provenance("benchmarks/team_mixture.py"),
        "horizon": study.horizon,
        "updates": study.updates,
        "space": tuning["space"],
        "tuning_seeds": tuning["seeds"],
        "seeds": list(range(study.seeds)),
        "yardstick": tuning["yardstick"],
        "offpolicy": mepol_claims.offpolicy_record(config, study.horizon),
        "tuning": tuning["rows"],
        "chosen": tuning["chosen"],
        "evaluation": evaluate(study, args.out, tuning["chosen"]),
        "mepol": claims["evaluation"]["mepol"],
        "mepol_setting": claims["chosen"]["mepol"],
    }
    print("\n".join(readme_lines(saved)))
    if args.save:
        doc_blocks.save_results("team-mixture", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
