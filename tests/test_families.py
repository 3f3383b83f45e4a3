"""Families as plugins: the README's own family trains through the API, an entry-point family
reaches the CLI, every built-in family serves its names, and the package's imports keep the core
free of families and free of circles."""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pmaxent
from pmaxent import families

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "pmaxent"


def _readme_family_example() -> str:
    section = (ROOT / "README.md").read_text().split("## Your own family", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_family_example_trains_a_team_of_a_users_family(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme_family"}
    exec(compile(_readme_family_example(), "README.md: Your own family", "exec"), namespace)
    try:
        parallel, single, random = namespace["run"].metrics["normalized_entropy"][:, :, -50:].mean(axis=(1, 2))
        assert parallel > random + 0.1 and single > random  # learned, beyond uniform random walkers
        assert families.for_env("ring").name == "ring"
        assert families.load_run(tmp_path / "runs" / "ring").config == namespace["RingConfig"](seeds=(0, 1))
        with pytest.raises(ValueError, match="the ring family does not collect datasets"):
            families.collect_run(tmp_path / "runs" / "ring")
    finally:
        families._registered.pop("ring", None)


def test_an_entry_point_family_is_a_cli_family(tmp_path):
    """A package declaring an entry point in group pmaxent.families: `pmaxent train --env ring`
    trains with its config, whose fields are options."""
    module = "from typing import ClassVar\n" + _readme_family_example().split("pmaxent.families.register", 1)[0]
    (tmp_path / "ring_family.py").write_text(module)
    info = tmp_path / "ring_family-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ring-family\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pmaxent.families]\nring = ring_family:RingFamily\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PMAXENT_COMPILATION_CACHE": "off"}
    command = [sys.executable, "-c", "from pmaxent.cli import main; main()"]
    help_text = subprocess.run(
        [*command, "train", "--help"], capture_output=True, text=True, env=env, timeout=300
    ).stdout
    assert "--cells" in help_text and "Cells of the ring" in help_text
    out = tmp_path / "run"
    done = subprocess.run(
        [
            *command,
            "train",
            "--env",
            "ring",
            "--cells",
            "8",
            "--updates",
            "20",
            "--seeds",
            "0",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert '"family": "ring"' in (out / "config.json").read_text() and '"cells": 8' in (out / "config.json").read_text()


def test_every_built_in_family_serves_its_environment_names():
    assert families.names()[:3] == ("tabular", "continuous", "mepol")
    assert pmaxent.make("room-det").name == "room-det"
    assert pmaxent.make("gridworld-continuous").name == "gridworld-continuous"
    assert families.for_env("room-det").name == "tabular"
    assert families.for_env("gym:MountainCarContinuous-v0").name == "continuous"
    assert families.for_env("gridworld-continuous", ["mepol"]).name == "mepol"
    with pytest.raises(ValueError, match="unknown method 'mepol' in 'room-det'"):
        families.for_env("room-det", ["mepol"])
    with pytest.raises(ValueError, match="unknown environment 'lava'"):
        pmaxent.make("lava")
    for family in families.every():
        assert family.config_class.family == family.name


def _imports(path: Path) -> set[str]:
    """The pmaxent modules a file imports, at any depth of its code (function-level imports too)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - (path.name == "__init__.py"))[0]
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("pmaxent")}


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those only type checkers run (``if TYPE_CHECKING:`` blocks)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def _is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative / "__init__.py").exists()


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    return {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}


def test_the_core_imports_no_family_and_only_families_names_them():
    graph = _graph()
    family_packages = ("pmaxent.tabular", "pmaxent.continuous", "pmaxent.mepol", "pmaxent.families", "pmaxent.cli")
    for module, imported in graph.items():
        if module.startswith("pmaxent.core"):
            assert not [name for name in imported if name.startswith(family_packages)], module
        if module.startswith(
            (
                "pmaxent.plots",
                "pmaxent.maps",
                "pmaxent.datasets",
                "pmaxent.offline",
                "pmaxent.reports",
                "pmaxent.statistics",
                "pmaxent.sweep.cluster",
            )
        ):
            assert not [name for name in imported if name.startswith(family_packages)], module
    family_only = ("pmaxent.tabular", "pmaxent.continuous", "pmaxent.mepol")
    for module, imported in graph.items():
        if module.startswith("pmaxent.cli") or module == "pmaxent":  # they reach families through pmaxent.families
            assert not [name for name in imported if name.startswith(family_only)], module
    namers = sorted(
        module
        for module, imported in graph.items()
        if module != "pmaxent.families"
        and {"pmaxent.tabular.family", "pmaxent.continuous.family", "pmaxent.mepol.family"} & imported
    )
    assert namers == ["pmaxent.mepol.family"]  # MEPOL trains in the continuous family's worlds


def test_the_package_has_no_import_circle():
    graph = _graph()
    modules = set(graph)

    def resolve(name: str) -> str | None:  # "pmaxent.core.runs.load_run" -> "pmaxent.core.runs"
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges = {module: {resolve(name) for name in imported} - {None, module} for module, imported in graph.items()}
    # a package's __init__ imported by its own modules is not a circle of code: drop edges to ancestors
    edges = {
        module: {target for target in targets if not module.startswith(target + ".")}
        for module, targets in edges.items()
    }
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in edges[module]:
            if state.get(target) == 1:
                raise AssertionError(
                    "import circle: " + " -> ".join(path[path.index(target) :] + [module, target])
                    if target in path
                    else f"{module} -> {target}"
                )
            if target not in state:
                visit(target, path + [module])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [])


def test_no_module_is_longer_than_five_hundred_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert not long, textwrap.shorten(str(long), 300)
