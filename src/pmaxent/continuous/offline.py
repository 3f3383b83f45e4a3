"""Offline goal reaching on continuous exploration datasets, with d3rlpy (the ``offline`` extra).

The protocol of ExORL on the paper's question (its Figures 3 and 9, in continuous space): the
reward-free datasets of ``pmaxent collect`` are relabelled for every goal of the world
(:mod:`pmaxent.continuous.goals`: reward 1 and termination within 0.5 of the goal), one
goal-conditioned agent is trained offline per dataset on all its relabelled copies (its
observation is (x, y, g_x, g_y)), and its deterministic policy is then run in the true world
for ``eval_episodes`` episodes per goal from the start distribution, each cut after
``max_episode_steps`` steps; the success rate of a goal is the fraction of episodes that come
within the radius of it.

The learner is d3rlpy's implicit Q-learning (IQL; Kostrikov, Nair, Levine, ICLR 2022), the
algorithm that solves the sparse-reward AntMaze tasks, or its TD3+BC (Fujimoto and Gu, 2021).
As in d3rlpy's AntMaze reproduction, the rewards are shifted by -1 for learning: with
termination at the goal, every return of the shifted task is a decreasing function of the
number of steps to the goal, as it is for the 0/1 reward, so both tasks have the same optimal
policies, and the shifted one gives every non-goal transition a signal.

Datasets are independent, so they are trained in ``workers`` processes at once (PyTorch's
small-network updates are dominated by per-operation overhead and gain little from more threads
per process).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.util
import multiprocessing
import os
import zlib
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import jax
import numpy as np

from pmaxent.continuous import worlds
from pmaxent.continuous.goals import GOAL_RADIUS, GOAL_SPACING, goal_points, relabel
from pmaxent.continuous.worlds import ContinuousWorld
from pmaxent.core.progress import progress_bar
from pmaxent.core.tables import write_csv
from pmaxent.datasets import DATASET_METHODS
from pmaxent.offline import OfflineResult

if TYPE_CHECKING:
    from pmaxent.core.runs import TrainedRun

ALGORITHMS = ("iql", "td3+bc")


@dataclasses.dataclass(frozen=True)
class ContinuousOfflineConfig:
    """Settings of offline goal reaching in the continuous worlds."""

    algorithm: str = "iql"
    """d3rlpy learner: iql (implicit Q-learning) or td3+bc."""
    steps: int = 3000
    """Gradient steps per dataset (one goal-conditioned agent per dataset)."""
    offline_batch_size: int = 256
    """Transitions per gradient step."""
    offline_hidden: tuple[int, ...] = (128, 128)
    """Hidden layer sizes of the actor, critic and value networks."""
    goal_radius: float = GOAL_RADIUS
    """A goal is reached within this distance of it."""
    goal_spacing: float = GOAL_SPACING
    """Spacing of the goal grid of worlds without a map (map worlds: every floor cell but the start)."""
    eval_episodes: int = 10
    """Evaluation episodes per goal in the true world."""
    max_episode_steps: int = 400
    """An evaluation episode is cut after this many steps."""
    workers: int = 0
    """Processes training datasets at once (0: one per CPU core)."""

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown offline algorithm {self.algorithm!r}; choose from {', '.join(ALGORITHMS)}")
        for name in ("steps", "offline_batch_size", "eval_episodes", "max_episode_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"workers must be 0 (one per core) or a positive integer; got {self.workers!r}")
        if not self.offline_hidden or any(
            isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.offline_hidden
        ):
            raise ValueError(f"offline_hidden must be positive layer sizes; got {self.offline_hidden!r}")
        for name in ("goal_radius", "goal_spacing"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and positive; got {value!r}")
        object.__setattr__(self, "offline_hidden", tuple(self.offline_hidden))

    @property
    def processes(self) -> int:
        return self.workers or os.cpu_count() or 1


QUICK_OFFLINE = ContinuousOfflineConfig(steps=100, offline_hidden=(32, 32), eval_episodes=2, max_episode_steps=50)
"""What the tests and ``pmaxent offline --quick`` run."""


def offline_available() -> bool:
    """Whether d3rlpy (the ``offline`` extra) is installed."""
    return importlib.util.find_spec("d3rlpy") is not None


def _import_d3rlpy():
    """d3rlpy, quietly: importing it imports the unmaintained gym package, which prints a notice
    on stderr (d3rlpy does not use gym for datasets it is given), and configures structlog
    process-wide to print every fit's settings and epoch metrics, which would bury the progress
    bar (one fit per dataset); here it prints warnings only."""
    import contextlib
    import io
    import logging

    with contextlib.redirect_stderr(io.StringIO()):
        import d3rlpy
    # d3rlpy's log goes to structlog's printer, which d3rlpy offers no setting for and the logging
    # module does not reach: structlog itself is the only way (declared in the offline extra)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return d3rlpy


def make_learner(world: ContinuousWorld, config: ContinuousOfflineConfig):
    """A d3rlpy learner (not yet built) for goal-conditioned observations of ``world``."""
    d3rlpy = _import_d3rlpy()

    encoder = d3rlpy.models.VectorEncoderFactory(list(config.offline_hidden))
    common = dict(
        batch_size=config.offline_batch_size,
        observation_scaler=d3rlpy.preprocessing.StandardObservationScaler(),
        action_scaler=d3rlpy.preprocessing.MinMaxActionScaler(
            minimum=-world.max_step * np.ones(2), maximum=world.max_step * np.ones(2)
        ),
        reward_scaler=d3rlpy.preprocessing.ConstantShiftRewardScaler(-1.0),
        actor_encoder_factory=encoder,
        critic_encoder_factory=encoder,
    )
    if config.algorithm == "iql":
        # the AntMaze settings of the IQL paper (expectile 0.9, temperature 10)
        return d3rlpy.algos.IQLConfig(**common, value_encoder_factory=encoder, expectile=0.9, weight_temp=10.0).create(
            device="cpu:0"
        )
    return d3rlpy.algos.TD3PlusBCConfig(**common).create(device="cpu:0")


def train_learner(
    world: ContinuousWorld,
    observations: np.ndarray,
    actions: np.ndarray,
    goals: np.ndarray,
    config: ContinuousOfflineConfig,
    seed: int,
):
    """Train one goal-conditioned learner on trajectories observations [E, T+1, 2], actions
    [E, T, 2] relabelled for goals [G, 2]; returns the d3rlpy learner (``predict`` acts)."""
    d3rlpy = _import_d3rlpy()

    data = relabel(observations, actions, goals, config.goal_radius)
    dataset = d3rlpy.dataset.MDPDataset(
        data.observations,
        data.actions,
        data.rewards,
        data.terminals,
        data.timeouts,
        action_space=d3rlpy.constants.ActionSpace.CONTINUOUS,
    )
    d3rlpy.seed(seed)
    learner = make_learner(world, config)
    learner.fit(
        dataset,
        n_steps=config.steps,
        n_steps_per_epoch=config.steps,
        show_progress=False,
        save_interval=config.steps + 1,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
    )
    return learner


def goal_success(
    world: ContinuousWorld, act, goals: np.ndarray, key: jax.Array, config: ContinuousOfflineConfig
) -> np.ndarray:
    """Success rate per goal of a goal-conditioned policy in the true world: float [G].

    ``act`` maps observations [n, 4] (x, y, g_x, g_y) to actions [n, 2]. Each goal gets
    ``eval_episodes`` episodes from the world's start distribution; an episode succeeds when a
    state (the start included) lies within ``goal_radius`` of the goal, and is cut after
    ``max_episode_steps`` actions. All episodes run as one batch.
    """
    goals = np.asarray(goals, np.float32)
    n = len(goals) * config.eval_episodes
    targets = np.repeat(goals, config.eval_episodes, axis=0)
    reset_key, step_key = jax.random.split(key)
    position = np.asarray(_reset(world, jax.random.uniform(reset_key, (n, world.reset_noise))))
    done = _within(position, targets, config.goal_radius)
    for t in range(config.max_episode_steps):
        if done.all():
            break
        action = np.asarray(act(np.concatenate([position, targets], axis=1).astype(np.float32)), np.float32)
        noise = jax.random.uniform(jax.random.fold_in(step_key, t), (n, world.step_noise))
        position = np.where(done[:, None], position, np.asarray(_step(world, position, action, noise)))
        done |= _within(position, targets, config.goal_radius)
    return done.reshape(len(goals), config.eval_episodes).mean(axis=1)


def _within(positions: np.ndarray, targets: np.ndarray, radius: float) -> np.ndarray:
    return np.sum((positions.astype(np.float64) - targets) ** 2, axis=-1) <= radius**2


@partial(jax.jit, static_argnums=0)
def _reset(world, u):
    return jax.vmap(lambda v: worlds.reset(world, v))(u)


@partial(jax.jit, static_argnums=0)
def _step(world, position, action, u):
    return jax.vmap(lambda p, a, v: worlds.step(world, p, a, v))(position, action, u)


class OfflineJob(NamedTuple):
    """One dataset to learn from and evaluate (what a worker process receives)."""

    world: ContinuousWorld
    observations: np.ndarray
    actions: np.ndarray
    goals: np.ndarray
    config: ContinuousOfflineConfig
    seed: int


def run_job(job: OfflineJob) -> np.ndarray:
    """Train on the job's dataset and evaluate: success float [G].

    PyTorch runs on one thread meanwhile: these small networks gain nothing from more (a second
    thread did not make an IQL step faster), and several threads per process oversubscribe the
    cores when several processes train at once.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        learner = train_learner(job.world, job.observations, job.actions, job.goals, job.config, job.seed)
        return goal_success(job.world, learner.predict, job.goals, jax.random.key(job.seed), job.config)
    finally:
        torch.set_num_threads(threads)


