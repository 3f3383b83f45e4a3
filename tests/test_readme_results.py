"""tools/readme_results.py and tools/doc_blocks.py: a results block is made from a report, it is
found in whichever documentation file holds its markers, and a file that disagrees with a report
is caught with the differing lines."""

import subprocess
import sys
from pathlib import Path

import doc_blocks  # tools/, on the tests' path (pyproject.toml)
import pytest
import readme_results

ROOT = Path(__file__).resolve().parent.parent

REPORT = """# pmaxent: reproduction of *Enhancing Diversity in Parallel Agents* (ICML 2025)

Run directory `x`; pmaxent on x86_64 Linux, JAX 0.10.2, full grid; 5 seeds.

## Claims

| claim | verdicts by (world, m) | measured |
|---|---|---|
| (a) parallel agents win | 2 holds | entropy: 2 holds |
| (b) parallel datasets win | 1 holds, 1 not enough evidence | dataset entropy: 1 holds, 1 not enough evidence |

### By configuration: Welch's test, Holm's correction across configurations

| claim | world | m | parallel: mean ± std | other | difference [95% CI] | Hedges' g | seeds won | p (Holm) | verdict |
|---|---|---|---|---|---|---|---|---|---|
| (a) entropy | room | 2 | 0.9 ± 0.1 | single | +0.1 [+0.05, +0.15] | +2.00 | 5/5 | 0.01 | holds |

## Learning curves
"""

README = "# x\n\nintro\n\n<!-- BEGIN results: paper -->\nold numbers\n<!-- END results: paper -->\n\nafter\n"


def test_block_quotes_the_claims_and_their_verdicts(tmp_path):
    block = readme_results.results_block(REPORT)
    assert "full grid; 5 seeds" in block[0] and "Run directory" not in block[0]
    assert "| (a) parallel agents win | 2 holds | entropy: 2 holds |" in block
    verdicts = "1 holds, 1 not enough evidence"
    assert f"| (b) parallel datasets win | {verdicts} | dataset entropy: {verdicts} |" in block
    assert not any("Hedges" in line for line in block)


def test_rewrite_then_check_agrees_and_a_stale_readme_is_caught(tmp_path, capsys):
    report, readme = tmp_path / "report.md", tmp_path / "README.md"
    report.write_text(REPORT)
    readme.write_text(README)
    assert readme_results.main([str(report), "--file", str(readme), "--check"]) == 1
    assert "-old numbers" in capsys.readouterr().out
    assert readme_results.main([str(report), "--file", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# x\n\nintro\n\n<!-- BEGIN results: paper -->\n") and text.endswith(
        "<!-- END results: paper -->\n\nafter\n"
    )
    assert readme_results.main([str(report), "--file", str(readme), "--check"]) == 0
    report.write_text(REPORT.replace("| 1 holds, 1 not enough evidence | dataset", "| 2 not enough evidence | dataset"))
    assert (
        readme_results.main([str(report), "--readme", str(readme), "--check"]) == 1
    )  # --readme: the old name of --file
    assert "+| (b) parallel datasets win" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name, page",
    [
        ("paper", "docs/paper.md"),
        ("continuous", "docs/continuous.md"),
        ("continuous-defaults", "docs/continuous.md"),
        ("mepol", "docs/mepol.md"),
        ("baselines", "docs/estimator.md"),
        ("collapse", "docs/populations.md"),
        ("stability", "docs/populations.md"),
        ("scale", "docs/populations.md"),
        ("territories", "docs/populations.md"),
        ("mepol-level", "docs/populations.md"),
        ("conditions", "docs/claims.md"),
        ("mepol-claims", "docs/mepol.md"),
        ("offpolicy-stride", "docs/populations.md"),
        ("team-mixture", "docs/populations.md"),
    ],
)
def test_each_of_the_projects_blocks_is_in_one_documentation_page(name, page):
    assert doc_blocks.find(name) == ROOT / page


def test_a_file_without_the_block_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no block"):
        doc_blocks.rewrite("# nothing\n", "paper", ["x"])


def test_a_block_in_no_file_or_in_two_is_refused(tmp_path):
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "README.md").write_text("# x\n")
    with pytest.raises(SystemExit, match="no block"):
        doc_blocks.find("paper", root=tmp_path)
    (tmp_path / "docs" / "sub" / "page.md").write_text(README)
    assert doc_blocks.find("paper", root=tmp_path) == tmp_path / "docs" / "sub" / "page.md"
    (tmp_path / "README.md").write_text(README)
    with pytest.raises(SystemExit, match="in 2 files"):
        doc_blocks.find("paper", root=tmp_path)


