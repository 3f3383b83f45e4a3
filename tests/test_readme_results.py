"""tools/readme_results.py: the README's results block is made from a report, and a README that
disagrees with a report is caught with the differing lines."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("readme_results", ROOT / "tools" / "readme_results.py")
readme_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_results)

REPORT = """# pmaxent: reproduction of *Enhancing Diversity in Parallel Agents* (ICML 2025)

Run directory `x`; pmaxent on x86_64 Linux, JAX 0.10.2, full grid.

## Claims

| claim | measured | holds here |
|---|---|---|
| (a) parallel agents win | entropy higher in 2/2 (env, m); room m=2: 0.9 vs 0.8 | yes |
| (b) parallel datasets win | highest in 1/2; room m=2: 0.7 vs 0.6 / 0.5 | **no** (no failure significant at 5%) |

### By configuration, with 95% bootstrap intervals over seeds

| claim | world | m | parallel | best other | difference | parallel is |
|---|---|---|---|---|---|---|
| (a) entropy | room | 2 | p | s | +0.1 [+0.05, +0.15] | higher |
| (a) entropy | maze | 2 | p | s | +0.1 [+0.05, +0.15] | higher |
| (b) dataset entropy | room | 2 | p | s | +0.1 [+0.05, +0.15] | higher |
| (b) dataset entropy | maze | 2 | p | s | -0.01 [-0.05, +0.03] | tie |

## Learning curves
"""

README = "# x\n\nintro\n\n<!-- BEGIN results: paper -->\nold numbers\n<!-- END results: paper -->\n\nafter\n"


def test_block_summarises_claims_and_reads_ties(tmp_path):
    block = readme_results.results_block(REPORT)
    assert "full grid" in block[0]
    assert "| (a) parallel agents win | yes | entropy higher in 2/2 (env, m) | entropy: 2 higher |" in block
    assert "| (b) parallel datasets win | **no** (no failure significant at 5%) | highest in 1/2 | dataset entropy: 1 higher, 1 tie (tie: maze m=2) |" in block


def test_rewrite_then_check_agrees_and_a_stale_readme_is_caught(tmp_path, capsys):
    report, readme = tmp_path / "report.md", tmp_path / "README.md"
    report.write_text(REPORT)
    readme.write_text(README)
    assert readme_results.main([str(report), "--readme", str(readme), "--check"]) == 1
    assert "-old numbers" in capsys.readouterr().out
    assert readme_results.main([str(report), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# x\n\nintro\n\n<!-- BEGIN results: paper -->\n") and text.endswith("<!-- END results: paper -->\n\nafter\n")
    assert readme_results.main([str(report), "--readme", str(readme), "--check"]) == 0
    report.write_text(REPORT.replace("+0.1 [+0.05, +0.15] | higher |\n| (b) dataset entropy | maze", "+0.1 [-0.05, +0.15] | tie |\n| (b) dataset entropy | maze"))
    assert readme_results.main([str(report), "--readme", str(readme), "--check"]) == 1
    assert "+| (b) parallel datasets win" in capsys.readouterr().out


def test_the_projects_readme_has_the_paper_block():
    text = (ROOT / "README.md").read_text()
    assert "<!-- BEGIN results: paper -->" in text and "<!-- END results: paper -->" in text


def test_a_readme_without_the_block_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no block"):
        readme_results.rewrite("# nothing\n", "paper", ["x"])


def test_the_readmes_baselines_summary_agrees_with_the_studys_results():
    """The README's estimator-study figures are generated from docs/baselines/results.json."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_baselines.py"), "--check-readme"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