def _job_seed(seed: int, family: str, dataset_seed: int) -> int:
    return zlib.crc32(f"{seed}/{family}/{dataset_seed}".encode()) & 0x7FFFFFFF


def evaluate_continuous_datasets(
    world: ContinuousWorld,
    datasets_by_family: Mapping[str, Sequence],
    config: ContinuousOfflineConfig = ContinuousOfflineConfig(),
    *,
    seed: int = 0,
    goals: np.ndarray | None = None,
    show_progress: bool = False,
) -> OfflineResult:
    """Offline goal reaching on every dataset (anything with ``observations`` [E, T+1, 2],
    ``actions`` [E, T, 2] and ``seed``, e.g. :class:`~pmaxent.continuous.datasets.ContinuousDataset`).

    Returns an :class:`~pmaxent.offline.OfflineResult` whose ``variant`` is the
    algorithm, ``goals`` float [G, 2] and ``success[family]`` float [n_datasets, G].
    """
    if not offline_available():
        raise ValueError(
            "offline RL in continuous worlds uses d3rlpy, which is not installed: pip install 'pmaxent[offline]'"
        )
    goals = (
        goal_points(world, config.goal_spacing, config.goal_radius)
        if goals is None
        else np.asarray(goals, np.float32).reshape(-1, 2)
    )
    families = [family for family in DATASET_METHODS if len(datasets_by_family.get(family, ()))]
    families += [family for family in datasets_by_family if family not in families and len(datasets_by_family[family])]
    if not families:
        raise ValueError("no dataset to learn from")
    jobs = [
        OfflineJob(
            world, np.asarray(d.observations), np.asarray(d.actions), goals, config, _job_seed(seed, family, d.seed)
        )
        for family in families
        for d in datasets_by_family[family]
    ]
    for job in jobs:
        if job.observations.ndim != 3 or job.observations.shape[-1] != 2:
            raise ValueError(
                f"datasets must hold positions [E, T+1, 2]; got observations of shape {job.observations.shape}"
            )
    processes = min(config.processes, len(jobs))
    with progress_bar(len(jobs), f"offline {config.algorithm}", enabled=show_progress, unit="datasets") as bar:
        if processes == 1:
            success = []
            for job in jobs:
                success.append(run_job(job))
                bar.advance()
        else:
            # spawn: a forked child would inherit JAX's and PyTorch's threads mid-flight
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
                futures = [pool.submit(run_job, job) for job in jobs]
                for _ in concurrent.futures.as_completed(futures):
                    bar.advance()
                success = [future.result() for future in futures]
    success = np.stack(success)
    bounds = np.cumsum([0] + [len(datasets_by_family[family]) for family in families])
    return OfflineResult(
        variant=config.algorithm,
        env=world.name,
        goals=goals,
        success={family: success[bounds[i] : bounds[i + 1]] for i, family in enumerate(families)},
        seeds={family: tuple(int(d.seed) for d in datasets_by_family[family]) for family in families},
    )


