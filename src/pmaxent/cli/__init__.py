"""The ``pmaxent`` command line: one entry point, one subcommand per job."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pmaxent.tabular import ENV_NAMES

app = typer.Typer(
    help="Parallel maximum state entropy exploration: train teams of agents, collect datasets, run offline RL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _parse_ints(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        _fail(f"{what} must be comma-separated integers; got {text!r}")
    if not values:
        _fail(f"{what} must name at least one integer")
    return values


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


@app.command()
def train(
    env: str = typer.Option("room-det", help=f"Environment: {', '.join(ENV_NAMES)} (or a label for --map)."),
    map_file: Optional[Path] = typer.Option(None, "--map", help="Custom text map file (with --slip and --horizon)."),
    slip: Optional[float] = typer.Option(None, help="Slip probability override."),
    horizon: Optional[int] = typer.Option(None, help="Horizon T override."),
    agents: int = typer.Option(6, "--agents", "-m", help="Number of parallel agents m."),
    method: list[str] = typer.Option(["parallel", "single", "random"], help="parallel | single | random (repeat the option for several)."),
    updates: int = typer.Option(10_000, help="Gradient updates."),
    batch: int = typer.Option(40, help="Team samples per update B."),
    trajectories: int = typer.Option(1, help="Trajectories per agent per team sample K."),
    seeds: str = typer.Option("0,1,2,42,133", help="Comma-separated training seeds."),
    lr: float = typer.Option(0.1, help="Step size."),
    lr_decay: float = typer.Option(1.0, help="Per-update step-size decay (paper text: 0.999)."),
    optimizer: str = typer.Option("sgd", help="sgd | adam."),
    baseline: str = typer.Option("both", help="both (default) | loo-agent | loo-sample | none (the paper's estimator)."),
    time_indexed: bool = typer.Option(False, help="Non-stationary tables theta[m, T, S, A]."),
    init: str = typer.Option("uniform", help="uniform | zeros."),
    chunk: int = typer.Option(500, help="Updates between checkpoints."),
    rng: str = typer.Option("hash", help="hash | threefry2x32 | rbg | unsafe_rbg."),
    out: Path = typer.Option(Path("runs/train"), help="Run directory."),
    resume: bool = typer.Option(False, help="Continue an interrupted run in OUT."),
    quiet: bool = typer.Option(False, help="No progress bar."),
):
    """Train PGPSE teams and the baselines; writes config, metrics, parameters and a learning curve."""
    from pmaxent.train import TrainConfig, TrainingDiverged, run_training

    try:
        config = TrainConfig(
            env=map_file.stem if map_file and env == "room-det" else env,
            layout=_load_layout(map_file) if map_file else None,
            slip=slip,
            horizon=horizon,
            agents=agents,
            methods=tuple(method),
            batch_size=batch,
            trajectories=trajectories,
            updates=updates,
            seeds=_parse_ints(seeds, "--seeds"),
            lr=lr,
            lr_decay=lr_decay,
            optimizer=optimizer,
            baseline=baseline,
            time_indexed=time_indexed,
            init=init,
            chunk=chunk,
            rng=rng,
        )
        config.make_components()
        run = run_training(config, out, resume=resume, progress=not quiet)
    except (ValueError, FileExistsError, FileNotFoundError, TrainingDiverged) as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail(f"interrupted; the last checkpoint in {out} is kept: continue with the same options and --resume")
    typer.echo(f"run directory: {out}")
    for i, name in enumerate(config.methods):
        final = run.metrics["normalized_entropy"][i, :, -max(1, updates // 100):].mean(axis=-1)
        support = run.metrics["support"][i, :, -max(1, updates // 100):].mean(axis=-1)
        typer.echo(f"  {name:8s} normalized entropy {final.mean():.3f} ± {final.std():.3f}   support {support.mean():.1f} ± {support.std():.1f}")


@app.command()
def reproduce(
    out: Path = typer.Option(Path("runs/paper"), help="Run directory; re-running skips finished stages."),
    quick: bool = typer.Option(False, help="A small grid (2 envs, 2 seeds, 150 updates) that runs in about a minute."),
    no_theory: bool = typer.Option(False, "--no-theory", help="Skip the theory figures."),
    quiet: bool = typer.Option(False, help="No progress bars."),
):
    """Reproduce the paper: train the grid, collect datasets, offline RL, theory; write OUT/report.md."""
    import dataclasses

    from pmaxent.experiments import QUICK, ReproduceConfig, reproduce as run_reproduce

    config = dataclasses.replace(QUICK if quick else ReproduceConfig(), theory=not no_theory)
    try:
        report = run_reproduce(out, config, progress=not quiet)
    except ValueError as error:
        _fail(str(error))
    except KeyboardInterrupt:
        _fail(f"interrupted; run the same command again to continue where it stopped ({out})")
    typer.echo(f"report: {report}")


def _register_commands_of_other_modules() -> None:
    from pmaxent.cli import data, theory

    app.command("collect")(data.collect_command)
    app.command("offline")(data.offline_command)
    app.add_typer(theory.app, name="theory", help="The paper's theory: concentration bound, parallel Frank-Wolfe.")


def main() -> None:
    from pmaxent.devices import use_all_cpu_cores

    use_all_cpu_cores()
    app()


_register_commands_of_other_modules()
