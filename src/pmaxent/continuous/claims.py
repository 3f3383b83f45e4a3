"""The continuous suite's claims and report (SPEC section 13): verdicts from tests, not from means.

Per claim, each (world, m) compares the team with another method over the evaluation seeds by
Welch's test; Holm's correction runs across the configurations of that comparison; a configuration
reads "holds" (the team significantly ahead), "does not hold" (significantly behind) or "not
enough evidence". Across worlds, rliable's interquartile mean and probability of improvement
summarise each team size with stratified-bootstrap intervals.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import platform
import shutil
from pathlib import Path

import jax
import numpy as np
from scipy import stats

from pmaxent.statistics import SIGNIFICANCE, VERDICTS, aggregate, compare, holm, mean_std, probability_of_improvement

CLAIMS_HEADING = "## Claims"
CONFIGURATIONS_HEADING = "### By configuration: Welch's test, Holm's correction across configurations"
"""The report's per-configuration table (tools/readme_results.py finds it by this heading)."""
AGGREGATE_HEADING = "### Across worlds: interquartile mean (rliable), 95% stratified-bootstrap intervals"

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
    """One row per claim label, other method and configuration, each label's tests Holm-corrected
    across its configurations."""
    rows = []
    keys = list(results["measures"])
    sources = {"policy": results["measures"], "dataset": results["datasets"]}
    for label, (source, measure, others) in CLAIMS.items():
        table = sources[source]
        for other in others:
            comparisons = compare(
                {key: table[key]["parallel"][measure] for key in keys},
                {key: table[key][other][measure] for key in keys},
            )
            rows += [_row(label, key, other, table[key]["parallel"][measure], c) for key, c in comparisons.items()]
    offline = results["offline"]
    for other in ("single", "random") if offline else ():
        comparisons = compare(
            {key: offline[key]["parallel"] for key in offline}, {key: offline[key][other] for key in offline}
        )
        rows += [_row("(c) offline success", key, other, offline[key]["parallel"], c) for key, c in comparisons.items()]
    return rows


def _row(label, key, other, values, comparison) -> dict:
    return {"label": label, "world": key[0], "m": key[1], "other": other, "parallel": values, "comparison": comparison}


def shrinking_rows(results: dict, agents: tuple[int, ...]) -> list[dict]:
    """Claim (d) per world: the second difference of the team's mean normalized entropy in m,
    D = (E[m3] - E[m2]) / (m3 - m2) - (E[m2] - E[m1]) / (m2 - m1), below 0 by a two-sided z-test on
    its standard error (independent runs per m), Holm-corrected across worlds."""
    sizes = sorted(agents)[:3]
    if len(sizes) < 3:
        return []
    m1, m2, m3 = sizes
    weights = {m1: 1 / (m2 - m1), m2: -1 / (m3 - m2) - 1 / (m2 - m1), m3: 1 / (m3 - m2)}
    worlds = list(dict.fromkeys(env for env, _ in results["measures"]))
    effects, p_values = [], []
    for env in worlds:
        values = {m: results["measures"][env, m]["parallel"]["normalized_entropy"] for m in sizes}
        effect = sum(w * values[m].mean() for m, w in weights.items())
        error = np.sqrt(sum(w**2 * values[m].var(ddof=1) / len(values[m]) for m, w in weights.items()))
        effects.append(effect)
        p_values.append(2 * stats.norm.sf(abs(effect) / error) if error > 0 else 1.0)
    adjusted = holm(p_values)
    rows = []
    for env, effect, q in zip(worlds, effects, adjusted, strict=True):
        verdict = VERDICTS[0] if q < SIGNIFICANCE and effect < 0 else VERDICTS[1] if q < SIGNIFICANCE else VERDICTS[2]
        rows.append({"world": env, "effect": effect, "adjusted": q, "verdict": verdict})
    return rows


def _summary(verdicts: list[str]) -> str:
    counts = collections.Counter(verdicts)
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "not measured"


