"""d3rlpy as a cross-check of pmaxent's JAX learners (the ``offline`` extra): the same task, learned
by an independent implementation on PyTorch.

The task is the JAX learners' (:mod:`pmaxent.gcrl`): goals are states of the dataset drawn by
OGBench's hindsight sampler, the reward is 0 at the goal's own transition and -1 otherwise, and
the goal is appended to the observation, (x, y, g_x, g_y). d3rlpy cannot draw goals per batch, so
each dataset is relabelled once into a fixed table of ``hindsight_draws`` goals per transition,
drawn by the same sampler as the JAX learners' value goals. Its learners are IQL (Kostrikov, Nair,
Levine, ICLR 2022: expectile value learning and AWR extraction, with the JAX learners' expectile,
inverse temperature, discount and networks) and TD3+BC (Fujimoto and Gu, 2021).

Policies outside JAX are judged by :func:`goal_success`, which steps the world from the host.
Datasets are independent, so they are trained in ``workers`` processes at once (PyTorch's
small-network updates are dominated by per-operation overhead and gain little from more threads
per process).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
from typing import NamedTuple

import jax
import numpy as np

from pmaxent.continuous import worlds
from pmaxent.continuous.offline_config import ContinuousOfflineConfig
from pmaxent.continuous.worlds import ContinuousWorld
from pmaxent.core.progress import progress_bar
from pmaxent.gcrl.data import GoalData, sample_batch


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


def hindsight_table(data: GoalData, config: ContinuousOfflineConfig, seed: int):
    """``hindsight_draws`` relabelled copies of every transition of ``data``: (observations [N, 2d]
    with the goal appended, actions [N, a], rewards [N], next_observations [N, 2d], terminals [N]),
    goals drawn as the JAX learners draw their value goals."""
    count = int(data.size) * config.hindsight_draws
    batch = sample_batch(jax.random.key(seed), data, dataclasses.replace(config.learner(), batch_size=count))
    with_goal = lambda x: np.concatenate([np.asarray(x), np.asarray(batch.value_goals)], axis=1)  # noqa: E731
    return (
        with_goal(batch.observations), np.asarray(batch.actions), np.asarray(batch.rewards),
        with_goal(batch.next_observations), 1.0 - np.asarray(batch.masks),
    )  # fmt: skip


def _mdp_dataset(d3rlpy, observations, actions, rewards, next_observations, terminals):
    """A d3rlpy dataset of exactly these transitions: a terminal one is an episode of one row (d3rlpy
    takes no successor of a terminal transition); any other, an episode of two rows, cut by a timeout
    after the first, whose second row carries its successor."""
    rows = []
    for i in range(len(rewards)):
        rows.append((observations[i], actions[i], rewards[i], terminals[i], 0.0))
        if not terminals[i]:
            rows.append((next_observations[i], np.zeros_like(actions[i]), 0.0, 0.0, 1.0))
    columns = [np.asarray(column, np.float32) for column in zip(*rows, strict=True)]
    return d3rlpy.dataset.MDPDataset(
        *columns[:3], terminals=columns[3], timeouts=columns[4], action_space=d3rlpy.constants.ActionSpace.CONTINUOUS
    )


def make_learner(config: ContinuousOfflineConfig):
    """A d3rlpy learner (not yet built) with the JAX learners' networks, batch and settings."""
    d3rlpy = _import_d3rlpy()
    learner = config.learner()
    actor = d3rlpy.models.VectorEncoderFactory(list(learner.hidden), activation="gelu")
    critic = d3rlpy.models.VectorEncoderFactory(
        list(learner.hidden), activation="gelu", use_layer_norm=learner.layer_norm
    )
    common = dict(
        batch_size=learner.batch_size,
        gamma=learner.discount,
        tau=learner.tau,
        actor_learning_rate=learner.lr,
        critic_learning_rate=learner.lr,
        actor_encoder_factory=actor,
        critic_encoder_factory=critic,
    )
    if config.algorithm == "d3rlpy-iql":
        return d3rlpy.algos.IQLConfig(
            **common, value_encoder_factory=critic, expectile=learner.expectile, weight_temp=learner.alpha
        ).create(device="cpu:0")
    return d3rlpy.algos.TD3PlusBCConfig(**common).create(device="cpu:0")


def relabelled_dataset(data: GoalData, config: ContinuousOfflineConfig, seed: int):
    """The d3rlpy dataset of the hindsight table of ``data``."""
    return _mdp_dataset(_import_d3rlpy(), *hindsight_table(data, config, seed))


