"""``pmaxent collect``, ``pmaxent export`` and ``pmaxent offline``: datasets of a run, in OGBench's layout
too, and offline RL on them.

Plain typer-annotated functions; the main CLI registers them as commands. Each asks the run's
family (:mod:`pmaxent.families`) to do the job and prints its summary. ``--quiet`` hides the
progress bar; the summary is always printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from pmaxent.cli.errors import bad_input
from pmaxent.cli.options import option_fields, with_config_options
from pmaxent.datasets import DATASET_METHODS

_RUN_DIR = typer.Argument(
    ..., exists=True, file_okay=False, dir_okay=True, help="Run directory written by `pmaxent train`."
)


def _print(summary) -> None:
    table = Table(title=summary.title)
    for column in summary.columns:
        table.add_column(column)
    for row in summary.rows:
        table.add_row(*row)
    console = Console()
    console.print(table)
    if summary.note:
        console.print(summary.note)


def collect_command(
    run_dir: Annotated[Path, _RUN_DIR],
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            help=f"Dataset family to collect, repeatable: {', '.join(DATASET_METHODS)}. Default: the run's methods and "
            "random.",
        ),
    ] = None,
    trajectories: Annotated[int, typer.Option(min=1, help="Trajectories per agent (N); the paper uses 1.")] = 1,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace datasets that already exist.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Collect exploration datasets with the run's policies (one per method and seed) as Minari
    datasets in RUN/datasets, and write RUN/datasets.csv and Figures 2 and 8 in RUN/figures."""
    from pmaxent import families

    try:
        collected = families.collect_run(
            run_dir, method, trajectories=trajectories, overwrite=overwrite, progress=not quiet
        )
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        raise bad_input(error) from error
    _print(collected.summary)


def export_command(
    run_dir: Annotated[Path, _RUN_DIR],
    out: Annotated[Path | None, typer.Option(help="Output directory (default: RUN/ogbench).")] = None,
    method: Annotated[
        list[str] | None, typer.Option("--method", help="Dataset family, repeatable. Default: every collected one.")
    ] = None,
    trajectories: Annotated[int, typer.Option(min=1, help="Trajectories per agent (N) of the datasets.")] = 1,
) -> None:
    """Write the run's collected datasets (`pmaxent collect`) in OGBench's file layout, one .npz per
    method and seed, which ogbench.utils.load_dataset and OGBench's agents read unchanged."""
    from pmaxent import families

    try:
        written = families.export_run(run_dir, out or run_dir / "ogbench", method, trajectories=trajectories)
    except (ValueError, FileNotFoundError) as error:
        raise bad_input(error) from error
    for path in written:
        typer.echo(str(path))


def _offline_options(
    run_dir: Path = typer.Argument(
        ..., exists=True, file_okay=False, dir_okay=True, help="Run directory written by `pmaxent train`."
    ),
    seed: int = typer.Option(0, min=0, help="Seed of the learners (minibatch draws) and of the evaluation episodes."),
    method: list[str] | None = typer.Option(
        None, "--method", help="Dataset family, repeatable. Default: the run's methods and random."
    ),
    trajectories: int = typer.Option(1, min=1, help="Trajectories per agent (N) of the datasets to use."),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="A few hundred gradient steps and short evaluations (for tests), where the family has such a preset.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """The options of `pmaxent offline` besides the families' offline settings fields."""


def _offline_table(run_dir: Path, results) -> None:
    table = Table(title=f"offline success of {run_dir}, mean over goals (± std over seeds)")
    table.add_column("method")
    for name in results:
        table.add_column(name)
    methods = [m for m in DATASET_METHODS if any(m in r.success for r in results.values())]
    for method in methods:
        cells = []
        for result in results.values():
            per_seed = result.success[method].mean(axis=1)
            cells.append(f"{np.mean(per_seed):.3f} ± {np.std(per_seed):.3f}")
        table.add_row(method, *cells)
    Console().print(table)


def _offline_classes() -> dict[str, type]:
    from pmaxent import families

    return {
        family.name: family.offline_config_class
        for family in families.every()
        if family.offline_config_class is not None
    }


@with_config_options(_offline_classes(), _offline_options)
def offline_command(
    values: dict, run_dir: Path, seed: int, method: list[str] | None, trajectories: int, quick: bool, quiet: bool
) -> None:
    """Offline goal-reaching RL on the run's datasets for every goal; writes RUN/offline.csv and
    Figures 3 and 9 in RUN/figures.

    Tabular runs: Q-learning per goal cell (the paper) and value iteration on the data. Continuous
    runs: one goal-conditioned agent per dataset (GCIVL by default; d3rlpy's as a cross-check).
    """
    from pmaxent import families

    try:
        family = families.of_run(run_dir)
        own = option_fields(family.offline_config_class) if family.offline_config_class is not None else {}
        foreign = [name for name in values if name not in own]
        if foreign:
            names = ", ".join("--" + name.replace("_", "-") for name in foreign)
            raise ValueError(
                f"{names} {'does' if len(foreign) == 1 else 'do'} not apply to {run_dir}, a {family.name} run"
            )
        results = family.evaluate(
            run_dir, values, seed=seed, methods=method, trajectories=trajectories, quick=quick, progress=not quiet
        )
    except (ValueError, FileNotFoundError) as error:
        raise bad_input(error) from error
    _offline_table(run_dir, results)
