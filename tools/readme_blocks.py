"""The README's generated blocks: lines between ``<!-- BEGIN results: NAME -->`` and
``<!-- END results: NAME -->`` that a script writes from a report or a results file and that a
test (or CI) checks, so that no figure in them is typed by hand.

Used by ``tools/readme_results.py`` (the reproductions' blocks) and by the benchmarks whose
results the README quotes (``benchmarks/bench_baselines.py``, ``benchmarks/continuous_defaults.py``,
``benchmarks/bench_mepol.py``); those put this folder on ``sys.path`` to import it.
"""

from __future__ import annotations

import datetime
import difflib
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN results: {name} -->", f"<!-- END results: {name} -->"


def rewrite(readme: str, name: str, block: list[str]) -> str:
    """``readme`` with the lines between NAME's markers replaced by ``block``."""
    begin, end = markers(name)
    if begin not in readme or end not in readme:
        raise SystemExit(f"README.md has no block {begin} ... {end}")
    head, rest = readme.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(block) + "\n" + end + tail


def update(name: str, block: list[str], source: str, check: bool, readme: Path = README) -> bool:
    """Writes ``block`` into README's NAME block, or with ``check`` only compares, printing the
    differing lines (- README, + ``source``). Returns whether the README agreed (or now agrees)."""
    current = readme.read_text()
    updated = rewrite(current, name, block)
    if updated == current:
        print(f"README.md's {name} block agrees with {source}")
        return True
    if not check:
        readme.write_text(updated)
        print(f"README.md's {name} block rewritten from {source}")
        return True
    print(f"README.md's {name} block disagrees with {source} (- README, + {source}):")
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), updated.splitlines(True), "README.md", source, n=0))
    return False


def source_commit() -> str:
    """The checkout's commit, as a saved result records it ("-dirty" when the tree has changes)."""
    done = subprocess.run(["git", "-C", str(README.parent), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def provenance(script: str) -> dict:
    """What a saved result records of its run: the command (``script`` with this process's
    arguments, without --save), the date, the commit and the machine."""
    from pmaxent.core.devices import describe_machine

    command = " ".join(["python", script, *(arg for arg in sys.argv[1:] if arg != "--save")])
    return {"command": command, "date": datetime.date.today().isoformat(), "commit": source_commit(), "machine": describe_machine()}


def provenance_text(record: dict) -> str:
    """'2026-12-06, commit abc1234, AMD EPYC (AVX2, 2 cores, 2 JAX devices), JAX 0.10.2' from a
    record holding :func:`provenance`'s fields."""
    machine = record["machine"]
    return (f"{record['date']}, commit {record['commit']}, {machine['processor']} ({machine['isa']}, {machine['cores']} cores, "
            f"{len(machine['devices'])} JAX devices), JAX {machine['jax']}")
