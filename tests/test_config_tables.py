"""tools/config_tables.py: the docs' tables of a config dataclass's fields are written from the
dataclass (its defaults and docstrings), and a table that disagrees with it is caught."""

import dataclasses

import config_tables  # tools/, on the tests' path (pyproject.toml)


@dataclasses.dataclass(frozen=True)
class Example:
    given: str | None = None
    """Left out of the table."""
    cpus: float = 1.0
    """CPUs each run asks for."""
    memory: float | None = None
    """Gigabytes of memory (each run's) | or not."""
    devices: int | None = None
    """JAX devices per run (default: as many as (here) found)."""
    retries: int = 3
    """Times a run is run again (default: 3, whatever happens) after it died."""
    shared: bool = False
    """Whether the workers share a filesystem."""


def test_docs_tables_agree_with_their_dataclasses(capsys):
    """Fails when a default or a docstring of a field changed without `python tools/config_tables.py`."""
    assert config_tables.main(["--check"]) == 0, capsys.readouterr().out


def test_table_shows_defaults_and_docstrings():
    assert config_tables.table(Example, ("given",)) == [
        "| key | default | meaning |",
        "|---|---|---|",
        "| `cpus` | 1 | CPUs each run asks for |",
        "| `memory` | none | gigabytes of memory (each run's) \\| or not |",
        "| `devices` | as many as (here) found | JAX devices per run |",
        "| `retries` | 3, whatever happens | times a run is run again after it died |",
        "| `shared` | false | whether the workers share a filesystem |",
    ]


def test_a_stale_table_is_caught_then_rewritten(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(config_tables.TABLES, "example", (Example, ("given",)))
    page = tmp_path / "page.md"
    stale = "\n".join(config_tables.block("example")).replace("| `cpus` | 1 |", "| `cpus` | 2 |")
    page.write_text(f"intro\n\n<!-- BEGIN results: example -->\n{stale}\n<!-- END results: example -->\n\nafter\n")
    assert config_tables.main(["example", "--file", str(page), "--check"]) == 1
    out = capsys.readouterr().out
    assert "-| `cpus` | 2 |" in out and "+| `cpus` | 1 |" in out
    assert config_tables.main(["example", "--file", str(page)]) == 0
    assert config_tables.main(["example", "--file", str(page), "--check"]) == 0
    text = page.read_text()
    assert text.startswith("intro\n\n<!-- BEGIN results: example -->\nWritten by `python tools/config_tables.py`")
    assert text.endswith(
        "| `shared` | false | whether the workers share a filesystem |\n<!-- END results: example -->\n\nafter\n"
    )
