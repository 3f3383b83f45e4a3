"""Why a team of separate networks collapses at one trajectory per agent and update: one
experiment per hypothesis, in gridworld-continuous (m = 4, B = 1, T = 200, loo-agent baseline,
Adam at lr 0.01, 3 seeds at once).

    python benchmarks/team_collapse.py [--updates N] [--save]
    python benchmarks/team_collapse.py --readme | --check-readme    # the docs' block (docs/populations.md)

Every 25 updates the team's parameters are measured on 8 fresh team samples: the team's k-NN
entropy (k = 15, every point), the fraction of mean actions whose pre-squashing value exceeds 2 in
magnitude (tanh > 0.96: the mean is pressed to the box's edge), the fraction of steps on which an
agent did not move (a rejected move into a wall, or the arena's edge), and the mean log std.

The variants, each a hypothesis:
- networks: the team as trained today (separate networks per agent);
- networks, noise only: the score weighted by pure noise of the contributions' scale (no signal at
  all): does gradient noise alone under Adam drive the collapse?
- networks, unsquashed mean: MEPOL's raw mean, actions clipped by the world: is tanh needed?
- networks, k = 50: is it the k-NN estimator's small k?
- networks, lr 0.001: Adam's step size;
- single agent: one network, K' = 4 trajectories per update (the baseline that does not collapse);
- population: one shared trunk, per-agent embeddings and heads (pmaxent.continuous.population);
- population, noise only.

``--save`` keeps the rows with command, date, commit and machine in docs/populations/collapse.json
and rewrites the docs' block from them.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import doc_blocks  # noqa: E402  (tools/doc_blocks.py: the documentation's generated blocks)
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.core.pgpse import gradient_from_entropies  # noqa: E402
from pmaxent.core.rollout import map_copies, sample_team  # noqa: E402
from pmaxent.core.train import TrainState, init_state, key_impl, make_optimizer  # noqa: E402

RESULTS = ROOT / "docs" / "populations" / "collapse.json"
NOISE_SCALE = 0.18
"""Standard deviation of the noise-only weights: about that of the agents' contributions
H_b - H_b^{-i} of the untrained team (m = 4, T = 200, k = 15)."""
SATURATED = 2.0
EVERY = 25

VARIANTS = {
    "networks": ({}, False, False),
    "networks, noise only": ({}, False, True),
    "networks, unsquashed mean": ({"bounded_mean": False}, False, False),
    "networks, k = 50": ({"k": 50}, False, False),
    "networks, lr 0.001": ({"lr": 0.001}, False, False),
    "single agent": ({}, True, False),
    "population": ({"policy": "population"}, False, False),
    "population, noise only": ({"policy": "population"}, False, True),
}
"""name -> (config overrides, single agent, noise only)."""


def make_step(config: ContinuousTrainConfig, components, noise_only: bool):
    """One PGPSE update as the trainer's, whose weights may be replaced by pure noise."""
    env, policy, estimator = components.env, components.policy, components.estimator

    def step(state: TrainState, shared):
        optimizer = make_optimizer(config, state.hyperparameters)
        key, sample_key, noise_key = jax.random.split(state.key, 3)
        samples = sample_team(env, policy, state.params, sample_key, config.batch_size, "jax", False)
        features = map_copies(env.features, 3)(samples.states)
        observations = map_copies(env.observe, 3)(jax.tree.map(lambda x: x[:, :, :-1], samples.states))
        entropies = estimator(features)
        if noise_only:
            noise = NOISE_SCALE * jax.random.normal(noise_key, entropies.without_agent.shape)
            entropies = entropies._replace(team=jnp.zeros_like(entropies.team), without_agent=-noise)
        grad = gradient_from_entropies(
            policy, state.params, observations, samples.actions, entropies, config.baseline, shared
        )
        updates, opt_state = optimizer.update(jax.tree.map(lambda g: -g, grad), state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state._replace(params=params, opt_state=opt_state, key=key, step=state.step + 1)

    return step


def make_measure(config: ContinuousTrainConfig, components):
    env, policy, estimator = components.env, components.policy, components.estimator
    unsquashed = dataclasses.replace(policy, bounded_mean=False)
    edge = SATURATED if policy.bounded_mean else float(np.max(policy.action_high))

    def measure(params, key):
        samples = sample_team(env, policy, params, key, 8, "jax", False)
        features = map_copies(env.features, 3)(samples.states)
        observations = map_copies(env.observe, 3)(jax.tree.map(lambda x: x[:, :, :-1], samples.states))
        pre = jax.vmap(lambda o: unsquashed.mean(params, o))(observations)
        still = jnp.max(jnp.abs(jnp.diff(features, axis=2)), axis=-1) < 1e-6
        return {
            "entropy": estimator(features).team.mean(),
            "saturated": jnp.mean(jnp.abs(pre) > edge),
            "stuck": jnp.mean(still),
            "log_std": params["log_std"].mean(),
        }

    return measure


def run_variant(overrides: dict, single: bool, noise_only: bool, updates: int, seeds=(0, 1, 2)) -> list[dict]:
    config = ContinuousTrainConfig(
        **{"agents": 4, "batch_size": 1, "baseline": "loo-agent", "horizon": 200, "seeds": seeds, **overrides}
    )
    components = config.make_components()
    keys = jnp.stack([jax.random.key(seed, impl=key_impl(config)) for seed in seeds])
    states = jax.vmap(lambda key: init_state(config, components, key, True, single))(keys)
    step = jax.jit(jax.vmap(make_step(config, components, noise_only), in_axes=(0, None)))
    measure = jax.jit(jax.vmap(make_measure(config, components), in_axes=(0, None)))
    rows = []
    for update in range(updates + 1):
        if update % EVERY == 0:
            values = jax.device_get(measure(states.params, jax.random.key(10_000 + update)))
            rows.append({"update": update, **{name: np.asarray(v).round(4).tolist() for name, v in values.items()}})
        if update < updates:
            states = step(states, jnp.asarray(single))
    return rows


def readme_lines(saved: dict) -> list[str]:
    """The docs' block: per variant, entropy (mean over seeds) and what the team's means and
    agents do at the start and after the last update."""
    lines = [
        f"Written by `python benchmarks/team_collapse.py --readme` from `docs/populations/collapse.json` "
        f"({doc_blocks.provenance_text(saved)}).",
        "",
        "| variant | entropy at 0 / 25 / 50 / last update (nats, 3 seeds) | saturated means at the end | "
        "steps stuck at the end | mean log std at the end |",
        "|---|---|---|---|---|",
    ]
    for name, rows in saved["results"].items():
        entropies = " / ".join(f"{np.mean(row['entropy']):.2f}" for row in (rows[0], rows[1], rows[2], rows[-1]))
        last = rows[-1]
        lines.append(
            f"| {name} | {entropies} | {np.mean(last['saturated']):.0%} | {np.mean(last['stuck']):.0%} | "
            f"{np.mean(last['log_std']):.2f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100, help="updates per variant (default 100)")
    doc_blocks.add_results_options(parser, RESULTS, "rows")
    args = parser.parse_args()
    doc_blocks.handle_readme_options(args, "collapse", RESULTS, readme_lines)
    results = {}
    for name, (overrides, single, noise_only) in VARIANTS.items():
        results[name] = run_variant(overrides, single, noise_only, args.updates)
        last = results[name][-1]
        print(
            f"{name:28s} entropy {np.mean(results[name][0]['entropy']):5.2f} -> {np.mean(last['entropy']):5.2f}  "
            f"saturated {np.mean(last['saturated']):4.0%}  stuck {np.mean(last['stuck']):4.0%}  "
            f"log std {np.mean(last['log_std']):.2f}",
            flush=True,
        )
    saved = {**doc_blocks.provenance("benchmarks/team_collapse.py"), "updates": args.updates, "results": results}
    if args.save:
        doc_blocks.save_results("collapse", RESULTS, saved, readme_lines)


if __name__ == "__main__":
    main()
