"""Run directories: every method and seed of a config trained in checkpointed chunks (SPEC section 5).

:func:`run_training` runs the update of :mod:`pmaxent.core.train` for all methods x seeds at once
(lanes sharded over the devices, :class:`pmaxent.core.devices.Lanes`), in chunks of ``config.chunk``
updates, checkpointing the state after each, so an interrupted run resumes to the identical
result, and writes a run directory:

    RUN/config.json        every setting (the family's config, with the family's name)
    RUN/metrics.csv        method, seed, update, entropy, normalized_entropy, support, ...
    RUN/params.npz         final parameters per method, leaves [n_seeds, m, ...]
    RUN/learning_curve.png mean and std over seeds (the paper's Figure 1)
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import jax
import numpy as np

from pmaxent.core.components import Components, HostEnvironment, Params, check_components
from pmaxent.core.config import RunConfig
from pmaxent.core.devices import Lanes
from pmaxent.core.programs import StoredProgram
from pmaxent.core.progress import progress_bar
from pmaxent.core.pytrees import tree_from_arrays, tree_to_arrays
from pmaxent.core.tables import read_metrics_csv, write_metrics_csv
from pmaxent.core.train import (
    METHODS,
    TrainConfig,
    TrainState,
    init_state,
    key_impl,
    make_update,
    metric_names,
)

CONFIG_FILE, METRICS_FILE, PARAMS_FILE, CHECKPOINT_FILE = "config.json", "metrics.csv", "params.npz", "checkpoint.npz"
CURVE_FILE = "learning_curve.png"
SNAPSHOTS_DIR = "snapshots"
"""RUN/snapshots/update-U.npz: the parameters after U updates (``run_training(snapshots=True)``)."""


Config = TypeVar("Config", bound=RunConfig)
FigureHook = Callable[["TrainedRun"], None]
"""Draws a finished run's own figures into its run directory."""


class TrainingDiverged(RuntimeError):
    """A parameter or metric became non-finite; the last good checkpoint is kept."""


@dataclasses.dataclass
class TrainedRun:
    """A finished run loaded from its directory."""

    config: RunConfig
    components: Components
    params: dict[str, Params]
    """method -> parameters, leaves [n_seeds, m, ...] (single: m equal copies; random: zeros)."""
    metrics: dict[str, np.ndarray]
    """metric name -> [n_methods, n_seeds, updates], methods in config.methods order."""
    run_dir: Path | None = None

    @property
    def world(self):
        """What the components were built from (a TabularMDP, a continuous world)."""
        return self.components.world

    @property
    def policy(self):
        return self.components.policy


def _method_flags(config: TrainConfig):
    # NumPy, not jax.numpy: each eager jax.numpy call is a program to look up at start-up
    shared = np.array([[m == "single"] * len(config.seeds) for m in config.methods])
    learning = np.array([[m != "random"] * len(config.seeds) for m in config.methods])
    return shared, learning


def _jit(fun: Callable, name: str, fingerprint: str | None, static_argnums: tuple[int, ...] = ()) -> Callable:
    """``jax.jit(fun)``, kept in the program store when ``fingerprint`` says what ``fun`` is built from."""
    jitted = jax.jit(fun, static_argnums=static_argnums)
    return jitted if fingerprint is None else StoredProgram(jitted, name, fingerprint, static_argnums)


def _initial_states(config: TrainConfig, components: Components, fingerprint: str | None = None) -> TrainState:
    """States [n_methods, n_seeds, ...]: the same initial parameters for every method of a seed.
    ``fingerprint``: as for :func:`make_chunk_runner`."""
    shared, learning = _method_flags(config)

    def one(method_id, seed, shared, learning):
        state = init_state(config, components, jax.random.key(seed, impl=key_impl(config)), learning, shared)
        return state._replace(key=jax.random.fold_in(state.key, method_id))

    method_ids = np.array([[METHODS.index(m)] * len(config.seeds) for m in config.methods], np.int32)
    seeds = np.array([list(config.seeds)] * len(config.methods), np.int32)
    return _jit(jax.vmap(jax.vmap(one)), "initial-states", fingerprint)(method_ids, seeds, shared, learning)


