"""Training PGPSE teams, the single-agent baseline and the random baseline (SPEC section 5).

In the PureJaxRL style, ``make_train(config)`` returns a pure ``train(key, shared)`` whose whole
loop is one ``lax.scan``; ``jax.vmap`` runs seeds (and methods) at once. ``run_training`` wraps
the same update in chunks, checkpointing the state after each, so an interrupted run resumes
to the identical result, and writes a run directory:

    RUN/config.json        every setting (TrainConfig)
    RUN/metrics.csv        method, seed, update, entropy, normalized_entropy, support, ...
    RUN/params.npz         final parameters per method, leaves [n_seeds, m, ...]
    RUN/learning_curve.png mean and std over seeds (the paper's Figure 1)

The trainer is given its environment, team policy and entropy estimator as components
(:mod:`pmaxent.components`); :mod:`pmaxent.registry` builds them from a config's names.
Optimisers are optax's: ascent on J_p is descent on -J_p.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import zipfile
from pathlib import Path
from typing import Callable, ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pmaxent import registry
from pmaxent.components import Components, HostEnvironment, Params, check_components
from pmaxent.devices import Lanes
from pmaxent.pgpse import BASELINES, gradient_from_entropies, group_trajectories, team_metrics
from pmaxent.programs import StoredProgram
from pmaxent.progress import progress_bar
from pmaxent.pytrees import tree_from_arrays, tree_to_arrays
from pmaxent.rollout import map_copies, sample_team
from pmaxent.tables import read_metrics_csv, write_metrics_csv

METHODS = ("parallel", "single", "random")
OPTIMIZERS = ("sgd", "adam")
RNGS = ("hash", "threefry2x32", "rbg", "unsafe_rbg")
PAPER_SEEDS = (0, 1, 2, 42, 133)

CONFIG_FILE, METRICS_FILE, PARAMS_FILE, CHECKPOINT_FILE = "config.json", "metrics.csv", "params.npz", "checkpoint.npz"
CURVE_FILE = "learning_curve.png"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run.

    Defaults are the paper's (SPEC section 5) except ``baseline``: the counterfactual baseline
    "both" lowers the gradient variance by orders of magnitude and never learned worse in
    docs/baselines/BASELINES.md. ``paper_config`` gives the paper's estimator. Continuous worlds
    have their own defaults and settings: :class:`pmaxent.continuous.config.ContinuousTrainConfig`.
    """

    family: ClassVar[str] = "tabular"

    env: str = "room-det"
    """Environment: a paper name (room-det, room-stoc, maze-det, maze-stoc) or a label for `layout`."""
    layout: tuple[str, ...] | None = None
    """A custom text map ('F' floor, 'S' start, '-' wall) used instead of a paper environment."""
    slip: float | None = None
    """Slip probability override (paper: 0 for -det, 0.2 for -stoc; custom maps default 0)."""
    horizon: int | None = None
    """T override (paper: 8 room, 10 maze)."""
    agents: int = 6
    """m, the number of parallel agents (and of trajectories of the single-agent baseline)."""
    methods: tuple[str, ...] = ("parallel", "single", "random")
    """Which of parallel, single (one shared table, K' = m), random (uniform, untrained) to run."""
    batch_size: int = 40
    """B, team samples per update."""
    trajectories: int = 1
    """K, trajectories per agent in each team sample (1 in the paper)."""
    updates: int = 10_000
    """Number of gradient updates."""
    seeds: tuple[int, ...] = PAPER_SEEDS
    """Training seeds, all run at once (vmapped)."""
    lr: float = 0.1
    """Step size alpha (constant in the authors' code; see lr_decay)."""
    lr_decay: float = 1.0
    """Per-update multiplicative decay of the step size (the paper's text says 0.999)."""
    optimizer: str = "sgd"
    """'sgd' (plain gradient ascent, the paper) or 'adam'."""
    baseline: str = "both"
    """Score weight baseline: 'none' (the paper's), 'loo-agent', 'loo-sample', 'both' (default)."""
    time_indexed: bool = False
    """Non-stationary tables theta [m, T, S, A] instead of [m, S, A]."""
    init: str = "uniform"
    """Initial tables: 'uniform' in [-1, 1] (authors' default) or 'zeros'."""
    chunk: int = 500
    """Updates per jitted chunk; the state is checkpointed after every chunk."""
    rng: str = "hash"
    """Random numbers of the rollouts: 'hash' (fast counter hash seeded by threefry, see
    pmaxent.random) or a JAX PRNG implementation: 'threefry2x32', 'rbg', 'unsafe_rbg'."""

    def __post_init__(self):
        for field in ("agents", "batch_size", "trajectories", "updates", "chunk"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{field} must be a positive integer; got {value!r}")
        if self.horizon is not None and (not isinstance(self.horizon, (int, np.integer)) or self.horizon < 1):
            raise ValueError(f"horizon must be a positive integer; got {self.horizon!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be finite and positive; got {self.lr!r}")
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must lie in (0, 1]; got {self.lr_decay!r}")
        if self.batch_size < 2 and self.baseline in ("loo-sample", "both"):
            raise ValueError(f"baseline {self.baseline!r} needs batch_size >= 2")
        if not self.seeds:
            raise ValueError("seeds must name at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct; got {self.seeds}")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be a non-empty list of distinct names; got {self.methods}")
        for name, value, allowed in (
            ("method", None, METHODS),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("baseline", self.baseline, BASELINES),
            ("rng", self.rng, RNGS),
        ):
            for v in self.methods if name == "method" else (value,):
                if v not in allowed:
                    raise ValueError(f"unknown {name} {v!r}; choose from {', '.join(allowed)}")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "methods", tuple(self.methods))
        if self.layout is not None:
            object.__setattr__(self, "layout", tuple(self.layout))

    def make_components(self) -> Components:
        """The environment, team policy and entropy estimator this config trains with."""
        return registry.make_components(self)

    def to_json(self) -> str:
        return json.dumps({"family": self.family, **dataclasses.asdict(self)}, indent=2)

    @staticmethod
    def from_json(text: str) -> "TrainConfig":
        """The config of the family named in the JSON (tabular when it names none)."""
        data = json.loads(text)
        cls = registry.config_class(data.pop("family", "tabular"), data.get("methods"))
        for field in dataclasses.fields(cls):
            if isinstance(data.get(field.name), list):
                data[field.name] = tuple(data[field.name])
        return cls(**data)


