"""The package ``pmaxent.tabular.theory``: what importing it loads, and the names it serves."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pmaxent.tabular.theory as theory
from pmaxent.tabular.theory import FrankWolfeSettings, iterations_to_eps, run_frank_wolfe
from pmaxent.tabular.theory.cli import frank_wolfe as cli_frank_wolfe


def test_importing_the_package_does_not_import_cvxpy_or_matplotlib():
    # A fresh interpreter: this test session has long imported both.
    code = (
        "import sys, pmaxent.tabular.theory; "
        "assert 'cvxpy' not in sys.modules, 'cvxpy'; assert 'matplotlib' not in sys.modules, 'matplotlib'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_public_name_is_served():
    for name in theory.__all__:
        assert getattr(theory, name) is not None, name
    assert theory.optimal_entropy.__module__ == "pmaxent.tabular.theory.optimum"
    assert "optimal_entropy" in dir(theory)


def test_frank_wolfe_experiment_defaults_come_from_one_settings_class():
    defaults = FrankWolfeSettings().as_kwargs()
    assert len(defaults) == 11
    for function in (iterations_to_eps, run_frank_wolfe):
        parameters = inspect.signature(function).parameters
        assert {name: parameters[name].default for name in defaults} == defaults, function.__name__
    # The CLI's option defaults, as the CLI writes them (the progress bar is on by default there).
    cli = {name: p.default.default for name, p in inspect.signature(cli_frank_wolfe).parameters.items()}
    assert cli["envs"].split(",") == list(defaults["env_names"])
    assert [int(n) for n in cli["agents"].split(",")] == list(defaults["agent_counts"])
    assert [float(x) for x in cli["steps"].split(",")] == list(defaults["tuned_steps"])
    assert (cli["eps"], cli["sigma"], cli["iterations"], cli["theorem_iterations"]) == (
        defaults["eps"],
        defaults["sigma"],
        defaults["max_iterations"],
        defaults["theorem_max_iterations"],
    )
    assert (cli["oracle"], cli["episodes"], cli["seed"]) == (
        defaults["density_oracle"],
        defaults["n_episodes"],
        defaults["seed"],
    )
