"""Rewrite the documentation's results from a reproduction's report, or check that they agree.

    python tools/readme_results.py runs/paper/report.md            # rewrite the paper's block
    python tools/readme_results.py runs/paper/report.md --check    # exit 1, printing the differing
                                                                   # lines, if the block disagrees

The documentation holds one generated block per suite, between ``<!-- BEGIN results: SUITE -->``
and ``<!-- END results: SUITE -->`` (SUITE: paper or continuous, read from the report's title),
in whichever of README.md and docs/**/*.md holds its markers (docs/paper.md and
docs/continuous.md; ``tools/doc_blocks.py`` finds them). The block is made only from the
report: its claims table with each claim's verdicts by configuration, and the continuous
suite's aggregates and offline success. CI runs the default reproduction on a fresh clone and
then this script with --check, so the documented numbers cannot drift from the code. (The
script keeps its name: the blocks it writes quote it.)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import doc_blocks  # this folder's, beside this script

from pmaxent.reports import CLAIMS_HEADING


def suite_of(report: str) -> str:
    return "continuous" if report.startswith("# Parallel maximum state entropy in continuous worlds") else "paper"


def _table_lines(report: str, heading: str) -> list[str]:
    """The first table after the line ``heading``, as its lines."""
    lines = report.split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


AGGREGATE_HEADING = "### Across worlds: interquartile mean (rliable), 95% stratified-bootstrap intervals"
OFFLINE_HEADING = "## Offline goal reaching"
"""The continuous report's sections quoted besides its claims (its aggregates across worlds and
its offline success per method)."""


def results_block(report: str) -> list[str]:
    """The block's lines for ``report`` (without the markers): the claims with their verdicts by
    configuration, and for the continuous suite its aggregates across worlds and offline success,
    each quoted from the report."""
    intro = re.sub(
        r"Run directory `[^`]*`; ", "", report.split("\n## ", 1)[0].splitlines()[2].strip()
    )  # where it ran is no result
    command = "pmaxent reproduce --suite continuous" if suite_of(report) == "continuous" else "pmaxent reproduce"
    lines = [
        f"Written by `python tools/readme_results.py RUN/report.md` from the report of `{command} --out RUN`. {intro}",
        "",
        *_table_lines(report, CLAIMS_HEADING),
    ]
    if f"\n{AGGREGATE_HEADING}\n" in report:
        lines += ["", f"Final policies' normalized entropy, {AGGREGATE_HEADING[4:].lower()}:", ""]
        lines += _table_lines(report, AGGREGATE_HEADING)
    if f"\n{OFFLINE_HEADING}\n" in report:
        lines += ["", "Offline goal reaching, mean success over goals (mean ± std over seeds):", ""]
        lines += _table_lines(report, OFFLINE_HEADING)
    return lines


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
