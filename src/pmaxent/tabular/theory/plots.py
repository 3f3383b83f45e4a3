"""Figures of the theory (SPEC sections 9 and 10): the Theorem 4.1 bound against Monte Carlo,
the paper's Figure 4, why parallel sampling helps, and parallel Frank-Wolfe.

Each function takes the data and an output path and returns the path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import numpy as np

from pmaxent.plots import save_figure, subplots

if TYPE_CHECKING:  # plain data in, figures out: no import of the theory at run time
    from pmaxent.tabular.theory.concentration import ParallelSamplingCurves

_DIST_COLOURS = {"uniform": "tab:blue", "skewed": "tab:red"}
_SETTING_STYLES = {
    "specialised": ("tab:blue", "m specialists, k samples each (pooled)"),
    "identical": ("tab:orange", "m identical agents, k samples each (pooled)"),
    "single": ("tab:gray", "one agent alone, k samples"),
}
#: step rule -> (marker, line style, fill of the "not reached" marker)
_RULE_STYLES = {"tuned": ("o", "-", "full"), "theorem": ("s", "--", "none")}


def plot_bound_vs_truth(sample_sizes, curves: dict[str, tuple], eps: float, path: str | Path) -> Path:
    """Monte-Carlo P(H(d) - H(d_n) > eps) (solid) and the Theorem 4.1 bound (dashed) against n.

    Args:
        sample_sizes: n [K].
        curves: {label: (d [S], probability [K], bound [K])}.
    """
    fig, ax = subplots(figsize=(6, 4))
    for label, (d, probability, bound) in curves.items():
        colour = _DIST_COLOURS.get(label)
        name = f"{label} d = ({', '.join(f'{x:g}' for x in d)})"
        ax.plot(sample_sizes, probability, "o-", color=colour, label=f"Monte Carlo, {name}", ms=3)
        ax.plot(sample_sizes, np.minimum(bound, 1.0), "--", color=colour, label=f"bound (clipped at 1), {label}")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("samples n")
    ax.set_ylabel(f"P(H(d) - H(d_n) > {eps:g})")
    ax.set_title("Theorem 4.1: true deviation probability against the bound")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=120)


def plot_bernoulli_terms(p, entropy, variance, ratio, path: str | Path) -> Path:
    """The paper's Figure 4: H(p), Var(p) and Var(p) / H(p)^2 of a Bernoulli against p."""
    fig, (left, right) = subplots(1, 2, figsize=(9, 3.5))
    left.plot(p, entropy, label="H(p) (nats)")
    left.plot(p, variance, label="Var(p) = 2 p (1 - p)")
    left.set_xlabel("p")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    right.plot(p, ratio, color="tab:green")
    right.set_yscale("log")
    right.set_xlabel("p")
    right.set_ylabel("Var(p) / H(p)^2")
    right.set_title("larger = faster concentration", fontsize=9)
    right.grid(alpha=0.3)
    fig.suptitle("Bernoulli: the terms of the Theorem 4.1 exponent")
    return save_figure(fig, path, dpi=120)


def plot_parallel_sampling(curves: ParallelSamplingCurves, path: str | Path) -> Path:
    """Deviation probability of the pooled plug-in entropy against samples per agent."""
    fig, ax = subplots(figsize=(6, 4))
    for setting, (colour, label) in _SETTING_STYLES.items():
        ax.plot(curves.samples_per_agent, getattr(curves, setting), "o-", color=colour, label=label, ms=3)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("samples per agent k")
    ax.set_ylabel(f"P(H(mix) - H(pooled) > {curves.eps:g})")
    ax.set_title(
        f"m = {curves.n_agents}: H(mix) = {curves.mixture_entropy:.2f} = "
        f"mean H(d_i) {curves.mean_agent_entropy:.2f} + mean KL {curves.mean_kl:.2f}",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=120)


