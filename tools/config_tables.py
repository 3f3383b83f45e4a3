"""Writes the documentation's tables of a config dataclass's fields (key, default, meaning) from
the dataclass, or with --check only compares them (exit 1, printing the differing lines).

A default lives in its config dataclass and its meaning in the field's docstring; a table in the
docs is a generated block (``<!-- BEGIN results: NAME -->`` ... ``<!-- END results: NAME -->``,
see ``tools/doc_blocks.py``) named in :data:`TABLES`. A row shows the field's key in backticks,
its default (``none`` for None; numbers plainly, 1.0 as 1; or the X of a "(default: X)" in its
docstring) and its docstring without that part, lower-cased and without its final period.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import doc_blocks

from pmaxent.cli.options import field_docs
from pmaxent.sweep.cluster import Cluster

TABLES: dict[str, tuple[type, tuple[str, ...]]] = {
    "cluster-config": (Cluster, ("address",)),  # the address is given on the command line, not in the file
}
"""Block name: (the dataclass, the fields the table leaves out)."""

COMMAND = "python tools/config_tables.py"
_DEFAULT = "(default: "


def split_default(doc: str) -> tuple[str, str | None]:
    """A field's docstring without its "(default: X)" part, and X (None without one)."""
    start = doc.find(_DEFAULT)
    if start < 0:
        return doc, None
    depth, end = 1, start + len(_DEFAULT)
    while end < len(doc) and depth:
        depth += {"(": 1, ")": -1}.get(doc[end], 0)
        end += 1
    if depth:
        raise ValueError(f"unbalanced parentheses in {doc!r}")
    return (doc[:start].rstrip() + doc[end:]).strip(), doc[start + len(_DEFAULT) : end - 1].strip()


def shown(value: object) -> str:
    """A default as the table shows it: none, true/false, 1 for 1.0, the value otherwise."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def meaning(doc: str) -> str:
    """A docstring as a table cell: first letter lower-case (unless its word is an acronym, CPUs,
    JAX), no final period, ``|`` escaped."""
    if doc[:1].isupper() and not doc[1:2].isupper():
        doc = doc[0].lower() + doc[1:]
    return doc.removesuffix(".").replace("|", "\\|")


def table(cls: type, exclude: tuple[str, ...] = ()) -> list[str]:
    """The Markdown table of ``cls``'s fields (less ``exclude``)."""
    docs = field_docs(cls)
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for field in dataclasses.fields(cls):
        if field.name in exclude:
            continue
        if field.name not in docs:
            raise ValueError(f"{cls.__name__}.{field.name} has no docstring")
        text, stated = split_default(docs[field.name])
        if stated is None:
            if field.default is not dataclasses.MISSING:
                stated = shown(field.default)
            elif field.default_factory is not dataclasses.MISSING:
                stated = shown(field.default_factory())
            else:
                stated = "required"
        lines.append(f"| `{field.name}` | {stated} | {meaning(text)} |")
    return lines


def source(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def block(name: str) -> list[str]:
    """NAME's block: a line saying where it comes from, then the table."""
    cls, exclude = TABLES[name]
    lead = f"Written by `{COMMAND}` from the defaults and docstrings of `{source(cls)}`'s fields:"
    return [lead, "", *table(cls, exclude)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"the blocks (default: all: {', '.join(TABLES)})")
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting; exit 1 on a difference")
    parser.add_argument(
        "--file", type=Path, default=None, help="the file holding the blocks (default: the one with each's markers)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in TABLES]
    if unknown:
        parser.error(f"unknown blocks {', '.join(unknown)}; known: {', '.join(TABLES)}")
    agree = [
        doc_blocks.update(name, block(name), source(TABLES[name][0]), args.check, args.file)
        for name in args.names or TABLES
    ]
    return 0 if all(agree) else 1


if __name__ == "__main__":
    sys.exit(main())