def make_chunk_runner(config: TrainConfig, components: Components, lanes: Lanes, fingerprint: str | None = None):
    """jitted ``run(packed_states, length) -> (packed_states, metrics [n_packed_lanes, length])``.

    States are packed by ``lanes`` (methods x seeds flattened, padded, sharded over devices).
    A host-stepped environment (Gymnasium) gets the runner of :mod:`pmaxent.core.host_rollout`.
    ``fingerprint`` (the config's JSON when the components are the config's own) keeps the
    compiled program in the program store (:mod:`pmaxent.core.programs`), so that a later run skips
    tracing it; None for components the fingerprint cannot describe.
    """
    shared, learning = lanes.pack(_method_flags(config))
    if isinstance(components.env, HostEnvironment):
        from pmaxent.core.host_rollout import make_host_chunk_runner

        return make_host_chunk_runner(
            components, lanes, config.make_learn(components), shared, learning, config.batch_size * config.trajectories
        )
    update = make_update(config, components)

    def run(states, length):
        def run_lane(state, shared, learning):
            return jax.lax.scan(lambda s, _: update(s, shared, learning), state, None, length=length)

        return lanes.map_groups(jax.vmap(run_lane), states, shared, learning)

    return _jit(run, "train-chunk", fingerprint, static_argnums=(1,))


def checkpoint_tmp(
    path: Path,
) -> Path:  # written first, then renamed over the checkpoint: an interrupted write never corrupts it
    return path.with_suffix(".tmp.npz")


def save_checkpoint(path: Path, states: TrainState, metrics: dict[str, np.ndarray]) -> None:
    """Write states (any pytree) and metrics (name -> array) to ``path`` atomically."""
    tmp = checkpoint_tmp(path)
    np.savez(tmp, **tree_to_arrays(states, "state"), **{f"metric_{k}": v for k, v in metrics.items()})
    os.replace(tmp, path)


def load_checkpoint(path: Path, template: TrainState) -> tuple[TrainState, dict[str, np.ndarray]]:
    """The checkpoint's states, in the structure of ``template`` (the run's initial states)."""
    try:
        with np.load(path) as data:
            states = tree_from_arrays(template, data, "state")
            metrics = {k[len("metric_") :]: data[k] for k in data.files if k.startswith("metric_")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"checkpoint {path} is corrupt ({error}); delete it to restart this run from update 0"
        ) from error
    return states, metrics


def _check_finite(finite: np.ndarray, config: TrainConfig, first_update: int) -> None:
    if finite.all():
        return
    method_index, seed_index, offset = np.argwhere(~finite)[0]
    raise TrainingDiverged(
        f"training diverged at update {first_update + offset + 1}: a parameter or metric is not finite "
        f"(method {config.methods[method_index]}, seed {config.seeds[seed_index]}); "
        f"the last good checkpoint (update {first_update}) is kept: lower --lr or change the optimizer"
    )


