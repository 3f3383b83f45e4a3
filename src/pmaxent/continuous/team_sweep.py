"""Exact k-NN entropies of large team samples, at a cost that grows with the pooled points rather
than their square: the slab sweep of :mod:`pmaxent.continuous.neighbours`, keeping every pooled
point's L nearest others in order with their agents (SPEC sections 11 and 12).

A team sample's PGPSE needs three k-th neighbour distances per point x (agent i): in the pooled
sample, in agent i's own sample, and in the pooled sample without agent j, for every j != i (the
leave-one-agent-out baseline). The all-pairs search of :func:`pmaxent.continuous.knn.team_knn_distances`
gets them from every point's distance to every other: O((m N)^2) time, m^2 N outputs.

Here the sweep finds each pooled point's L >= k nearest other points, sorted, with their agents.
Then, for a point x:

- the pooled k-th neighbour is the list's k-th entry;
- without agent j, it is the k-th entry of the list with agent j's entries struck out, which is
  the pooled one unless agent j owns one of the first k entries. So only the (at most k) agents
  among a point's k nearest change its distance, and the sum over points of ln rho without agent j
  is the pooled sum, minus agent j's own points' terms, plus the corrections of the points that
  have agent j among their k nearest (:func:`team_sweep`, eq. of the docstring);
- when striking out agent j leaves fewer than k entries, that (point, agent) pair is searched
  again by brute force against every pooled point not of agent j.

The own-sample distances are a brute-force search within each agent's N points (m N^2).

Exactness holds for any data, as for :func:`pmaxent.continuous.neighbours.nearest`: a query whose
L-th candidate distance is not below the sweep's bound is searched again by brute force. Neither
fallback uses ``lax.cond``, which ``jax.vmap`` (the trainer vmaps seeds and methods) turns into a
select computing both branches: the pending queries and pairs are collected and searched
:data:`FALLBACK_BLOCK` at a time in a ``lax.while_loop``, which under vmap runs as many rounds as
the lane needing the most.

Memory: the outputs are m N L distances and indices; the sweep's largest intermediate is one
block's candidates, the fallback's FALLBACK_BLOCK x m N distances, the leave-one-agent-out step's
a block of LOO_BLOCK x k x L flags.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from pmaxent.continuous.neighbours import (
    SWEEP_BLOCK,
    box_range,
    candidates,
    gather_box,
    kth_smallest,
    layout,
    plan,
    squared_distances,
    within,
)

FALLBACK_BLOCK = 32
"""Query blocks, queries or point-agent pairs per round of the fallbacks."""

BOX_SIZE = 2048
"""Most points of a box search (the single-sample sweep's)."""

WINDOW_MARGIN = 2
"""Candidates each side of a query block in a slab, in units of L: twice the single-sample
sweep's L + 1, because trajectory points are far from uniform (benchmarks/bench_population.py)."""

LOO_BLOCK = 2048
"""Pooled points per block of the leave-one-agent-out step (memory LOO_BLOCK x k x L flags)."""


def list_length(k: int) -> int:
    """The default L, nearest others kept per point: 2k, so that striking out one agent leaves k
    entries unless that agent owns more than k of a point's 2k nearest."""
    return 2 * k


class Sorted(NamedTuple):
    """``sq`` [N, L] the squared distances to each point's L nearest other points, ascending;
    ``ids`` [N, L] those points; ``boxed`` the query blocks searched again in their box,
    ``brute`` the queries searched again against all points."""

    sq: jax.Array
    ids: jax.Array
    boxed: jax.Array
    brute: jax.Array


def _brute_rounds(pending: jax.Array, search, outputs):
    """Run ``search(rows [F]) -> values`` on the pending rows, FALLBACK_BLOCK at a time, writing
    ``outputs`` (arrays whose first axis is pending's) at those rows; returns the outputs and the
    number of rows searched."""
    n = pending.shape[0]

    def more(carry):
        return jnp.any(carry[0])

    def one_round(carry):
        left, outs = carry
        rows = jnp.nonzero(left, size=FALLBACK_BLOCK, fill_value=n)[0]
        values = search(jnp.minimum(rows, n - 1))
        outs = tuple(out.at[rows].set(value, mode="drop") for out, value in zip(outs, values, strict=True))
        return left.at[rows].set(False, mode="drop"), outs

    _, outputs = jax.lax.while_loop(more, one_round, (pending, outputs))
    return outputs, jnp.sum(pending, dtype=jnp.int32)


def _in_order(sq: jax.Array, ids: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Rows of sq [C, L] sorted ascending, ids [C, L] alongside (ties in their order): each entry
    goes to its rank, the number of entries before it. Several times faster on a CPU than
    ``jax.lax.sort`` for thousands of rows of a few tens of entries."""
    t = jnp.arange(sq.shape[1])
    before = (sq[:, None, :] < sq[:, :, None]) | ((sq[:, None, :] == sq[:, :, None]) & (t[None, :] < t[:, None]))
    rank = jnp.sum(before, axis=2)
    rows = jnp.arange(sq.shape[0])[:, None]
    return jnp.zeros_like(sq).at[rows, rank].set(sq), jnp.zeros_like(ids).at[rows, rank].set(ids)


@functools.partial(jax.jit, static_argnames=("length", "block", "box_size"))
def sorted_neighbours(points: jax.Array, length: int, block: int = SWEEP_BLOCK, box_size: int = BOX_SIZE) -> Sorted:
    """Every point's ``length`` nearest other points, sorted, exactly (vmap-friendly).

    The sweep compares each block of queries with its candidates; a block with a query whose
    L-th candidate distance exceeds the sweep's bound is searched again among the points of its box
    (:func:`pmaxent.continuous.neighbours.box_range`), and a query whose box holds more than the
    ``box_size`` points against all N points.

    Args:
        points: [N, d], N > length.
        length: L, neighbours kept per point.
        block: query points per block of the sweep.
        box_size: most points of a box search.
    Returns:
        :class:`Sorted`. Among other points at equal distance, which ones fill the list is arbitrary.
    """
    n, d = points.shape
    sizes = plan(n, length, block, margin=WINDOW_MARGIN * length, box_size=box_size)
    lay = layout(points, sizes)
    inf = jnp.array(jnp.inf, points.dtype)

    def body(b):
        cand = candidates(lay, sizes, n, b)
        own = cand.cand_ids[None, :] == cand.q_ids[:, None]
        sq = jnp.where((cand.cand_ids[None, :] < n) & ~own, squared_distances(cand.q, cand.cands), inf)
        kth = kth_smallest(sq, length)
        at = within(sq, kth, jnp.arange(sq.shape[1]), length + 1)  # [C, L] candidate positions
        near, near_ids = _in_order(jnp.take_along_axis(sq, at, axis=1), cand.cand_ids[at])
        return near, near_ids, kth, jnp.all((kth <= cand.bound) | (cand.q_ids < 0))

    n_blocks = sizes.n_slabs * sizes.slab // sizes.block
    near, near_ids, kth, exact = jax.lax.map(body, jnp.arange(n_blocks))

    def boxed(blocks):  # [F] blocks -> their queries' L nearest among their boxes' points
        def one(b):
            cand = candidates(lay, sizes, n, b)
            found = box_range(lay, sizes, cand.qx, cand.qy, cand.q_ids >= 0, kth[b])
            box_ids, box_points = gather_box(lay, sizes, found, sizes.box_size, n)
            sq = squared_distances(cand.q, box_points)
            sq = jnp.where((box_ids[None, :] < n) & (box_ids[None, :] != cand.q_ids[:, None]), sq, inf)
            neg, at = jax.lax.top_k(-sq, length)
            return -neg, box_ids[at], found.ends[-1] > sizes.box_size

        return jax.vmap(one)(blocks)

    overflow = jnp.zeros((n_blocks,), bool)
    (near, near_ids, overflow), boxed_blocks = _brute_rounds(~exact, boxed, (near, near_ids, overflow))
    rows = lay.ids.reshape(-1)  # the point of each sweep row; padding rows (>= n) are dropped
    out_sq = jnp.zeros((n, length), points.dtype).at[rows].set(near.reshape(-1, length), mode="drop")
    out_ids = jnp.zeros((n, length), jnp.int32).at[rows].set(near_ids.reshape(-1, length), mode="drop")
    pending = jnp.zeros((n,), bool).at[rows].set(jnp.repeat(overflow, sizes.block), mode="drop")

    def brute(queries):  # [F] -> their L nearest others among all N points
        sq = squared_distances(points[queries], points)
        sq = jnp.where(queries[:, None] == jnp.arange(n)[None, :], inf, sq)
        neg, at = jax.lax.top_k(-sq, length)
        return -neg, at.astype(jnp.int32)

    (out_sq, out_ids), brute_queries = _brute_rounds(pending, brute, (out_sq, out_ids))
    return Sorted(out_sq, out_ids, boxed_blocks, brute_queries)


class TeamSweep(NamedTuple):
    """One team sample's k-th neighbour distances: ``team`` [m, N] squared, in the pooled sample;
    ``own`` [m, N] squared, in each agent's own sample; ``without_log`` [m], for each agent j the
    sum over the other agents' points of ln max(rho, min_distance) in the sample without agent j;
    ``redone`` the queries and point-agent pairs searched again by brute force."""

    team: jax.Array
    own: jax.Array
    without_log: jax.Array
    redone: jax.Array


def _own_sq(features: jax.Array, k: int) -> jax.Array:
    """features [m, N, d] -> [m, N]: squared k-th neighbour distances within each agent's points."""
    n = features.shape[1]

    def one(points):
        sq = jnp.where(jnp.eye(n, dtype=bool), jnp.inf, squared_distances(points, points))
        return kth_smallest(sq, k)

    return jax.lax.map(one, features)


@functools.partial(jax.jit, static_argnames=("k", "length", "block"))
def team_sweep(
    features: jax.Array, k: int, min_distance: float, length: int | None = None, block: int = SWEEP_BLOCK
) -> TeamSweep:
    """The pooled, own and leave-one-agent-out k-th neighbour distances of one team sample.

    The sample without agent j holds the other agents' points; for such a point x,
    ln rho_{-j}(x) = ln rho(x) + c_j(x), where c_j(x) > 0 only if agent j owns one of x's k
    nearest pooled neighbours. Hence

        sum_{x not of j} ln rho_{-j}(x) = sum_x ln rho(x) - sum_{x of j} ln rho(x) + sum_x c_j(x),

    and the last sum has at most k terms per point (scatter-added by agent).

    Args:
        features: [m, N, d].
        k: neighbour rank, 1 <= k < N.
        min_distance: floor on rho (:data:`pmaxent.continuous.knn.MIN_DISTANCE`).
        length: L, nearest others kept per pooled point (default :func:`list_length`), k <= L < m N.
        block: query points per block of the sweep.
    """
    m, n, d = features.shape
    length = min(list_length(k) if length is None else length, m * n - 1)
    pooled = features.reshape(m * n, d)
    labels = jnp.repeat(jnp.arange(m, dtype=jnp.int32), n)
    found = sorted_neighbours(pooled, length, block)
    neighbour_labels = labels[found.ids]  # [mN, L]
    team_sq = found.sq[:, k - 1]
    eps_sq = jnp.asarray(min_distance, pooled.dtype) ** 2
    log_rho = 0.5 * jnp.log(jnp.maximum(team_sq, eps_sq))

    def struck(args):  # a block of points -> the k-th distance without each of its k nearest's agents
        sq, near_labels, own_label = args  # [C, L], [C, L], [C]
        agents = near_labels[:, :k]  # [C, k]
        earlier = jnp.tril(jnp.ones((k, k), bool), -1)  # [s, s'] s' < s
        repeat = jnp.any((agents[:, :, None] == agents[:, None, :]) & earlier, axis=2)
        counted = ~repeat & (agents != own_label[:, None])
        others = near_labels[:, None, :] != agents[:, :, None]  # [C, k, L]
        rank = jnp.cumsum(others, axis=2)
        kth = jnp.min(jnp.where(others & (rank == k), sq[:, None, :], jnp.inf), axis=2)
        return kth, counted, counted & (rank[:, :, -1] < k)

    total = m * n
    c = min(LOO_BLOCK, total)
    n_blocks = -(-total // c)
    pad = n_blocks * c - total
    blocked = lambda a: jnp.concatenate([a, a[:1].repeat(pad, 0)]).reshape((n_blocks, c) + a.shape[1:])  # noqa: E731
    kth, counted, short = jax.lax.map(struck, (blocked(found.sq), blocked(neighbour_labels), blocked(labels)))
    unblock = lambda a: a.reshape((n_blocks * c,) + a.shape[2:])[:total]  # noqa: E731
    kth, counted, short = unblock(kth), unblock(counted), unblock(short)

    pairs_agent = neighbour_labels[:, :k].reshape(-1)  # pair (x, s) -> the agent struck out
    pair_point = jnp.repeat(jnp.arange(total), k)

    def brute(pairs):  # [F] -> the k-th distance of each pair's point without its agent
        sq = squared_distances(pooled[pair_point[pairs]], pooled)
        excluded = (labels[None, :] == pairs_agent[pairs][:, None]) | (
            jnp.arange(total)[None, :] == pair_point[pairs][:, None]
        )
        return (kth_smallest(jnp.where(excluded, jnp.inf, sq), k),)

    (kth,), redone_pairs = _brute_rounds(short.reshape(-1), brute, (kth.reshape(-1),))
    correction = jnp.where(counted.reshape(-1), 0.5 * jnp.log(jnp.maximum(kth, eps_sq)) - jnp.repeat(log_rho, k), 0.0)
    by_agent = lambda values, agent: jax.ops.segment_sum(values, agent, num_segments=m)  # noqa: E731
    per_agent = jnp.sum(log_rho.reshape(m, n), axis=1)
    # agent j's own terms and corrections first, behind a barrier: XLA otherwise scatters the
    # corrections one by one into the large total, rounding each at its precision
    own_part = jax.lax.optimization_barrier(by_agent(correction, pairs_agent) - per_agent)
    without_log = jnp.sum(per_agent) + own_part
    return TeamSweep(team_sq.reshape(m, n), _own_sq(features, k), without_log, found.boxed + found.brute + redone_pairs)
