"""The README's Python API example, run as written: every call works and each result says what it should."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).parents[1] / "README.md"


def test_readme_python_api_example_trains_collects_and_evaluates(tmp_path, monkeypatch):
    section = re.split(r"\n##+ ", README.read_text().split("\n### Python API\n", 1)[1], maxsplit=1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md: Python API", "exec"), namespace)
    run, metrics = namespace["run"], namespace["metrics"]
    methods = run.config.methods
    final = {method: run.metrics["normalized_entropy"][i, :, -100:].mean() for i, method in enumerate(methods)}
    start = {method: run.metrics["normalized_entropy"][i, :, :100].mean() for i, method in enumerate(methods)}
    assert final["parallel"] > start["parallel"] + 0.15 and final["parallel"] > final["random"] + 0.15, (start, final)
    # make_train's teams learn as run_training's parallel teams do (its 8 seeds, the same updates)
    curve = np.asarray(metrics["normalized_entropy"])
    assert curve.shape == (8, run.config.updates)
    assert (
        abs(curve[:, -100:].mean() - final["parallel"]) < 0.05 and curve[:, -100:].mean() > curve[:, :100].mean() + 0.15
    )
    datasets = namespace["datasets"].datasets
    assert set(datasets) == set(methods) and all(
        len(per_seed) == len(run.config.seeds) for per_seed in datasets.values()
    )
    assert (tmp_path / "runs" / "room" / "offline.csv").exists()
    assert any((tmp_path / "runs" / "theory").glob("*.png"))