def claims_table(rows: list[dict], shrinking: list[dict], offline_measured: bool) -> list[dict]:
    """One line per claim: its configurations' verdicts counted, and what was measured."""
    by_label = collections.defaultdict(list)
    for row in rows:
        by_label[row["label"]].append(row)

    def verdicts_of(prefix):
        # a configuration holds only where the team beats every other method, and does not hold where it
        # is significantly behind any of them
        per_config = collections.defaultdict(list)
        for label, group in by_label.items():
            if label.startswith(prefix):
                for row in group:
                    per_config[row["world"], row["m"]].append(row["comparison"].verdict)
        return [
            VERDICTS[1] if VERDICTS[1] in v else VERDICTS[0] if all(x == VERDICTS[0] for x in v) else VERDICTS[2]
            for v in per_config.values()
        ]

    def tested(tag):
        labels = [label for label in by_label if label.startswith(tag)]
        measured = "; ".join(f"{label[4:]}: {_summary(verdicts_of(label))}" for label in labels)
        return {"claim": CLAIM_TEXT[tag], "verdicts": _summary(verdicts_of(tag)), "measured": measured}

    offline = {
        "claim": CLAIM_TEXT["(c)"],
        "verdicts": _summary(verdicts_of("(c)")) if offline_measured else "not measured",
        "measured": "mean success over goals"
        if offline_measured
        else "not measured: needs the offline extra (pip install 'pmaxent[offline]')",
    }
    per_agent = {
        "claim": CLAIM_TEXT["(d)"],
        "verdicts": _summary([r["verdict"] for r in shrinking]) if shrinking else "not measured",
        "measured": "; ".join(f"{r['world']}: second difference {r['effect']:+.4f}" for r in shrinking)
        or "not measured: needs three team sizes",
    }
    return [tested("(a)"), tested("(b)"), offline, per_agent, tested("(e)")]


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


def configuration_table(rows: list[dict]) -> list[str]:
    lines = [
        CONFIGURATIONS_HEADING,
        "",
        "| claim | world | m | parallel: mean ± std | other | difference [95% CI] | Hedges' g | seeds won | "
        "p (Holm) | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c = row["comparison"]
        lines.append(
            f"| {row['label']} | {row['world']} | {row['m']} | {mean_std(row['parallel'])} | {row['other']} | "
            f"{c.effect:+.3f} [{c.interval[0]:+.3f}, {c.interval[1]:+.3f}] | {c.standardized:+.2f} | "
            f"{c.won}/{c.seeds} | {c.adjusted:.3g} | {c.verdict} |"
        )
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
    shrinking = shrinking_rows(results, config.agents)
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
        CLAIMS_HEADING,
        "",
        "| claim | verdicts by (world, m) | measured |",
        "|---|---|---|",
    ]
    for claim in claims_table(rows, shrinking, bool(results["offline"])):
        lines.append(f"| {claim['claim']} | {claim['verdicts']} | {claim['measured']} |")
    lines += ["", *configuration_table(rows), "", *aggregate_lines(results, config.agents)]
    if shrinking:
        lines += ["", "### (d) by world: second difference of the team's mean normalized entropy in m", ""]
        lines += [
            f"- {r['world']}: {r['effect']:+.4f}, p (Holm) {r['adjusted']:.3g}: {r['verdict']}" for r in shrinking
        ]
    lines += [
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
            f"The datasets of the first {config.offline_seeds} seeds of the teams of {max(config.agents)}, relabelled "
            f"for every goal; one goal-conditioned d3rlpy {offline_config.algorithm} agent per dataset, "
            f"{offline_config.steps} gradient steps; success within {offline_config.goal_radius} of the goal.",
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


def _space_text(space) -> str:
    return ", ".join(
        f"{f.name} {{{', '.join(f'{v:g}' for v in getattr(space, f.name))}}}" for f in dataclasses.fields(space)
    )


def _same(row: dict, setting: dict) -> bool:
    return all(row[name] == value for name, value in setting.items())
