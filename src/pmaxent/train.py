"""Training PGPSE teams, the single-agent baseline and the random baseline (SPEC section 5).

In the PureJaxRL style, ``make_train(config)`` returns a pure ``train(key, shared)`` whose whole
loop is one ``lax.scan``; ``jax.vmap`` runs seeds (and methods) at once. ``run_training`` wraps
the same update in chunks, checkpointing the state after each, so an interrupted run resumes
to the identical result, and writes a run directory:

    RUN/config.json        every setting (TrainConfig)
    RUN/metrics.csv        method, seed, update, entropy, normalized_entropy, support, ...
    RUN/params.npz         final tables per method, [n_seeds, m, ...]
    RUN/learning_curve.png mean and std over seeds (the paper's Figure 1)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent import envs
from pmaxent.devices import Lanes
from pmaxent.envs.simulator import make_dynamics
from pmaxent.envs.tabular import TabularMDP
from pmaxent.entropy import PluginEntropy
from pmaxent.pgpse import BASELINES, gradient_from_entropies, group_trajectories, team_metrics
from pmaxent.policies import INITIALISATIONS, TabularSoftmax
from pmaxent.progress import progress_bar
from pmaxent.rollout import sample_team

METHODS = ("parallel", "single", "random")
OPTIMIZERS = ("sgd", "adam")
RNGS = ("hash", "threefry2x32", "rbg", "unsafe_rbg")
PAPER_SEEDS = (0, 1, 2, 42, 133)
METRIC_NAMES = ("entropy", "normalized_entropy", "support", "agent_entropy", "diversity")

CONFIG_FILE, METRICS_FILE, PARAMS_FILE, CHECKPOINT_FILE = "config.json", "metrics.csv", "params.npz", "checkpoint.npz"
CURVE_FILE = "learning_curve.png"


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run.

    Defaults are the paper's (SPEC section 5) except ``baseline``: the counterfactual baseline
    "both" lowers the gradient variance by orders of magnitude and never learned worse in
    docs/baselines/BASELINES.md. ``paper_config`` gives the paper's estimator.
    """

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
            ("init", self.init, INITIALISATIONS),
            ("rng", self.rng, RNGS),
        ):
            for v in self.methods if name == "method" else (value,):
                if v not in allowed:
                    raise ValueError(f"unknown {name} {v!r}; choose from {', '.join(allowed)}")
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "methods", tuple(self.methods))
        if self.layout is not None:
            object.__setattr__(self, "layout", tuple(self.layout))

    def make_mdp(self) -> TabularMDP:
        """The environment this config trains on."""
        if self.layout is not None:
            return envs.from_map(self.layout, slip=self.slip or 0.0, horizon=self.horizon or 10, name=self.env)
        return envs.make(self.env, slip=self.slip, horizon=self.horizon)

    def make_policy(self, mdp: TabularMDP) -> TabularSoftmax:
        return TabularSoftmax(mdp.n_states, mdp.n_actions, mdp.horizon, self.time_indexed, self.init)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        data = json.loads(text)
        for key in ("seeds", "methods", "layout"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


def key_impl(config: TrainConfig) -> str:
    """The JAX PRNG implementation behind config.rng ('hash' seeds itself from threefry)."""
    return "threefry2x32" if config.rng == "hash" else config.rng


def paper_config(env: str = "room-det", agents: int = 6, **overrides) -> TrainConfig:
    """The paper's setting: B = 40, K = 1, 10,000 updates, seeds 0 1 2 42 133, constant lr 0.1,
    no baseline."""
    return TrainConfig(env=env, agents=agents, **{"baseline": "none", **overrides})


class TrainState(NamedTuple):
    """Everything an update needs; params, adam_m, adam_v: [m, ...]; step: int32 scalar."""

    params: jax.Array
    adam_m: jax.Array
    adam_v: jax.Array
    key: jax.Array
    step: jax.Array


_ADAM_B1, _ADAM_B2, _ADAM_EPS = 0.9, 0.999, 1e-8


def make_update(config: TrainConfig, mdp: TabularMDP) -> Callable[[TrainState, jax.Array, jax.Array], tuple[TrainState, dict]]:
    """A pure ``update(state, shared, learning) -> (state, metrics)`` doing one PGPSE step.

    ``shared`` (bool) ties the m tables into one (single-agent baseline); ``learning`` (bool)
    is False for the random baseline, whose tables stay at zero. Both may be traced, so the
    three methods vmap together.
    """
    dyn = make_dynamics(mdp)
    policy = config.make_policy(mdp)
    estimator = PluginEntropy(mdp.n_states)
    batch, k, horizon = config.batch_size, config.trajectories, mdp.horizon
    generator = "hash" if config.rng == "hash" else "jax"

    def update(state: TrainState, shared, learning):
        key, sample_key = jax.random.split(state.key)
        samples = sample_team(dyn, policy, state.params, sample_key, batch * k, horizon, generator)
        entropies, support = estimator(group_trajectories(samples.states, k))
        grad = gradient_from_entropies(policy, state.params, samples, entropies, config.baseline, shared, k)
        lr = config.lr * config.lr_decay ** state.step.astype(jnp.float32) * learning
        if config.optimizer == "adam":
            t = state.step.astype(jnp.float32) + 1
            adam_m = _ADAM_B1 * state.adam_m + (1 - _ADAM_B1) * grad
            adam_v = _ADAM_B2 * state.adam_v + (1 - _ADAM_B2) * grad**2
            direction = (adam_m / (1 - _ADAM_B1**t)) / (jnp.sqrt(adam_v / (1 - _ADAM_B2**t)) + _ADAM_EPS)
        else:
            adam_m, adam_v, direction = state.adam_m, state.adam_v, grad
        params = state.params + lr * direction
        metrics = team_metrics(entropies, support, mdp.n_valid)
        metrics["finite"] = jnp.all(jnp.isfinite(params)) & jnp.isfinite(metrics["entropy"])
        return TrainState(params, adam_m, adam_v, key, state.step + 1), metrics

    return update


def init_state(config: TrainConfig, mdp: TabularMDP, key: jax.Array, learning=True, shared=False) -> TrainState:
    """Initial tables from ``key``: zero (uniform policy) where ``learning`` is False, and m
    copies of agent 0's table where ``shared`` (the single-agent baseline)."""
    init_key, run_key = jax.random.split(key)
    params = config.make_policy(mdp).init(init_key, config.agents)
    params = jnp.where(shared, jnp.broadcast_to(params[:1], params.shape), params)
    params = jnp.where(learning, params, 0.0)
    zeros = jnp.zeros_like(params)
    return TrainState(params, zeros, zeros, run_key, jnp.zeros((), jnp.int32))


def make_train(config: TrainConfig, mdp: TabularMDP | None = None):
    """A pure ``train(key, shared=False) -> (final TrainState, metrics [updates])`` of one run.

    ``jax.jit(jax.vmap(train))(keys, shared)`` trains many seeds (and methods) at once.
    The single-agent baseline's tables start equal (copies of agent 0's).
    """
    mdp = mdp or config.make_mdp()
    update = make_update(config, mdp)

    def train(key, shared=False):
        state = init_state(config, mdp, key, shared=shared)
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
    mdp: TabularMDP
    policy: TabularSoftmax
    params: dict[str, np.ndarray]
    """method -> tables [n_seeds, m, ...] (single: m equal copies; random: zeros)."""
    metrics: dict[str, np.ndarray]
    """metric name -> [n_methods, n_seeds, updates], methods in config.methods order."""
    run_dir: Path | None = None


def _method_flags(config: TrainConfig):
    shared = jnp.array([[m == "single"] * len(config.seeds) for m in config.methods])
    learning = jnp.array([[m != "random"] * len(config.seeds) for m in config.methods])
    return shared, learning


def _initial_states(config: TrainConfig, mdp: TabularMDP) -> TrainState:
    """States [n_methods, n_seeds, ...]: the same initial tables for every method of a seed."""
    shared, learning = _method_flags(config)

    def one(method_id, seed, shared, learning):
        state = init_state(config, mdp, jax.random.key(seed, impl=key_impl(config)), learning, shared)
        return state._replace(key=jax.random.fold_in(state.key, method_id))

    method_ids = jnp.array([[METHODS.index(m)] * len(config.seeds) for m in config.methods])
    seeds = jnp.array([list(config.seeds)] * len(config.methods))
    return jax.jit(jax.vmap(jax.vmap(one)))(method_ids, seeds, shared, learning)


def make_chunk_runner(config: TrainConfig, mdp: TabularMDP, lanes: Lanes):
    """jitted ``run(packed_states, length) -> (packed_states, metrics [n_packed_lanes, length])``.

    States are packed by ``lanes`` (methods x seeds flattened, padded, sharded over devices).
    """
    update = make_update(config, mdp)
    shared, learning = lanes.pack(_method_flags(config))

    @functools.partial(jax.jit, static_argnums=1)
    def run(states, length):
        def run_lane(state, shared, learning):
            return jax.lax.scan(lambda s, _: update(s, shared, learning), state, None, length=length)

        return jax.vmap(run_lane)(states, shared, learning)

    return run


def _checkpoint_tmp(path: Path) -> Path:
    """Written first, then renamed over the checkpoint, so an interrupted write never corrupts it."""
    return path.with_suffix(".tmp.npz")


def _save_checkpoint(path: Path, states: TrainState, metrics: dict[str, np.ndarray]) -> None:
    tmp = _checkpoint_tmp(path)
    np.savez(
        tmp,
        params=np.asarray(states.params),
        adam_m=np.asarray(states.adam_m),
        adam_v=np.asarray(states.adam_v),
        key=np.asarray(jax.random.key_data(states.key)),
        step=np.asarray(states.step),
        **{f"metric_{k}": v for k, v in metrics.items()},
    )
    os.replace(tmp, path)


def _load_checkpoint(path: Path, config: TrainConfig) -> tuple[TrainState, dict[str, np.ndarray]]:
    try:
        with np.load(path) as data:
            key = jax.random.wrap_key_data(jnp.asarray(data["key"]), impl=key_impl(config))
            states = TrainState(jnp.asarray(data["params"]), jnp.asarray(data["adam_m"]), jnp.asarray(data["adam_v"]), key, jnp.asarray(data["step"]))
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
) -> TrainedRun:
    """Train every method and seed of ``config``; with ``out_dir``, write and checkpoint a run directory.

    An existing run directory is refused unless ``resume`` is set, in which case its config must
    match and training continues from the last checkpoint (or nothing is done when finished).
    """
    mdp = config.make_mdp()
    run_dir = Path(out_dir) if out_dir is not None else None
    if run_dir is not None:
        _prepare_run_dir(run_dir, config, resume)
        if (run_dir / PARAMS_FILE).exists():
            return load_run(run_dir)
    checkpoint = run_dir / CHECKPOINT_FILE if run_dir is not None else None
    if checkpoint is not None and checkpoint.exists():
        states, metrics = _load_checkpoint(checkpoint, config)
    else:
        states = _initial_states(config, mdp)
        metrics = {name: np.zeros((len(config.methods), len(config.seeds), 0), np.float32) for name in METRIC_NAMES}
    lanes = Lanes((len(config.methods), len(config.seeds)))
    packed = lanes.pack(states)
    run_chunk = make_chunk_runner(config, mdp, lanes)
    done = int(np.asarray(states.step).reshape(-1)[0])
    with progress_bar(config.updates, f"train {config.env} m={config.agents}", enabled=progress, unit="updates") as bar:
        bar.advance(done)
        while done < config.updates:
            length = min(config.chunk, config.updates - done)
            new_packed, chunk_metrics = run_chunk(packed, length)
            chunk_metrics = jax.device_get(lanes.unpack(chunk_metrics))
            _check_finite(np.asarray(chunk_metrics.pop("finite")), config, done)
            packed = new_packed
            metrics = {k: np.concatenate([metrics[k], np.asarray(chunk_metrics[k], np.float32)], axis=-1) for k in METRIC_NAMES}
            done += length
            if checkpoint is not None:
                _save_checkpoint(checkpoint, lanes.unpack(packed), metrics)
            bar.advance(length)
    states = lanes.unpack(packed)
    params = {method: np.asarray(states.params[i]) for i, method in enumerate(config.methods)}
    run = TrainedRun(config, mdp, config.make_policy(mdp), params, metrics, run_dir)
    if run_dir is not None:
        _write_results(run, plot)
        checkpoint.unlink()
        _checkpoint_tmp(checkpoint).unlink(missing_ok=True)
    return run


