"""``pmaxent theory ...``: the concentration bound and parallel Frank-Wolfe, as figures and CSVs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from pmaxent.tabular.mdp import PAPER_ENVS
from pmaxent.tabular.theory import DENSITY_ORACLES, FrankWolfeSettings

#: Defaults of ``frank-wolfe``: those of the library functions it calls.
_FW = FrankWolfeSettings()

app = typer.Typer(
    help="The paper's theory made runnable: Theorem 4.1 against Monte Carlo, why parallel sampling "
    "helps, and parallel Frank-Wolfe against the convex-program optimum.",
    no_args_is_help=True,
)
console = Console()


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"{option} takes comma-separated integers, e.g. 1,2,4; got {text!r}") from None
    if not values or min(values) < 1:
        raise typer.BadParameter(f"{option} takes positive integers; got {text!r}")
    return values


def _float_list(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"{option} takes comma-separated numbers, e.g. 0.05,0.1; got {text!r}") from None
    if not values:
        raise typer.BadParameter(f"{option} needs at least one value")
    return values


def _env_list(text: str) -> list[str]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in PAPER_ENVS]
    if not names or unknown:
        raise typer.BadParameter(f"unknown environment(s) {unknown or text!r}; valid names: {', '.join(PAPER_ENVS)}")
    return names


def _print_paths(paths: dict[str, Path]) -> None:
    for name, path in paths.items():
        console.print(f"  {name}: {path}")


@app.command()
def concentration(
    out: Path = typer.Option(Path("runs/theory"), "--out", help="Output directory for figures and CSVs."),
    eps: float = typer.Option(0.1, min=1e-9, help="Entropy deviation eps (nats)."),
    trials: int = typer.Option(2000, min=1, help="Monte-Carlo trials per sample size."),
    agents: int = typer.Option(4, min=1, help="m, specialised agents of the why-parallel figure."),
    states: int = typer.Option(40, min=1, help="States of the why-parallel figure."),
    leak: float = typer.Option(0.05, min=0.0, max=0.999, help="Mass each specialist puts outside its region."),
    seed: int = typer.Option(0, help="PRNG seed."),
    quick: bool = typer.Option(False, help="Fewer sample sizes and at most 300 trials."),
) -> None:
    """Theorem 4.1 against Monte Carlo, the paper's Figure 4, and why parallel sampling helps."""
    from pmaxent.tabular import theory

    if agents > states:
        raise typer.BadParameter(f"--agents ({agents}) cannot exceed --states ({states})")
    with console.status("sampling plug-in entropies (the first call compiles the sampler)"):
        paths = theory.run_concentration(
            out, eps=eps, n_trials=trials, n_agents=agents, n_states=states, leak=leak, seed=seed, quick=quick
        )
    console.print(f"[bold]concentration[/bold]: eps = {eps:g}, written to {out}")
    _print_paths(paths)


@app.command("frank-wolfe")
def frank_wolfe(
    out: Path = typer.Option(Path("runs/theory"), "--out", help="Output directory for the figure and CSV."),
    envs: str = typer.Option(",".join(_FW.env_names), "--envs", help="Comma-separated environment names."),
    agents: str = typer.Option(
        ",".join(map(str, _FW.agent_counts)), "--agents", help="Comma-separated numbers of agents N."
    ),
    eps: float = typer.Option(_FW.eps, min=1e-9, help="Target: within eps nats of the optimum."),
    sigma: float = typer.Option(_FW.sigma, min=1e-12, help="Smoothing of H_sigma(d) = -sum d log(d + sigma)."),
    steps: str = typer.Option(",".join(map(str, _FW.tuned_steps)), "--steps", help="Constant step sizes to tune over."),
    iterations: int = typer.Option(_FW.max_iterations, min=1, help="Iteration cap of each tuned-step run."),
    theorem_iterations: int = typer.Option(
        _FW.theorem_max_iterations, min=1, help="Iteration cap of each Theorem A.2 step run."
    ),
    oracle: str = typer.Option(_FW.density_oracle, help="Density oracle: exact or monte-carlo."),
    episodes: int = typer.Option(
        _FW.n_episodes, min=1, help="Episodes per agent per iteration of the Monte-Carlo oracle."
    ),
    seed: int = typer.Option(_FW.seed, help="Seed of the initial policies and the Monte-Carlo oracle."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Iterations of parallel Frank-Wolfe to reach eps of the optimum, against N."""
    from pmaxent.tabular import theory

    if oracle not in DENSITY_ORACLES:
        raise typer.BadParameter(f"--oracle must be one of {', '.join(DENSITY_ORACLES)}; got {oracle!r}")
    steps_list = _float_list(steps, "--steps")
    if not all(0.0 < step <= 1.0 for step in steps_list):
        raise typer.BadParameter(f"--steps must lie in (0, 1]; got {steps!r}")
    settings = FrankWolfeSettings(
        env_names=_env_list(envs),
        agent_counts=_int_list(agents, "--agents"),
        eps=eps,
        sigma=sigma,
        tuned_steps=steps_list,
        max_iterations=iterations,
        theorem_max_iterations=theorem_iterations,
        density_oracle=oracle,
        n_episodes=episodes,
        seed=seed,
        show_progress=progress,
    )
    paths, rows = theory.run_frank_wolfe(out, **settings.as_kwargs())
    table = Table(
        title=f"Iterations to reach optimum - {eps:g} nats ({oracle} density oracle)",
        caption="'> cap': not reached within the cap. A.2: the step and the guarantee of Theorem A.2.",
    )
    for column in ("env", "N", "H*", "eta", "iters", "A.2 eta", "A.2 iters", "A.2 bound"):
        table.add_column(column, justify="right", no_wrap=True)
    theorem_rows = {(r["env"], r["n_agents"]): r for r in rows if r["step_rule"] == "theorem"}
    for tuned in (r for r in rows if r["step_rule"] == "tuned"):
        thm = theorem_rows[tuned["env"], tuned["n_agents"]]
        table.add_row(
            tuned["env"],
            str(tuned["n_agents"]),
            f"{tuned['optimum']:.4f}",
            f"{tuned['eta']:g}",
            _iterations_text(tuned),
            f"{thm['eta']:.2e}",
            _iterations_text(thm),
            f"{thm['theorem_iterations']:,}",
        )
    console.print(table)
    _print_paths(paths)


def _iterations_text(row: dict) -> str:
    return str(row["iterations"]) if row["reached"] else f"> {row['cap']}"
