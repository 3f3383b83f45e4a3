"""The measurements behind the continuous defaults: parallel teams against the single agent in
gridworld-continuous under a few settings, with where each agent goes.

    python benchmarks/continuous_defaults.py [--table NAME] [--agents 4] [--seeds 0,1,2,3,4,5] [--setting k=15 ...]
    python benchmarks/continuous_defaults.py --readme  # the docs' block (docs/continuous.md) from the saved tables
    python benchmarks/continuous_defaults.py --check-readme  # exit 1, printing the differences, if it disagrees

For each setting (ContinuousTrainConfig fields changed from the defaults: the k-NN estimator's k
from 4 to 25, and the horizon 400 against the default 200) it trains the parallel team and the single agent
with K' = m trajectories, and prints the final normalized k-NN entropy and coverage (mean over
the last 1% of updates) of each method, the team's lead in entropy with its 95% bootstrap
interval and the seeds it leads in, and each parallel agent's share of its positions in the four
rooms (4 trajectories sampled after training), as digits 0-9 in the order bottom-left (the start
room), bottom-right, top-left, top-right: "3051" is an agent with 3/9 of its positions at home,
5/9 in the top-left room and 1/9 in the far top-right one.

A run saves its table, with the command, date, commit and machine, in
docs/continuous_defaults/NAME.json (``--table NAME``, default "settings") and rewrites the
``continuous-defaults`` block of docs/continuous.md from every saved table (:data:`TABLES`), so the
documentation quotes no figure of these runs by hand; ``tests/test_readme_results.py`` checks that
block against the files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)

from pmaxent.core.devices import use_all_cpu_cores  # noqa: E402

use_all_cpu_cores()

import numpy as np  # noqa: E402

from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.team import team_positions  # noqa: E402
from pmaxent.core.runs import run_training  # noqa: E402
from pmaxent.reports import final_metric  # noqa: E402
from pmaxent.statistics import difference_interval  # noqa: E402

SETTINGS = (
    *({"k": k} for k in (15, 25, 10, 7, 4)),
    {"k": 15, "horizon": 400},
)
ROOMS = ("bottom-left (start)", "bottom-right", "top-left", "top-right")
RESULTS = ROOT / "docs" / "continuous_defaults"
TABLES = ("settings", "lr_decay")
"""The saved tables the block shows, in its order: the k and horizon settings, and the step-size
decay over twelve seeds (``--table lr_decay --setting lr_decay=1 --setting lr_decay=0.998
--setting lr_decay=0.996 --seeds 0,...,11``)."""
HEADER = (
    "| setting | parallel entropy | single entropy | parallel - single (95% interval), seeds led | parallel coverage | "
    "single coverage | parallel agents' rooms (per seed) | seconds |",
    "|---|---|---|---|---|---|---|---|",
)
DEFAULTS_SHOWN = ("horizon", "lr", "lr_decay", "batch_size", "k", "hidden", "log_std_init", "updates")


def room_shares(positions: np.ndarray) -> np.ndarray:
    """positions [m, P, 2] -> [m, 4]: each agent's share of its positions in each room of
    GridWorldContinuous (quadrants around the central walls, in the order of ROOMS)."""
    room = (positions[..., 0] > 0).astype(int) + 2 * (positions[..., 1] > 0).astype(int)
    return np.stack([(room == r).mean(axis=-1) for r in range(4)], axis=-1)


def measure(setting: dict, agents: int, seeds: tuple[int, ...]) -> dict:
    config = ContinuousTrainConfig(agents=agents, seeds=seeds, methods=("parallel", "single"), **setting)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        run = run_training(config, out, progress=False, plot=False)
    seconds = time.perf_counter() - start
    row = {"setting": setting, "seconds": round(seconds, 1)}
    for i, method in enumerate(config.methods):
        row[method] = {
            "normalized_entropy": final_metric(run.metrics["normalized_entropy"][i]).round(3).tolist(),
            "coverage": final_metric(run.metrics["coverage"][i]).round(3).tolist(),
            "rooms": [
                room_shares(team_positions(run, method, seed_index=s, trajectories=4)).round(3).tolist()
                for s in range(len(seeds))
            ],
        }
    return row


def digits(shares) -> str:
    return " ".join("".join(str(int(round(9 * f))) for f in agent) for agent in shares)


def table_row(row: dict, defaults: dict) -> str:
    """One row of the table (the setting in bold where it is the default)."""
    p, s = row["parallel"], row["single"]
    label = ", ".join(f"{k}={v}" for k, v in row["setting"].items())
    cells = [f"**{label}**" if all(defaults.get(k) == v for k, v in row["setting"].items()) else label]
    for values in (p["normalized_entropy"], s["normalized_entropy"]):
        cells.append(f"{np.mean(values):.3f} ({' '.join(f'{v:.3f}' for v in values)})")
    lead = np.subtract(p["normalized_entropy"], s["normalized_entropy"])
    low, high = difference_interval(np.array(p["normalized_entropy"]), np.array(s["normalized_entropy"]))
    cells.append(f"{lead.mean():+.3f} ({low:+.3f}, {high:+.3f}), {int(np.sum(lead > 0))} of {len(lead)}")
    for values in (p["coverage"], s["coverage"]):
        cells.append(f"{np.mean(values):.3f}")
    cells.append(" / ".join(digits(shares) for shares in p["rooms"]))
    cells.append(str(row["seconds"]))
    return "| " + " | ".join(cells) + " |"


def _shown(value) -> str:
    """A default as the block shows it: None (the horizon) is the world's own."""
    return "the world's" if value is None else "-".join(map(str, value)) if isinstance(value, list) else str(value)


