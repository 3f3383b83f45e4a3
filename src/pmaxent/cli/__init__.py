"""The ``pmaxent`` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import gc
from pathlib import Path

import typer

from pmaxent.cli.errors import bad_input
from pmaxent.cli.options import option_fields, with_config_options
from pmaxent.cli.sweep import ADDRESS_HELP

app = typer.Typer(
    help="Parallel maximum state entropy exploration: train teams of agents, collect datasets, run offline RL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global_options(
    compile_cache: bool = typer.Option(
        True,
        "--compile-cache/--no-compile-cache",
        help="Reuse compiled programs across runs (in $PMAXENT_COMPILATION_CACHE, default ~/.cache/pmaxent/jax; 'off' "
        "there disables it too).",
    ),
):
    """Parallel maximum state entropy exploration: train teams of agents, collect datasets, run offline RL."""
    if compile_cache:
        from pmaxent.core.devices import use_compilation_cache

        use_compilation_cache()


def _fail(message: str) -> None:
    raise bad_input(message)


def _load_layout(map_file: Path) -> tuple[str, ...]:
    if not map_file.exists():
        _fail(f"map file {map_file} does not exist")
    return tuple(line.strip() for line in map_file.read_text().splitlines() if line.strip())


@app.command()
def show(
    env: str = typer.Argument(
        ..., help="Environment name (e.g. room-det, gridworld-continuous), or a label for --map."
    ),
    output: Path = typer.Option(Path("map.png"), "-o", "--output", help="PNG file to write."),
    map_file: Path | None = typer.Option(
        None, "--map", help="A text map file ('F' floor, 'S' start, '-' wall) instead of ENV."
    ),
    family: str | None = typer.Option(
        None, help="With --map: the family that reads it (default: the first that draws maps, tabular)."
    ),
    goal: int | None = typer.Option(None, help="Mark this cell as a goal (tabular maps)."),
):
    """Draw an environment's map (the paper's Figures 5 and 6, or a continuous world's floor plan)."""
    from pmaxent import families

    try:
        if map_file is not None:
            owner = families.get(family) if family else families.every()[0]
            line = owner.draw(map_file.stem, output, layout=_load_layout(map_file), goal=goal)
        else:
            line = (families.get(family) if family else families.for_env(env)).draw(env, output, goal=goal)
    except ValueError as error:
        _fail(str(error))
    typer.echo(line)


def _train_options(
    map_file: Path | None = typer.Option(
        None,
        "--map",
        help="A text map file ('F' floor, 'S' start, '-' wall) instead of a named environment; --env labels it.",
    ),
    family: str | None = typer.Option(
        None,
        help="The family whose settings apply (default: the environment's; with --map, the first whose settings take "
        "the options given).",
    ),
    out: Path = typer.Option(Path("runs/train"), help="Run directory."),
    resume: bool = typer.Option(
        False,
        help="Continue an interrupted run in OUT with the settings it was started with (options given must agree with "
        "them).",
    ),
    quiet: bool = typer.Option(False, help="No progress bar."),
):
    """The options of `pmaxent train` besides the families' settings fields."""


def _family_for(values: dict, family: str | None, map_given: bool):
    """The family whose settings the options given describe."""
    from pmaxent import families

    if family is not None:
        return families.get(family)
    methods = values.get("methods", ())
    if "env" in values and not map_given:
        return families.for_env(values["env"], methods)
    for candidate in families.every():
        fields = set(option_fields(candidate.config_class))
        if set(values) - {"env"} <= fields and set(methods) <= set(candidate.config_class.method_names):
            return candidate
    return families.for_methods(methods) if methods else families.every()[0]


def _train_config(values: dict, map_file: Path | None, family_name: str | None):
    """The settings of the family the environment belongs to, with the options given."""
    if map_file is not None:
        values = {"env": map_file.stem, **values, "layout": _load_layout(map_file)}
    family = _family_for({k: v for k, v in values.items() if k != "layout"}, family_name, map_file is not None)
    cls = family.config_class
    foreign = sorted(set(values) - set(option_fields(cls)) - {"layout"})
    if foreign:
        names = ", ".join("--" + f.replace("_", "-") for f in foreign)
        raise ValueError(
            f"{names} {'does' if len(foreign) == 1 else 'do'} not apply to the {family.name} family ({cls.__name__})"
        )
    return cls(**values)


def _train_classes() -> dict[str, type]:
    from pmaxent import families

    return {family.name: family.config_class for family in families.every()}


