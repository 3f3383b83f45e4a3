"""How every ``pmaxent`` subcommand reports bad input: a red ``error:`` line naming the problem
on standard error, no traceback, and exit status ``BAD_INPUT`` (2, the status typer/click give
a malformed command line, so a script sees one status for every kind of bad input)."""

from __future__ import annotations

import typer

BAD_INPUT = 2
"""Exit status of every subcommand on bad input (unknown environment, bad map, corrupt file...)."""


def bad_input(message: object) -> typer.Exit:
    """Print ``message`` as a user error; return the exit to raise (``raise bad_input(...)``)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=BAD_INPUT)
