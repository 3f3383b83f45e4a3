"""Experiments of the theory and the files they write (SPEC sections 9 and 10): the Theorem 4.1
figures (:func:`run_concentration`), the iterations-to-eps table of parallel Frank-Wolfe against
the number of agents (:func:`iterations_to_eps`, :func:`run_frank_wolfe`), and all of them
(:func:`run_theory`, which the reproduction report calls).

The figure writers (``pmaxent.tabular.theory.plots``) and the convex program (``optimum``, cvxpy) are
imported inside the functions that use them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np

from pmaxent.core.progress import progress_bar
from pmaxent.core.tables import write_csv
from pmaxent.tabular.mdp import TabularMDP, make
from pmaxent.tabular.theory._checks import check_eps
from pmaxent.tabular.theory.concentration import (
    bernoulli_concentration_terms,
    concentration_bound,
    deviation_probability,
    parallel_sampling_curves,
    specialised_distributions,
)
from pmaxent.tabular.theory.frank_wolfe import (
    FrankWolfeResult,
    frank_wolfe,
    theorem_iterations,
    theorem_step_size,
)

# --------------------------------------------------------------------------------------------
# Parallel Frank-Wolfe: iterations to eps-optimality against N
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FrankWolfeSettings:
    """The settings of the iterations-to-eps experiment, with their defaults in one place:
    :func:`iterations_to_eps`, :func:`run_frank_wolfe` and ``pmaxent theory frank-wolfe`` all
    take their defaults from here.

    Attributes:
        env_names: environments (:func:`pmaxent.tabular.make` names).
        agent_counts: the numbers of agents N.
        eps: target, within eps nats of the optimum.
        sigma: smoothing of H_sigma.
        tuned_steps: the constant step sizes to tune over.
        max_iterations: iteration cap of each tuned-step run.
        theorem_max_iterations: iteration cap of each Theorem A.2 step run.
        density_oracle: "exact" or "monte-carlo".
        n_episodes: episodes per agent per iteration of the Monte-Carlo oracle.
        seed: seed of the initial policies and the Monte-Carlo oracle.
        show_progress: show a progress bar.
    """

    env_names: Sequence[str] = ("room-det", "maze-det")
    agent_counts: Sequence[int] = (1, 2, 4, 8, 16)
    eps: float = 0.05
    sigma: float = 1e-3
    tuned_steps: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2)
    max_iterations: int = 400
    theorem_max_iterations: int = 200
    density_oracle: str = "exact"
    n_episodes: int = 50
    seed: int = 0
    show_progress: bool = False

    def as_kwargs(self) -> dict:
        """The settings as keyword arguments of :func:`iterations_to_eps` and :func:`run_frank_wolfe`."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


_DEFAULTS = FrankWolfeSettings()

#: Columns of the iterations-to-eps table, in CSV order.
TABLE_COLUMNS = (
    "env",
    "n_agents",
    "step_rule",
    "eta",
    "iterations",
    "reached",
    "cap",
    "entropy_at_stop",
    "optimum",
    "eps",
    "sigma",
    "theorem_iterations",
    "density_oracle",
    "n_episodes",
)


def _first_iteration_reaching(result: FrankWolfeResult, target: float) -> int | None:
    hits = np.flatnonzero(result.entropy >= target)
    return int(hits[0]) if len(hits) else None


