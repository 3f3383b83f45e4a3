"""MEPOL (Mutti, Pratissoli, Restelli, AAAI 2021) as a baseline: one agent, off-policy steps on an
importance-weighted k-NN entropy estimate of the behaviour batch, within a k-NN KL trust region.

One epoch:

1. The behaviour policy pi runs ``trajectories`` trajectories of T steps; the particles are the
   entropy features of the states s_1 .. s_T each action led to: N = trajectories x T points.
2. Each particle's neighbourhood is fixed for the epoch: N_i, the particle itself and its k - 1
   nearest others (k points), and R_i, the distance to its k-th nearest other particle
   (floored at ``min_distance`` as in :mod:`pmaxent.continuous.knn`).
3. Importance weights of a target pi' (:func:`importance_weights`): particle t of a trajectory
   weighs prod_{s <= t} pi'(a_s | o_s) / pi(a_s | o_s), normalised to sum 1 over the batch.
   With W_i = sum_{j in N_i} w_j and V_i = V_d R_i^d,

       H(pi' | pi) = - sum_i (W_i / k) ln(W_i / V_i) + ln k - psi(k)       (:func:`weighted_entropy`)
       KL(pi || pi') = max(0, (1 / N) sum_i ln(k / (N W_i)))                (:func:`knn_kl`)

   With pi' = pi every w_j = 1 / N and H is the plain Kozachenko-Leonenko estimate with ln N in
   place of psi(N) (the on-policy form of SPEC section 11); the KL is 0.
4. Adam steps on -H move pi' while the KL stays <= ``kl_threshold``, at most ``max_off_iters``
   accepted steps; a step that breaks the threshold (or is not finite) is undone. Backtracking:
   if the first step of an epoch is undone, it is retried with the step size divided by
   ``backtrack_coeff`` (then its square, ...; at most ``max_backtrack_try`` tries), and the epoch
   ends after one accepted backtracked step. The last accepted target becomes the next behaviour.

The worlds are the continuous family's (pmaxent's navigation worlds and text maps, MJX worlds,
gym:ID environments sampled from the host); :class:`MepolConfig` holds the settings and
:mod:`pmaxent.mepol.runs` writes the run directory of ``pmaxent train --method mepol``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pmaxent.continuous.config import POINTS_PER_TRAJECTORY, check_physics
from pmaxent.continuous.importance import importance_weights, knn_kl, neighbourhoods, weighted_entropy
from pmaxent.core.components import Components, HostEnvironment
from pmaxent.core.config import RunConfig, check_layer_sizes, check_positive_int
from pmaxent.core.host_rollout import make_act, sample_host
from pmaxent.core.rollout import map_copies, sample_team

MEPOL_PRESETS = {
    "gridworld-continuous": {"k": 50, "horizon": 1200, "hidden": (300, 300), "log_std_init": -1.5},
    "gym:MountainCarContinuous-v0": {"k": 4, "horizon": 400, "hidden": (300, 300), "log_std_init": -1.5},
    "ant-mjx": {"k": 4, "horizon": 500, "hidden": (400, 300), "log_std_init": -0.5},
    "ant-xy-mjx": {"k": 4, "horizon": 500, "hidden": (400, 300), "log_std_init": -0.5},
}
"""MEPOL's settings per environment (its paper's GridWorld, MountainCar and Ant) for the fields
left at None; any other environment gets the GridWorld's k, network and log std and its own T."""


