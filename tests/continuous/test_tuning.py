"""The tuning stage: a fixed draw from one grid for every method, choices by the yardstick on
tuning seeds, evaluation seeds kept apart."""

import dataclasses
import json

import numpy as np
import pytest

from pmaxent.continuous import tuning as tuning_module
from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.evaluation import YardstickConfig
from pmaxent.continuous.tuning import (
    Candidate,
    SearchSpace,
    TuningConfig,
    check_disjoint,
    choose,
    program_groups,
    tune,
    tune_candidates,
    tuned_config,
)
from pmaxent.core.runs import TrainingDiverged
from pmaxent.mepol.algorithm import MepolConfig


def test_the_grid_is_every_combination_and_the_draw_is_fixed_and_without_replacement():
    space = SearchSpace(lr=(1e-3, 1e-2), lr_decay=(1.0,), log_std_init=(-1.5, -1.0, -0.5), k=(10, 30))
    grid = space.grid()
    assert len(grid) == 12 and len({tuple(s.values()) for s in grid}) == 12
    assert grid[0] == {"lr": 1e-3, "lr_decay": 1.0, "log_std_init": -1.5, "k": 10}
    settings = TuningConfig(space, budget=5).settings()
    assert settings == TuningConfig(space, budget=5).settings()
    assert len({tuple(s.values()) for s in settings}) == 5 and all(s in grid for s in settings)
    assert TuningConfig(space, budget=5, draw=1).settings() != settings
    assert TuningConfig(space, budget=12).settings() == grid


def test_settings_that_differ_only_in_what_a_lane_carries_share_a_program():
    settings = [{"lr": 0.1, "k": 10}, {"lr": 0.2, "k": 30}, {"lr": 0.3, "k": 10}, {"lr": 0.1, "k": 15}]
    assert program_groups(settings, ("lr",)) == [[0, 2], [1], [3]]
    assert program_groups(settings, ("lr", "k")) == [[0, 1, 2, 3]]
    assert program_groups(settings, ()) == [[0], [1], [2], [3]]
    lanes = ContinuousTrainConfig.lane_fields
    assert set(lanes) == {"lr", "lr_decay", "log_std_init"} and "k" not in lanes


def test_a_budget_outside_the_grid_and_shared_seeds_are_refused():
    with pytest.raises(ValueError, match="budget"):
        TuningConfig(SearchSpace(lr=(1e-3,), lr_decay=(1.0,), log_std_init=(-1.5,), k=(10,)), budget=2)
    with pytest.raises(ValueError, match=r"evaluation seeds \[1000\] were used for tuning"):
        check_disjoint((1000, 1001), (0, 1000))
    check_disjoint((1000, 1001), tuple(range(14)))


def test_each_method_keeps_its_best_mean_over_the_tuning_seeds():
    settings = [{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3}]
    scores = {("parallel", 0): [1.0, 3.0], ("parallel", 1): [2.0, 2.5], ("parallel", 2): [4.0, 0.0],
              ("single", 0): [1.0, 1.0], ("single", 1): [0.5, 0.5], ("single", 2): [1.0, 1.0]}  # fmt: skip
    rows = [
        {"setting": i, "method": method, "seed": seed, "entropy": value}
        for (method, i), values in scores.items()
        for seed, value in enumerate(values)
    ]
    assert choose(rows, settings) == {"parallel": {"lr": 0.2}, "single": {"lr": 0.1}}  # a tie: the first