def _prepare_run_dir(run_dir: Path, config: TrainConfig, resume: bool) -> None:
    config_path = run_dir / CONFIG_FILE
    if config_path.exists():
        if not resume:
            raise FileExistsError(f"{run_dir} already holds a run; pass resume=True (--resume) to continue it or choose another directory")
        try:
            saved = TrainConfig.from_json(config_path.read_text())
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"{config_path} is corrupt: {error}") from error
        if saved != config:
            differing = [f.name for f in dataclasses.fields(config) if getattr(saved, f.name) != getattr(config, f.name)]
            raise ValueError(f"{run_dir} was started with a different config (fields {differing}); resume with the same settings")
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config.to_json())


def _write_results(run: TrainedRun, plot: bool) -> None:
    run_dir, config = run.run_dir, run.config
    np.savez(run_dir / PARAMS_FILE, seeds=np.array(config.seeds), **run.params)
    write_metrics_csv(run_dir / METRICS_FILE, config, run.metrics)
    if plot:
        from pmaxent.plots.training import plot_learning_curves

        plot_learning_curves({m: {k: v[i] for k, v in run.metrics.items()} for i, m in enumerate(config.methods)}, run_dir / CURVE_FILE, title=f"{config.env}, m = {config.agents}")


def write_metrics_csv(path: Path, config: TrainConfig, metrics: dict[str, np.ndarray]) -> None:
    """One row per method, seed and update (updates counted from 1)."""
    n_methods, n_seeds, n_updates = metrics[METRIC_NAMES[0]].shape
    with open(path, "w") as f:
        f.write("method,seed,update," + ",".join(METRIC_NAMES) + "\n")
        update_column = np.arange(1, n_updates + 1)
        for i, method in enumerate(config.methods):
            for j, seed in enumerate(config.seeds):
                block = np.column_stack([update_column] + [metrics[k][i, j] for k in METRIC_NAMES])
                lines = [f"{method},{seed},{int(row[0])}," + ",".join(f"{v:.6g}" for v in row[1:]) for row in block]
                f.write("\n".join(lines) + "\n")


