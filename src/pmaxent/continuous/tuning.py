"""The tuning stage of the continuous claims (SPEC section 13): settings chosen on tuning seeds, the
same way for every method, then frozen.

A fixed number of settings (``budget``) is drawn from one grid (:class:`SearchSpace`) by a fixed
draw. Each setting trains the team and the single agent side by side on the tuning seeds, and the
single agent with latent modes beside them (the same updates, samples and seeds for all three);
a study may tune other methods alike, any family's (:class:`Candidate`, e.g. MEPOL). Every final
policy is measured by the yardstick of
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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import jax
import numpy as np

from pmaxent import families
from pmaxent.continuous.config import ContinuousTrainConfig
from pmaxent.continuous.evaluation import YardstickConfig, yardstick
from pmaxent.core.config import RunConfig
from pmaxent.core.progress import progress_bar
from pmaxent.core.runs import TrainedRun, TrainingDiverged, run_settings, team_params
from pmaxent.core.train import TrainConfig
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


@dataclasses.dataclass(frozen=True)
class Candidate:
    """Methods that train together from each tuned setting: one run per setting, in OUT/NAME-i.

    Any family's config serves (e.g. MEPOL's beside the team's); settings that differ only in what
    a lane carries train as lanes of one program where the config has lanes.
    """

    name: str
    """Prefix of its run directories."""
    configure: Callable[[dict], RunConfig]
    """The run's config for a setting ({field: value}), on the tuning seeds."""
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """A method of the run -> the name it is scored and chosen under, where they differ."""

    def label(self, method: str) -> str:
        return self.labels.get(method, method)


def tune(
    base: ContinuousTrainConfig,
    tuning: TuningConfig,
    out_dir: str | Path,
    measure: YardstickConfig = YardstickConfig(),
    progress: bool = True,
    address: str | None = None,
) -> dict:
    """Train every drawn setting on the tuning seeds and choose one per method of :data:`TUNED_METHODS`.

    ``base`` gives everything but the tuned fields (its seeds and methods are replaced): the team
    and the single agent train side by side in OUT/setting-i, the single agent with latent modes
    in OUT/latent-i where the policy has them. As :func:`tune_candidates` otherwise.
    """
    together = dataclasses.replace(base, seeds=tuning.seeds, methods=("parallel", "single"))
    candidates = [Candidate("setting", lambda setting: dataclasses.replace(together, **setting))]
    if has_modes(base):
        latent = method_config(together, "latent")
        candidates.append(
            Candidate("latent", lambda setting: dataclasses.replace(latent, **setting), {"single": "latent"})
        )
    title = f"tuning {base.env} m={base.agents}"
    return tune_candidates(candidates, tuning, out_dir, measure, progress=progress, address=address, title=title)


def tune_candidates(
    candidates: Sequence[Candidate],
    tuning: TuningConfig,
    out_dir: str | Path,
    measure: YardstickConfig = YardstickConfig(),
    agents: int | None = None,
    divergence: bool = True,
    progress: bool = True,
    address: str | None = None,
    title: str = "tuning",
) -> dict:
    """Train every drawn setting on the tuning seeds by every candidate and choose one per method.

    Each run directory is resumed where it exists. Every final policy is measured by the yardstick
    (:func:`team_scores`, ``agents`` trajectories per fresh sample where given, the agents' KL
    divergence with ``divergence``); a setting whose training diverged scores an entropy of -inf,
    so it is never chosen. Returns (and writes to OUT/tuning.json) {"space", "budget", "seeds",
    "yardstick", "rows", "chosen"}: one row per setting, method and seed with the yardstick's
    values, and per method the chosen setting. With ``address``, each program trains as one Ray
    task on that cluster first.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = tuning.settings()
    batches = []
    for candidate in candidates:
        configs = [candidate.configure(setting) for setting in settings]
        lanes = configs[0].lane_fields if isinstance(configs[0], TrainConfig) else None
        groups = program_groups(settings, lanes) if lanes is not None else [[i] for i in range(len(settings))]
        batches += [
            (candidate, group, [configs[i] for i in group], [out / f"{candidate.name}-{i}" for i in group])
            for group in groups
        ]
    if address is not None:
        jobs = [
            Job(f"tune {c.name} {','.join(map(str, group))}", tuple(d.name for d in dirs),
                functools.partial(train_settings, configs))
            for c, group, configs, dirs in batches
        ]  # fmt: skip
        run_jobs(jobs, out, Cluster(address), progress, label="tuning programs")
    rows, order = [], list(dict.fromkeys(c.label(m) for c, _, configs, _ in batches for m in configs[0].methods))
    with progress_bar(len(batches), title, enabled=progress, unit="programs") as bar:
        for candidate, group, configs, dirs in batches:
            runs = train_group(configs, dirs)
            for index, config, run in zip(group, configs, runs, strict=True):
                for method in config.methods:
                    label = candidate.label(method)
                    scores = (
                        {"entropy": np.full(len(tuning.seeds), -np.inf)}
                        if run is None
                        else team_scores(run, method, measure, agents, divergence)
                    )
                    rows += [
                        {"setting": index, **settings[index], "method": label, "seed": seed}
                        | {name: float(values[i]) for name, values in scores.items()}
                        for i, seed in enumerate(tuning.seeds)
                    ]
            bar.advance()
    rows.sort(key=lambda row: (row["setting"], order.index(row["method"]), row["seed"]))
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


def team_scores(
    run: TrainedRun, method: str, measure: YardstickConfig, agents: int | None = None, divergence: bool = True
) -> dict[str, np.ndarray]:
    """The yardstick of ``method``'s final policies in ``run``, one value per seed; a run of one
    policy per seed (MEPOL's) drives all ``agents`` trajectories of each fresh sample."""
    params = team_params(run, method)
    if agents is not None and run.config.agents == 1:
        params = jax.tree.map(lambda leaf: np.repeat(leaf, agents, axis=1), params)
    uniform = method == "random"
    return yardstick(run.components, params, run.config.seeds, measure, uniform=uniform, divergence=divergence)


def train_group(configs: list[RunConfig], run_dirs: list[Path]) -> list[TrainedRun | None]:
    """Train (or resume) the settings of one program, one run directory each -> their runs, None
    for a setting whose training diverged (its last good checkpoint kept). Lanes of one program
    train together; if one diverges, each trains alone, so the others keep their results."""
    if len(configs) > 1:
        try:
            return run_settings(configs, run_dirs, resume=True, progress=False, plot=False)
        except TrainingDiverged:
            return [train_group([config], [run_dir])[0] for config, run_dir in zip(configs, run_dirs, strict=True)]
    try:
        if isinstance(configs[0], TrainConfig):
            return run_settings(configs, run_dirs, resume=True, progress=False, plot=False)
        return [families.run_training(configs[0], run_dirs[0], resume=True, progress=False, plot=False)]
    except TrainingDiverged:
        return [None]


def train_settings(configs: list[RunConfig], *run_dirs: Path) -> None:
    """Train (or resume) settings that share a program, one run directory each (a cluster's task)."""
    train_group(configs, list(run_dirs))


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
