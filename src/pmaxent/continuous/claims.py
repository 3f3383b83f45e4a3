"""The continuous suite's claims and report (SPEC section 13): verdicts from tests, not from means.

Per claim, each (world, m) compares the team with another method over the evaluation seeds by
Welch's test; Holm's correction runs across the configurations of that comparison; a configuration
reads "holds" (the team significantly ahead), "does not hold" (significantly behind) or "not
enough evidence". Across worlds, rliable's interquartile mean and probability of improvement
summarise each team size with stratified-bootstrap intervals.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
from pathlib import Path

import jax
import numpy as np

from pmaxent.reports import (
    claims_table,
    configuration_table,
    shrinking_claim,
    shrinking_rows,
    tested_claim,
    tested_rows,
)
from pmaxent.statistics import SIGNIFICANCE, aggregate, mean_std, probability_of_improvement

AGGREGATE_HEADING = "### Across worlds: interquartile mean (rliable), 95% stratified-bootstrap intervals"
"""Quoted in the docs' block by tools/readme_results.py (which names it too: tools import no suite)."""

CLAIMS = {
    "(a) entropy": ("policy", "normalized_entropy", ("single",)),
    "(a) coverage": ("policy", "coverage", ("single",)),
    "(b) dataset entropy": ("dataset", "normalized_entropy", ("single", "random")),
    "(e) entropy": ("policy", "normalized_entropy", ("latent",)),
}
"""Label -> (source, measure, the methods the team must beat)."""

CLAIM_TEXT = {
    "(a)": "(a) a team's final policies reach higher entropy and coverage than the single agent with K' = m",
    "(b)": "(b) the team's datasets have higher k-NN entropy than the single agent's and the random policy's",
    "(c)": "(c) offline goal reaching on the team's datasets succeeds more often than on the others'",
    "(d)": "(d) the entropy gained per added agent shrinks as m grows",
    "(e)": "(e) a team's final policies reach higher entropy than one network with a latent code per trajectory "
    "(K' = m): more than a mixture of modes",
}


def configuration_rows(results: dict) -> list[dict]:
    """One row per claim label, other method and configuration, each label's tests against each
    other method Holm-corrected across the configurations."""
    rows = []
    sources = {"policy": results["measures"], "dataset": results["datasets"]}
    for label, (source, measure, others) in CLAIMS.items():
        table = sources[source]
        per_config = {key: {method: values[measure] for method, values in table[key].items()} for key in table}
        rows += tested_rows(label, per_config, others)
    if results["offline"]:
        rows += tested_rows("(c) offline success", results["offline"], ("single", "random"))
    return rows


def shrinking(results: dict, agents) -> list[dict]:
    """Claim (d) per world, on the final policies' normalized entropy (:func:`pmaxent.reports.shrinking_rows`)."""
    team = {key: values["parallel"]["normalized_entropy"] for key, values in results["measures"].items()}
    return shrinking_rows(team, agents)


def continuous_claims(rows: list[dict], shrinking_per_world: list[dict], offline_measured: bool) -> list[dict]:
    """One line per claim: its configurations' verdicts counted, and what was measured."""

    def of(tag):
        return [row for row in rows if row["label"].startswith(tag)]

    offline = tested_claim(CLAIM_TEXT["(c)"], of("(c)"))
    if offline_measured:
        offline["measured"] = "mean success over goals; " + offline["measured"]
    else:
        offline["measured"] = "not measured: this run has no offline stage"
    return [
        tested_claim(CLAIM_TEXT["(a)"], of("(a)")),
        tested_claim(CLAIM_TEXT["(b)"], of("(b)")),
        offline,
        shrinking_claim(CLAIM_TEXT["(d)"], shrinking_per_world),
        tested_claim(CLAIM_TEXT["(e)"], of("(e)")),
    ]


