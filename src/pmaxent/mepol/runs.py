"""MEPOL run directories (``pmaxent train --method mepol``): the same files as a PGPSE run, so
``pmaxent collect``, :func:`pmaxent.core.runs.load_run` and the figures work on them unchanged.

    RUN/config.json        every setting (MepolConfig, "methods": ["mepol"])
    RUN/metrics.csv        method (mepol), seed, update (the epoch), entropy, normalized_entropy,
                           [coverage,] off_iters, kl, backtracks, env_steps, wall_time
    RUN/params.npz         final parameters "mepol", leaves [n_seeds, 1, ...]
    RUN/learning_curve.png entropy (or normalized entropy) and KL per epoch, mean and std over seeds
    RUN/team.png           the visited positions, in a navigation world

Seeds run one after the other inside each epoch (MEPOL's off-policy loop stops at a data-dependent
step, so seeds are not vmapped); every ``chunk`` epochs all of them are checkpointed, and a run
resumed from its checkpoint continues with the same behaviour batches. Per-epoch metrics are
MEPOL's own: ``entropy`` is its on-policy k-NN estimate of the behaviour batch (ln N in place of
psi(N), every particle s_1..s_T, k = config.k); ``wall_time`` is the seed's cumulative training
time in seconds, compilation included.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pmaxent.continuous.team import team_figures
from pmaxent.core.components import Components, Params
from pmaxent.core.progress import progress_bar
from pmaxent.core.pytrees import partial_path, tree_to_arrays
from pmaxent.core.runs import (
    CHECKPOINT_FILE,
    CURVE_FILE,
    METRICS_FILE,
    PARAMS_FILE,
    TrainedRun,
    TrainingDiverged,
    load_checkpoint,
    load_run,
    prepare_run_dir,
    save_checkpoint,
)
from pmaxent.core.tables import write_metrics_csv
from pmaxent.mepol.algorithm import Mepol, MepolConfig

METHOD = "mepol"


class MepolState(NamedTuple):
    """One seed's behaviour parameters (leaves [1, ...]), Adam's state and the sampling key;
    stacked over seeds (leading axis n_seeds) in checkpoints."""

    params: Params
    opt_state: optax.OptState
    key: jax.Array


def metric_names(mepol: Mepol) -> tuple[str, ...]:
    """The metrics.csv columns of a MEPOL run, in order (coverage only where the world defines it)."""
    own = (
        ()
        if mepol.env.team_metrics is None
        else tuple(
            sorted(jax.eval_shape(mepol.env.team_metrics, jax.ShapeDtypeStruct((1, 1, 2, mepol.dims), np.float32)))
        )
    )
    return ("entropy", "normalized_entropy", *own, "off_iters", "kl", "backtracks", "env_steps", "wall_time")


def _stack(states: list[MepolState]) -> MepolState:
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)


def _seed_state(states: MepolState, index: int) -> MepolState:
    return jax.tree.map(lambda leaf: leaf[index], states)


def run_mepol(
    config: MepolConfig,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    plot: bool = True,
    components: Components | None = None,
) -> TrainedRun:
    """Train MEPOL for every seed of ``config``; with ``out_dir``, write and checkpoint a run
    directory (as :func:`pmaxent.core.runs.run_training`: an existing one is refused unless
    ``resume``, whose config must match).

    Raises TrainingDiverged (the last checkpoint kept) if the behaviour batch's entropy is not
    finite, e.g. a world that produced NaN states.
    """
    components = components or config.make_components()
    mepol = Mepol(config, components)
    run_dir = Path(out_dir) if out_dir is not None else None
    if run_dir is not None:
        prepare_run_dir(run_dir, config, resume)
        if (run_dir / PARAMS_FILE).exists():
            return load_run(run_dir, MepolConfig, components)
    checkpoint = run_dir / CHECKPOINT_FILE if run_dir is not None else None
    names = metric_names(mepol)
    states = _stack([MepolState(*mepol.init(seed)) for seed in config.seeds])
    metrics = {name: np.zeros((1, len(config.seeds), 0), np.float32) for name in names}
    if checkpoint is not None and checkpoint.exists():
        states, metrics = load_checkpoint(checkpoint, states)
    done = metrics["entropy"].shape[-1]
    steps_per_epoch = config.trajectories * mepol.env.horizon
    with progress_bar(config.updates, f"mepol {config.env}", enabled=progress, unit="epochs") as bar:
        bar.advance(done)
        while done < config.updates:
            length = min(config.chunk, config.updates - done)
            chunk = {name: np.zeros((1, len(config.seeds), length), np.float32) for name in names}
            seeds = [_seed_state(states, i) for i in range(len(config.seeds))]
            for epoch in range(done, done + length):
                for i, state in enumerate(seeds):
                    start = time.perf_counter()
                    key, sample_key = jax.random.split(state.key)
                    params, opt_state, stats = mepol.epoch(state.params, state.opt_state, sample_key)
                    jax.block_until_ready(params)
                    if not math.isfinite(stats["entropy"]):
                        raise TrainingDiverged(
                            f"MEPOL's behaviour batch has a non-finite entropy at epoch {epoch + 1} (seed "
                            f"{config.seeds[i]}): the world produced non-finite states or the policy diverged; the "
                            f"last good checkpoint (epoch {done}) is kept"
                        )
                    seeds[i] = MepolState(params, opt_state, key)
                    previous = (
                        chunk["wall_time"][0, i, epoch - done - 1]
                        if epoch > done
                        else (metrics["wall_time"][0, i, -1] if done else 0.0)
                    )
                    stats.update(
                        env_steps=(epoch + 1) * steps_per_epoch, wall_time=previous + time.perf_counter() - start
                    )
                    for name in names:
                        chunk[name][0, i, epoch - done] = stats[name]
                bar.advance(1)
            states = _stack(seeds)
            metrics = {name: np.concatenate([metrics[name], chunk[name]], axis=-1) for name in names}
            done += length
            if checkpoint is not None:
                save_checkpoint(checkpoint, states, metrics)
    run = TrainedRun(config, components, {METHOD: jax.tree.map(np.asarray, states.params)}, metrics, run_dir)
    if run_dir is not None:
        write_results(run, plot)
        checkpoint.unlink()
        partial_path(checkpoint).unlink(missing_ok=True)
    return run


def write_results(run: TrainedRun, plot: bool = True) -> None:
    """params.npz, metrics.csv and (``plot``) the learning curve and the world's figures of a
    finished MEPOL run in ``run.run_dir``."""
    run_dir, config = run.run_dir, run.config
    np.savez(run_dir / PARAMS_FILE, seeds=np.array(config.seeds), **tree_to_arrays(run.params[METHOD], METHOD))
    write_metrics_csv(run_dir / METRICS_FILE, config.methods, config.seeds, run.metrics)
    if plot:
        from pmaxent.plots.training import plot_learning_curves

        first = "normalized_entropy" if np.isfinite(run.metrics["normalized_entropy"]).all() else "entropy"
        shown = [first, *(name for name in ("coverage",) if name in run.metrics), "kl"]
        curves = {METHOD: {name: value[0] for name, value in run.metrics.items()}}
        plot_learning_curves(curves, run_dir / CURVE_FILE, title=f"MEPOL, {config.env}", metrics=shown)
        team_figures(run)
