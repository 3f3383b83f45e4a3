"""The tuning stage of the continuous claims (SPEC section 13): settings chosen on tuning seeds, the
same way for every method, then frozen.

A fixed number of settings (``budget``) is drawn from one grid (:class:`SearchSpace`) by a fixed
draw. Each setting trains the team and the single agent side by side on the tuning seeds, and the
single agent with latent modes beside them (the same updates, samples and seeds for all three),
and every final policy is measured by the yardstick of
:mod:`pmaxent.continuous.evaluation`, never by its training objective. Each method keeps the
setting with the highest mean yardstick entropy over the tuning seeds. The whole table and the
choices are written to ``tuning.json``; the evaluation stage reads its settings from there and
trains on seeds the tuning never saw.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
from pathlib import Path

import numpy as np

from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.evaluation import YardstickConfig, yardstick
from pmaxent.core.progress import progress_bar
from pmaxent.core.runs import run_settings
from pmaxent.sweep.cluster import Cluster, Job, run_jobs

TUNED_METHODS = ("parallel", "single", "latent")
"""The methods tuned (the random policy has nothing to tune); "latent" is the single agent with
latent modes (``single_modes``: one network conditioned on a code per trajectory)."""


def has_modes(config: ContinuousTrainConfig) -> bool:
    """Whether ``config``'s policy can give the single agent latent modes (a population with embeddings)."""
    return config.policy == "population" and config.embedding > 0


def method_config(config: ContinuousTrainConfig, method: str) -> ContinuousTrainConfig:
    """``config`` set up to train ``method`` of :data:`TUNED_METHODS` (and the random policy beside
    the team)."""
    if method == "latent":
        return dataclasses.replace(config, methods=("single",), single_modes=True)
    return dataclasses.replace(config, methods=("parallel", "random") if method == "parallel" else (method,))


def method_label(config: ContinuousTrainConfig, method: str) -> str:
    """The name under which a run's ``method`` is reported ("latent" for a single agent with modes)."""
    return "latent" if method == "single" and config.single_modes else method


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The grid every method is tuned over: the settings the earlier defaults were chosen by."""

    lr: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
    """Adam's initial step size."""
    lr_decay: tuple[float, ...] = (0.998, 1.0)
    """Its per-update decay."""
    log_std_init: tuple[float, ...] = (-1.5, -1.0, -0.5)
    """The policies' initial log standard deviation."""
    k: tuple[int, ...] = (10, 15, 30)
    """k of the training estimator."""

    def grid(self) -> list[dict]:
        """Every setting, as {field: value}, in the fields' order."""
        names = [field.name for field in dataclasses.fields(self)]
        return [
            dict(zip(names, values, strict=True)) for values in itertools.product(*(getattr(self, n) for n in names))
        ]


@dataclasses.dataclass(frozen=True)
class TuningConfig:
    """How much tuning every method gets."""

    space: SearchSpace = SearchSpace()
    """The grid."""
    budget: int = 8
    """Settings drawn from the grid, without replacement; every method trains on each of them."""
    seeds: tuple[int, ...] = (1000, 1001)
    """Tuning seeds; evaluation must use others."""
    draw: int = 0
    """Seed of the draw of settings."""

    def __post_init__(self):
        size = len(self.space.grid())
        if not (isinstance(self.budget, int) and 1 <= self.budget <= size):
            raise ValueError(f"budget must be between 1 and the grid's {size} settings; got {self.budget!r}")
        if not self.seeds:
            raise ValueError("tuning needs at least one seed")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))

    def settings(self) -> list[dict]:
        """The settings tried, in the order of the grid."""
        grid = self.space.grid()
        chosen = np.random.default_rng(self.draw).choice(len(grid), self.budget, replace=False)
        return [grid[i] for i in sorted(chosen)]


def check_disjoint(tuning_seeds, evaluation_seeds) -> None:
    """Refuse evaluation seeds that tuning used."""
    shared = sorted(set(tuning_seeds) & set(evaluation_seeds))
    if shared:
        raise ValueError(
            f"evaluation seeds {shared} were used for tuning; pick evaluation seeds outside {tuning_seeds}"
        )