def fit_learner(dataset, config: ContinuousOfflineConfig, seed: int):
    """A d3rlpy learner trained ``steps`` gradient steps on a d3rlpy dataset."""
    d3rlpy = _import_d3rlpy()
    d3rlpy.seed(seed)
    learner = make_learner(config)
    learner.fit(
        dataset,
        n_steps=config.steps,
        n_steps_per_epoch=config.steps,
        show_progress=False,
        save_interval=config.steps + 1,
        logger_adapter=d3rlpy.logging.NoopAdapterFactory(),
    )
    return learner


def train_learner(data: GoalData, config: ContinuousOfflineConfig, seed: int):
    """Train one d3rlpy learner on the hindsight table of ``data``; returns it (``predict`` acts on
    observations with the goal appended, ``predict_value`` gives its Q)."""
    return fit_learner(relabelled_dataset(data, config, seed), config, seed)


def goal_success(
    world: ContinuousWorld, act, goals: np.ndarray, key: jax.Array, config: ContinuousOfflineConfig
) -> np.ndarray:
    """Success rate per goal of a goal-conditioned policy in the true world, stepped from the host
    (a policy outside JAX, d3rlpy's): float [G].

    ``act`` maps observations [n, 4] (x, y, g_x, g_y) to mean actions [n, 2] in [-1, 1]; at
    ``temperature`` t the action taken is that mean plus t times standard normal noise, clipped to
    [-1, 1] and scaled by the world's max_step. Each goal gets ``eval_episodes`` episodes from the
    world's start distribution; an episode succeeds when a state (the start included) lies within
    ``goal_radius`` of the goal, and is cut after ``max_episode_steps`` actions. All episodes run
    as one batch.
    """
    goals = np.asarray(goals, np.float32)
    n = len(goals) * config.eval_episodes
    targets = np.repeat(goals, config.eval_episodes, axis=0)
    reset_key, step_key, action_key = jax.random.split(key, 3)
    position = np.asarray(worlds.reset_many(world, jax.random.uniform(reset_key, (n, world.reset_noise))))
    done = _within(position, targets, config.goal_radius)
    for t in range(config.max_episode_steps):
        if done.all():
            break
        mean = np.asarray(act(np.concatenate([position, targets], axis=1).astype(np.float32)), np.float32)
        jitter = config.temperature * np.asarray(jax.random.normal(jax.random.fold_in(action_key, t), mean.shape))
        action = np.clip(mean + jitter, -1.0, 1.0) * world.max_step
        noise = jax.random.uniform(jax.random.fold_in(step_key, t), (n, world.step_noise))
        position = np.where(done[:, None], position, np.asarray(worlds.step_many(world, position, action, noise)))
        done |= _within(position, targets, config.goal_radius)
    return done.reshape(len(goals), config.eval_episodes).mean(axis=1)


def _within(positions: np.ndarray, targets: np.ndarray, radius: float) -> np.ndarray:
    return np.sum((positions.astype(np.float64) - targets) ** 2, axis=-1) <= radius**2


class Job(NamedTuple):
    """One dataset to learn from and evaluate (what a worker process receives)."""

    world: ContinuousWorld
    data: GoalData
    goals: np.ndarray
    config: ContinuousOfflineConfig
    seed: int


def run_job(job: Job) -> np.ndarray:
    """Train on the job's dataset and evaluate: success float [G].

    PyTorch runs on one thread meanwhile: these small networks gain nothing from more (a second
    thread did not make an IQL step faster), and several threads per process oversubscribe the
    cores when several processes train at once.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        learner = train_learner(job.data, job.config, job.seed)
        return goal_success(job.world, learner.predict, job.goals, jax.random.key(job.seed), job.config)
    finally:
        torch.set_num_threads(threads)


def run_jobs(jobs: list[Job], processes: int, progress: bool) -> np.ndarray:
    """Every job's success [len(jobs), G], in ``processes`` worker processes."""
    label = f"offline {jobs[0].config.algorithm}"
    with progress_bar(len(jobs), label, enabled=progress, unit="datasets") as bar:
        if processes == 1:
            success = []
            for job in jobs:
                success.append(run_job(job))
                bar.advance()
            return np.stack(success)
        # spawn: a forked child would inherit JAX's and PyTorch's threads mid-flight
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
            futures = [pool.submit(run_job, job) for job in jobs]
            for _ in concurrent.futures.as_completed(futures):
                bar.advance()
            return np.stack([future.result() for future in futures])
