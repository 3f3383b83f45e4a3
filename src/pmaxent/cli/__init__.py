"""The ``pmaxent`` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import dataclasses
import enum
import gc
from pathlib import Path
from typing import Optional

import typer

from pmaxent.cli.errors import bad_input
from pmaxent.cli.options import option_fields, with_config_options
from pmaxent.tabular import ENV_NAMES

app = typer.Typer(
    help="Parallel maximum state entropy exploration: train teams of agents, collect datasets, run offline RL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    compile_cache: bool = typer.Option(
        True, "--compile-cache/--no-compile-cache", help="Reuse compiled programs across runs (in $PMAXENT_COMPILATION_CACHE, default ~/.cache/pmaxent/jax; 'off' there disables it too)."
    ),
):
    """Parallel maximum state entropy exploration: train teams of agents, collect datasets, run offline RL."""
    if compile_cache:
        from pmaxent.devices import use_compilation_cache

        use_compilation_cache()


def _fail(message: str) -> None:
    raise bad_input(message)


def _load_layout(map_file: Path) -> tuple[str, ...]:
    if not map_file.exists():
        _fail(f"map file {map_file} does not exist")
    return tuple(line.strip() for line in map_file.read_text().splitlines() if line.strip())


@app.command()
def show(
    env: str = typer.Argument(..., help=f"Environment: one of {', '.join(ENV_NAMES)}."),
    output: Path = typer.Option(Path("map.png"), "-o", "--output", help="PNG file to write."),
    map_file: Optional[Path] = typer.Option(None, "--map", help="A text map file ('F' floor, 'S' start, '-' wall) instead of ENV."),
    goal: Optional[int] = typer.Option(None, help="Mark this cell as a goal."),
):
    """Draw an environment's map (the paper's Figures 5 and 6)."""
    from pmaxent import tabular
    from pmaxent.plots.maps import plot_map

    try:
        mdp = tabular.from_map(_load_layout(map_file), name=map_file.stem) if map_file else tabular.make(env)
    except ValueError as error:
        _fail(str(error))
    path = plot_map(mdp, output, title=mdp.name, goal=goal)
    typer.echo(f"{mdp.name}: {mdp.grid_shape[0]} x {mdp.grid_shape[1]}, {mdp.n_valid} cells, start {mdp.start_state}, horizon {mdp.horizon} -> {path}")


def _train_options(
    map_file: Optional[Path] = typer.Option(None, "--map", help="A text map file ('F' floor, 'S' start, '-' wall) instead of a named environment; --env labels it."),
    continuous: bool = typer.Option(False, help="With --map: a continuous world of the map (each cell a unit square) instead of a tabular MDP (implied by --physics)."),
    out: Path = typer.Option(Path("runs/train"), help="Run directory."),
    resume: bool = typer.Option(False, help="Continue an interrupted run in OUT with the settings it was started with (options given must agree with them)."),
    quiet: bool = typer.Option(False, help="No progress bar."),
):
    """The options of `pmaxent train` besides the settings dataclasses' fields."""


def _train_config(values: dict, map_file: Optional[Path], continuous: bool):
    """The settings of the family the environment belongs to, with the options given."""
    from pmaxent import registry

    if map_file is not None:
        family = "continuous" if continuous or "physics" in values else "tabular"  # --physics: a continuous world's motion
        values = {"env": map_file.stem, **values, "layout": _load_layout(map_file)}
    else:
        default = "continuous" if "mepol" in values.get("methods", ()) else "tabular"  # MEPOL's default world: gridworld-continuous
        family = registry.family_of(values["env"]) if "env" in values else default
    cls = registry.config_class(family, values.get("methods"))
    foreign = sorted(set(values) - set(option_fields(cls)) - {"layout"})
    if foreign:
        names = ", ".join("--" + f.replace("_", "-") for f in foreign)
        scope = "MEPOL (--method mepol)" if "mepol" in values.get("methods", ()) else f"{family} environments"
        raise ValueError(f"{names} {'does' if len(foreign) == 1 else 'do'} not apply to {scope}")
    return cls(**values)


def _train_classes() -> dict[str, type]:
    from pmaxent.continuous.config import ContinuousTrainConfig
    from pmaxent.continuous.mepol import MepolConfig
    from pmaxent.train import TrainConfig

    return {"tabular": TrainConfig, "continuous": ContinuousTrainConfig, "mepol": MepolConfig}


