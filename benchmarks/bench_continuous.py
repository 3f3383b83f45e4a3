"""Continuous training throughput: the JAX trainer against a per-step NumPy loop with sklearn
neighbours (the way MEPOL's code samples and estimates), in the same process.

    python benchmarks/bench_continuous.py [--json out.json] [--quick] [--k 15] [--seeds 4]

Where the machine sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (they slow a current NumPy), unset
both for this command (env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...) so that the NumPy
loop runs OpenBLAS's own kernels.

For m in {1, 4, 16} agents on gridworld-continuous (B = 10 team samples of T = 100 steps,
64-64 ReLU networks, k = the training default unless --k says otherwise, parallel method):
1. JAX, one seed: agent-steps per second of whole PGPSE updates (rollout + k-NN entropies of the
   team, of each agent and without each agent + gradient + Adam), compilation excluded;
2. JAX, --seeds seeds at once, as ``pmaxent train`` runs a run's seeds (lanes sharded over every
   JAX device, one per core, vmapped within a device): agent-steps per second of all of them;
3. NumPy, one seed: the same update written straightforwardly: a Python loop over steps and
   copies with NumPy networks and world, the entropies with sklearn's NearestNeighbors, the
   score-function gradient of every agent's network by backpropagation over its samples (each
   weighted by the team entropy minus the entropy without the agent) and an Adam step;
4. the team k-NN search of one update alone (B samples of m x (T + 1) uniform points, median of
   10 calls), to show how much of an update it is.
The ratios are JAX's rows over NumPy's (which runs one seed at a time on one core).
"""

from __future__ import annotations

import argparse
import json
import time

from pmaxent.core.devices import use_all_cpu_cores

use_all_cpu_cores()

import jax  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import digamma, gammaln  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402

from pmaxent.continuous.config import ContinuousTrainConfig  # noqa: E402
from pmaxent.continuous.knn import team_knn_distances  # noqa: E402
from pmaxent.core.devices import Lanes, describe_machine  # noqa: E402
from pmaxent.core.runs import _initial_states, make_chunk_runner  # noqa: E402

HORIZON, BATCH, HIDDEN = 100, 10, (64, 64)


def jax_throughput(agents: int, updates: int, k: int, seeds: int = 1) -> dict:
    """Whole updates of ``seeds`` seeds at once, laid out as run_training lays out a run's lanes."""
    config = ContinuousTrainConfig(
        agents=agents,
        batch_size=BATCH,
        horizon=HORIZON,
        k=k,
        hidden=HIDDEN,
        methods=("parallel",),
        seeds=tuple(range(seeds)),
        updates=updates,
        chunk=updates,
    )
    components = config.make_components()
    lanes = Lanes((1, seeds))
    run = make_chunk_runner(config, components, lanes)
    states = lanes.pack(_initial_states(config, components))
    start = time.perf_counter()
    states, metrics = run(states, updates)
    jax.block_until_ready(metrics)
    compile_and_first = time.perf_counter() - start
    start = time.perf_counter()
    states, metrics = run(states, updates)
    jax.block_until_ready(metrics)
    seconds = time.perf_counter() - start
    steps = seeds * BATCH * agents * HORIZON * updates
    return {
        "agents": agents,
        "seeds": seeds,
        "devices": len(lanes.devices),
        "updates": updates,
        "seconds": round(seconds, 3),
        "agent_steps_per_second": steps / seconds,
        "first_call_with_compile_seconds": round(compile_and_first, 2),
    }


def search_seconds(agents: int, k: int) -> float:
    """Median wall time of the team search of one update (B samples of m x (T + 1) points)."""
    points = jax.random.uniform(jax.random.key(0), (BATCH, agents, HORIZON + 1, 2), minval=-6, maxval=6)
    search = jax.jit(lambda x: team_knn_distances(x, k))
    jax.block_until_ready(search(points))
    times = []
    for _ in range(10):
        start = time.perf_counter()
        jax.block_until_ready(search(points))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _knn_entropy(points: np.ndarray, k: int) -> float:
    n, d = points.shape
    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    rho = np.maximum(distances[:, k], 1e-5)
    log_volume = d / 2 * np.log(np.pi) - gammaln(d / 2 + 1)
    return digamma(n) - digamma(k) + log_volume + d * np.log(rho).mean()


def _forward(net, x):
    """x [n, 2] -> (output [n, 2], the layers' inputs and pre-activations for backpropagation)."""
    inputs, pre = [], []
    h = x
    for layer, (w, bias) in enumerate(net):
        inputs.append(h)
        z = h @ w + bias
        pre.append(z)
        h = np.maximum(z, 0) if layer < len(net) - 1 else z
    return h, inputs, pre


def _score_gradient(net, log_std, observations, actions, weights):
    """Gradient of sum_n weights[n] * log N(actions[n]; net(observations[n]), exp(log_std)^2)
    with respect to the network's layers and log_std, by backpropagation (what autograd does)."""
    mean, inputs, pre = _forward(net, observations)
    inv_var = np.exp(-2 * log_std)
    residual = actions - mean
    grad_log_std = np.sum(weights[:, None] * (residual**2 * inv_var - 1), axis=0)
    delta = weights[:, None] * residual * inv_var  # d/d mean
    grads = []
    for layer in reversed(range(len(net))):
        if layer < len(net) - 1:
            delta = delta * (pre[layer] > 0)
        grads.append((inputs[layer].T @ delta, delta.sum(axis=0)))
        delta = delta @ net[layer][0].T
    return grads[::-1], grad_log_std


