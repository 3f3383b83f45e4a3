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
``benchmarks/continuous_defaults.py``, ``benchmarks/bench_mepol.py``); those put this folder on
``sys.path`` to import it.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
import subprocess
import sys
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