def iterations_to_eps(
    env_names: Sequence[str] = _DEFAULTS.env_names,
    agent_counts: Sequence[int] = _DEFAULTS.agent_counts,
    eps: float = _DEFAULTS.eps,
    sigma: float = _DEFAULTS.sigma,
    tuned_steps: Sequence[float] = _DEFAULTS.tuned_steps,
    max_iterations: int = _DEFAULTS.max_iterations,
    theorem_max_iterations: int = _DEFAULTS.theorem_max_iterations,
    density_oracle: str = _DEFAULTS.density_oracle,
    n_episodes: int = _DEFAULTS.n_episodes,
    seed: int = _DEFAULTS.seed,
    csv_path: str | Path | None = None,
    show_progress: bool = _DEFAULTS.show_progress,
) -> list[dict]:
    """Iterations of parallel Frank-Wolfe until H(joint) >= max_pi H(d_pi) - eps, against N.

    The optimum comes from :func:`optimal_entropy`. Two step-size rules per (env, N):

    * "theorem": eta = 0.1 N eps / (|S| beta) of Theorem A.2 with beta = 2 / sigma
      (:func:`smoothness_constant`) and |S| = ``mdp.n_valid``, run for at most
      ``theorem_max_iterations``; the row also gives the iteration count the theorem guarantees;
    * "tuned": the constant step of ``tuned_steps`` that reaches eps in the fewest iterations
      (at most ``max_iterations`` each); if none does, the one ending highest.

    A run that does not reach eps within its cap has ``iterations = None`` and
    ``reached = False`` (written "not reached" in the CSV). The settings and their defaults are
    those of :class:`FrankWolfeSettings`.

    Returns:
        rows, one dict per (env, N, rule) with the keys :data:`TABLE_COLUMNS`.
    """
    # Imported here: cvxpy is slow to import and only this experiment needs the optimum.
    from pmaxent.tabular.theory.optimum import optimal_entropy

    check_eps(eps)
    if not agent_counts or min(agent_counts) < 1:
        raise ValueError(f"agent_counts must be positive integers; got {agent_counts}")
    if not tuned_steps or not all(0.0 < eta <= 1.0 for eta in tuned_steps):
        raise ValueError(f"tuned_steps must lie in (0, 1]; got {tuned_steps}")
    mdps = [make(name) for name in env_names]
    rows = []
    runs = len(mdps) * len(agent_counts) * (1 + len(tuned_steps))
    with progress_bar(runs, "Frank-Wolfe runs", enabled=show_progress) as bar:
        for mdp in mdps:
            optimum = optimal_entropy(mdp).value
            target = optimum - eps
            for n_agents in agent_counts:
                common = {
                    "env": mdp.name,
                    "n_agents": n_agents,
                    "optimum": optimum,
                    "eps": eps,
                    "sigma": sigma,
                    "density_oracle": density_oracle,
                    "n_episodes": n_episodes if density_oracle == "monte-carlo" else None,
                }

                def run(eta: float, cap: int, mdp=mdp, n_agents=n_agents, target=target) -> FrankWolfeResult:
                    result = frank_wolfe(
                        mdp, n_agents, eta, cap, sigma, density_oracle, n_episodes, seed, stop_at_entropy=target
                    )
                    bar.advance()
                    return result

                eta = theorem_step_size(n_agents, eps, mdp.n_valid, sigma)
                result = run(eta, theorem_max_iterations)
                reached = _first_iteration_reaching(result, target)
                rows.append(
                    common
                    | {
                        "step_rule": "theorem",
                        "eta": eta,
                        "iterations": reached,
                        "reached": reached is not None,
                        "cap": theorem_max_iterations,
                        "entropy_at_stop": float(result.entropy[-1]),
                        "theorem_iterations": theorem_iterations(n_agents, eps, mdp.n_valid, sigma),
                    }
                )

                tuned = []
                for eta in tuned_steps:
                    result = run(eta, max_iterations)
                    tuned.append((eta, _first_iteration_reaching(result, target), float(result.entropy[-1])))
                reached_runs = [t for t in tuned if t[1] is not None]
                eta, reached, final = (
                    min(reached_runs, key=lambda t: t[1]) if reached_runs else max(tuned, key=lambda t: t[2])
                )
                rows.append(
                    common
                    | {
                        "step_rule": "tuned",
                        "eta": eta,
                        "iterations": reached,
                        "reached": reached is not None,
                        "cap": max_iterations,
                        "entropy_at_stop": final,
                        "theorem_iterations": None,
                    }
                )
    if csv_path is not None:
        write_table_csv(rows, csv_path)
    return rows


def write_table_csv(rows: Sequence[dict], path: str | Path) -> Path:
    """Write an iterations-to-eps table; an unreached run's iterations read "not reached"."""
    return write_csv(
        path,
        TABLE_COLUMNS,
        ({**row, "iterations": "not reached" if row.get("iterations") is None else row["iterations"]} for row in rows),
    )