def key_impl(config: TrainConfig) -> str:
    """The JAX PRNG implementation behind config.rng ('hash' seeds itself from threefry)."""
    return "threefry2x32" if config.rng == "hash" else config.rng


def paper_config(env: str = "room-det", agents: int = 6, **overrides) -> TrainConfig:
    """The paper's setting: B = 40, K = 1, 10,000 updates, seeds 0 1 2 42 133, constant lr 0.1,
    no baseline."""
    return TrainConfig(env=env, agents=agents, **{"baseline": "none", **overrides})


class TrainState(NamedTuple):
    """Everything an update needs: params (leaves [m, ...]), the optimizer's state, the key and
    the number of updates done (int32 scalar)."""

    params: Params
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array


def make_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """optax's sgd (the paper's plain ascent) or adam, at config.lr decayed by config.lr_decay per update."""
    schedule = config.lr if config.lr_decay == 1 else optax.exponential_decay(config.lr, 1, config.lr_decay)
    return {"sgd": optax.sgd, "adam": optax.adam}[config.optimizer](schedule)


def make_learn(config: TrainConfig, components: Components) -> Callable:
    """A pure ``learn(state, shared, learning, features, observations, actions) -> (state, metrics)``:
    the PGPSE step from a batch of sampled trajectories, whoever sampled them (the jitted rollout
    of a JAX world, or a host-stepped Gymnasium vector environment: :mod:`pmaxent.host_rollout`).

    features [B*K, m, T+1, ...], observations [B*K, m, T, ...] (those the actions were taken in),
    actions [B*K, m, T, ...]; ``state.key`` is used as it is (the caller advances it).
    """
    env, policy, estimator = components.env, components.policy, components.estimator
    optimizer = make_optimizer(config)
    k = config.trajectories

    def learn(state: TrainState, shared, learning, features, observations, actions):
        entropies = estimator(group_trajectories(features, k))
        grad = gradient_from_entropies(policy, state.params, observations, actions, entropies, config.baseline, shared, k)
        # descent on -J_p; zero for the random baseline, whose optimizer then never moves it
        descent = jax.tree.map(lambda g: -(g * learning), grad)
        updates, opt_state = optimizer.update(descent, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = team_metrics(entropies, env.feature_volume)
        if env.team_metrics is not None:
            metrics.update({name: value.mean() for name, value in env.team_metrics(group_trajectories(features, k)).items()})
        finite = [jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(params)]
        metrics["finite"] = jnp.all(jnp.stack(finite)) & jnp.isfinite(metrics["entropy"])
        return TrainState(params, opt_state, state.key, state.step + 1), metrics

    return learn


def make_update(config: TrainConfig, components: Components) -> Callable[[TrainState, jax.Array, jax.Array], tuple[TrainState, dict]]:
    """A pure ``update(state, shared, learning) -> (state, metrics)`` doing one PGPSE step.

    ``shared`` (bool) ties the m agents' parameters into one set (single-agent baseline);
    ``learning`` (bool) is False for the random baseline, which acts uniformly and is not
    updated. Both may be traced, so the three methods vmap together.
    """
    env, policy = components.env, components.policy
    learn = make_learn(config, components)
    generator = "hash" if config.rng == "hash" else "jax"
    over_samples = lambda f: map_copies(f, 3)  # noqa: E731  over [B*K, m, T(+1)]

    def update(state: TrainState, shared, learning):
        key, sample_key = jax.random.split(state.key)
        # logical_not, not ~: a Python True would become ~True == -2, which is truthy (act uniformly)
        uniform = jnp.logical_not(learning)
        samples = sample_team(env, policy, state.params, sample_key, config.batch_size * config.trajectories, generator, uniform)
        features = over_samples(env.features)(samples.states)
        observations = over_samples(env.observe)(jax.tree.map(lambda x: x[:, :, :-1], samples.states))
        return learn(state._replace(key=key), shared, learning, features, observations, samples.actions)

    return update


def metric_names(components: Components, logged) -> tuple[str, ...]:
    """The names in ``logged`` (the metric names an update returns) in column order: those of
    :func:`team_metrics`, then the environment's own, without the internal "finite"."""
    first = ("entropy", "normalized_entropy", *components.estimator.extra_metrics, "agent_entropy", "diversity")
    return first + tuple(sorted(set(logged) - set(first) - {"finite"}))


def init_state(config: TrainConfig, components: Components, key: jax.Array, learning=True, shared=False) -> TrainState:
    """Initial parameters from ``key``: zero where ``learning`` is False (the random baseline, which
    acts uniformly whatever its parameters), and m copies of agent 0's where ``shared`` (the
    single-agent baseline)."""
    init_key, run_key = jax.random.split(key)
    params = components.policy.init(init_key, config.agents)
    params = jax.tree.map(lambda p: jnp.where(learning, jnp.where(shared, jnp.broadcast_to(p[:1], p.shape), p), 0.0), params)
    return TrainState(params, make_optimizer(config).init(params), run_key, jnp.zeros((), jnp.int32))


def make_train(config: TrainConfig, components: Components | None = None):
    """A pure ``train(key, shared=False) -> (final TrainState, metrics [updates])`` of one run.

    ``jax.jit(jax.vmap(train))(keys, shared)`` trains many seeds (and methods) at once.
    The single-agent baseline's parameters start equal (copies of agent 0's). ``components``
    default to those the config names.
    """
    components = components or config.make_components()
    check_components(components, config.agents)
    update = make_update(config, components)

    def train(key, shared=False):
        state = init_state(config, components, key, shared=shared)
        return jax.lax.scan(lambda s, _: update(s, shared, True), state, None, length=config.updates)

    return train


# ---------------------------------------------------------------------------------------------
# Run directories: chunked, checkpointed, resumable training
# ---------------------------------------------------------------------------------------------


class TrainingDiverged(RuntimeError):
    """A parameter or metric became non-finite; the last good checkpoint is kept."""


@dataclasses.dataclass
class TrainedRun:
    """A finished run loaded from its directory."""

    config: TrainConfig
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
    A host-stepped environment (Gymnasium) gets the runner of :mod:`pmaxent.host_rollout`.
    ``fingerprint`` (the config's JSON when the components are the config's own) keeps the
    compiled program in the program store (:mod:`pmaxent.programs`), so that a later run skips
    tracing it; None for components the fingerprint cannot describe.
    """
    shared, learning = lanes.pack(_method_flags(config))
    if isinstance(components.env, HostEnvironment):
        from pmaxent.host_rollout import make_host_chunk_runner

        return make_host_chunk_runner(components, lanes, make_learn(config, components), shared, learning, config.batch_size * config.trajectories)
    update = make_update(config, components)

    def run(states, length):
        def run_lane(state, shared, learning):
            return jax.lax.scan(lambda s, _: update(s, shared, learning), state, None, length=length)

        return jax.vmap(run_lane)(states, shared, learning)

    return _jit(run, "train-chunk", fingerprint, static_argnums=(1,))


def checkpoint_tmp(path: Path) -> Path:  # written first, then renamed over the checkpoint: an interrupted write never corrupts it
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
            metrics = {k[len("metric_"):]: data[k] for k in data.files if k.startswith("metric_")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"checkpoint {path} is corrupt ({error}); delete it to restart this run from update 0") from error
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
) -> TrainedRun:
    """Train every method and seed of ``config``; with ``out_dir``, write and checkpoint a run directory.

    An existing run directory is refused unless ``resume`` is set, in which case its config must
    match and training continues from the last checkpoint (or nothing is done when finished).
    ``components`` default to those the config names; pass your own to train on a world of yours
    (a run directory of such a run is resumed by passing the same components).
    """
    fingerprint = config.to_json() if components is None else None  # the config's own components: the config says what the programs are
    components = components or config.make_components()
    check_components(components, config.agents)
    run_dir = Path(out_dir) if out_dir is not None else None
    if run_dir is not None:
        prepare_run_dir(run_dir, config, resume)
        if (run_dir / PARAMS_FILE).exists():
            return load_run(run_dir, components)
    checkpoint = run_dir / CHECKPOINT_FILE if run_dir is not None else None
    states = _initial_states(config, components, fingerprint)
    metrics: dict[str, np.ndarray] = {}
    if checkpoint is not None and checkpoint.exists():
        states, metrics = load_checkpoint(checkpoint, states)
    lanes = Lanes((len(config.methods), len(config.seeds)))
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
            metrics = {k: np.concatenate([metrics.get(k, empty), np.asarray(chunk_metrics[k], np.float32)], axis=-1) for k in metric_names(components, chunk_metrics)}
            done += length
            if checkpoint is not None:
                save_checkpoint(checkpoint, lanes.unpack(packed), metrics)
            bar.advance(length)
    states = lanes.unpack(packed)
    params = {method: jax.tree.map(lambda x, i=i: np.asarray(x[i]), states.params) for i, method in enumerate(config.methods)}
    run = TrainedRun(config, components, params, metrics, run_dir)
    if run_dir is not None:
        _write_results(run, plot)
        checkpoint.unlink()
        checkpoint_tmp(checkpoint).unlink(missing_ok=True)
    return run


def _read_config(config_path: Path) -> TrainConfig:
    try:
        return TrainConfig.from_json(config_path.read_text())
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{config_path} is corrupt: {error}") from error


def saved_config(run_dir: str | Path, given: dict | None = None) -> TrainConfig:
    """The settings a run directory was started with (its config.json), to resume it with.

    ``given`` (field name -> value, e.g. the options typed on a command line) must agree with them:
    a run resumes with its own settings, and a setting asked for that it was not started with is
    refused (ValueError naming each), as is a field its settings do not have.
    """
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing")
    saved = _read_config(config_path)
    given = given or {}
    fields = {f.name for f in dataclasses.fields(saved)}
    foreign = sorted(set(given) - fields)
    if foreign:
        raise ValueError(f"{run_dir} holds a {saved.family} run ({type(saved).__name__}), which has no setting {', '.join(foreign)}")
    asked = dataclasses.replace(saved, **given)  # checked and normalised as the dataclass does
    differing = [f"{name} = {getattr(saved, name)!r}, not {getattr(asked, name)!r}" for name in given if getattr(saved, name) != getattr(asked, name)]
    if differing:
        raise ValueError(f"{run_dir} was started with {'; '.join(differing)}; a run resumes with its own settings (leave those out, or choose another directory)")
    return saved


def prepare_run_dir(run_dir: Path, config: TrainConfig, resume: bool) -> None:
    """Create ``run_dir`` with config.json, or (``resume``) check that its config is ``config``."""
    config_path = run_dir / CONFIG_FILE
    if config_path.exists():
        if not resume:
            raise FileExistsError(f"{run_dir} already holds a run; pass resume=True (--resume) to continue it or choose another directory")
        saved = saved_config(run_dir, {f.name: getattr(config, f.name) for f in dataclasses.fields(config)})
        if saved != config:  # every field agrees, the family does not
            raise ValueError(f"{run_dir} holds a {saved.family} run ({type(saved).__name__}), not a {config.family} one ({type(config).__name__})")
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config.to_json())


def _write_results(run: TrainedRun, plot: bool) -> None:
    run_dir, config = run.run_dir, run.config
    arrays = {name: value for method, tree in run.params.items() for name, value in tree_to_arrays(tree, method).items()}
    np.savez(run_dir / PARAMS_FILE, seeds=np.array(config.seeds), **arrays)
    write_metrics_csv(run_dir / METRICS_FILE, config.methods, config.seeds, run.metrics)
    if plot:
        from pmaxent.plots.training import plot_learning_curves

        curves = {m: {k: v[i] for k, v in run.metrics.items()} for i, m in enumerate(config.methods)}
        shown = [name for name in run.metrics if name not in ("agent_entropy", "diversity", "normalized_entropy" if np.isnan(run.metrics["normalized_entropy"]).all() else "entropy")]
        plot_learning_curves(curves, run_dir / CURVE_FILE, title=f"{config.env}, m = {config.agents}", metrics=shown)
        registry.write_figures(run)


def load_run(run_dir: str | Path, components: Components | None = None) -> TrainedRun:
    """Load a finished run directory (config, parameters, metrics); ``components`` default to
    those its config names."""
    run_dir = Path(run_dir)
    config_path, params_path = run_dir / CONFIG_FILE, run_dir / PARAMS_FILE
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing")
    if not params_path.exists():
        raise FileNotFoundError(f"{run_dir} has no {PARAMS_FILE}: training is unfinished (resume it with --resume)")
    config = _read_config(config_path)
    components = components or config.make_components()
    template = jax.eval_shape(lambda key: components.policy.init(key, config.agents), jax.random.key(0))
    template = jax.tree.map(lambda leaf: jax.ShapeDtypeStruct((len(config.seeds),) + leaf.shape, leaf.dtype), template)
    try:
        with np.load(params_path) as data:
            params = {m: tree_from_arrays(template, data, m, to_device=False) for m in config.methods}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"{params_path} is corrupt ({error}); train the run again") from error
    metrics_by_method = read_metrics_csv(run_dir / METRICS_FILE) if (run_dir / METRICS_FILE).exists() else {}
    metrics = {k: np.stack([metrics_by_method[m][k] for m in config.methods]) for k in next(iter(metrics_by_method.values()))} if metrics_by_method else {}
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