def aggregate_lines(results: dict, agents) -> list[str]:
    """Per m, each method's IQM of the final policies' normalized entropy over seeds x worlds, and
    the probability that the team beats the single agent, and the single agent with latent modes."""
    worlds = list(dict.fromkeys(env for env, _ in results["measures"]))
    lines = [
        AGGREGATE_HEADING,
        "",
        "| m | parallel | single | latent | random | P(parallel > single) | P(parallel > latent) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in agents:
        scores = {
            method: np.stack([results["measures"][env, m][method]["normalized_entropy"] for env in worlds], axis=1)
            for method in ("parallel", "single", "latent", "random")
        }
        iqm = aggregate(scores)
        cells = [f"{iqm[x][0]:.3f} [{iqm[x][1]:.3f}, {iqm[x][2]:.3f}]" for x in scores]
        for other in ("single", "latent"):
            p, low, high = probability_of_improvement(scores["parallel"], scores[other])
            cells.append(f"{p:.2f} [{low:.2f}, {high:.2f}]")
        lines.append(f"| {m} | {' | '.join(cells)} |")
    return lines


def write_continuous_report(out: Path, config, results: dict, pictures: dict[str, Path]) -> Path:
    """OUT/report.md: the claims with their verdicts, the tests by configuration, the aggregates,
    the tuning, the measures and the settings.

    Args:
        config: the suite's settings (a ContinuousSuiteConfig).
        results: the suite's results (:func:`pmaxent.continuous.suite.suite_results`).
        pictures: world -> the picture of its largest team's first evaluation seed.
    """
    from pmaxent.continuous.tuning import TUNED_METHODS

    seeds = results["seeds"]
    rows = configuration_rows(results)
    per_world = shrinking(results, config.agents)
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    tuning = config.tuning
    lines = [
        "# Parallel maximum state entropy in continuous worlds",
        "",
        f"Teams of m agents (parallel, {config.policy} policy), one agent with K' = m trajectories (single), one "
        "network with a latent code per trajectory (latent, K' = m) and uniform random actions (random); "
        f"{config.updates} updates of B = {config.batch_size} team samples for "
        f"every method. Each method tuned alike: {tuning.budget} settings drawn from the grid "
        f"{_space_text(tuning.space)}, at m = {config.tune_agents} on tuning seeds "
        f"{', '.join(map(str, tuning.seeds))}. Evaluated on {len(seeds)} other seeds ({seeds[0]} to {seeds[-1]}) by "
        f"{config.measure.samples} fresh team samples per seed: k-NN entropy (k = {config.measure.k}, every point) "
        "normalized by ln of the free area, and coverage per team sample. Verdicts: Welch's test, Holm's correction "
        f"across configurations, level {SIGNIFICANCE}.",
        "",
        *claims_table(continuous_claims(rows, per_world, bool(results["offline"]))),
    ]
    lines += ["", *configuration_table(rows), "", *aggregate_lines(results, config.agents)]
    if per_world:
        lines += ["", "### (d) by world: second difference of the team's mean normalized entropy in m", ""]
        lines += [
            f"- {r['world']}: {r['effect']:+.4f}, p (Holm) {r['adjusted']:.3g}: {r['verdict']}" for r in per_world
        ]
    from pmaxent.plots.training import plot_checkpoint_curves

    plot_checkpoint_curves(results["curves"], figures / "curves.png")
    lines += [
        "",
        "## Learning curves by fresh rollouts",
        "",
        f"The parameters after every {_chunk_text(config)} updates, measured as the final ones are but on "
        f"{config.measure.curve_samples} fresh team samples per seed; mean and std over the evaluation seeds.",
        "",
        "![learning curves](figures/curves.png)",
        "",
        "## Tuning",
        "",
        "Each method's chosen setting (highest mean yardstick entropy over the tuning seeds) and that mean; every "
        "setting tried is in OUT/tuning/WORLD/tuning.json.",
        "",
        "| world | method | lr | lr_decay | log_std_init | k | tuning entropy (nats) |",
        "|---|---|---|---|---|---|---|",
    ]
    for env, result in results["tunings"].items():
        for method in TUNED_METHODS:
            chosen = result["chosen"][method]
            mean = np.mean([r["entropy"] for r in result["rows"] if r["method"] == method and _same(r, chosen)])
            lines.append(
                f"| {env} | {method} | {chosen['lr']:g} | {chosen['lr_decay']:g} | {chosen['log_std_init']:g} | "
                f"{chosen['k']} | {mean:.3f} |"
            )
    lines += [
        "",
        "## Measures",
        "",
        "Final policies (fresh rollouts) and datasets, normalized k-NN entropy and coverage, and the final policies' "
        "mean k-NN KL divergence between two agents (nats; about 0 where the agents are one policy), mean ± std over "
        "seeds.",
        "",
        "| world | m | method | policy entropy | policy coverage | agents' KL | dataset entropy | dataset coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (env, m), by_method in results["measures"].items():
        for method, values in by_method.items():
            data = results["datasets"][env, m][method]
            lines.append(
                f"| {env} | {m} | {method} | {mean_std(values['normalized_entropy'])} | {mean_std(values['coverage'])} "
                f"| {mean_std(values['divergence'])} | {mean_std(data['normalized_entropy'])} | "
                f"{mean_std(data['coverage'])} |"
            )
    if results["offline"]:
        offline_config = config.offline
        lines += [
            "",
            "## Offline goal reaching",
            "",
            f"The datasets of the first {config.offline_seeds} seeds of the teams of {max(config.agents)}; one "
            f"goal-conditioned {offline_config.algorithm} agent per dataset, trained on states the dataset reached "
            f"as goals, {offline_config.steps} gradient steps; judged on every goal of the world, acting at "
            f"temperature {offline_config.temperature}; success within {offline_config.goal_radius} of the goal.",
            "",
            "| world | m | method | mean success over goals |",
            "|---|---|---|---|",
        ]
        for (env, m), values in results["offline"].items():
            lines += [f"| {env} | {m} | {method} | {mean_std(values[method])} |" for method in values]
    lines += ["", "## Where the team goes (evaluation seed " + str(seeds[0]) + ")", ""]
    for env, source in pictures.items():
        m = max(config.agents)
        if source.exists():
            picture = figures / f"team_{env}-m{m}.png"
            shutil.copyfile(source, picture)
            lines += [f"![{env}, m = {m}](figures/{picture.name})", ""]
    timings = json.loads((out / "timings.json").read_text()) if (out / "timings.json").exists() else {}
    total = sum(t["seconds"] or 0 for t in timings.values())
    lines += [
        "",
        "## Settings",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {len(jax.devices())} JAX devices "
        f"({jax.default_backend()}), JAX {jax.__version__}. Stage times add up to {total:.0f} s.",
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _chunk_text(config) -> str:
    from pmaxent.continuous.config import ContinuousTrainConfig

    return str(min(ContinuousTrainConfig.chunk, config.updates))


def _space_text(space) -> str:
    return ", ".join(
        f"{f.name} {{{', '.join(f'{v:g}' for v in getattr(space, f.name))}}}" for f in dataclasses.fields(space)
    )


def _same(row: dict, setting: dict) -> bool:
    return all(row[name] == value for name, value in setting.items())
