"""The documentation's generated blocks: lines between ``<!-- BEGIN results: NAME -->`` and
``<!-- END results: NAME -->`` that a script writes from a report or a results file and that a
test (or CI) checks, so that no figure in them is typed by hand.

A block lives in exactly one of the documentation's Markdown files (README.md or a page under
docs/, the MkDocs site's sources): :func:`find` looks for its markers there, so a block moves
with its page and no script names the file. The scripts write links relative to the repository
root (``docs/mepol/results.json``); :func:`relink` turns them into links relative to the file
that holds the block (``mepol/results.json`` in docs/mepol.md), so they work on GitHub and in
the built site alike.

Used by ``tools/readme_results.py`` (the reproductions' blocks) and by the benchmarks whose
results the documentation quotes (``benchmarks/bench_baselines.py``,
``benchmarks/continuous_defaults.py``, ``benchmarks/bench_mepol.py`` and others); those put this
folder on ``sys.path`` to import it. A benchmark that keeps its results in one JSON file under
docs/ declares ``--save``, ``--readme`` and ``--check-readme`` with :func:`add_results_options`,
answers the last two with :func:`handle_readme_options` and saves with :func:`save_results`.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN results: {name} -->", f"<!-- END results: {name} -->"


def documents(root: Path = ROOT) -> list[Path]:
    """The files a block may live in: README.md and every Markdown file under docs/."""
    return [path for path in [root / "README.md", *sorted((root / "docs").rglob("*.md"))] if path.is_file()]


def find(name: str, root: Path = ROOT) -> Path:
    """The one documentation file that holds NAME's block (both markers); refuses none or several."""
    begin, end = markers(name)
    holders = [path for path in documents(root) if begin in (text := path.read_text()) and end in text]
    if not holders:
        raise SystemExit(f"no block {begin} ... {end} in README.md or docs/**/*.md")
    if len(holders) > 1:
        raise SystemExit(
            f"block {name} is in {len(holders)} files, it must be in one: "
            + ", ".join(str(p.relative_to(root)) for p in holders)
        )
    return holders[0]


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def relink(block: list[str], holder: Path, root: Path = ROOT) -> list[str]:
    """``block`` with its Markdown links' targets, written relative to ``root``, made relative to
    ``holder``'s folder. Links with a scheme, an anchor or an absolute path stay as they are, and
    so does everything in a file outside ``root``."""
    try:
        folder = holder.resolve().parent.relative_to(root.resolve())
    except ValueError:
        return block

    def target(match: re.Match) -> str:
        link = match.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", link) or link.startswith(("#", "/")):
            return match.group(0)
        return "](" + Path(os.path.relpath(link, folder)).as_posix() + ")"

    return [_LINK.sub(target, line) for line in block]


def rewrite(text: str, name: str, block: list[str]) -> str:
    """``text`` with the lines between NAME's markers replaced by ``block``."""
    begin, end = markers(name)
    if begin not in text or end not in text:
        raise SystemExit(f"no block {begin} ... {end}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(block) + "\n" + end + tail


def update(name: str, block: list[str], source: str, check: bool, path: Path | None = None) -> bool:
    """Writes ``block`` (links relative to the repository root) into NAME's block, in ``path`` or
    else the documentation file that holds it (:func:`find`); with ``check`` only compares,
    printing the differing lines (- the file, + ``source``). Returns whether the file agreed (or
    now agrees)."""
    path = path or find(name)
    shown = str(path.relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)
    current = path.read_text()
    updated = rewrite(current, name, relink(block, path))
    if updated == current:
        print(f"{shown}'s {name} block agrees with {source}")
        return True
    if not check:
        path.write_text(updated)
        print(f"{shown}'s {name} block rewritten from {source}")
        return True
    print(f"{shown}'s {name} block disagrees with {source} (- {shown}, + {source}):")
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), updated.splitlines(True), shown, source, n=0))
    return False


def source_commit() -> str:
    """The checkout's commit, as a saved result records it ("-dirty" when the tree has changes)."""
    done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def provenance(script: str) -> dict:
    """What a saved result records of its run: the command (``script`` with this process's
    arguments, without --save), the date, the commit and the machine."""
    from pmaxent.core.devices import describe_machine

    command = " ".join(["python", script, *(arg for arg in sys.argv[1:] if arg != "--save")])
    return {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "commit": source_commit(),
        "machine": describe_machine(),
    }


def provenance_text(record: dict) -> str:
    """'2026-12-06, commit abc1234, AMD EPYC (AVX2, 2 cores, 2 JAX devices), JAX 0.10.2' from a
    record holding :func:`provenance`'s fields."""
    machine = record["machine"]
    return (
        f"{record['date']}, commit {record['commit']}, {machine['processor']} ({machine['isa']}, {machine['cores']} "
        f"cores, {len(machine['devices'])} JAX devices), JAX {machine['jax']}"
    )


def add_results_options(
    parser: argparse.ArgumentParser, results: Path, what: str = "results", save_help: str | None = None
) -> None:
    """Adds a benchmark's three options for its results file ``results`` (a JSON file under the
    repository root) to ``parser``: ``--save`` ("keep the WHAT in docs/...", or ``save_help`` when
    the script's --save keeps more than that file), ``--readme`` (only rewrite the docs' block from
    the saved WHAT) and ``--check-readme`` (only check the block, exit 1 if it differs); ``what``
    names the file's contents in the help texts ("rows", "table", "study", ...)."""
    parser.add_argument(
        "--save", action="store_true", help=save_help or f"keep the {what} in {results.relative_to(ROOT)}"
    )
    parser.add_argument("--readme", action="store_true", help=f"only rewrite the docs' block from the saved {what}")
    parser.add_argument("--check-readme", action="store_true", help="only check the docs' block (exit 1 if it differs)")


def handle_readme_options(
    args: argparse.Namespace, name: str, results: Path, readme_lines: Callable[[dict], list[str]]
) -> None:
    """Does nothing unless ``args`` asks for ``--readme`` or ``--check-readme``; then loads the saved
    ``results`` file, rewrites NAME's block from ``readme_lines`` of it (with --check-readme only
    compares, see :func:`update`) and exits the process: status 0 if the block agreed or was
    rewritten, 1 if --check-readme found it different."""
    if not (args.readme or args.check_readme):
        return
    saved = json.loads(results.read_text())
    ok = update(name, readme_lines(saved), str(results.relative_to(ROOT)), args.check_readme)
    sys.exit(0 if ok else 1)


def save_results(name: str, results: Path, saved: dict, readme_lines: Callable[[dict], list[str]]) -> None:
    """Writes ``saved`` to the ``results`` file as indented JSON (creating its folder) and rewrites
    NAME's block in the documentation from ``readme_lines(saved)``, the block naming ``results``
    (relative to the repository root) as its source: what a benchmark's ``--save`` does."""
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(saved, indent=1) + "\n")
    update(name, readme_lines(saved), str(results.relative_to(ROOT)), check=False)