def read_metrics_csv(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """metrics.csv -> {method: {metric: [n_seeds, updates]}} (seeds in file order)."""
    import csv

    rows: dict[str, dict[int, dict[str, list[float]]]] = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            per_seed = rows.setdefault(row["method"], {}).setdefault(int(row["seed"]), {k: [] for k in METRIC_NAMES})
            for k in METRIC_NAMES:
                per_seed[k].append(float(row[k]))
    return {method: {k: np.array([s[k] for s in seeds.values()]) for k in METRIC_NAMES} for method, seeds in rows.items()}


def load_run(run_dir: str | Path) -> TrainedRun:
    """Load a finished run directory (config, parameters, metrics)."""
    run_dir = Path(run_dir)
    config_path, params_path = run_dir / CONFIG_FILE, run_dir / PARAMS_FILE
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory: {CONFIG_FILE} is missing")
    if not params_path.exists():
        raise FileNotFoundError(f"{run_dir} has no {PARAMS_FILE}: training is unfinished (resume it with --resume)")
    try:
        config = TrainConfig.from_json(config_path.read_text())
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"{config_path} is corrupt: {error}") from error
    mdp = config.make_mdp()
    try:
        with np.load(params_path) as data:
            params = {m: data[m] for m in config.methods}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"{params_path} is corrupt ({error}); train the run again") from error
    metrics_by_method = read_metrics_csv(run_dir / METRICS_FILE) if (run_dir / METRICS_FILE).exists() else {}
    metrics = {k: np.stack([metrics_by_method[m][k] for m in config.methods]) for k in METRIC_NAMES} if metrics_by_method else {}
    return TrainedRun(config, mdp, config.make_policy(mdp), params, metrics, run_dir)


def team_params(run: TrainedRun, method: str) -> np.ndarray:
    """Tables [n_seeds, m, ...] of a method; the random method's are zeros (uniform policy)."""
    if method == "random":
        shape = (len(run.config.seeds),) + run.policy.table_shape(run.config.agents)
        return np.zeros(shape, np.float32)
    if method not in run.params:
        raise ValueError(f"the run trained {list(run.params)}, not {method!r}")
    return run.params[method]
