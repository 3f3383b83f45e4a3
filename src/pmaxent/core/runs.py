"""Run directories: every method and seed of a config trained in checkpointed chunks (SPEC section 5).

:func:`run_training` runs the update of :mod:`pmaxent.core.train` for all methods x seeds at once
(lanes sharded over the devices, :class:`pmaxent.core.devices.Lanes`; :func:`run_settings` adds
the settings of a tuning grid as lanes of the same program), in chunks of ``config.chunk``
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
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.components import Components, HostEnvironment, Params, check_components
from pmaxent.core.config import RunConfig
from pmaxent.core.devices import Lanes
from pmaxent.core.programs import StoredProgram
from pmaxent.core.progress import progress_bar
from pmaxent.core.pytrees import partial_path, save_npz, tree_from_arrays, tree_to_arrays
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


def _method_flags(config: TrainConfig, lane_shape: tuple[int, ...]):
    """shared and learning, broadcast to ``lane_shape`` ([..., n_methods, n_seeds])."""
    # NumPy, not jax.numpy: each eager jax.numpy call is a program to look up at start-up
    shared = np.array([[m == "single"] * len(config.seeds) for m in config.methods])
    learning = np.array([[m != "random"] * len(config.seeds) for m in config.methods])
    return np.broadcast_to(shared, lane_shape), np.broadcast_to(learning, lane_shape)


def _jit(fun: Callable, name: str, fingerprint: str | None, static_argnums: tuple[int, ...] = ()) -> Callable:
    """``jax.jit(fun)``, kept in the program store when ``fingerprint`` says what ``fun`` is built from."""
    jitted = jax.jit(fun, static_argnums=static_argnums)
    return jitted if fingerprint is None else StoredProgram(jitted, name, fingerprint, static_argnums)


def program_fingerprint(config: RunConfig) -> str:
    """What a run's training program is built from: its config without the fields its lanes carry
    (``lane_fields``), so that runs differing only in those share one stored program."""
    data = json.loads(config.to_json())
    for name in getattr(config, "lane_fields", ()):
        data.pop(name, None)
    return json.dumps(data, sort_keys=True)


def _initial_states(config: TrainConfig, components: Components, fingerprint: str | None = None) -> TrainState:
    """States [n_methods, n_seeds, ...]: the same initial parameters for every method of a seed.
    ``fingerprint``: as for :func:`make_chunk_runner` (here the whole config: it sets the initial state)."""
    shared, learning = _method_flags(config, (len(config.methods), len(config.seeds)))

    def one(method_id, seed, shared, learning):
        state = init_state(config, components, jax.random.key(seed, impl=key_impl(config)), learning, shared)
        return state._replace(key=jax.random.fold_in(state.key, method_id))

    method_ids = np.array([[METHODS.index(m)] * len(config.seeds) for m in config.methods], np.int32)
    seeds = np.array([list(config.seeds)] * len(config.methods), np.int32)
    return _jit(jax.vmap(jax.vmap(one)), "initial-states", fingerprint)(method_ids, seeds, shared, learning)


def make_chunk_runner(config: TrainConfig, components: Components, lanes: Lanes, fingerprint: str | None = None):
    """jitted ``run(packed_states, length) -> (packed_states, metrics [n_packed_lanes, length])``.

    States are packed by ``lanes`` ([settings x] methods x seeds flattened, padded, sharded over
    devices). A host-stepped environment (Gymnasium) gets the runner of :mod:`pmaxent.core.host_rollout`.
    ``fingerprint`` (:func:`program_fingerprint` when the components are the config's own) keeps
    the compiled program in the program store (:mod:`pmaxent.core.programs`), so that a later run
    skips tracing it; None for components the fingerprint cannot describe.
    """
    shared, learning = lanes.pack(_method_flags(config, lanes.lane_shape))
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


def save_checkpoint(path: Path, states: TrainState, metrics: dict[str, np.ndarray]) -> None:
    """Write states (any pytree) and metrics (name -> array) to ``path`` atomically."""
    save_npz(path, **tree_to_arrays(states, "state"), **{f"metric_{k}": v for k, v in metrics.items()})


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


def _check_finite(finite: np.ndarray, configs: list[TrainConfig], first_update: int) -> None:
    """``finite`` [n_settings, n_methods, n_seeds, updates]: raise TrainingDiverged at the first False."""
    if finite.all():
        return
    setting, method_index, seed_index, offset = np.argwhere(~finite)[0]
    config = configs[setting]
    where = [f"method {config.methods[method_index]}", f"seed {config.seeds[seed_index]}"]
    if len(configs) > 1:
        where += [f"{name} = {getattr(config, name)!r}" for name in config.lane_fields]
    raise TrainingDiverged(
        f"training diverged at update {first_update + offset + 1}: a parameter or metric is not finite "
        f"({', '.join(where)}); the last good checkpoint (update {first_update}) is kept: lower --lr or change the "
        "optimizer"
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
    own = components is None  # the config's own components: the config says what the programs are
    components = components or config.make_components()
    run_dir = Path(out_dir) if out_dir is not None else None
    return _train([config], [components], [run_dir], own, resume, progress, plot, figures, snapshots)[0]


def run_settings(
    configs: list[TrainConfig],
    out_dirs: list[str | Path] | None = None,
    resume: bool = False,
    progress: bool = True,
    plot: bool = True,
    snapshots: bool = False,
) -> list[TrainedRun]:
    """Train configs that differ only in the fields their lanes carry (``lane_fields``: the step size
    and its decay, and a family's initial parameters such as the continuous policies' log std) as
    lanes of one program, compiled once rather than once per config: the settings of a tuning grid.

    Each config gets the run directory :func:`run_training` would give it (``out_dirs``, one per
    config; None: none), resumed where ``resume`` is set. With a ``lane_group`` (the continuous
    family's default), every config's numbers are those it gets trained alone. Returns the runs in
    the order of ``configs``.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("run_settings needs at least one config")
    first = program_fingerprint(configs[0])
    for config in configs[1:]:
        if type(config) is not type(configs[0]) or program_fingerprint(config) != first:
            differing = [
                f.name
                for f in dataclasses.fields(configs[0])
                if f.name not in configs[0].lane_fields and getattr(config, f.name) != getattr(configs[0], f.name)
            ]
            raise ValueError(
                f"configs train as lanes of one program only when they differ in {', '.join(configs[0].lane_fields)} "
                f"alone; these also differ in {', '.join(differing) or type(config).__name__}"
            )
    run_dirs = [None] * len(configs) if out_dirs is None else [Path(d) for d in out_dirs]
    if len(run_dirs) != len(configs):
        raise ValueError(f"{len(configs)} configs need as many run directories; got {len(run_dirs)}")
    components = [config.make_components() for config in configs]
    return _train(configs, components, run_dirs, True, resume, progress, plot, None, snapshots)


def _train(configs, components, run_dirs, own, resume, progress, plot, figures, snapshots) -> list[TrainedRun]:
    """Load the finished runs, start or resume the others and train them, together where they stand
    at the same update (configs interrupted between their checkpoints may not)."""
    runs: list[TrainedRun | None] = [None] * len(configs)
    started = {}
    for i, (config, run_dir) in enumerate(zip(configs, run_dirs, strict=True)):
        check_components(components[i], config.agents)
        if run_dir is not None:
            prepare_run_dir(run_dir, config, resume)
            if (run_dir / PARAMS_FILE).exists():
                runs[i] = load_run(run_dir, type(config), components[i])
                continue
        states, metrics = _initial_states(config, components[i], config.to_json() if own else None), {}
        if run_dir is not None and (run_dir / CHECKPOINT_FILE).exists():
            states, metrics = load_checkpoint(run_dir / CHECKPOINT_FILE, states)
        started[i] = (states, metrics)
    by_done: dict[int, list[int]] = {}
    for i, (states, _) in started.items():
        by_done.setdefault(int(np.asarray(states.step).reshape(-1)[0]), []).append(i)
    for done, indices in sorted(by_done.items()):
        fingerprint = program_fingerprint(configs[indices[0]]) if own else None
        trained = _train_lanes(
            [configs[i] for i in indices], components[indices[0]], [started[i] for i in indices],
            [run_dirs[i] for i in indices], done, fingerprint, progress, snapshots,
        )  # fmt: skip
        for i, (params, metrics) in zip(indices, trained, strict=True):
            runs[i] = TrainedRun(configs[i], components[i], params, metrics, run_dirs[i])
            if run_dirs[i] is not None:
                _write_results(runs[i], plot, figures)
                (run_dirs[i] / CHECKPOINT_FILE).unlink(missing_ok=True)
                partial_path(run_dirs[i] / CHECKPOINT_FILE).unlink(missing_ok=True)
    return runs


def _train_lanes(configs, components, starts, run_dirs, done, fingerprint, progress, snapshots):
    """Train ``configs`` (one program, every one ``done`` updates in) from ``starts`` [(states
    [n_methods, n_seeds, ...], metrics)]; returns [(method -> params, metrics)] per config."""
    config = configs[0]
    states = jax.tree.map(lambda *xs: jnp.stack(xs), *[states for states, _ in starts])
    metrics = [dict(m) for _, m in starts]
    lanes = Lanes((len(configs), len(config.methods), len(config.seeds)), getattr(config, "lane_group", 0))
    packed = lanes.pack(states)
    run_chunk = make_chunk_runner(config, components, lanes, fingerprint)
    lengths = [min(config.chunk, config.updates - start) for start in range(done, config.updates, config.chunk)]
    label = f"train {config.env} m={config.agents}" + (f", {len(configs)} settings" if len(configs) > 1 else "")
    with progress_bar(config.updates, label, enabled=progress, unit="updates") as bar:
        bar.advance(done)
        # JAX dispatches asynchronously: the next chunk is queued before this one's metrics are
        # read and checkpointed, so that host work overlaps the device's (not for a host-stepped
        # environment, whose chunks run on the host when called)
        ahead = not isinstance(components.env, HostEnvironment)

        def dispatch(packed, i):
            chunk = run_chunk(packed, lengths[i])
            if i + 1 == len(lengths) and any(run_dirs):
                import pmaxent.plots.training  # noqa: F401  (imported while the last chunk computes)
            return chunk

        pending = None
        empty = np.zeros((len(config.methods), len(config.seeds), 0), np.float32)
        for i, length in enumerate(lengths):
            new_packed, chunk_metrics = pending or dispatch(packed, i)
            pending = dispatch(new_packed, i + 1) if ahead and i + 1 < len(lengths) else None
            chunk_metrics = jax.device_get(lanes.unpack(chunk_metrics))
            _check_finite(np.asarray(chunk_metrics.pop("finite")), configs, done)
            packed = new_packed
            names = metric_names(components, chunk_metrics)
            metrics = [
                {
                    k: np.concatenate([m.get(k, empty), np.asarray(chunk_metrics[k][s], np.float32)], axis=-1)
                    for k in names
                }
                for s, m in enumerate(metrics)
            ]
            done += length
            if any(run_dirs):
                unpacked = lanes.unpack(packed)
                for s, run_dir in enumerate(run_dirs):
                    own_states = jax.tree.map(lambda x, s=s: x[s], unpacked)
                    if snapshots:
                        params = _method_params(configs[s], own_states)
                        save_params(run_dir / SNAPSHOTS_DIR / f"update-{done:06d}.npz", configs[s], params)
                    save_checkpoint(run_dir / CHECKPOINT_FILE, own_states, metrics[s])
            bar.advance(length)
    unpacked = lanes.unpack(packed)
    return [(_method_params(c, jax.tree.map(lambda x, s=s: x[s], unpacked)), metrics[s]) for s, c in enumerate(configs)]


def _method_params(config: TrainConfig, states: TrainState) -> dict[str, Params]:
    """method -> its parameters, leaves [n_seeds, ...], from unpacked states [n_methods, n_seeds, ...]."""
    return {
        method: jax.tree.map(lambda x, i=i: np.asarray(x[i]), states.params) for i, method in enumerate(config.methods)
    }


def save_params(path: Path, config: RunConfig, params: dict[str, Params]) -> None:
    """method -> parameters (leaves [n_seeds, ...]) to ``path``, written whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: value for method, tree in params.items() for name, value in tree_to_arrays(tree, method).items()}
    save_npz(path, seeds=np.array(config.seeds), **arrays)


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
