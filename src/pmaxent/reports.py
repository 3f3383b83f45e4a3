"""The machinery every family's experiment suite shares: a resumable output directory, timed
stages, the final value of a learning curve, and claims with their verdicts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pmaxent.statistics import SIGNIFICANCE, failure_note

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


def parallel_highest_claim(
    claim: str, per_config: dict[tuple[str, int], dict[str, np.ndarray]], decimals: int, extra: str = ""
) -> dict:
    """A claim that the parallel family scores highest in every configuration.

    per_config: (env, m) -> method (parallel, single, random) -> values over seeds.
    """
    wins, details, failures = 0, [], []
    for (env, m), values in per_config.items():
        best_other = max((values["single"], values["random"]), key=np.mean)
        highest = values["parallel"].mean() > best_other.mean()
        wins += highest
        means = " / ".join(f"{values[method].mean():.{decimals}f}" for method in ("single", "random"))
        details.append(f"{env} m={m}: {values['parallel'].mean():.{decimals}f} vs {means}")
        if not highest:
            failures.append((f"{env} m={m}", values["parallel"], best_other))
    note, significant = failure_note(failures)
    return {
        "claim": claim,
        "measured": f"highest in {wins}/{len(per_config)}; {extra}" + "; ".join(details) + "." + note,
        "holds": bool(wins == len(per_config)),
        "significant_failures": significant,
    }


def verdict(claim: dict) -> str:
    """'yes' when the claim holds in every configuration; otherwise '**no**', with whether any
    failure is statistically significant."""
    if claim["holds"]:
        return "yes"
    if claim.get("significant_failures") == 0:
        return f"**no** (no failure significant at {SIGNIFICANCE:.0%})"
    return "**no**"
