"""The machinery every family's experiment suite shares: a resumable output directory, timed
stages, the final value of a learning curve, and claims with their verdicts (SPEC section 13):
per configuration the team against each other method by Welch's test, Holm's correction across
configurations, and "holds / does not hold / not enough evidence"."""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pmaxent.statistics import VERDICTS, compare, holm, verdicts

FINAL_FRACTION = 0.01
"""Final metrics are averaged over the last 1% of updates (at least one)."""


def run_name(env: str, agents: int) -> str:
    return f"{env}-m{agents}"


def prepare_reproduction(out_dir: str | Path, settings: dict) -> Path:
    """Create ``out_dir`` and record ``settings`` in it (reproduce_config.json); a directory that
    holds a reproduction with other settings is refused, so a re-run only resumes its own."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings_file, text = out / "reproduce_config.json", json.dumps(settings, indent=2)
    if settings_file.exists() and settings_file.read_text() != text:
        raise ValueError(
            f"{out} holds a reproduction with other settings (see {settings_file}); choose another output directory"
        )
    settings_file.write_text(text)
    return out


class Stages:
    """Wall time per stage, kept in timings.json so that resumed runs report the original times."""

    def __init__(self, path: Path):
        self.path = path
        self.times: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}

    def run(self, name: str, done: bool, fn: Callable[[], object]) -> None:
        if done:
            self.times.setdefault(name, {"seconds": None})["skipped_this_time"] = True
        else:
            start = time.perf_counter()
            fn()
            self.times[name] = {"seconds": round(time.perf_counter() - start, 2), "skipped_this_time": False}
        self.path.write_text(json.dumps(self.times, indent=2))


def final_metric(values: np.ndarray) -> np.ndarray:
    """Mean over the last FINAL_FRACTION of updates: [..., updates] -> [...]."""
    tail = max(1, int(round(values.shape[-1] * FINAL_FRACTION)))
    return values[..., -tail:].mean(axis=-1)


CLAIMS_HEADING = "## Claims"
CLAIMS_HEADER = ["| claim | verdicts by (world, m) | measured |", "|---|---|---|"]
CONFIGURATIONS_HEADING = "### By configuration: Welch's test, Holm's correction across configurations"
"""The reports' per-configuration table (tools/readme_results.py quotes the claims table above it)."""


def tested_rows(label: str, per_config: dict, others: tuple[str, ...]) -> list[dict]:
    """The team (``parallel``) against each of ``others`` in every configuration.

    per_config: (world, m) -> method -> values over the evaluation seeds. Each other method's
    comparisons are Holm-corrected across the configurations (:func:`pmaxent.statistics.compare`).
    Returns rows {label, world, m, other, parallel (values), comparison}.
    """
    rows = []
    for other in others:
        comparisons = compare(
            {key: np.asarray(v["parallel"], float) for key, v in per_config.items()},
            {key: np.asarray(v[other], float) for key, v in per_config.items()},
        )
        rows += [
            {"label": label, "world": key[0], "m": key[1], "other": other, "parallel": per_config[key]["parallel"],
             "comparison": comparison}
            for key, comparison in comparisons.items()
        ]  # fmt: skip
    return rows


def summary(verdicts: list[str]) -> str:
    """'2 holds, 1 not enough evidence': the verdicts counted, in the order of VERDICTS."""
    counts = collections.Counter(verdicts)
    return ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "not measured"


def configuration_verdicts(rows: list[dict]) -> list[str]:
    """One verdict per configuration (world, m) from all its tests in ``rows``: it holds where the
    team beats every method it is compared with, does not hold where it is significantly behind any."""
    per_config = collections.defaultdict(list)
    for row in rows:
        per_config[row["world"], row["m"]].append(row["comparison"].verdict)
    return [
        VERDICTS[1] if VERDICTS[1] in v else VERDICTS[0] if all(x == VERDICTS[0] for x in v) else VERDICTS[2]
        for v in per_config.values()
    ]