# --------------------------------------------------------------------------------------------
# Theorem 4.1 and why parallel helps, and every theory figure
# --------------------------------------------------------------------------------------------


#: Distributions of the bound-against-truth figure: uniform and skewed over 5 categories.
UNIFORM_5 = np.full(5, 0.2)
SKEWED_5 = np.array([0.6, 0.2, 0.1, 0.06, 0.04])


def run_concentration(
    out_dir: str | Path,
    eps: float = 0.1,
    n_trials: int = 2000,
    n_agents: int = 4,
    n_states: int = 40,
    leak: float = 0.05,
    seed: int = 0,
    quick: bool = False,
) -> dict[str, Path]:
    """Figures and CSVs of Theorem 4.1 and of why parallel helps, written into ``out_dir``.

    * bound_vs_truth: P(H(d) - H(d_n) > eps) by Monte Carlo against the bound, as n grows, for
      the uniform and a skewed d over 5 categories;
    * bernoulli_terms: H(p), Var(p), Var(p) / H(p)^2 of a Bernoulli (the paper's Figure 4);
    * parallel_sampling: :func:`parallel_sampling_curves` for ``n_agents`` specialists over
      ``n_states`` states (:func:`specialised_distributions`).

    ``quick`` uses fewer sample sizes and at most 300 trials.
    """
    # Imported here: matplotlib is slow to import and only the figure writers need it.
    from pmaxent.tabular.theory import plots

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = jax.random.PRNGKey(seed)
    if quick:
        n_trials = min(n_trials, 300)
    paths = {}

    sample_sizes = np.unique(np.round(np.logspace(1, 7, 7 if quick else 19)).astype(int))
    curves = {}
    for i, (label, d) in enumerate((("uniform", UNIFORM_5), ("skewed", SKEWED_5))):
        probability = deviation_probability(jax.random.fold_in(key, i), d, sample_sizes, eps, n_trials)
        curves[label] = (d, probability, concentration_bound(d, sample_sizes, eps))
    paths["bound_vs_truth_csv"] = write_csv(
        out_dir / "bound_vs_truth.csv",
        ("distribution", "n", "monte_carlo_probability", "bound", "eps", "n_trials"),
        [
            (label, n, p, b, eps, n_trials)
            for label, (_, probs, bounds) in curves.items()
            for n, p, b in zip(sample_sizes, probs, bounds, strict=True)
        ],
    )
    paths["bound_vs_truth"] = plots.plot_bound_vs_truth(sample_sizes, curves, eps, out_dir / "bound_vs_truth.png")

    p = np.linspace(0.005, 0.995, 199)
    h, var, ratio = bernoulli_concentration_terms(p)
    paths["bernoulli_terms_csv"] = write_csv(
        out_dir / "bernoulli_terms.csv", ("p", "entropy", "variance", "ratio"), zip(p, h, var, ratio, strict=True)
    )
    paths["bernoulli_terms"] = plots.plot_bernoulli_terms(p, h, var, ratio, out_dir / "bernoulli_terms.png")

    samples_per_agent = np.unique(np.round(np.logspace(0.5, 3, 6 if quick else 16)).astype(int))
    dists = specialised_distributions(n_states, n_agents, leak)
    sampling = parallel_sampling_curves(jax.random.fold_in(key, 2), dists, samples_per_agent, eps, n_trials)
    paths["parallel_sampling_csv"] = write_csv(
        out_dir / "parallel_sampling.csv",
        ("samples_per_agent", "specialised", "identical", "single", "n_agents", "n_states", "leak", "eps", "n_trials"),
        [
            (k, a, b, c, n_agents, n_states, leak, eps, n_trials)
            for k, a, b, c in zip(
                sampling.samples_per_agent, sampling.specialised, sampling.identical, sampling.single, strict=True
            )
        ],
    )
    paths["parallel_sampling"] = plots.plot_parallel_sampling(sampling, out_dir / "parallel_sampling.png")
    return paths


