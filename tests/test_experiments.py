"""`pmaxent reproduce --quick`: the report, its figures, its claims, and skipping finished work."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from pmaxent.cli import app
from pmaxent.core.tables import read_metrics_csv
from pmaxent.reports import final_metric, run_name
from pmaxent.tabular.paper import QUICK

runner = CliRunner()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce") / "paper"
    result = runner.invoke(app, ["reproduce", "--quick", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_report_references_only_existing_figures(quick_run):
    report = (quick_run / "report.md").read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    for figure in (
        "fig1_",
        "fig2_",
        "fig3_",
        "fig5_",
        "fig6_",
        "fig7_",
        "fig8_",
        "fig9_",
        "fig10_",
        "bound_vs_truth",
        "frank_wolfe",
    ):
        assert any(figure in image for image in images), figure
    for image in images:
        assert (quick_run / image).stat().st_size > 1000, image
    assert "## Settings" in report and "## Wall time per stage" in report
    assert "weighted by its own state distribution" in report


def test_claims_table_matches_the_metrics_files(quick_run):
    """Claim (a)'s entropy verdicts, recomputed from the run's metrics files: Welch's test per
    configuration (scipy), Holm's step-down by hand across the configurations."""
    from scipy.stats import ttest_ind

    claims = json.loads((quick_run / "claims.json").read_text())
    assert [c["claim"][:3] for c in claims] == ["(a)", "(b)", "(c)", "(d)"]
    report = (quick_run / "report.md").read_text()
    keys = [(env, m) for env in QUICK.envs for m in QUICK.agents]
    p_values, effects = [], []
    for env, m in keys:
        curves = read_metrics_csv(quick_run / "runs" / run_name(env, m) / "metrics.csv")
        parallel = final_metric(curves["parallel"]["normalized_entropy"])
        single = final_metric(curves["single"]["normalized_entropy"])
        p_values.append(ttest_ind(parallel, single, equal_var=False).pvalue)
        effects.append(parallel.mean() - single.mean())
    order = np.argsort(p_values)
    adjusted, running = np.empty(len(keys)), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p_values[i] * (len(keys) - rank)))
        adjusted[i] = running
    expected = [
        ("holds" if e > 0 else "does not hold") if q < 0.05 else "not enough evidence"
        for e, q in zip(effects, adjusted, strict=True)
    ]
    table = report.split("### By configuration: Welch's test")[1].split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| (a) entropy |")]
    assert len(rows) == len(keys)
    for (env, m), verdict, row in zip(keys, expected, rows, strict=True):
        assert row.startswith(f"| (a) entropy | {env} | {m} |") and row.endswith(f"| {verdict} |")
    for claim in claims:
        assert f"| {claim['claim']} | {claim['verdicts']} |" in report


def test_second_run_skips_finished_parts(quick_run):
    metrics_file = quick_run / "runs" / run_name(QUICK.envs[0], QUICK.agents[0]) / "metrics.csv"
    before = metrics_file.stat().st_mtime_ns
    result = runner.invoke(app, ["reproduce", "--quick", "--out", str(quick_run), "--quiet"])
    assert result.exit_code == 0, result.output
    assert metrics_file.stat().st_mtime_ns == before
    timings = json.loads((quick_run / "timings.json").read_text())
    assert all(t["skipped_this_time"] for name, t in timings.items())


def test_other_settings_into_the_same_directory_are_refused(quick_run):
    result = runner.invoke(app, ["reproduce", "--quick", "--skip", "theory", "--out", str(quick_run), "--quiet"])
    assert result.exit_code == 2
    assert "other settings" in result.output