def test_tuning_trains_every_setting_for_both_methods_and_writes_its_table(tmp_path):
    base = ContinuousTrainConfig(
        agents=2, horizon=30, k=4, hidden=(8, 8), updates=3, chunk=3, batch_size=2, policy="population"
    )
    space = SearchSpace(lr=(1e-3, 1e-2), lr_decay=(1.0,), log_std_init=(-1.5, -0.5), k=(4,))
    tuning = TuningConfig(space, budget=3, seeds=(50, 51))
    result = tune(base, tuning, tmp_path, YardstickConfig(samples=2, k=5), progress=False)
    saved = json.loads((tmp_path / "tuning.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert len(saved["rows"]) == 3 * 3 * 2 and {r["seed"] for r in saved["rows"]} == {50, 51}
    for method in ("parallel", "single", "latent"):
        means = [
            np.mean([r["entropy"] for r in saved["rows"] if r["method"] == method and r["setting"] == i])
            for i in range(3)
        ]
        assert saved["chosen"][method] == tuning.settings()[int(np.argmax(means))]
    config = tuned_config(base, saved["chosen"], "single")
    assert dataclasses.asdict(config) == dataclasses.asdict(dataclasses.replace(base, **saved["chosen"]["single"]))
    # a re-run resumes the finished settings' run directories and gives the same table
    assert tune(base, tuning, tmp_path, YardstickConfig(samples=2, k=5), progress=False)["rows"] == saved["rows"]
    one = TuningConfig(space, budget=1, seeds=(50,))
    networks = tune(dataclasses.replace(base, policy="networks"), one, tmp_path / "n", YardstickConfig(2, 5), False)
    assert set(networks["chosen"]) == {"parallel", "single"}  # no latent modes without a population's embeddings


def test_other_families_tune_alike_and_a_diverged_setting_is_never_chosen(tmp_path, monkeypatch):
    space = SearchSpace(lr=(1e-3, 1e-2), lr_decay=(1.0,), log_std_init=(-1.5, -0.5), k=(4,))
    tuning = TuningConfig(space, budget=2, seeds=(50,))
    team = ContinuousTrainConfig(
        agents=2, horizon=30, k=4, hidden=(8, 8), updates=2, chunk=2, batch_size=2, policy="population",
        methods=("parallel",), seeds=(50,),
    )  # fmt: skip
    mepol = MepolConfig(horizon=30, k=4, hidden=(8,), trajectories=2, updates=2, chunk=2, seeds=(50,))
    candidates = [
        Candidate("team", lambda s: dataclasses.replace(team, **s), {"parallel": "renamed"}),
        Candidate("mepol", lambda s: dataclasses.replace(mepol, **{n: v for n, v in s.items() if n != "lr_decay"})),
    ]
    measure = YardstickConfig(samples=2, k=5)
    settings = tuning.settings()
    clean = tune_candidates(candidates, tuning, tmp_path / "clean", measure, agents=2, divergence=False, progress=False)
    assert [(r["setting"], r["method"]) for r in clean["rows"]] == [
        (i, method) for i in range(2) for method in ("renamed", "mepol")
    ]
    assert all(np.isfinite(r["entropy"]) and "divergence" not in r for r in clean["rows"])
    assert len(program_groups(settings, ContinuousTrainConfig.lane_fields)) == 1  # the team's two are lanes

    # the best setting of each method diverges: the team's within its lanes, MEPOL's alone
    doomed = {method: settings.index(chosen) for method, chosen in clean["chosen"].items()}
    real_settings, real_training = tuning_module.run_settings, tuning_module.families.run_training

    def trains(config, method):
        return all(
            getattr(config, name) == value for name, value in settings[doomed[method]].items() if name != "lr_decay"
        )

    def run_settings(configs, run_dirs, **options):
        if any(trains(config, "renamed") for config in configs):
            raise TrainingDiverged("a lane diverged")
        return real_settings(configs, run_dirs, **options)

    def run_training(config, run_dir, **options):
        if trains(config, "mepol"):
            raise TrainingDiverged("diverged")
        return real_training(config, run_dir, **options)

    monkeypatch.setattr(tuning_module, "run_settings", run_settings)
    monkeypatch.setattr(tuning_module.families, "run_training", run_training)
    hit = tune_candidates(candidates, tuning, tmp_path / "hit", measure, agents=2, divergence=False, progress=False)
    for row, before in zip(hit["rows"], clean["rows"], strict=True):
        if row["setting"] == doomed[row["method"]]:
            assert row["entropy"] == -np.inf
        else:  # the other lanes trained alone give the numbers they gave as lanes
            assert row == before
    assert all(hit["chosen"][method] != settings[index] for method, index in doomed.items())