def readme_lines(tables: dict[str, dict]) -> list[str]:
    """The docs' block (docs/continuous.md), made only from the saved tables."""
    files = " and ".join(f"[{name}.json](docs/continuous_defaults/{name}.json)" for name in tables)
    lines = [
        f"Written by `python benchmarks/continuous_defaults.py --readme` from {files}; final values are means over the "
        "last 1% of updates."
    ]
    for table in tables.values():
        seeds = table["seeds"]
        lines += [
            "",
            f"`{table['command']}` ({doc_blocks.provenance_text(table)}; "
            f"m = {table['agents']}, seeds {seeds[0]} to {seeds[-1]}, the other settings the defaults: "
            + ", ".join(f"{k} {_shown(v)}" for k, v in table["defaults"].items())
            + "; bold: the default):",
            "",
            *HEADER,
            *(table_row(row, table["defaults"]) for row in table["rows"]),
        ]
    return lines + _repeated_settings(tables)


def _repeated_settings(tables: dict[str, dict]) -> list[str]:
    """Where two tables ran the same configuration: whether their common seeds ended equal."""

    def config(table, row):
        return json.dumps({**table["defaults"], **row["setting"], "agents": table["agents"]}, sort_keys=True)

    entries = [(name, table, row) for name, table in tables.items() for row in table["rows"]]
    lines = []
    for i, (name_a, table_a, row_a) in enumerate(entries):
        for name_b, table_b, row_b in entries[i + 1 :]:
            if name_a == name_b or config(table_a, row_a) != config(table_b, row_b):
                continue
            common = [s for s in table_a["seeds"] if s in table_b["seeds"]]
            verdicts = []
            for method, who in (("parallel", "the team's"), ("single", "the single agent's")):
                a = [row_a[method]["normalized_entropy"][table_a["seeds"].index(s)] for s in common]
                b = [row_b[method]["normalized_entropy"][table_b["seeds"].index(s)] for s in common]
                differing = [(s, x, y) for s, x, y in zip(common, a, b, strict=True) if x != y]
                verdicts.append(
                    f"{who} final entropies "
                    + (
                        "were equal"
                        if not differing
                        else f"differed in {len(differing)} of {len(common)} seeds (seed {differing[0][0]}: "
                        f"{differing[0][1]:.3f} and {differing[0][2]:.3f})"
                    )
                )
            label = ", ".join(f"{k}={v}" for k, v in row_a["setting"].items())
            label = (
                "the default" if all(table_a["defaults"].get(k) == v for k, v in row_a["setting"].items()) else label
            )
            lines += [
                "",
                f"The same configuration ({label}) ran in {name_a}.json with seeds {table_a['seeds'][0]} to "
                f"{table_a['seeds'][-1]} and in {name_b}.json with seeds {table_b['seeds'][0]} to "
                f"{table_b['seeds'][-1]}: for their {len(common)} common seeds {' and '.join(verdicts)}.",
            ]
    return lines


def load_tables() -> dict[str, dict]:
    return {
        name: json.loads((RESULTS / f"{name}.json").read_text())
        for name in TABLES
        if (RESULTS / f"{name}.json").exists()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=ContinuousTrainConfig.agents)
    parser.add_argument("--seeds", default="0,1,2,3,4,5", help="comma-separated training seeds")
    parser.add_argument(
        "--setting",
        action="append",
        help="only this setting, as FIELD=NUMBER[,FIELD=NUMBER] (repeatable; default: SETTINGS)",
    )
    parser.add_argument(
        "--table",
        default="settings",
        help=f"save the table as {RESULTS.relative_to(ROOT)}/TABLE.json (the docs show {', '.join(TABLES)})",
    )
    parser.add_argument(
        "--readme", action="store_true", help="only rewrite the docs' block (docs/continuous.md) from the saved tables"
    )
    parser.add_argument(
        "--check-readme",
        action="store_true",
        help="only check the docs' block (docs/continuous.md) against the saved tables (exit 1 if it differs)",
    )
    args = parser.parse_args()
    if args.readme or args.check_readme:
        sys.exit(
            0
            if doc_blocks.update(
                "continuous-defaults",
                readme_lines(load_tables()),
                str(RESULTS.relative_to(ROOT)),
                check=args.check_readme,
            )
            else 1
        )
    seeds = tuple(int(s) for s in args.seeds.split(","))
    settings = (
        SETTINGS
        if not args.setting
        else tuple(
            {name: json.loads(value) for name, value in (item.split("=") for item in text.split(","))}
            for text in args.setting
        )
    )
    defaults = {f.name: f.default for f in dataclasses.fields(ContinuousTrainConfig) if f.name in DEFAULTS_SHOWN}
    table = {
        **doc_blocks.provenance("benchmarks/continuous_defaults.py"),
        "agents": args.agents,
        "seeds": list(seeds),
        "defaults": defaults,
        "rows": [],
    }
    print(f"gridworld-continuous, m = {args.agents}, seeds {seeds}; other settings the defaults {defaults}")
    print("\n".join(HEADER))
    for setting in settings:
        table["rows"].append(measure(setting, args.agents, seeds))
        print(table_row(table["rows"][-1], defaults), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.table}.json").write_text(json.dumps(table, indent=1) + "\n")
    if args.table in TABLES:
        doc_blocks.update(
            "continuous-defaults", readme_lines(load_tables()), str(RESULTS.relative_to(ROOT)), check=False
        )


if __name__ == "__main__":
    main()