@app.command()
@with_config_options(_train_classes(), _train_options)
def train(values: dict, map_file: Optional[Path], continuous: bool, out: Path, resume: bool, quiet: bool):
    """Train PGPSE teams and the baselines (or MEPOL: --method mepol); writes config, metrics,
    parameters and figures.

    Options left out take the defaults of the environment's family (tabular: the paper's;
    continuous: k-NN entropy, Gaussian MLP teams, Adam; mepol: MEPOL's settings for the world).
    """
    import numpy as np

    from pmaxent.runs import CONFIG_FILE, TrainingDiverged, run_training, saved_config

    try:
        if resume and (out / CONFIG_FILE).exists():
            given = {**values, "env": map_file.stem, "layout": _load_layout(map_file)} if map_file is not None else values
            config = saved_config(out, given)
        else:
            config = _train_config(values, map_file, continuous)
        if config.methods == ("mepol",):
            from pmaxent.continuous.mepol_run import run_mepol

            run = run_mepol(config, out, resume=resume, progress=not quiet, components=config.make_components())
        else:
            run = run_training(config, out, resume=resume, progress=not quiet)  # its own components: their programs can be stored
    except (ValueError, FileExistsError, FileNotFoundError, TrainingDiverged) as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail(f"interrupted; the last checkpoint in {out} is kept: continue it with: pmaxent train --out {out} --resume")
    typer.echo(f"run directory: {out}")
    window = max(1, config.updates // 100)
    second = next((name for name in ("support", "coverage") if name in run.metrics), None)
    first = "normalized_entropy" if np.isfinite(run.metrics["normalized_entropy"]).all() else "entropy"
    for i, name in enumerate(config.methods):
        final = run.metrics[first][i, :, -window:].mean(axis=-1)
        line = f"  {name:8s} {first.replace('_', ' ')} {final.mean():.3f} ± {final.std():.3f}"
        if second is not None:
            other = run.metrics[second][i, :, -window:].mean(axis=-1)
            precision = 1 if second == "support" else 3
            line += f"   {second} {other.mean():.{precision}f} ± {other.std():.{precision}f}"
        typer.echo(line)


class Suite(str, enum.Enum):
    paper = "paper"
    continuous = "continuous"


@app.command()
def reproduce(
    out: Optional[Path] = typer.Option(None, help="Run directory (default: runs/paper, or runs/continuous); re-running skips finished stages."),
    suite: Suite = typer.Option(Suite.paper, help="paper: the tabular paper grid; continuous: the continuous worlds (SPEC section 11)."),
    quick: bool = typer.Option(False, help="A small grid that runs in about a minute (the tests use it)."),
    no_theory: bool = typer.Option(False, "--no-theory", help="Skip the theory figures (paper suite)."),
    quiet: bool = typer.Option(False, help="No progress bars."),
):
    """Reproduce the paper (train the grid, collect datasets, offline RL, theory) or run the
    continuous experiment; write OUT/report.md."""
    out = out or Path(f"runs/{suite.value}")
    try:
        if suite is Suite.continuous:
            from pmaxent.continuous.experiments import QUICK_CONTINUOUS, ContinuousSuiteConfig, reproduce_continuous

            report = reproduce_continuous(out, QUICK_CONTINUOUS if quick else ContinuousSuiteConfig(), progress=not quiet)
        else:
            from pmaxent.experiments import QUICK, ReproduceConfig, reproduce as run_reproduce

            report = run_reproduce(out, dataclasses.replace(QUICK if quick else ReproduceConfig(), theory=not no_theory), progress=not quiet)
    except ValueError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail(f"interrupted; run the same command again to continue where it stopped ({out})")
    typer.echo(f"report: {report}")


@app.command()
def cache(clear: bool = typer.Option(False, "--clear", help="Delete the compilation cache and the program store (the next runs compile again).")):
    """Show (or delete) the compiled programs kept between runs: JAX's compilation cache and
    pmaxent's program store beside it ($PMAXENT_COMPILATION_CACHE, default ~/.cache/pmaxent/jax).
    Neither is pruned: each distinct run config adds its programs."""
    from pmaxent.devices import CACHE_ENV, cache_usage, clear_compilation_cache

    usage = cache_usage()
    if not usage:
        typer.echo(f"the compilation cache is off (${CACHE_ENV})")
        return
    if clear:
        files, size = clear_compilation_cache()
        typer.echo(f"removed {files} files ({size / 1e6:.1f} MB) from {', '.join(map(str, usage))}")
        return
    for (path, (files, size)), label in zip(usage.items(), ("compilation cache", "program store")):
        typer.echo(f"{label}: {path} ({files} files, {size / 1e6:.1f} MB)")


def _register_commands_of_other_modules() -> None:
    from pmaxent.cli import data, theory

    app.command("collect")(data.collect_command)
    app.command("offline")(data.offline_command)
    app.add_typer(theory.app, name="theory", help="The paper's theory: concentration bound, parallel Frank-Wolfe.")


def main() -> None:
    from pmaxent.devices import use_all_cpu_cores

    use_all_cpu_cores()
    try:
        app()
    finally:
        # Python's last garbage collections at exit walk every object JAX and the run made: 0.3 s
        # of a short run's 3 s here (2026-12-03). Frozen objects are skipped by them.
        gc.freeze()


_register_commands_of_other_modules()