def run_training(
    config: TrainConfig,
    out_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    plot: bool = True,
    components: Components | None = None,
    figures: FigureHook | None = None,
    snapshots: bool = False,
) -> TrainedRun:
    """Train every method and seed of ``config``; with ``out_dir``, write and checkpoint a run directory.

    An existing run directory is refused unless ``resume`` is set, in which case its config must
    match and training continues from the last checkpoint (or nothing is done when finished).
    ``components`` default to those the config names; pass your own to train on a world of yours
    (a run directory of such a run is resumed by passing the same components). ``figures`` draws
    a finished run's own figures (its family's) beside the learning curve. ``snapshots`` keeps the
    parameters after every chunk in RUN/snapshots (:func:`load_snapshots`), e.g. to measure
    learning curves by fresh rollouts.
    """
    fingerprint = (
        config.to_json() if components is None else None
    )  # the config's own components: the config says what the programs are
    components = components or config.make_components()
    check_components(components, config.agents)
    run_dir = Path(out_dir) if out_dir is not None else None
    if run_dir is not None:
        prepare_run_dir(run_dir, config, resume)
        if (run_dir / PARAMS_FILE).exists():
            return load_run(run_dir, type(config), components)
    checkpoint = run_dir / CHECKPOINT_FILE if run_dir is not None else None
    states = _initial_states(config, components, fingerprint)
    metrics: dict[str, np.ndarray] = {}
    if checkpoint is not None and checkpoint.exists():
        states, metrics = load_checkpoint(checkpoint, states)
    lanes = Lanes((len(config.methods), len(config.seeds)), getattr(config, "lane_group", 0))
    packed = lanes.pack(states)
    run_chunk = make_chunk_runner(config, components, lanes, fingerprint)
    done = int(np.asarray(states.step).reshape(-1)[0])
    lengths = [min(config.chunk, config.updates - start) for start in range(done, config.updates, config.chunk)]
    with progress_bar(config.updates, f"train {config.env} m={config.agents}", enabled=progress, unit="updates") as bar:
        bar.advance(done)
        # JAX dispatches asynchronously: the next chunk is queued before this one's metrics are
        # read and checkpointed, so that host work overlaps the device's (not for a host-stepped
        # environment, whose chunks run on the host when called)
        ahead = not isinstance(components.env, HostEnvironment)

        def dispatch(packed, i):
            chunk = run_chunk(packed, lengths[i])
            if i + 1 == len(lengths) and plot and run_dir is not None:
                import pmaxent.plots.training  # noqa: F401  (imported while the last chunk computes)
            return chunk

        pending = None
        empty = np.zeros((len(config.methods), len(config.seeds), 0), np.float32)
        for i, length in enumerate(lengths):
            new_packed, chunk_metrics = pending or dispatch(packed, i)
            pending = dispatch(new_packed, i + 1) if ahead and i + 1 < len(lengths) else None
            chunk_metrics = jax.device_get(lanes.unpack(chunk_metrics))
            _check_finite(np.asarray(chunk_metrics.pop("finite")), config, done)
            packed = new_packed
            metrics = {
                k: np.concatenate([metrics.get(k, empty), np.asarray(chunk_metrics[k], np.float32)], axis=-1)
                for k in metric_names(components, chunk_metrics)
            }
            done += length
            if checkpoint is not None:
                unpacked = lanes.unpack(packed)
                if snapshots:
                    save_params(
                        run_dir / SNAPSHOTS_DIR / f"update-{done:06d}.npz", config, _method_params(config, unpacked)
                    )
                save_checkpoint(checkpoint, unpacked, metrics)
            bar.advance(length)
    params = _method_params(config, lanes.unpack(packed))
    run = TrainedRun(config, components, params, metrics, run_dir)
    if run_dir is not None:
        _write_results(run, plot, figures)
        checkpoint.unlink()
        checkpoint_tmp(checkpoint).unlink(missing_ok=True)
    return run


def _method_params(config: TrainConfig, states: TrainState) -> dict[str, Params]:
    """method -> its parameters, leaves [n_seeds, ...], from unpacked states [n_methods, n_seeds, ...]."""
    return {
        method: jax.tree.map(lambda x, i=i: np.asarray(x[i]), states.params) for i, method in enumerate(config.methods)
    }


