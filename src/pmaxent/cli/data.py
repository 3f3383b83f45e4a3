"""``pmaxent collect`` and ``pmaxent offline``: datasets of a run and offline RL on them.

Plain typer-annotated functions; the main CLI registers them as commands. Each calls the
Python API (:func:`pmaxent.tabular.run_datasets.collect_run`, :func:`pmaxent.tabular.offline.evaluate_run`) and
prints a short summary. ``--quiet`` hides the progress bar; the summary is always printed.
"""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from pmaxent.cli.errors import bad_input
from pmaxent.cli.options import with_config_options
from pmaxent.datasets import METHODS, datasets_root
from pmaxent.tabular.run_datasets import collect_run, dataset_metrics
from pmaxent.tabular.offline import evaluate_run


class OfflineVariant(str, enum.Enum):
    paper = "paper"
    converged = "converged"
    both = "both"


_RUN_DIR = typer.Argument(..., exists=True, file_okay=False, dir_okay=True, help="Run directory written by `pmaxent train`.")


def _family(run_dir: Path) -> str:
    """The family of worlds a run directory was trained in."""
    from pmaxent import runs

    return runs.load_run(run_dir).config.family


def _collect_continuous(run_dir: Path, method, trajectories: int, overwrite: bool, quiet: bool) -> None:
    from pmaxent.continuous.datasets import collect_continuous_run

    collected = collect_continuous_run(run_dir, method, trajectories=trajectories, overwrite=overwrite, show_progress=not quiet)
    table = Table(title=f"datasets of {run_dir}")
    # a world without a finite feature volume (the Ant, most gym:ID worlds) reports raw entropy; one without coverage leaves it out
    normalized = all(np.isfinite(d.normalized_entropy) for group in collected.values() for d in group)
    covered = any(np.isfinite(d.coverage) for group in collected.values() for d in group)
    for column in ("method", "datasets", "episodes each", "normalized entropy (k-NN)" if normalized else "entropy (k-NN, nats)", *(("coverage",) if covered else ())):
        table.add_column(column)
    for family, group in collected.items():
        entropy = np.array([d.normalized_entropy if normalized else d.entropy for d in group])
        coverage = np.array([d.coverage for d in group])
        cells = (f"{coverage.mean():.3f} ± {coverage.std():.3f}",) if covered else ()
        table.add_row(family, str(len(group)), str(group[0].observations.shape[0]), f"{entropy.mean():.3f} ± {entropy.std():.3f}", *cells)
    Console().print(table)
    typer.echo(f"Minari root: {datasets_root(run_dir)} (set MINARI_DATASETS_PATH to it)")


def collect_command(
    run_dir: Annotated[Path, _RUN_DIR],
    method: Annotated[
        Optional[list[str]],
        typer.Option("--method", help=f"Dataset family to collect, repeatable: {', '.join(METHODS)}. Default: the run's methods and random."),
    ] = None,
    trajectories: Annotated[int, typer.Option(min=1, help="Trajectories per agent (N); the paper uses 1.")] = 1,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace datasets that already exist.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Collect exploration datasets with the run's policies (one per method and seed) as Minari
    datasets in RUN/datasets, and write RUN/datasets.csv and Figures 2 and 8 in RUN/figures."""
    try:
        if _family(run_dir) == "continuous":
            return _collect_continuous(run_dir, method, trajectories, overwrite, quiet)
        mdp, collected = collect_run(run_dir, method, trajectories=trajectories, overwrite=overwrite, show_progress=not quiet)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        raise bad_input(error) from error
    table = Table(title=f"datasets of {run_dir} ({mdp.name})")
    for column in ("method", "datasets", "episodes each", "normalized entropy", "support"):
        table.add_column(column)
    for family, group in collected.items():
        metrics = dataset_metrics(group, mdp)
        table.add_row(
            family, str(len(group)), str(group[0].n_episodes),
            f"{metrics.normalized_entropy.mean():.3f} ± {metrics.normalized_entropy.std():.3f}",
            f"{metrics.support.mean():.1f} ± {metrics.support.std():.1f}",
        )  # fmt: skip
    console = Console()
    console.print(table)
    console.print(f"Minari root: {datasets_root(run_dir)} (set MINARI_DATASETS_PATH to it for minari.load_dataset)")


def _offline_options(
    run_dir: Path = typer.Argument(..., exists=True, file_okay=False, dir_okay=True, help="Run directory written by `pmaxent train`."),
    variant: OfflineVariant = typer.Option(OfflineVariant.both, help="Tabular runs: paper: Q-learning as in the paper; converged: value iteration on the data; both."),
    seed: int = typer.Option(0, min=0, help="Seed of minibatch draws (tabular), of the learners (continuous) and of the evaluation episodes."),
    method: Optional[list[str]] = typer.Option(None, "--method", help="Dataset family, repeatable. Default: the run's methods and random."),
    trajectories: int = typer.Option(1, min=1, help="Trajectories per agent (N) of the datasets to use."),
    quick: bool = typer.Option(False, "--quick", help="Continuous runs: a few hundred gradient steps and short evaluations (for tests)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """The options of `pmaxent offline` besides the continuous settings dataclass's fields."""


def _offline_table(run_dir: Path, results) -> None:
    table = Table(title=f"offline success of {run_dir}, mean over goals (± std over seeds)")
    table.add_column("method")
    for name in results:
        table.add_column(name)
    families = [f for f in METHODS if any(f in r.success for r in results.values())]
    for family in families:
        cells = []
        for result in results.values():
            per_seed = result.success[family].mean(axis=1)
            cells.append(f"{np.mean(per_seed):.3f} ± {np.std(per_seed):.3f}")
        table.add_row(family, *cells)
    Console().print(table)


def _offline_classes() -> dict[str, type]:
    from pmaxent.continuous.offline import ContinuousOfflineConfig

    return {"continuous": ContinuousOfflineConfig}


@with_config_options(_offline_classes(), _offline_options)
def offline_command(values: dict, run_dir: Path, variant: OfflineVariant, seed: int, method: Optional[list[str]], trajectories: int, quick: bool, quiet: bool) -> None:
    """Offline goal-reaching RL on the run's datasets for every goal; writes RUN/offline.csv and
    Figures 3 and 9 in RUN/figures.

    Tabular runs: Q-learning per goal cell (the paper) and value iteration on the data. Continuous
    runs: one goal-conditioned d3rlpy agent per dataset (needs the offline extra).
    """
    try:
        if _family(run_dir) == "continuous":
            from pmaxent.continuous.offline import QUICK_OFFLINE, ContinuousOfflineConfig, evaluate_continuous_run

            config = dataclasses.replace(QUICK_OFFLINE if quick else ContinuousOfflineConfig(), **values)
            result = evaluate_continuous_run(run_dir, config, seed=seed, methods=method, trajectories=trajectories, show_progress=not quiet)
            results = {f"{config.algorithm} ({len(result.goals)} goals)": result}
        else:
            if values or quick:
                names = ", ".join("--" + name.replace("_", "-") for name in [*values, *(["quick"] if quick else [])])
                raise ValueError(f"{names} apply to continuous runs only; {run_dir} is a tabular run")
            results = evaluate_run(run_dir, variant.value, seed=seed, methods=method, trajectories=trajectories, show_progress=not quiet)
    except (ValueError, FileNotFoundError) as error:
        raise bad_input(error) from error
    _offline_table(run_dir, results)
