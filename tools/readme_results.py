"""Rewrite the documentation's results from a reproduction's report, or check that they agree.

    python tools/readme_results.py runs/paper/report.md            # rewrite the paper's block
    python tools/readme_results.py runs/paper/report.md --check    # exit 1, printing the differing
                                                                   # lines, if the block disagrees

The documentation holds one generated block per suite, between ``<!-- BEGIN results: SUITE -->``
and ``<!-- END results: SUITE -->`` (SUITE: paper or continuous, read from the report's title),
in whichever of README.md and docs/**/*.md holds its markers (docs/paper.md and
docs/continuous.md; ``tools/doc_blocks.py`` finds them). The block is made only from the
report: its claims table and its table of comparisons by configuration with bootstrap
intervals. CI runs the default reproduction on a fresh clone and then this script with --check,
so the documented numbers cannot drift from the code. (The script keeps its name: the blocks
it writes quote it.)
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

import doc_blocks  # this folder's, beside this script

from pmaxent.statistics import COMPARISON_HEADING


def suite_of(report: str) -> str:
    return "continuous" if report.startswith("# Parallel maximum state entropy in continuous worlds") else "paper"


def _table_rows(report: str, heading: str) -> list[list[str]]:
    """Cells of the data rows of the first table after the line ``heading``."""
    lines = report.split(f"\n{heading}\n", 1)[1].splitlines()
    rows, started = [], False
    for line in lines:
        if line.startswith("|"):
            started = True
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif started:
            break
    return rows[1:]  # without the header


def _table_lines(report: str, heading: str) -> list[str]:
    """The first table after the line ``heading``, as its lines."""
    lines = report.split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def continuous_block(report: str) -> list[str]:
    """The continuous suite's block: its claims with their verdicts by configuration, the
    aggregates across worlds and the offline success, each quoted from the report."""
    from pmaxent.continuous.claims import AGGREGATE_HEADING, CLAIMS_HEADING

    intro = report.split("\n## ", 1)[0].splitlines()[2].strip()
    lines = [
        "Written by `python tools/readme_results.py RUN/report.md` from the report of `pmaxent reproduce --suite "
        f"continuous --out RUN`. {intro}",
        "",
        *_table_lines(report, CLAIMS_HEADING),
        "",
        f"Final policies' normalized entropy, {AGGREGATE_HEADING[4:].lower()}:",
        "",
        *_table_lines(report, AGGREGATE_HEADING),
    ]
    if f"\n{OFFLINE_HEADING}\n" in report:
        lines += ["", "Offline goal reaching, mean success over goals (mean ± std over seeds):", ""]
        lines += _table_lines(report, OFFLINE_HEADING)
    return lines


def results_block(report: str) -> list[str]:
    """The block's lines for ``report`` (without the markers)."""
    if suite_of(report) == "continuous":
        return continuous_block(report)
    claims = _table_rows(report, "## Claims")
    comparisons = _table_rows(report, COMPARISON_HEADING)
    readings: dict[str, dict[str, list[str]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for label, world, m, *_, verdict in comparisons:
        readings[label][verdict].append(f"{world} m={m}")
    intro = re.sub(
        r"Run directory `[^`]*`; ", "", report.split("\n## ", 1)[0].splitlines()[2].strip()
    )  # where it ran is no result
    lines = [
        f"Written by `python tools/readme_results.py RUN/report.md` from the report of `pmaxent reproduce --out RUN`. "
        f"{intro}",
        "",
        "| claim of the paper | holds here | measured | parallel against the best other method, configuration by "
        "configuration (95% bootstrap interval of the difference) |",
        "|---|---|---|---|",
    ]
    for claim, measured, verdict in claims:
        tag = claim[:3]
        parts = []
        for label, by_verdict in readings.items():
            if label.startswith(tag):
                counts = ", ".join(f"{len(by_verdict[v])} {v}" for v in ("higher", "tie", "lower") if by_verdict[v])
                exceptions = "; ".join(f"{v}: {', '.join(by_verdict[v])}" for v in ("tie", "lower") if by_verdict[v])
                parts.append(f"{label[4:]}: {counts}" + (f" ({exceptions})" if exceptions else ""))
        lines.append(f"| {claim} | {verdict} | {measured.split(';')[0]} | {'; '.join(parts) or '-'} |")
    return lines


OFFLINE_HEADING = "## Offline goal reaching"
"""The continuous report's section with the mean success per method (quoted in its block)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="report.md of a reproduction")
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting; exit 1 on a difference")
    parser.add_argument(
        "--file",
        "--readme",
        type=Path,
        default=None,
        help="the file holding the block (default: the one of README.md and docs/**/*.md with its markers)",
    )
    args = parser.parse_args(argv)
    report = args.report.read_text()
    agrees = doc_blocks.update(suite_of(report), results_block(report), str(args.report), args.check, args.file)
    return 0 if agrees else 1


if __name__ == "__main__":
    sys.exit(main())
