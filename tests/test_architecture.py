"""The architecture page's example (docs/architecture.md), run as written: a team trained on a user's own JAX
environment."""

import re
from pathlib import Path

PAGE = Path(__file__).parents[1] / "docs" / "architecture.md"


def test_architecture_example_trains_a_team_on_a_user_environment(tmp_path, monkeypatch, capsys):
    section = PAGE.read_text().split("\n## A team on your own environment\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "docs/architecture.md: A team on your own environment", "exec"), namespace)
    parallel, single, random = namespace["run"].metrics["normalized_entropy"][:, :, -50:].mean(axis=(1, 2))
    # batch means over 50 updates and 2 seeds: their noise is about 0.01; the gaps are > 0.05
    assert parallel > single + 0.05 and single > random + 0.05, (parallel, single, random)
    assert (tmp_path / "runs" / "ring" / "metrics.csv").exists()
    assert "[" in capsys.readouterr().out
