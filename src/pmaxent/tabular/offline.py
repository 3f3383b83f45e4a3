"""Offline goal-reaching RL on exploration datasets (SPEC section 7; Figures 3 and 9).

For every goal cell g (every valid state except the start), each transition (s, a, s') of a
dataset is relabelled with r = 1 iff s' == g, and s' == g is terminal (no bootstrap). Two ways
to learn Q from the relabelled data:

- ``"paper"``: tabular Q-learning exactly as in the paper. Q starts at 0; 100 updates, each on
  a minibatch of 20 transitions drawn uniformly with replacement; alpha = 0.1, gamma = 0.99.
  A minibatch is applied as 20 *sequential* TD updates, Q[s, a] += alpha (y - Q[s, a]) with
  y = r + gamma * (1 - [s' == g]) * max_a' Q[s', a'] read from the Q already updated by the
  earlier transitions of the minibatch. This is what the authors' code does
  (``QLearningWithReplay.update_q_values`` loops over the minibatch).
- ``"converged"``: value iteration to convergence on the dataset's empirical MDP: for a seen
  (s, a), P_hat(s' | s, a) = count(s, a, s') / count(s, a); an (s, a) never seen in the data has
  no value, Q(s, a) = 0, exactly as an entry Q-learning never updates. It answers what the data
  supports once learning is no longer the bottleneck.

Transitions that leave g (the agents kept moving after visiting it) stay in the data: they
update Q[g, .], which nothing bootstraps from because reaching g is terminal.

The greedy policy argmax_a Q[s, a] (ties to the lowest action index) is then run in the true
environment (stochastic for the '-stoc' maps) from the initial distribution, with g terminal,
for 10 episodes cut at 200 steps; the success rate is the fraction of episodes that reach g.

Everything is one jitted computation vmapped over datasets, goals and evaluation episodes.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.core.progress import progress_bar
from pmaxent.core.random import hashed_uniform
from pmaxent.core.tables import write_csv
from pmaxent.datasets import DATASET_METHODS
from pmaxent.offline import OfflineResult
from pmaxent.tabular.datasets import ExplorationDataset
from pmaxent.tabular.gymnasium_env import GOAL_EPISODE_STEPS
from pmaxent.tabular.mdp import TabularMDP
from pmaxent.tabular.run_datasets import load_run_datasets
from pmaxent.tabular.simulator import Dynamics, make_dynamics, reset_from_uniform, step_from_uniform

VARIANTS = ("paper", "converged")
VARIANT_TITLES = {
    "paper": "offline Q-learning (paper protocol)",
    "converged": "value iteration on the data (converged)",
}


@dataclasses.dataclass(frozen=True)
class OfflineConfig:
    """Settings of offline learning and evaluation; the defaults are the paper's (SPEC section 7).

    Attributes:
        updates: Q-learning updates (minibatches) per goal.
        minibatch_size: transitions per minibatch, drawn uniformly with replacement.
        learning_rate: alpha.
        discount: gamma (also used by value iteration).
        eval_episodes: greedy episodes per goal in the true environment.
        max_episode_steps: an evaluation episode is cut after this many steps.
        vi_tolerance: value iteration stops when no Q entry changes by more than this.
        vi_max_iterations: ... or after this many sweeps (a warning says so).
    """

    updates: int = 100
    minibatch_size: int = 20
    learning_rate: float = 0.1
    discount: float = 0.99
    eval_episodes: int = 10
    max_episode_steps: int = GOAL_EPISODE_STEPS
    vi_tolerance: float = 1e-7
    vi_max_iterations: int = 10_000


PAPER_CONFIG = OfflineConfig()


@dataclasses.dataclass(frozen=True)
class OfflineChoice:
    """What `pmaxent offline` runs on a tabular run's datasets."""

    variant: str = "both"
    """'paper' (Q-learning as in the paper), 'converged' (value iteration on the data) or 'both'."""


def goal_cells(mdp: TabularMDP) -> np.ndarray:
    """The goals of SPEC section 7: every valid state outside the support of mu. int32 [G]."""
    goals = np.flatnonzero(mdp.valid & (mdp.mu == 0)).astype(np.int32)
    if len(goals) == 0:
        raise ValueError(f"{mdp.name} has no valid state besides the start: no goal to reach")
    return goals