@dataclasses.dataclass(frozen=True)
class MepolConfig(RunConfig):
    """Every setting of a MEPOL run (``pmaxent train --method mepol``); the defaults are MEPOL's
    GridWorld setting, and ``k``, ``horizon``, ``hidden`` and ``log_std_init`` left at None take
    MEPOL's setting for the environment (:data:`MEPOL_PRESETS`).

    Its worlds are the continuous family's (pmaxent's own, text maps, MJX worlds, gym:ID), built by
    :func:`pmaxent.continuous.components.continuous_components` for one agent; a run directory is
    written by :func:`pmaxent.mepol.runs.run_mepol`.
    """

    family: ClassVar[str] = "mepol"
    method_names: ClassVar[tuple[str, ...]] = ("mepol",)
    agents: ClassVar[int] = 1

    env: str = "gridworld-continuous"
    """Environment: gridworld-continuous (MEPOL's GridWorld), another continuous world, an MJX world, gym:ID, or a
    label for `layout`."""
    layout: tuple[str, ...] | None = None
    """A custom text map ('F' floor, 'S' start, '-' wall), a continuous world, used instead of a named environment."""
    methods: tuple[str, ...] = ("mepol",)
    """The method: mepol (one agent; it runs alone)."""
    horizon: int | None = None
    """T, steps per trajectory (default: MEPOL's for the environment, 1,200 on gridworld-continuous, else the
    world's)."""
    slip: float | None = None
    """Slip probability override of a kinematic continuous world."""
    max_step: float | None = None
    """Largest move per axis of a kinematic continuous world (the world's default)."""
    features: tuple[int, ...] | None = None
    """Entropy features of a gym:ID environment: observation indices (default: all)."""
    physics: str = "kinematic"
    """A navigation world's (named or --map) motion: 'kinematic' (moves into walls rejected) or 'mjx' (a point
    mass among wall geoms, MuJoCo MJX)."""
    k: int | None = None
    """k of the k-NN entropy and KL estimates (default: MEPOL's, 50 on GridWorld, 4 on MountainCar and Ant)."""
    trajectories: int = 20
    """Trajectories of the behaviour batch per epoch."""
    updates: int = 200
    """Number of epochs (behaviour batches)."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds (run one after the other within each epoch)."""
    lr: float = 1e-5
    """Adam's step size."""
    kl_threshold: float = 15.0
    """Largest accepted k-NN KL between behaviour and target."""
    max_off_iters: int = 30
    """Most accepted off-policy steps per epoch."""
    backtrack_coeff: float = 2.0
    """The step size of the n-th backtracking try is lr / backtrack_coeff ** n."""
    max_backtrack_try: int = 10
    """Most backtracking tries per epoch."""
    hidden: tuple[int, ...] | None = None
    """Hidden layer sizes of the policy network (default: MEPOL's, 300-300; Ant 400-300)."""
    log_std_init: float | None = None
    """Initial log standard deviation of the Gaussian policy (default: MEPOL's, -1.5; Ant -0.5)."""
    bounded_mean: bool = False
    """Squash the policy's mean into the action box with tanh (default off: MEPOL's raw MLP mean)."""
    point_stride: int | None = None
    """Stride of the k-NN points of the datasets' entropy (pmaxent collect); MEPOL itself uses every particle."""
    chunk: int = 10
    """Epochs between checkpoints of the run directory."""

    def __post_init__(self):
        if tuple(self.methods) != ("mepol",):
            raise ValueError(
                f"MEPOL runs alone: methods must be ('mepol',); got {tuple(self.methods)} (train the other methods in "
                "another run)"
            )
        preset = MEPOL_PRESETS.get(
            self.env.strip() if self.layout is None else "", MEPOL_PRESETS["gridworld-continuous"] | {"horizon": None}
        )
        for field in ("k", "horizon", "hidden", "log_std_init"):
            if getattr(self, field) is None:
                object.__setattr__(self, field, preset[field])
        super().__post_init__()
        for field in ("k", "trajectories", "max_off_iters", "max_backtrack_try"):
            check_positive_int(field, getattr(self, field))
        if self.horizon is not None and self.k >= self.trajectories * self.horizon:
            raise ValueError(
                f"k = {self.k} must be below the number of particles, trajectories x T = "
                f"{self.trajectories * self.horizon}"
            )
        for field in ("lr", "kl_threshold"):
            value = getattr(self, field)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{field} must be finite and positive; got {value!r}")
        if not self.backtrack_coeff > 1:
            raise ValueError(f"backtrack_coeff must exceed 1; got {self.backtrack_coeff!r}")
        check_layer_sizes("hidden", self.hidden)
        if self.point_stride is not None and (
            isinstance(self.point_stride, bool) or not isinstance(self.point_stride, int) or self.point_stride < 1
        ):
            raise ValueError(f"point_stride must be a positive integer; got {self.point_stride!r}")
        check_physics(self)
        if self.features is not None and not self.env.strip().startswith("gym:"):
            raise ValueError(f"features applies to gym:ID environments only; {self.env!r} declares its own")
        for field in ("hidden", "features"):
            if getattr(self, field) is not None:
                object.__setattr__(self, field, tuple(getattr(self, field)))

    def stride_for(self, horizon: int) -> int:
        """The k-NN point stride of the datasets' entropy (as :meth:`ContinuousTrainConfig.stride_for`)."""
        return self.point_stride or -(-(horizon + 1) // POINTS_PER_TRAJECTORY)

    def make_components(self) -> Components:
        """The world's environment (T = ``horizon``), a one-agent Gaussian MLP policy and a k-NN estimator."""
        from pmaxent.continuous.components import continuous_components

        return continuous_components(self)


class Mepol:
    """MEPOL on a continuous world: ``run()`` trains and returns its history; the run directory of
    ``pmaxent train --method mepol`` is :func:`pmaxent.mepol.runs.run_mepol`.

    Attributes: ``env`` (the trainer's Environment, or a HostEnvironment for gym:ID, horizon T),
    ``policy`` (a GaussianMLPTeam of one agent; parameters carry a leading agent axis of 1),
    ``dims`` (d, the entropy features' dimension).
    """

    def __init__(self, config: MepolConfig, components: Components | None = None):
        self.config = config
        self.components = components or config.make_components()
        self.env, self.policy = self.components.env, self.components.policy
        if isinstance(self.env, HostEnvironment):
            self.dims = len(self.env.feature_indices)
            self.sample = self._sample_host
            self._act = make_act(self.policy)
            self._vector = None
        else:
            self.dims = int(
                jax.eval_shape(
                    self.env.features,
                    jax.eval_shape(self.env.reset, jax.ShapeDtypeStruct((self.env.reset_noise,), jnp.float32)),
                ).shape[-1]
            )
            self.sample = jax.jit(self._sample)
        self.optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=config.lr)
        self.off_step = jax.jit(self._off_step)
        self.measure = jax.jit(self._measure)

    def _sample(self, params, key):
        """Behaviour batch: (particles [n_traj * T, d], observations [n_traj, T, obs_dim], actions [n_traj, T, a])."""
        env = self.env
        samples = sample_team(env, self.policy, params, key, self.config.trajectories, "jax")
        features = map_copies(env.features, 3)(samples.states)[:, 0, 1:]
        observations = map_copies(env.observe, 3)(samples.states)[:, 0, :-1]
        return features.reshape(-1, features.shape[-1]), observations, samples.actions[:, 0]

    def _sample_host(self, params, key):
        """The behaviour batch of a host-stepped (Gymnasium) environment, as :meth:`_sample`: one
        lane of ``trajectories`` copies in a vector environment (:func:`pmaxent.core.host_rollout.sample_host`)."""
        if self._vector is None:
            self._vector = self.env.make_vector(self.config.trajectories)
        lane = jax.tree.map(lambda leaf: leaf[None], params)
        features, observations, actions, _ = sample_host(
            self.env, self._act, self._vector, lane, jnp.zeros(1, bool), key[None], self.config.trajectories
        )
        particles = features[0, :, 0, 1:]
        return (
            jnp.asarray(particles.reshape(-1, particles.shape[-1])),
            jnp.asarray(observations[0, :, 0, :-1]),
            jnp.asarray(actions[0, :, 0]),
        )

    def log_probs(self, params, observations, actions):
        """ln pi(a_t | o_t) of the one agent: observations [n_traj, T, ...], actions [n_traj, T, ...] -> [n_traj, T]."""
        return jax.vmap(lambda o, a: self.policy.log_prob(params, o[None], a[None])[0])(observations, actions)

    def _measure(self, target, behaviour_log_p, observations, actions, indices, rho):
        """(weighted entropy, KL) of target params on the behaviour batch."""
        weights = importance_weights(self.log_probs(target, observations, actions) - behaviour_log_p)
        return weighted_entropy(weights, indices, rho, self.dims), knn_kl(weights, indices)

    def _off_step(self, target, opt_state, lr, behaviour_log_p, observations, actions, indices, rho):
        """One Adam step on -H(target | behaviour) at step size lr -> (target, opt_state, H before, H after,
        KL after)."""
        loss = lambda p: -self._measure(p, behaviour_log_p, observations, actions, indices, rho)[0]  # noqa: E731
        value, grad = jax.value_and_grad(loss)(target)
        opt_state.hyperparams["learning_rate"] = lr
        updates, opt_state = self.optimizer.update(grad, opt_state, target)
        target = optax.apply_updates(target, updates)
        entropy, kl = self._measure(target, behaviour_log_p, observations, actions, indices, rho)
        return target, opt_state, -value, entropy, kl

    def epoch(self, params, opt_state, key):
        """One MEPOL epoch from behaviour params -> (next params, opt_state, statistics dict)."""
        config = self.config
        particles, observations, actions = self.sample(params, key)
        indices, rho = neighbourhoods(particles, config.k)
        behaviour_log_p = self.log_probs(params, observations, actions)
        batch = (behaviour_log_p, observations, actions, indices, rho)
        behaviour_entropy, _ = self.measure(params, *batch)
        accepted, target, valid, valid_state, lr, tries, last_kl = 0, params, params, opt_state, config.lr, 0, 0.0
        while accepted < config.max_off_iters:
            target, opt_state, _, entropy, kl = self.off_step(target, opt_state, jnp.float32(lr), *batch)
            if bool(jnp.isfinite(entropy) & jnp.isfinite(kl)) and float(kl) <= config.kl_threshold:
                accepted, valid, valid_state, last_kl = accepted + 1, target, opt_state, float(kl)
                if tries:
                    break  # at most one accepted backtracked step
                continue
            target, opt_state = valid, valid_state  # undo the step
            if accepted == 0 and tries < config.max_backtrack_try - 1:
                tries += 1
                lr = config.lr / config.backtrack_coeff**tries
                continue
            break
        stats = {
            "entropy": float(behaviour_entropy),
            **self.batch_metrics(particles, float(behaviour_entropy)),
            "off_iters": accepted,
            "kl": last_kl,
            "backtracks": tries,
        }
        return valid, valid_state, stats

    def batch_metrics(self, particles: jax.Array, entropy: float) -> dict[str, float]:
        """normalized_entropy (entropy / ln feature volume; NaN where the world's volume is
        unbounded, e.g. the Ant's position) and the world's own metrics (coverage) of particles [N, d]."""
        volume = self.env.feature_volume
        metrics = {"normalized_entropy": entropy / math.log(volume) if volume is not None else math.nan}
        if self.env.team_metrics is not None:
            metrics.update(
                {name: float(value[0]) for name, value in self.env.team_metrics(particles[None, None]).items()}
            )
        return metrics

    def init(self, seed: int | None = None):
        """Initial (params, opt_state, key) from ``seed`` (default: the config's first seed)."""
        init_key, key = jax.random.split(jax.random.key(self.config.seeds[0] if seed is None else seed))
        params = self.policy.init(init_key, 1)
        return params, self.optimizer.init(params), key

    def run(self, epochs: int | None = None, time_limit: float | None = None) -> dict[str, np.ndarray]:
        """Train the first seed for ``epochs`` (default config.updates) or until ``time_limit`` seconds; returns per
        epoch: entropy (on-policy k-NN estimate of the behaviour batch, nats), off_iters, kl,
        backtracks, env_steps (cumulative) and wall_time (seconds, cumulative, compilation included)."""
        params, opt_state, key = self.init()
        history: dict[str, list] = {}
        start = time.perf_counter()
        for epoch in range(epochs or self.config.updates):
            key, sample_key = jax.random.split(key)
            params, opt_state, stats = self.epoch(params, opt_state, sample_key)
            stats.update(
                env_steps=(epoch + 1) * self.config.trajectories * self.env.horizon,
                wall_time=time.perf_counter() - start,
            )
            for name, value in stats.items():
                history.setdefault(name, []).append(value)
            if time_limit is not None and stats["wall_time"] > time_limit:
                break
        self.params = params
        return {name: np.asarray(values) for name, values in history.items()}