def entropy_curves(
    mdp: TabularMDP,
    agent_counts: Sequence[int],
    eta_for: Callable[[int], float],
    iterations: int,
    sigma: float = _DEFAULTS.sigma,
    density_oracle: str = _DEFAULTS.density_oracle,
    n_episodes: int = _DEFAULTS.n_episodes,
    seed: int = _DEFAULTS.seed,
) -> dict[int, np.ndarray]:
    """Exact joint entropy per iteration [iterations + 1] of Frank-Wolfe for each N, with step
    ``eta_for(N)`` (a constant, or e.g. the Theorem A.2 step of N)."""
    return {
        n: frank_wolfe(mdp, n, eta_for(n), iterations, sigma, density_oracle, n_episodes, seed).entropy
        for n in agent_counts
    }


def run_frank_wolfe(
    out_dir: str | Path,
    env_names: Sequence[str] = _DEFAULTS.env_names,
    agent_counts: Sequence[int] = _DEFAULTS.agent_counts,
    eps: float = _DEFAULTS.eps,
    sigma: float = _DEFAULTS.sigma,
    tuned_steps: Sequence[float] = _DEFAULTS.tuned_steps,
    max_iterations: int = _DEFAULTS.max_iterations,
    theorem_max_iterations: int = _DEFAULTS.theorem_max_iterations,
    density_oracle: str = _DEFAULTS.density_oracle,
    n_episodes: int = _DEFAULTS.n_episodes,
    seed: int = _DEFAULTS.seed,
    show_progress: bool = _DEFAULTS.show_progress,
) -> tuple[dict[str, Path], list[dict]]:
    """The iterations-to-eps table (CSV) and the Frank-Wolfe figure, written into ``out_dir``.

    The figure shows, on the first environment, the joint entropy per iteration for every N
    with the best tuned step of N = ``agent_counts[0]`` and with the Theorem A.2 step, and the
    iterations to eps against N for both rules on every environment. The settings and their
    defaults are those of :class:`FrankWolfeSettings`.
    """
    from pmaxent.tabular.theory import plots

    settings = FrankWolfeSettings(
        env_names,
        agent_counts,
        eps,
        sigma,
        tuned_steps,
        max_iterations,
        theorem_max_iterations,
        density_oracle,
        n_episodes,
        seed,
        show_progress,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = iterations_to_eps(**settings.as_kwargs(), csv_path=out_dir / "iterations_to_eps.csv")
    first = make(settings.env_names[0])
    tuned_eta = next(r["eta"] for r in rows if r["env"] == first.name and r["step_rule"] == "tuned")
    oracle = (settings.sigma, settings.density_oracle, settings.n_episodes, settings.seed)
    curves = {
        "tuned": entropy_curves(first, settings.agent_counts, lambda n: tuned_eta, settings.max_iterations, *oracle),
        "theorem": entropy_curves(
            first,
            settings.agent_counts,
            lambda n: theorem_step_size(n, settings.eps, first.n_valid, settings.sigma),
            settings.theorem_max_iterations,
            *oracle,
        ),
    }
    paths = {
        "iterations_to_eps_csv": out_dir / "iterations_to_eps.csv",
        "frank_wolfe": plots.plot_frank_wolfe(curves, tuned_eta, rows, first.name, out_dir / "frank_wolfe.png"),
    }
    return paths, rows


def run_theory(out_dir: str | Path, quick: bool = False) -> dict[str, Path]:
    """Every theory figure and CSV into ``out_dir`` (the reproduction report calls this).

    ``quick`` shrinks Monte-Carlo trials, sample-size grids, the agent counts (1, 4, 16), the
    step grid and the iteration caps, so the whole run takes seconds.
    """
    paths = run_concentration(out_dir, quick=quick)
    if quick:
        fw_paths, _ = run_frank_wolfe(
            out_dir, agent_counts=(1, 4, 16), tuned_steps=(0.05, 0.1), max_iterations=150, theorem_max_iterations=20
        )
    else:
        fw_paths, _ = run_frank_wolfe(out_dir)
    return paths | fw_paths