def check_goals(mdp: TabularMDP, goals: Sequence[int]) -> np.ndarray:
    """Goals as int32 [G]; ValueError for an out-of-range, wall or start state."""
    goals = np.asarray(goals)
    if goals.ndim != 1 or len(goals) == 0 or not np.issubdtype(goals.dtype, np.integer):
        raise ValueError(f"goals must be a non-empty list of state indices; got {goals!r}")
    for goal in goals.tolist():
        if not 0 <= goal < mdp.n_states:
            raise ValueError(f"goal {goal} is not a state of {mdp.name} (states 0..{mdp.n_states - 1})")
        if not mdp.valid[goal]:
            where = f" (row, col) = {mdp.coords(goal)}" if mdp.grid_shape is not None else ""
            raise ValueError(f"goal {goal}{where} is a wall / invalid state of {mdp.name}")
        if mdp.mu[goal] > 0:
            raise ValueError(f"goal {goal} is a start state of {mdp.name}; episodes would begin at the goal")
    return goals.astype(np.int32)


PAD_MULTIPLE = 64
"""Transition tables are padded to a multiple of this length."""


class TransitionTable(NamedTuple):
    """Transitions (s, a, s') of D datasets, padded to a common length n.

    states, actions, next_states: int32 [D, n]; counts: int32 [D], the real transitions of each
    dataset (entries past counts[d] are padding and never used).
    """

    states: jax.Array
    actions: jax.Array
    next_states: jax.Array
    counts: jax.Array

    @classmethod
    def from_arrays(cls, transitions: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> TransitionTable:
        """From one (states [n_d], actions [n_d], next_states [n_d]) triple per dataset."""
        if len(transitions) == 0:
            raise ValueError("no dataset given")
        counts = [len(np.asarray(s)) for s, _, _ in transitions]
        for index, (count, (_, a, s_next)) in enumerate(zip(counts, transitions, strict=True)):
            if count == 0:
                raise ValueError(f"dataset {index} is empty: it has no transition to learn from")
            if not len(np.asarray(a)) == len(np.asarray(s_next)) == count:
                raise ValueError(f"dataset {index}: states, actions and next states differ in length")
        # rounded up so that datasets of similar sizes (m = 2..6, say) share one compiled program
        width = -(-max(counts) // PAD_MULTIPLE) * PAD_MULTIPLE
        padded = np.zeros((3, len(transitions), width), np.int32)
        for index, triple in enumerate(transitions):
            for column, array in enumerate(triple):
                padded[column, index, : counts[index]] = np.asarray(array, np.int32)
        return cls(*(jnp.asarray(column) for column in padded), jnp.asarray(counts, jnp.int32))

    @classmethod
    def from_datasets(cls, datasets: Sequence[ExplorationDataset]) -> TransitionTable:
        return cls.from_arrays([dataset.transitions()[:3] for dataset in datasets])


def sequential_td_updates(
    q: jax.Array,
    states: jax.Array,
    actions: jax.Array,
    next_states: jax.Array,
    goal: jax.Array,
    learning_rate: float,
    discount: float,
) -> jax.Array:
    """Apply TD updates for transitions [K] one after the other, relabelled for ``goal``.

    Q[s, a] += alpha * (y - Q[s, a]), y = 1 if s' == goal else gamma * max_a' Q[s', a'].
    q: float [S, A] -> float [S, A].
    """

    def update(q, transition):
        s, a, s_next = transition
        reached = s_next == goal
        target = jnp.where(reached, 1.0, discount * q[s_next].max())
        return q.at[s, a].add(learning_rate * (target - q[s, a])), None

    q, _ = jax.lax.scan(update, q, (states, actions, next_states))
    return q


@partial(jax.jit, static_argnames=("n_states", "n_actions", "config"))
def q_learning(
    table: TransitionTable,
    goals: jax.Array,
    key: jax.Array,
    n_states: int,
    n_actions: int,
    config: OfflineConfig = PAPER_CONFIG,
) -> jax.Array:
    """The paper's offline Q-learning for every dataset and goal: Q float32 [D, G, S, A].

    Each (dataset, goal) draws its own ``updates * minibatch_size`` transition indices,
    uniformly with replacement among the dataset's ``counts[d]`` transitions; minibatch k is
    draws k * minibatch_size .. (k + 1) * minibatch_size - 1, applied in order.
    """
    n_datasets, n_goals = table.counts.shape[0], goals.shape[0]
    n_draws = config.updates * config.minibatch_size
    # One block of counter-hash uniforms: far cheaper to compile than per-pair threefry keys.
    u = hashed_uniform(key, (n_datasets, n_goals, n_draws))
    counts = table.counts[:, None, None]
    picks = jnp.minimum((u * counts).astype(jnp.int32), counts - 1)

    def learn(states, actions, next_states, goal, picks):
        q0 = jnp.zeros((n_states, n_actions), jnp.float32)
        return sequential_td_updates(
            q0, states[picks], actions[picks], next_states[picks], goal, config.learning_rate, config.discount
        )

    per_goal = jax.vmap(learn, in_axes=(None, None, None, 0, 0))
    per_dataset = jax.vmap(per_goal, in_axes=(0, 0, 0, None, 0))
    return per_dataset(table.states, table.actions, table.next_states, goals, picks)


@partial(jax.jit, static_argnames=("n_states", "n_actions", "config"))
def _empirical_value_iteration(
    table: TransitionTable, goals: jax.Array, n_states: int, n_actions: int, config: OfflineConfig
):
    def solve(states, actions, next_states, count, goal):
        # Every real transition weighs 1, so sum / visits is the empirical expectation under P_hat.
        weight = (jnp.arange(states.shape[0]) < count).astype(jnp.float32)
        pair = states * n_actions + actions
        visits = jnp.zeros(n_states * n_actions).at[pair].add(weight).reshape(n_states, n_actions)
        seen = visits > 0

        def backup(q):
            target = jnp.where(next_states == goal, 1.0, config.discount * q.max(axis=1)[next_states])
            total = jnp.zeros(n_states * n_actions).at[pair].add(weight * target).reshape(n_states, n_actions)
            return jnp.where(seen, total / jnp.where(seen, visits, 1.0), 0.0)

        def not_done(carry):
            _, change, sweeps = carry
            return (change > config.vi_tolerance) & (sweeps < config.vi_max_iterations)

        def sweep(carry):
            q, _, sweeps = carry
            q_next = backup(q)
            return q_next, jnp.abs(q_next - q).max(), sweeps + 1

        q0 = jnp.zeros((n_states, n_actions), jnp.float32)
        q, _, sweeps = jax.lax.while_loop(not_done, sweep, (q0, jnp.inf, 0))
        return q, sweeps

    per_goal = jax.vmap(solve, in_axes=(None, None, None, None, 0))
    per_dataset = jax.vmap(per_goal, in_axes=(0, 0, 0, 0, None))
    return per_dataset(table.states, table.actions, table.next_states, table.counts, goals)


def empirical_value_iteration(
    table: TransitionTable, goals: jax.Array, n_states: int, n_actions: int, config: OfflineConfig = PAPER_CONFIG
) -> jax.Array:
    """Optimal Q of each dataset's empirical MDP for each goal: float32 [D, G, S, A].

    Unseen (s, a) pairs keep Q = 0; reaching the goal pays 1 and ends the episode.
    """
    q, sweeps = _empirical_value_iteration(table, jnp.asarray(goals, jnp.int32), n_states, n_actions, config)
    if int(sweeps.max()) >= config.vi_max_iterations:
        warnings.warn(
            f"value iteration stopped after {config.vi_max_iterations} sweeps before reaching tolerance "
            f"{config.vi_tolerance}",
            stacklevel=2,
        )
    return q


@partial(jax.jit, static_argnames=("config",))
def greedy_success(
    dyn: Dynamics, q: jax.Array, goals: jax.Array, key: jax.Array, config: OfflineConfig = PAPER_CONFIG
) -> jax.Array:
    """Success rate of the greedy policies in the true environment: float32 [D, G].

    q: float [D, G, S, A]; goals: int32 [G]. Each of ``eval_episodes`` episodes starts from mu,
    follows argmax_a Q (ties to the lowest action; jnp.argmax returns the first maximum), ends
    when it enters the goal and is cut after ``max_episode_steps`` steps.
    """
    greedy = jnp.argmax(q, axis=-1).astype(jnp.int32)
    n_datasets, n_goals = greedy.shape[:2]
    # u[..., 0] draws the start state, u[..., t + 1] the outcome of step t.
    u = hashed_uniform(key, (n_datasets, n_goals, config.eval_episodes, config.max_episode_steps + 1))

    def episode(policy, goal, u):
        start = reset_from_uniform(dyn, u[0])

        def move(carry, u_t):
            state, reached = carry
            next_state = step_from_uniform(dyn, state, policy[state], u_t)
            reached = reached | (next_state == goal)
            return (jnp.where(reached, goal, next_state), reached), None

        (_, reached), _ = jax.lax.scan(move, (start, start == goal), u[1:])
        return reached

    per_episode = jax.vmap(episode, in_axes=(None, None, 0))
    per_goal = jax.vmap(per_episode, in_axes=(0, 0, 0))
    per_dataset = jax.vmap(per_goal, in_axes=(0, None, 0))
    return per_dataset(greedy, goals, u).mean(axis=-1)


def evaluate_datasets(
    mdp: TabularMDP,
    datasets_by_family: Mapping[str, Sequence[ExplorationDataset]],
    variant: str = "paper",
    *,
    seed: int = 0,
    goals: Sequence[int] | None = None,
    config: OfflineConfig = PAPER_CONFIG,
) -> OfflineResult:
    """Offline RL on every dataset for every goal, then greedy evaluation in ``mdp``.

    Args:
        mdp: the true environment (the datasets must come from it).
        datasets_by_family: e.g. {"parallel": [5 datasets], "single": [...], "random": [...]}.
        variant: "paper" (Q-learning) or "converged" (value iteration on the empirical MDP).
        seed: PRNG seed of minibatch draws and evaluation episodes.
        goals: goal states (default: :func:`goal_cells`).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown offline variant {variant!r}; choose from {VARIANTS}")
    families = [family for family, group in datasets_by_family.items() if len(group)]
    if not families:
        raise ValueError("no dataset to learn from")
    goals = goal_cells(mdp) if goals is None else check_goals(mdp, goals)
    datasets = [dataset for family in families for dataset in datasets_by_family[family]]
    for dataset in datasets:
        dataset.check_environment(mdp)
    table = TransitionTable.from_datasets(datasets)
    key_learn, key_eval = jax.random.split(jax.random.key(seed))
    goals_device = jnp.asarray(goals)
    if variant == "paper":
        q = q_learning(table, goals_device, key_learn, mdp.n_states, mdp.n_actions, config)
    else:
        q = empirical_value_iteration(table, goals_device, mdp.n_states, mdp.n_actions, config)
    success = np.asarray(greedy_success(make_dynamics(mdp), q, goals_device, key_eval, config))
    bounds = np.cumsum([0] + [len(datasets_by_family[family]) for family in families])
    return OfflineResult(
        variant=variant,
        env=mdp.name,
        goals=goals,
        success={family: success[bounds[i] : bounds[i + 1]] for i, family in enumerate(families)},
        seeds={family: tuple(d.info.seed for d in datasets_by_family[family]) for family in families},
    )


OFFLINE_CSV_FIELDS = ("env", "variant", "method", "seed", "goal", "goal_row", "goal_col", "success")


def write_offline_csv(path: Path | str, results: Sequence[OfflineResult], mdp: TabularMDP) -> Path:
    """One row per variant, family, dataset (training seed) and goal."""
    rows = (
        (
            result.env,
            result.variant,
            family,
            seed,
            goal,
            *(mdp.coords(goal) if mdp.grid_shape is not None else (None, None)),
            rate,
        )
        for result in results
        for family, success in result.success.items()
        for seed, row in zip(result.seeds[family], success, strict=True)
        for goal, rate in zip(result.goals.tolist(), row.tolist(), strict=True)
    )
    return write_csv(path, OFFLINE_CSV_FIELDS, rows)


def evaluate_run(
    run_dir: Path | str,
    variant: str = "both",
    *,
    seed: int = 0,
    methods: Sequence[str] | None = None,
    trajectories: int = 1,
    show_progress: bool = True,
    config: OfflineConfig = PAPER_CONFIG,
) -> dict[str, OfflineResult]:
    """Offline RL on the stored datasets of a run; writes RUN/offline.csv and Figures 3 and 9.

    Args:
        run_dir: a run directory whose datasets were collected (``pmaxent collect``).
        variant: "paper", "converged" or "both".
        seed: PRNG seed of minibatch draws and evaluation episodes.
        methods: dataset families (default: the run's methods plus "random").
        trajectories: N of the datasets to read.
    Returns:
        variant -> result.
    """
    from pmaxent.plots.datasets import plot_offline_success_bars, plot_offline_success_heatmaps

    variants = VARIANTS if variant == "both" else (variant,)
    if any(v not in VARIANTS for v in variants):
        raise ValueError(f"unknown offline variant {variant!r}; choose from {VARIANTS + ('both',)}")
    run_dir = Path(run_dir)
    mdp, datasets_by_family = load_run_datasets(run_dir, methods, trajectories=trajectories)
    results = {}
    with progress_bar(len(variants), "offline RL", enabled=show_progress, unit="variants") as bar:
        for name in variants:
            results[name] = evaluate_datasets(mdp, datasets_by_family, name, seed=seed, config=config)
            bar.advance()
    write_offline_csv(run_dir / "offline.csv", list(results.values()), mdp)
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    for name, result in results.items():
        per_goal = {family: result.per_goal(family) for family in DATASET_METHODS if family in result.success}
        title = f"{mdp.name}: {VARIANT_TITLES[name]}, success per goal (mean over seeds)"
        plot_offline_success_bars(per_goal, figures / f"fig3_offline_success_{name}.png", title=title)
        if mdp.grid_shape is not None:
            plot_offline_success_heatmaps(
                mdp, result.goals, per_goal, figures / f"fig9_offline_success_{name}.png", title=title
            )
    return results