def plot_frank_wolfe(
    curves: dict[str, dict[int, np.ndarray]], tuned_eta: float, rows: Sequence[dict], env_name: str, path: str | Path
) -> Path:
    """Parallel Frank-Wolfe: entropy per iteration for several N and iterations to eps against N.

    Args:
        curves: {"tuned": {N: entropy [I + 1]}, "theorem": {N: entropy [I' + 1]}} on env_name.
        tuned_eta: the constant step of the "tuned" curves.
        rows: the iterations-to-eps table (:func:`pmaxent.tabular.theory.iterations_to_eps`).
    """
    optimum = next(r["optimum"] for r in rows if r["env"] == env_name)
    eps = rows[0]["eps"]
    oracle = (
        f"Monte-Carlo oracle, {rows[0]['n_episodes']} episodes per agent"
        if rows[0]["density_oracle"] == "monte-carlo"
        else "exact density oracle"
    )
    fig, (ax_tuned, ax_theorem, ax_n) = subplots(1, 3, figsize=(14, 4))
    colours = matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(curves["tuned"])))
    for colour, (n_agents, entropy) in zip(colours, curves["tuned"].items(), strict=True):
        ax_tuned.plot(entropy, color=colour, label=f"N = {n_agents}")
    ax_tuned.axhline(optimum, color="k", lw=1, label="optimum (convex program)")
    ax_tuned.axhline(optimum - eps, color="k", lw=1, ls=":", label=f"optimum - {eps:g}")
    ax_tuned.set_ylim(top=optimum + 0.1)
    ax_tuned.set_title(f"{env_name}, constant step eta = {tuned_eta:g}, {oracle}", fontsize=9)
    ax_tuned.set_xlabel("iteration")
    ax_tuned.set_ylabel("H(joint state distribution) (nats)")
    ax_tuned.legend(fontsize=7)
    ax_tuned.grid(alpha=0.3)

    for colour, (n_agents, entropy) in zip(colours, curves["theorem"].items(), strict=True):
        ax_theorem.plot(entropy - entropy[0], color=colour, label=f"N = {n_agents}")
    ax_theorem.set_title(f"{env_name}, Theorem A.2 step (proportional to N)", fontsize=9)
    ax_theorem.set_xlabel("iteration")
    ax_theorem.set_ylabel("entropy gained since iteration 0 (nats)")
    ax_theorem.legend(fontsize=7)
    ax_theorem.grid(alpha=0.3)

    envs = list(dict.fromkeys(r["env"] for r in rows))
    # strict=False: four colours, for up to four worlds (fewer take the first ones)
    env_colours = dict(zip(envs, ("tab:blue", "tab:red", "tab:green", "tab:purple"), strict=False))
    for env in envs:
        for rule, (marker, line, unreached_fill) in _RULE_STYLES.items():
            selected = [r for r in rows if r["env"] == env and r["step_rule"] == rule]
            agents = np.array([r["n_agents"] for r in selected])
            reached = np.array([r["reached"] for r in selected], bool)
            counts = np.array([r["iterations"] if r["reached"] else r["cap"] for r in selected], float)
            colour = env_colours[env]
            if reached.any():
                ax_n.plot(agents[reached], counts[reached], marker + line, color=colour, label=f"{env}, {rule} step")
            if (~reached).any():
                # An unreached run only tells that more iterations than the cap are needed.
                ax_n.plot(
                    agents[~reached],
                    counts[~reached],
                    "^",
                    color=colour,
                    fillstyle=unreached_fill,
                    ms=9,
                    ls="none",
                    label=f"{env}, {rule} step: not reached, more than the cap",
                )
            if rule == "theorem":
                guaranteed = [r["theorem_iterations"] for r in selected]
                ax_n.plot(agents, guaranteed, ":", color=colour, label=f"{env}, Theorem A.2 guarantee")
    ax_n.set_xscale("log", base=2)
    ax_n.set_yscale("log")
    ax_n.set_xlabel("agents N")
    ax_n.set_ylabel(f"iterations to reach optimum - {eps:g}")
    ax_n.legend(fontsize=6)
    ax_n.grid(alpha=0.3, which="both")
    return save_figure(fig, path, dpi=120)
