"""``pmaxent sweep``: a grid of settings x seeds from a sweep file, here or on a Ray cluster.

A plain typer-annotated function; the main CLI registers it. The ``--address`` option, also on
``pmaxent reproduce``, takes its help from :class:`pmaxent.sweep.cluster.Cluster`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pmaxent.cli.errors import bad_input
from pmaxent.cli.options import field_docs
from pmaxent.sweep.cluster import Cluster

ADDRESS_HELP = field_docs(Cluster)["address"]


def sweep_command(
    sweep_file: Annotated[
        Path,
        typer.Argument(help=escape("The sweep file (TOML): seeds, [base], [grid], [cluster]; see docs/cluster.md.")),
    ],
    out: Annotated[Path, typer.Option(help="Output directory: OUT/runs/NAME per run, OUT/sweep.csv, OUT/report.md.")],
    address: Annotated[str | None, typer.Option(help=ADDRESS_HELP)] = None,
    resume: Annotated[
        bool,
        typer.Option(help="Continue the interrupted sweep in OUT: finished runs are kept, the others resume."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Train every setting of a grid of config fields x values on its seeds, one run per setting
    and group of seeds (one Ray task each with --address), and write a table (OUT/sweep.csv) and a
    report with Welch's tests and Holm's correction (OUT/report.md)."""
    from pmaxent.core.runs import TrainingDiverged
    from pmaxent.sweep.runner import run_sweep
    from pmaxent.sweep.spec import read_sweep

    try:
        report = run_sweep(read_sweep(sweep_file), out, address=address, resume=resume, progress=not quiet)
    except (ValueError, FileExistsError, TrainingDiverged) as error:
        raise bad_input(error) from None
    except KeyboardInterrupt:
        raise bad_input(
            f"interrupted; finished runs and checkpoints are kept in {out}: continue with: pmaxent sweep {sweep_file} "
            f"--out {out} --resume"
        ) from None
    typer.echo(f"table: {out / 'sweep.csv'}")
    typer.echo(f"report: {report}")