class _Adam:
    """Adam on a list of arrays, in place (ascent)."""

    def __init__(self, params, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def ascend(self, params, grads):
        self.t += 1
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * g * g
            p += self.lr * (m / (1 - self.b1**self.t)) / (np.sqrt(v / (1 - self.b2**self.t)) + self.eps)


def numpy_throughput(agents: int, updates: int, k: int) -> dict:
    """Per-step loop: every step, every copy, a NumPy forward pass and a NumPy world step; then
    the entropies with sklearn, each agent's score gradient and an Adam step."""
    from pmaxent.continuous import worlds

    world = worlds.make("gridworld-continuous")
    walls = np.asarray(world.walls)
    rng = np.random.default_rng(0)
    sizes = (2, *HIDDEN, 2)
    nets = [
        [(rng.normal(0, 1 / np.sqrt(a), (a, b)), np.zeros(b)) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        for _ in range(agents)
    ]
    log_stds = [np.full(2, -1.5) for _ in range(agents)]
    optimisers = [
        _Adam([a for layer in net for a in layer] + [log_std]) for net, log_std in zip(nets, log_stds, strict=True)
    ]
    start = time.perf_counter()
    for _ in range(updates):
        samples = np.zeros((BATCH, agents, HORIZON + 1, 2))
        actions = np.zeros((BATCH, agents, HORIZON, 2))
        weights = np.zeros((BATCH, agents))
        for b in range(BATCH):
            for i in range(agents):
                position = rng.uniform(-6, -4, 2)
                samples[b, i, 0] = position
                for t in range(HORIZON):
                    h = position
                    for layer, (w, bias) in enumerate(nets[i]):
                        h = h @ w + bias
                        if layer < len(nets[i]) - 1:
                            h = np.maximum(h, 0)
                    actions[b, i, t] = h + np.exp(log_stds[i]) * rng.normal(size=2)
                    proposal = position + np.clip(actions[b, i, t], -0.2, 0.2)
                    inside = np.any(
                        (walls[:, 0] <= proposal[0])
                        & (proposal[0] <= walls[:, 1])
                        & (walls[:, 2] <= proposal[1])
                        & (proposal[1] <= walls[:, 3])
                    )
                    if not inside and np.all(np.abs(proposal) < 6):
                        position = proposal
                    samples[b, i, t + 1] = position
            team = _knn_entropy(samples[b].reshape(-1, 2), k)
            for i in range(agents):
                _knn_entropy(samples[b, i], k)
                without = _knn_entropy(np.delete(samples[b], i, axis=0).reshape(-1, 2), k) if agents > 1 else 0.0
                weights[b, i] = team - without
        for i in range(agents):
            observations = samples[:, i, :-1].reshape(-1, 2)
            grads, grad_log_std = _score_gradient(
                nets[i],
                log_stds[i],
                observations,
                actions[:, i].reshape(-1, 2),
                np.repeat(weights[:, i] / BATCH, HORIZON),
            )
            optimisers[i].ascend(
                [a for layer in nets[i] for a in layer] + [log_stds[i]],
                [g for layer in grads for g in layer] + [grad_log_std],
            )
    seconds = time.perf_counter() - start
    steps = BATCH * agents * HORIZON * updates
    return {
        "agents": agents,
        "updates": updates,
        "seconds": round(seconds, 3),
        "agent_steps_per_second": steps / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--quick", action="store_true", help="fewer updates (a smoke run)")
    parser.add_argument(
        "--k",
        type=int,
        default=ContinuousTrainConfig.k,
        help="k of the k-NN entropies (default: the training default, ContinuousTrainConfig.k)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=4,
        help="seeds of the all-devices row (run at once, as pmaxent train runs a run's seeds)",
    )
    args = parser.parse_args()
    results = {"k": args.k, "machine": describe_machine(), "rows": []}
    print(
        f"gridworld-continuous, B = {BATCH}, T = {HORIZON}, k = {args.k}, networks {HIDDEN}; agent-steps per second of "
        "whole updates (rollout, entropies, gradient, Adam)"
    )
    numpy_throughput(1, 1, args.k)  # untimed: the first sklearn and NumPy calls of a process pay their set-up
    for agents in (1, 4, 16):
        updates = 5 if args.quick else 30
        one = jax_throughput(agents, updates, args.k)
        many = jax_throughput(agents, updates, args.k, seeds=args.seeds)
        numpy_row = numpy_throughput(agents, 1 if args.quick else 3, args.k)
        base = numpy_row["agent_steps_per_second"]
        search = search_seconds(agents, args.k)
        update = BATCH * agents * HORIZON / one["agent_steps_per_second"]
        results["rows"].append(
            {
                "jax": one,
                "jax_seeds": many,
                "numpy": numpy_row,
                "ratio": one["agent_steps_per_second"] / base,
                "ratio_seeds": many["agent_steps_per_second"] / base,
                "team_search_seconds": search,
                "update_seconds": update,
            }
        )
        print(
            f"  m = {agents:2d}: NumPy + sklearn {base / 1e3:6.1f} k   JAX, one seed "
            f"{one['agent_steps_per_second'] / 1e3:8.1f} k ({one['agent_steps_per_second'] / base:4.0f}x)   JAX, "
            f"{args.seeds} seeds on {many['devices']} devices {many['agent_steps_per_second'] / 1e3:8.1f} k "
            f"({many['agent_steps_per_second'] / base:4.0f}x)   team search {search * 1e3:.1f} of {update * 1e3:.1f} "
            "ms per one-seed update"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