def tune(
    base: ContinuousTrainConfig,
    tuning: TuningConfig,
    out_dir: str | Path,
    measure: YardstickConfig = YardstickConfig(),
    progress: bool = True,
    address: str | None = None,
) -> dict:
    """Train every drawn setting on the tuning seeds and choose one per method.

    ``base`` gives everything but the tuned fields (its seeds and methods are replaced). Settings
    that differ only in what a lane carries (step size, decay, initial log std) train as lanes of
    one program (:func:`program_groups`); each keeps its own run directory, OUT/setting-i (and
    OUT/latent-i for the single agent with modes), resumed where it exists. Returns (and writes to
    OUT/tuning.json) {"space", "budget", "seeds", "yardstick", "rows", "chosen"}: one row per
    setting, method and seed with the yardstick's values, and per method the chosen setting.
    With ``address``, each program's settings train as one Ray task on that cluster first.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    settings = tuning.settings()
    together = dataclasses.replace(base, seeds=tuning.seeds, methods=("parallel", "single"))
    kinds = [(together, "setting")] + ([(method_config(together, "latent"), "latent")] if has_modes(base) else [])
    batches = [(kind, prefix, group) for kind, prefix in kinds for group in program_groups(settings, kind.lane_fields)]
    if address is not None:
        jobs = [
            Job(f"tune {base.env} {prefix} {','.join(map(str, group))}", tuple(f"{prefix}-{i}" for i in group),
                functools.partial(train_settings, [dataclasses.replace(kind, **settings[i]) for i in group]))
            for kind, prefix, group in batches
        ]  # fmt: skip
        run_jobs(jobs, out, Cluster(address), progress, label="tuning programs")
    with progress_bar(len(batches), f"tuning {base.env} m={base.agents}", enabled=progress, unit="programs") as bar:
        for kind, prefix, group in batches:
            configs = [dataclasses.replace(kind, **settings[i]) for i in group]
            runs = run_settings(
                configs, [out / f"{prefix}-{i}" for i in group], resume=True, progress=False, plot=False
            )
            for index, config, run in zip(group, configs, runs, strict=True):
                for method in config.methods:
                    scores = yardstick(run.components, run.params[method], tuning.seeds, measure)
                    for i, seed in enumerate(tuning.seeds):
                        rows.append(
                            {"setting": index, **settings[index], "method": method_label(config, method), "seed": seed}
                            | {name: float(values[i]) for name, values in scores.items()}
                        )
            bar.advance()
    rows.sort(key=lambda row: (row["setting"], TUNED_METHODS.index(row["method"]), row["seed"]))
    result = {
        "space": dataclasses.asdict(tuning.space),
        "budget": tuning.budget,
        "seeds": list(tuning.seeds),
        "yardstick": dataclasses.asdict(measure),
        "rows": rows,
        "chosen": choose(rows, settings),
    }
    (out / "tuning.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def train_settings(configs: list[ContinuousTrainConfig], *run_dirs: Path) -> None:
    """Train (or resume) settings that share a program as its lanes, one run directory each."""
    run_settings(configs, list(run_dirs), resume=True, progress=False, plot=False)


def program_groups(settings: list[dict], lane_fields: tuple[str, ...]) -> list[list[int]]:
    """The settings' indices grouped by the fields that shape the training program (all but
    ``lane_fields``, e.g. k), in the order of their first setting: each group trains as lanes of one
    program (:func:`pmaxent.core.runs.run_settings`)."""
    groups: dict[tuple, list[int]] = {}
    for index, setting in enumerate(settings):
        shape = tuple((name, value) for name, value in setting.items() if name not in lane_fields)
        groups.setdefault(shape, []).append(index)
    return list(groups.values())


def choose(rows: list[dict], settings: list[dict]) -> dict[str, dict]:
    """Per method, the setting with the highest mean yardstick entropy over the tuning seeds (the
    first in the grid's order on a tie)."""
    chosen = {}
    for method in sorted({row["method"] for row in rows}):
        means = [
            np.mean([r["entropy"] for r in rows if r["method"] == method and r["setting"] == index])
            for index in range(len(settings))
        ]
        chosen[method] = settings[int(np.argmax(means))]
    return chosen


def tuned_config(base: ContinuousTrainConfig, chosen: dict[str, dict], method: str) -> ContinuousTrainConfig:
    """``base`` with ``method``'s chosen setting."""
    return dataclasses.replace(base, **chosen[method])
