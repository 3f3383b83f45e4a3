"""Rewrite the README's results from a reproduction's report, or check that they agree.

    python tools/readme_results.py runs/paper/report.md            # rewrite README.md's block
    python tools/readme_results.py runs/paper/report.md --check    # exit 1, printing the differing
                                                                   # lines, if README.md disagrees

The README holds one generated block per suite, between ``<!-- BEGIN results: SUITE -->`` and
``<!-- END results: SUITE -->`` (SUITE: paper or continuous, read from the report's title). The
block is made only from the report: its claims table and its table of comparisons by
configuration with bootstrap intervals. CI runs the default reproduction on a fresh clone and
then this script with --check, so the README's numbers cannot drift from the code.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import re
import sys
from pathlib import Path

from pmaxent.statistics import COMPARISON_HEADING

README = Path(__file__).resolve().parent.parent / "README.md"


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


def results_block(report: str) -> list[str]:
    """The README's lines for ``report`` (without the markers)."""
    claims = _table_rows(report, "## Claims")
    comparisons = _table_rows(report, COMPARISON_HEADING)
    readings: dict[str, dict[str, list[str]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for label, world, m, *_, verdict in comparisons:
        readings[label][verdict].append(f"{world} m={m}")
    intro = re.sub(r"Run directory `[^`]*`; ", "", report.split("\n## ", 1)[0].splitlines()[2].strip())  # where it ran is no result
    command = "pmaxent reproduce --suite continuous" if suite_of(report) == "continuous" else "pmaxent reproduce"
    lines = [
        f"Written by `python tools/readme_results.py RUN/report.md` from the report of `{command} --out RUN`. {intro}",
        "",
        "| claim of the paper | holds here | measured | parallel against the best other method, configuration by configuration (95% bootstrap interval of the difference) |",
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


def _markers(suite: str) -> tuple[str, str]:
    return f"<!-- BEGIN results: {suite} -->", f"<!-- END results: {suite} -->"


def rewrite(readme: str, suite: str, block: list[str]) -> str:
    begin, end = _markers(suite)
    if begin not in readme or end not in readme:
        raise SystemExit(f"README.md has no block {begin} ... {end}")
    head, rest = readme.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(block) + "\n" + end + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="report.md of a reproduction")
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting; exit 1 on a difference")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    report = args.report.read_text()
    current = args.readme.read_text()
    updated = rewrite(current, suite_of(report), results_block(report))
    if not args.check:
        args.readme.write_text(updated)
        return 0
    if updated == current:
        print(f"README.md agrees with {args.report}")
        return 0
    print(f"README.md disagrees with {args.report} (- README, + fresh report):")
    sys.stdout.writelines(line for line in difflib.unified_diff(current.splitlines(True), updated.splitlines(True), "README.md", str(args.report), n=0))
    return 1


if __name__ == "__main__":
    sys.exit(main())