@app.command()
@with_config_options(_train_classes(), _train_options)
def train(values: dict, map_file: Path | None, family: str | None, out: Path, resume: bool, quiet: bool):
    """Train a family's methods side by side (PGPSE teams and the baselines, or MEPOL: --method
    mepol); writes config, metrics, parameters and figures.

    Options left out take the defaults of the environment's family (tabular: the paper's;
    continuous: k-NN entropy, Gaussian MLP teams, Adam; mepol: MEPOL's settings for the world).
    """
    import numpy as np

    from pmaxent import families
    from pmaxent.core.runs import CONFIG_FILE, TrainingDiverged

    try:
        if resume and (out / CONFIG_FILE).exists():
            given = (
                {**values, "env": map_file.stem, "layout": _load_layout(map_file)} if map_file is not None else values
            )
            config = families.saved_config(out, given)
        else:
            config = _train_config(values, map_file, family)
        run = families.run_training(config, out, resume=resume, progress=not quiet)
    except (ValueError, FileExistsError, FileNotFoundError, TrainingDiverged) as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail(
            f"interrupted; the last checkpoint in {out} is kept: continue it with: pmaxent train --out {out} --resume"
        )
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


@app.command()
def reproduce(
    out: Path | None = typer.Option(
        None, help="Output directory (default: runs/SUITE); re-running skips finished stages."
    ),
    suite: str = typer.Option(
        "paper",
        help="paper: the tabular paper grid; continuous: the continuous worlds (SPEC section 11); or a suite of a "
        "family of yours.",
    ),
    quick: bool = typer.Option(False, help="A small grid that runs in about a minute (the tests use it)."),
    skip: list[str] | None = typer.Option(
        None, "--skip", help="An optional stage to leave out, repeatable (paper: theory)."
    ),
    seeds: int | None = typer.Option(
        None,
        min=2,
        help="Seeds 0, 1, ..., N-1 in place of the suite's own (paper: its 5 training seeds; continuous: its "
        "evaluation seeds, as many as its power calculation asks for, at least 10).",
    ),
    quiet: bool = typer.Option(False, help="No progress bars."),
    address: str | None = typer.Option(
        None, help=f"{ADDRESS_HELP} The suite's training runs (and the continuous tuning runs) go there."
    ),
):
    """Run an experiment suite end to end (the paper: train the grid, collect datasets, offline
    RL, theory; or the continuous experiment) and write OUT/report.md."""
    from pmaxent import families

    out = out or Path(f"runs/{suite}")
    try:
        report = families.reproduce(
            out, suite, quick=quick, progress=not quiet, skip=tuple(skip or ()), seeds=seeds, address=address
        )
    except ValueError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail(f"interrupted; run the same command again to continue where it stopped ({out})")
    typer.echo(f"report: {report}")


@app.command()
def cache(
    clear: bool = typer.Option(
        False, "--clear", help="Delete the compilation cache and the program store (the next runs compile again)."
    ),
):
    """Show (or delete) the compiled programs kept between runs: JAX's compilation cache and
    pmaxent's program store beside it ($PMAXENT_COMPILATION_CACHE, default ~/.cache/pmaxent/jax).
    Neither is pruned: each distinct run config adds its programs."""
    from pmaxent.core.devices import CACHE_ENV, cache_usage, clear_compilation_cache

    usage = cache_usage()
    if not usage:
        typer.echo(f"the compilation cache is off (${CACHE_ENV})")
        return
    if clear:
        files, size = clear_compilation_cache()
        typer.echo(f"removed {files} files ({size / 1e6:.1f} MB) from {', '.join(map(str, usage))}")
        return
    for (path, (files, size)), label in zip(usage.items(), ("compilation cache", "program store"), strict=True):
        typer.echo(f"{label}: {path} ({files} files, {size / 1e6:.1f} MB)")


def _register_commands_of_other_modules() -> None:
    """collect, export and offline (cli/data.py), sweep (cli/sweep.py), then each family's own command groups."""
    from pmaxent import families
    from pmaxent.cli import data, sweep

    app.command("collect")(data.collect_command)
    app.command("export")(data.export_command)
    app.command("offline")(data.offline_command)
    app.command("sweep")(sweep.sweep_command)
    for family in families.every():
        for name, (group, summary) in family.commands().items():
            app.add_typer(group, name=name, help=summary)


def main() -> None:
    from pmaxent.core.devices import use_all_cpu_cores

    use_all_cpu_cores()
    try:
        app()
    finally:
        # Python's last garbage collections at exit walk every object JAX and the run made, a
        # noticeable part of a short run's wall time. Frozen objects are skipped by them.
        gc.freeze()


_register_commands_of_other_modules()