def test_links_are_made_relative_to_the_page_that_holds_the_block(tmp_path):
    block = ["from [a.json](docs/mepol/a.json) ([report](docs/baselines/B.md), [site](https://x.org/y), [here](#z))"]
    assert doc_blocks.relink(block, tmp_path / "README.md", root=tmp_path) == block
    assert doc_blocks.relink(block, tmp_path / "docs" / "mepol.md", root=tmp_path) == [
        "from [a.json](mepol/a.json) ([report](baselines/B.md), [site](https://x.org/y), [here](#z))"
    ]
    assert doc_blocks.relink(block, tmp_path / "docs" / "mepol" / "page.md", root=tmp_path)[0].startswith(
        "from [a.json](a.json) ([report](../baselines/B.md)"
    )
    assert (
        doc_blocks.relink(block, tmp_path.parent / "elsewhere.md", root=tmp_path) == block
    )  # outside the repository: left alone


def test_the_baselines_summary_agrees_with_the_studys_results():
    """The estimator-study figures (docs/estimator.md) are generated from docs/baselines/results.json."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_baselines.py"), "--check-readme"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "script",
    [
        "continuous_defaults.py",
        "bench_mepol.py",
        "team_collapse.py",
        "team_stability.py",
        "bench_population.py",
        "population_territories.py",
        "mepol_level.py",
        "claim_conditions.py",
        "mepol_claims.py",
        "offpolicy_stride.py",
        "team_mixture.py",
        "offline_learner.py",
        "pointmaze.py",
    ],
)
def test_the_benchmark_blocks_agree_with_their_saved_results(script):
    """The continuous-defaults tables (docs/continuous.md) and the MEPOL comparison (docs/mepol.md)
    are generated from the JSON files their benchmarks saved (docs/continuous_defaults/, docs/mepol/)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--check-readme"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_stale_block_is_reported_with_its_lines(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("a\n<!-- BEGIN results: mepol -->\nold\n<!-- END results: mepol -->\nb\n")
    assert not doc_blocks.update("mepol", ["new"], "results.json", check=True, path=readme)
    assert "-old" in capsys.readouterr().out and "old" in readme.read_text()
    assert doc_blocks.update("mepol", ["new"], "results.json", check=False, path=readme)
    assert readme.read_text() == "a\n<!-- BEGIN results: mepol -->\nnew\n<!-- END results: mepol -->\nb\n"
    assert doc_blocks.update("mepol", ["new"], "results.json", check=True, path=readme)


CONTINUOUS_REPORT = """# Parallel maximum state entropy in continuous worlds

Teams of m agents, evaluated on seeds 0 to 13.

## Claims

| claim | verdicts by (world, m) | measured |
|---|---|---|
| (a) a team wins | 1 holds, 1 not enough evidence | entropy: 1 holds |
| (c) offline goal reaching wins | 2 not enough evidence | mean success over goals |

### By configuration: Welch's test, Holm's correction across configurations

| claim | world | m | parallel: mean ± std | other | difference [95% CI] | Hedges' g | seeds won | p (Holm) | verdict |
|---|---|---|---|---|---|---|---|---|---|
| (a) entropy | grid | 4 | 0.5 ± 0.1 | single | +0.1 [+0.05, +0.15] | +1.00 | 10/14 | 0.01 | holds |

### Across worlds: interquartile mean (rliable), 95% stratified-bootstrap intervals

| m | parallel | single | random | P(parallel > single) |
|---|---|---|---|---|
| 4 | 0.500 [0.4, 0.6] | 0.400 [0.3, 0.5] | 0.300 [0.2, 0.4] | 0.70 [0.60, 0.80] |

## Tuning

| world | method | lr |
|---|---|---|
| grid | parallel | 0.01 |

## Offline goal reaching

One agent per dataset.

| world | m | method | mean success over goals |
|---|---|---|---|
| grid | 4 | parallel | 0.050 ± 0.010 |
| grid | 4 | single | 0.030 ± 0.010 |

## Settings
"""


def test_a_continuous_block_quotes_the_claims_the_aggregates_and_the_offline_success():
    block = readme_results.results_block(CONTINUOUS_REPORT)
    assert block[0].startswith("Written by") and "evaluated on seeds 0 to 13" in block[0]
    assert "| (a) a team wins | 1 holds, 1 not enough evidence | entropy: 1 holds |" in block
    assert "| 4 | 0.500 [0.4, 0.6] | 0.400 [0.3, 0.5] | 0.300 [0.2, 0.4] | 0.70 [0.60, 0.80] |" in block
    assert "| grid | 4 | single | 0.030 ± 0.010 |" in block
    assert not any("Hedges" in line or "| grid | parallel | 0.01 |" in line for line in block)
    without_offline = CONTINUOUS_REPORT.split("## Offline goal reaching")[0] + "## Settings\n"
    assert not any("success" in line.lower() and line.startswith("|") and "grid" in line
                   for line in readme_results.results_block(without_offline))  # fmt: skip