CSV_FIELDS = ("env", "variant", "method", "seed", "goal", "goal_x", "goal_y", "success")


def write_offline_csv(path: Path | str, result: OfflineResult) -> Path:
    """One row per family, dataset (training seed) and goal."""
    rows = (
        (result.env, result.variant, family, seed, index, float(x), float(y), rate)
        for family, success in result.success.items()
        for seed, row in zip(result.seeds[family], success, strict=True)
        for index, ((x, y), rate) in enumerate(zip(result.goals.tolist(), row.tolist(), strict=True))
    )
    return write_csv(path, CSV_FIELDS, rows)


def evaluate_continuous_run(
    run: TrainedRun | Path | str,
    config: ContinuousOfflineConfig = ContinuousOfflineConfig(),
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    trajectories: int = 1,
    show_progress: bool = True,
) -> OfflineResult:
    """Offline goal reaching on the stored datasets of a continuous run (``pmaxent collect``);
    writes RUN/offline.csv, RUN/figures/fig3_offline_success.png (mean success per family) and
    RUN/figures/fig9_offline_heatmaps.png (success per goal over the world)."""
    from pmaxent.continuous.datasets import as_run, load_continuous_run_datasets
    from pmaxent.plots.continuous import plot_goal_success
    from pmaxent.plots.datasets import plot_offline_success_bars

    run = as_run(run)
    run_dir = run.run_dir
    world, datasets_by_family = load_continuous_run_datasets(run, methods, trajectories=trajectories)
    result = evaluate_continuous_datasets(world, datasets_by_family, config, seed=seed, show_progress=show_progress)
    write_offline_csv(run_dir / "offline.csv", result)
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    title = f"{world.name}: offline {config.algorithm}, {len(result.goals)} goals"
    plot_offline_success_bars(
        {family: result.success[family].mean(axis=1) for family in result.success},
        figures / "fig3_offline_success.png",
        title=title,
    )
    plot_goal_success(
        world,
        result.goals,
        {family: result.per_goal(family) for family in result.success},
        figures / "fig9_offline_heatmaps.png",
        radius=config.goal_radius,
        title=title,
    )
    return result