def tested_claim(text: str, rows: list[dict]) -> dict:
    """A claim's line: its configurations' verdicts counted, and per label (e.g. "(a) entropy") its own."""
    labels = list(dict.fromkeys(row["label"] for row in rows))
    measured = "; ".join(
        f"{label[4:]}: {summary(configuration_verdicts([r for r in rows if r['label'] == label]))}" for label in labels
    )
    return {"claim": text, "verdicts": summary(configuration_verdicts(rows)) if rows else "not measured",
            "measured": measured or "not measured"}  # fmt: skip


def shrinking_rows(per_config: dict, agents) -> list[dict]:
    """Claim (d) per world, that the gain per added agent shrinks with m: the second difference of the
    team's mean score over the three smallest m, D = (E[m3] - E[m2]) / (m3 - m2) - (E[m2] - E[m1]) /
    (m2 - m1), tested below 0 by a two-sided z-test on its standard error (independent runs per m),
    Holm-corrected across worlds. per_config: (world, m) -> the team's values over seeds."""
    from scipy import stats

    sizes = sorted(agents)[:3]
    if len(sizes) < 3:
        return []
    m1, m2, m3 = sizes
    weights = {m1: 1 / (m2 - m1), m2: -1 / (m3 - m2) - 1 / (m2 - m1), m3: 1 / (m3 - m2)}
    worlds = list(dict.fromkeys(world for world, _ in per_config))
    effects, p_values = [], []
    for world in worlds:
        values = {m: np.asarray(per_config[world, m], float) for m in sizes}
        effect = sum(w * values[m].mean() for m, w in weights.items())
        error = np.sqrt(sum(w**2 * values[m].var(ddof=1) / len(values[m]) for m, w in weights.items()))
        effects.append(effect)
        p_values.append(2 * stats.norm.sf(abs(effect) / error) if error > 0 else 1.0)
    adjusted = holm(p_values)
    # a negative second difference is the claim: verdicts() reads "ahead" as a positive effect
    verdicts_ = verdicts(-np.asarray(effects), adjusted)
    return [
        {"world": world, "effect": effect, "adjusted": q, "verdict": str(v)}
        for world, effect, q, v in zip(worlds, effects, adjusted, verdicts_, strict=True)
    ]


def shrinking_claim(text: str, rows: list[dict]) -> dict:
    return {
        "claim": text,
        "verdicts": summary([r["verdict"] for r in rows]) if rows else "not measured",
        "measured": "; ".join(f"{r['world']}: second difference {r['effect']:+.4f}" for r in rows)
        or "not measured: needs three team sizes",
    }


def claims_table(claims: list[dict]) -> list[str]:
    return [CLAIMS_HEADING, "", *CLAIMS_HEADER] + [
        f"| {c['claim']} | {c['verdicts']} | {c['measured']} |" for c in claims
    ]


def configuration_table(rows: list[dict], decimals: int = 3) -> list[str]:
    """The per-configuration tests: means, the difference with Welch's interval, Hedges' g, seeds
    won, Holm's p-value and the verdict."""
    lines = [
        CONFIGURATIONS_HEADING,
        "",
        "| claim | world | m | parallel: mean ± std | other | difference [95% CI] | Hedges' g | seeds won | "
        "p (Holm) | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c, values = row["comparison"], np.asarray(row["parallel"], float)
        lines.append(
            f"| {row['label']} | {row['world']} | {row['m']} | {values.mean():.{decimals}f} ± "
            f"{values.std():.{decimals}f} | {row['other']} | {c.effect:+.{decimals}f} [{c.interval[0]:+.{decimals}f}, "
            f"{c.interval[1]:+.{decimals}f}] | {c.standardized:+.2f} | {c.won}/{c.seeds} | {c.adjusted:.3g} | "
            f"{c.verdict} |"
        )
    return lines