def save_params(path: Path, config: RunConfig, params: dict[str, Params]) -> None:
    """method -> parameters (leaves [n_seeds, ...]) to ``path``, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: value for method, tree in params.items() for name, value in tree_to_arrays(tree, method).items()}
    partial = path.with_suffix(".tmp.npz")
    np.savez(partial, seeds=np.array(config.seeds), **arrays)
    os.replace(partial, path)


def _load_params(path: Path, config: RunConfig, components: Components) -> dict[str, Params]:
    template = jax.eval_shape(lambda key: components.policy.init(key, config.agents), jax.random.key(0))
    template = jax.tree.map(lambda leaf: jax.ShapeDtypeStruct((len(config.seeds),) + leaf.shape, leaf.dtype), template)
    try:
        with np.load(path) as data:
            return {m: tree_from_arrays(template, data, m, to_device=False) for m in config.methods}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is corrupt ({error}); train the run again") from error


def load_snapshots(run: TrainedRun) -> list[tuple[int, dict[str, Params]]]:
    """(updates done, method -> parameters) of every snapshot a run kept, in order of updates."""
    paths = sorted((run.run_dir / SNAPSHOTS_DIR).glob("update-*.npz"))
    return [(int(p.stem.split("-")[1]), _load_params(p, run.config, run.components)) for p in paths]


def read_config(run_dir: str | Path, config_class: type[Config]) -> Config:
    """The config a run directory was started with (its config.json), read as ``config_class``;
    a run of another family, or a corrupt file, raises ValueError naming it."""
    config_path = Path(run_dir) / CONFIG_FILE
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing")
    text = config_path.read_text()
    try:
        family = json.loads(text).get("family")
    except (json.JSONDecodeError, AttributeError) as error:
        raise ValueError(f"{config_path} is corrupt: {error}") from error
    if family != config_class.family:
        raise ValueError(f"{run_dir} holds a {family} run, not a {config_class.family} one ({config_class.__name__})")
    try:
        return config_class.from_json(text)
    except TypeError as error:
        raise ValueError(f"{config_path} is corrupt: {error}") from error


def run_family(run_dir: str | Path) -> str:
    """The name of the family whose run ``run_dir`` holds (from its config.json)."""
    config_path = Path(run_dir) / CONFIG_FILE
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing")
    try:
        return json.loads(config_path.read_text())["family"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{config_path} is corrupt: {error!r}") from error


def saved_config(run_dir: str | Path, config_class: type[Config], given: dict | None = None) -> Config:
    """The settings a run directory was started with (its config.json), to resume it with.

    ``given`` (field name -> value, e.g. the options typed on a command line) must agree with them:
    a run resumes with its own settings, and a setting asked for that it was not started with is
    refused (ValueError naming each), as is a field its settings do not have.
    """
    saved = read_config(run_dir, config_class)
    given = given or {}
    fields = {f.name for f in dataclasses.fields(saved)}
    foreign = sorted(set(given) - fields)
    if foreign:
        raise ValueError(
            f"{run_dir} holds a {saved.family} run ({type(saved).__name__}), which has no setting {', '.join(foreign)}"
        )
    asked = dataclasses.replace(saved, **given)  # checked and normalised as the dataclass does
    differing = [
        f"{name} = {getattr(saved, name)!r}, not {getattr(asked, name)!r}"
        for name in given
        if getattr(saved, name) != getattr(asked, name)
    ]
    if differing:
        raise ValueError(
            f"{run_dir} was started with {'; '.join(differing)}; a run resumes with its own settings (leave those out, "
            "or choose another directory)"
        )
    return saved


def prepare_run_dir(run_dir: Path, config: RunConfig, resume: bool) -> None:
    """Create ``run_dir`` with config.json, or (``resume``) check that its config is ``config``."""
    config_path = run_dir / CONFIG_FILE
    if config_path.exists():
        if not resume:
            raise FileExistsError(
                f"{run_dir} already holds a run; pass resume=True (--resume) to continue it or choose another directory"
            )
        saved_config(run_dir, type(config), {f.name: getattr(config, f.name) for f in dataclasses.fields(config)})
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config.to_json())


def _write_results(run: TrainedRun, plot: bool, figures: FigureHook | None) -> None:
    run_dir, config = run.run_dir, run.config
    save_params(run_dir / PARAMS_FILE, config, run.params)
    write_metrics_csv(run_dir / METRICS_FILE, config.methods, config.seeds, run.metrics)
    if plot:
        from pmaxent.plots.training import plot_learning_curves

        curves = {m: {k: v[i] for k, v in run.metrics.items()} for i, m in enumerate(config.methods)}
        shown = [
            name
            for name in run.metrics
            if name
            not in (
                "agent_entropy",
                "entropy_gap",
                "normalized_entropy" if np.isnan(run.metrics["normalized_entropy"]).all() else "entropy",
            )
        ]
        plot_learning_curves(curves, run_dir / CURVE_FILE, title=f"{config.env}, m = {config.agents}", metrics=shown)
        if figures is not None:
            figures(run)


def load_run(run_dir: str | Path, config_class: type[RunConfig], components: Components | None = None) -> TrainedRun:
    """Load a finished run directory (config, parameters, metrics) whose config is a
    ``config_class``; ``components`` default to those its config names."""
    run_dir = Path(run_dir)
    params_path = run_dir / PARAMS_FILE
    config = read_config(run_dir, config_class)
    if not params_path.exists():
        raise FileNotFoundError(f"{run_dir} has no {PARAMS_FILE}: training is unfinished (resume it with --resume)")
    components = components or config.make_components()
    params = _load_params(params_path, config, components)
    metrics_by_method = read_metrics_csv(run_dir / METRICS_FILE) if (run_dir / METRICS_FILE).exists() else {}
    metrics = (
        {k: np.stack([metrics_by_method[m][k] for m in config.methods]) for k in next(iter(metrics_by_method.values()))}
        if metrics_by_method
        else {}
    )
    return TrainedRun(config, components, params, metrics, run_dir)


def team_params(run: TrainedRun, method: str) -> Params:
    """Parameters (leaves [n_seeds, m, ...]) of a method; the random method's are zeros (it acts
    uniformly whatever its parameters)."""
    if method == "random":
        template = jax.eval_shape(lambda key: run.policy.init(key, run.config.agents), jax.random.key(0))
        return jax.tree.map(lambda leaf: np.zeros((len(run.config.seeds),) + leaf.shape, leaf.dtype), template)
    if method not in run.params:
        raise ValueError(f"the run trained {list(run.params)}, not {method!r}")
    return run.params[method]
