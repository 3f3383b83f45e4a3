"""Exact k-nearest-neighbour search in pure JAX: a slab sweep, a box search, a brute-force fallback.

:func:`nearest` returns, for each of N points in R^d, the squared distance to its k-th nearest
other point and, if asked, its neighbourhood (the point itself and its k - 1 nearest others).
Squared distances are sums of squared coordinate differences, never |x|^2 + |y|^2 - 2 x.y, so
repeated points are at distance exactly 0.

The sweep (static shapes, no host callbacks). The points are sorted by the coordinate of largest
spread ("x") and cut into ``n_slabs`` slabs of ``slab`` consecutive points; each slab is sorted by
the coordinate of second largest spread ("y"). A query block is ``block`` consecutive points of
one slab (a small cell of the plane); its candidates are, in each of ``span`` neighbouring slabs
(the block's slab in the middle, shifted at the ends), the ``window`` consecutive points whose y
are nearest the block's middle y. A ``lax.map`` walks over the blocks; a block computes its
squared distances to its ``span x window`` candidates and each query's k-th smallest over the
other points by bisection on the float bits (:func:`kth_smallest`).

Exactness. Every point that is not a candidate lies beyond a known line: left of the last x of
the slab before the first candidate slab, right of the first x of the slab after the last, or in
a candidate slab below the y just before its window or above the y just after it. So its squared
distance to a query q is at least ``bound(q)``, the smallest of the squared gaps between q and
those lines (a gap that q is on the wrong side of counts 0; a line that does not exist because
the candidates reach that end of the data counts +inf). The same inequality holds in float32
(subtraction and squaring are monotone, and the other coordinates only add). When every query of
a block has its k-th smallest candidate distance <= bound(q), no excluded point is strictly
nearer and the block's result is exact. Otherwise (``lax.cond``: only such blocks pay) the
candidates' k-th distance is still an upper bound on each query's true one, so every neighbour
lies in the block's bounding box widened by the largest of them; that box's points are
contiguous in y within each slab, and when there are at most ``box_size`` of them they are
gathered (into a buffer of box_size / 4 points when they fit, else of box_size) and searched
with ``jax.lax.top_k`` (the box search); else the block is searched
against all N points (brute force). The search is therefore exact for any data: clustered, on a
line, repeated points, N below the window. Ties between equal distances may pick different
(equally near) points than a brute-force search does; the distances are the same.

Under ``jax.vmap`` a ``lax.cond`` becomes a select that computes both branches: still exact, at
brute-force cost.

Memory: the sweep's largest intermediate is one block's ``block x span x window`` distances, the
box search's ``block x box_size``, the brute force's ``block x N``; the outputs are N float32
distances and (with indices) N x k int32 indices.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

SWEEP_BLOCK = 8
"""Query points per block of the sweep: of the blocks of 8, 16 and 32 that benchmarks/bench_knn.py
tried (24,000 points, k = 50), 8 was the fastest on both of its samples. Smaller blocks fail the
exactness test more often, but a failed block is searched again at a smaller cost (the figures:
docs/speed.md, Design measurements)."""

BRUTE_BLOCK = 128
"""Query points per block of :func:`brute_force` when called on its own (its memory is
block x N distances)."""

SLAB_WIDTH = 1.5
"""Slab width in units of the k-th neighbour radius of N uniform points: of the widths
benchmarks/bench_knn.py tried (0.8, 1.5 and 2.5), the fastest on its samples."""


class Plan(NamedTuple):
    """Static sizes of a sweep: ``block`` queries per block, ``slab`` points per slab (a multiple
    of ``block``), ``n_slabs`` slabs, ``span`` candidate slabs, ``window`` candidates per slab,
    ``box_size`` most points of a box search."""

    block: int
    slab: int
    n_slabs: int
    span: int
    window: int
    box_size: int


def plan(
    n: int,
    k: int,
    block: int = SWEEP_BLOCK,
    slab_width: float = SLAB_WIDTH,
    margin: int | None = None,
    span: int = 3,
    box_size: int = 2048,
) -> Plan:
    """Sweep sizes for N = n points and k neighbours.

    For N uniform points in a square the k + 1 nearest lie within radius r = sqrt((k + 1) / (pi N))
    (in units of the side); slabs are ``slab_width`` r wide, so a query's own slab and one slab each
    side reach at least that far in x, and a block's window adds ``margin`` points (default k + 1)
    each side in y, about 1.3 r at the slab's density. Other data are exact through the fallback.
    """
    block = max(1, min(block, n))
    radius = math.sqrt((k + 1) / (math.pi * n))
    n_slabs = max(1, int(1.0 / (slab_width * radius)))
    slab = -(-n // n_slabs)
    slab = -(-slab // block) * block
    n_slabs = -(-n // slab)
    margin = k + 1 if margin is None else margin
    return Plan(block, slab, n_slabs, min(span, n_slabs), min(block + 2 * margin, slab), min(box_size, n))


def squared_distances(queries: jax.Array, points: jax.Array) -> jax.Array:
    """queries [C, d], points [M, d] -> [C, M], one fused pass per coordinate (exact for copies)."""
    sq = None
    for j in range(queries.shape[-1]):
        diff = queries[:, None, j] - points[None, :, j]
        sq = diff * diff if sq is None else sq + diff * diff
    return sq


class Neighbours(NamedTuple):
    """``sq`` [N] the squared distance from each point to its k-th nearest other point, ``index``
    [N, k] the point itself then its k - 1 nearest other points in no particular order (None when
    not asked for), ``boxed`` the number of query blocks that failed the sweep's exactness test
    and were searched again in a box, ``fallback`` the number searched again by brute force."""

    sq: jax.Array
    index: jax.Array | None
    boxed: jax.Array
    fallback: jax.Array


def kth_smallest(sq: jax.Array, k: int) -> jax.Array:
    """The k-th smallest of each row of sq [C, M] (non-negative float32, +inf allowed), exactly:
    bisection on the float bits (non-negative floats order as their int32 bit patterns), 31
    counting passes. On a CPU this is several times faster than ``jax.lax.top_k`` for rows of a
    few hundred candidates, whose cost is dominated by a fixed per-row overhead."""
    bits = jax.lax.bitcast_convert_type(sq, jnp.int32)

    def halve(_, bracket):
        lo, hi = bracket  # count(bits <= lo) < k <= count(bits <= hi)
        mid = lo + (hi - lo) // 2
        enough = jnp.sum(bits <= mid[:, None], axis=1) >= k
        return jnp.where(enough, lo, mid), jnp.where(enough, mid, hi)

    bracket = (jnp.full(sq.shape[:1], -1, jnp.int32), jnp.max(bits, axis=1))
    _, hi = jax.lax.fori_loop(0, 31, halve, bracket)
    return jax.lax.bitcast_convert_type(hi, sq.dtype)


def within(sq: jax.Array, kth: jax.Array, ids: jax.Array, k: int) -> jax.Array:
    """Indices of the k - 1 nearest: sq [C, M] (the query's own entry +inf), kth [C] the k-th
    smallest of each row, ids [M] -> [C, k - 1], every entry below kth and ties at kth in order."""
    below = sq < kth[:, None]
    tie = sq == kth[:, None]
    need = (k - 1) - jnp.sum(below, axis=1, keepdims=True)
    take = below | (tie & (jnp.cumsum(tie, axis=1) <= need))
    rank = jnp.cumsum(take, axis=1)  # take's j-th entry is where rank first reaches j + 1
    slots = jnp.arange(1, k, dtype=rank.dtype)
    pos = jax.vmap(lambda row: jnp.searchsorted(row, slots))(rank)
    return ids[jnp.minimum(pos, ids.shape[0] - 1)]


def _brute_block(q: jax.Array, q_ids: jax.Array, points: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """Queries q [C, d] (point ids q_ids) against all points -> the k + 1 smallest squared
    distances [C, k + 1] (the query's own first, at -1) and their points [C, k + 1].

    Returned whole: slicing top_k's outputs in the same ``lax.map`` body makes XLA's CPU top_k
    many times slower, so callers slice after the map."""
    n = points.shape[0]
    sq = jnp.where(q_ids[:, None] == jnp.arange(n)[None, :], -1.0, squared_distances(q, points))
    neg, pos = jax.lax.top_k(-sq, k + 1)  # the query itself first (at -1), even among exact copies
    return -neg, pos.astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("k", "block", "with_index"))
def brute_force(points: jax.Array, k: int, block: int = BRUTE_BLOCK, with_index: bool = False) -> Neighbours:
    """The same result as :func:`nearest` from blocks of ``block`` queries x all N points (index
    ascending by distance), the reference the sweep falls back to."""
    n, d = points.shape
    c = min(block, n)
    n_blocks = -(-n // c)
    ids = jnp.minimum(jnp.arange(n_blocks * c), n - 1).reshape(n_blocks, c)
    sq, index = jax.lax.map(lambda q_ids: _brute_block(points[q_ids], q_ids, points, k), ids)
    sq, index = sq.reshape(-1, k + 1)[:n, k], index.reshape(-1, k + 1)[:n, :k]
    return Neighbours(sq, index if with_index else None, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


class Layout(NamedTuple):
    """Points arranged for the sweep: ``ids`` [n_slabs, slab] the point in each slab position (>= N:
    padding), ``y_sorted`` their y, ``slab_points`` [n_slabs, slab, d] their coordinates, ``x_first``
    and ``x_last`` each slab's smallest and largest x, ``ax`` and ``ay`` the x and y coordinates."""

    ids: jax.Array
    y_sorted: jax.Array
    slab_points: jax.Array
    x_first: jax.Array
    x_last: jax.Array
    ax: jax.Array
    ay: jax.Array


def layout(points: jax.Array, sizes: Plan) -> Layout:
    """Sort points [N, d] into the sweep's slabs (by x) and, within each slab, by y."""
    n, d = points.shape
    total = sizes.n_slabs * sizes.slab
    spread = jnp.max(points, axis=0) - jnp.min(points, axis=0)
    axes = jnp.argsort(-spread)
    ax, ay = axes[0], axes[min(1, d - 1)]
    pad = jnp.full((total - n,), jnp.inf, points.dtype)
    xs = jnp.concatenate([points[:, ax], pad])  # padding sorts last, into the last slab
    ys = jnp.concatenate([points[:, ay], pad])
    by_x = jnp.argsort(xs).reshape(sizes.n_slabs, sizes.slab)
    x_sorted = xs[by_x]
    ids = jnp.take_along_axis(by_x, jnp.argsort(ys[by_x], axis=1), axis=1).astype(jnp.int32)
    slab_points = jnp.concatenate([points, jnp.zeros((total - n, d), points.dtype)])[ids]
    return Layout(ids, ys[ids], slab_points, x_sorted[:, 0], x_sorted[:, -1], ax, ay)


class Candidates(NamedTuple):
    """One query block of the sweep: queries ``q`` [C, d] (points ``q_ids``, -1 for padding), their
    x and y, candidates ``cands`` [S, d] (points ``cand_ids``, >= N for padding), and ``bound`` [C]:
    no point outside the candidates is nearer to a query than sqrt(bound)."""

    q: jax.Array
    q_ids: jax.Array
    qx: jax.Array
    qy: jax.Array
    cands: jax.Array
    cand_ids: jax.Array
    bound: jax.Array


def candidates(lay: Layout, sizes: Plan, n: int, b: jax.Array) -> Candidates:
    """Query block ``b`` of the sweep and its candidates (see the module docstring)."""
    c, slab, n_slabs, span, window, _ = sizes
    d = lay.slab_points.shape[-1]
    inf = jnp.array(jnp.inf, lay.slab_points.dtype)
    s, off = b // (slab // c), (b % (slab // c)) * c
    q = jax.lax.dynamic_slice(lay.slab_points, (s, off, 0), (1, c, d))[0]  # [C, d]
    q_ids = jax.lax.dynamic_slice(lay.ids, (s, off), (1, c))[0]
    q_ids = jnp.where(q_ids < n, q_ids, -1)  # padding
    q_valid = q_ids >= 0
    qx, qy = jnp.take(q, lay.ax, axis=1), jnp.take(q, lay.ay, axis=1)
    y_mid = 0.5 * (jnp.min(jnp.where(q_valid, qy, inf)) + jnp.max(jnp.where(q_valid, qy, -inf)))
    j0 = jnp.clip(s - span // 2, 0, n_slabs - span)
    js = j0 + jnp.arange(span)
    centre = jax.vmap(lambda row: jnp.searchsorted(row, y_mid))(lay.y_sorted[js])
    start = jnp.clip(centre - window // 2, 0, slab - window)  # [span]
    cut = jax.vmap(lambda j, st: jax.lax.dynamic_slice(lay.slab_points[j], (st, 0), (window, d)))
    cands = cut(js, start).reshape(span * window, d)
    cand_ids = jax.vmap(lambda j, st: jax.lax.dynamic_slice(lay.ids[j], (st,), (window,)))(js, start).reshape(-1)
    # lines beyond which every non-candidate lies (+-inf where the candidates reach the end)
    below = jnp.where(start > 0, lay.y_sorted[js, jnp.maximum(start - 1, 0)], -inf)
    above = jnp.where(start + window < slab, lay.y_sorted[js, jnp.minimum(start + window, slab - 1)], inf)
    left = jnp.where(j0 > 0, lay.x_last[jnp.maximum(j0 - 1, 0)], -inf)
    right = jnp.where(j0 + span < n_slabs, lay.x_first[jnp.minimum(j0 + span, n_slabs - 1)], inf)
    gaps = jnp.concatenate(
        [qy[:, None] - below[None, :], above[None, :] - qy[:, None], (qx - left)[:, None], (right - qx)[:, None]],
        axis=1,
    )
    bound = jnp.min(jnp.square(jnp.maximum(gaps, 0.0)), axis=1)
    return Candidates(q, q_ids, qx, qy, cands, cand_ids, bound)


class Box(NamedTuple):
    """A query block's box in the sweep's slabs: in slab j, the positions ``first[j]`` to
    ``first[j] + length[j]`` (``length`` 0 outside the box's x range); ``ends`` the cumulative lengths."""

    first: jax.Array
    length: jax.Array
    ends: jax.Array


def box_range(lay: Layout, sizes: Plan, qx: jax.Array, qy: jax.Array, q_valid: jax.Array, kth: jax.Array) -> Box:
    """The points that may be among the neighbours of a block's queries: each query's neighbours lie
    within sqrt(kth) of it (kth, a k-th smallest distance over a subset of the points, is an upper
    bound), so within the block's bounding box widened by that reach (and a little, for rounding);
    the box's points in each slab are contiguous in y."""
    live_x, live_y = jnp.where(q_valid, qx, jnp.nan), jnp.where(q_valid, qy, jnp.nan)
    x_lo, x_hi, y_lo, y_hi = jnp.nanmin(live_x), jnp.nanmax(live_x), jnp.nanmin(live_y), jnp.nanmax(live_y)
    scale = jnp.max(jnp.abs(jnp.stack([x_lo, x_hi, y_lo, y_hi])))
    reach = jnp.sqrt(jnp.max(jnp.where(q_valid, kth, 0.0))) * 1.001 + 1e-5 * scale
    j_lo = jnp.searchsorted(lay.x_last, x_lo - reach, side="left")
    j_hi = jnp.searchsorted(lay.x_first, x_hi + reach, side="right")
    first = jax.vmap(lambda row: jnp.searchsorted(row, y_lo - reach, side="left"))(lay.y_sorted)
    last = jax.vmap(lambda row: jnp.searchsorted(row, y_hi + reach, side="right"))(lay.y_sorted)
    slabs = jnp.arange(sizes.n_slabs)
    length = jnp.where((slabs >= j_lo) & (slabs < j_hi), last - first, 0)
    return Box(first, length, jnp.cumsum(length))


def gather_box(lay: Layout, sizes: Plan, found: Box, size: int, n: int) -> tuple[jax.Array, jax.Array]:
    """The first ``size`` points of a box: (ids [size], >= n past the box's end; points [size, d])."""
    t = jnp.arange(size)
    j = jnp.minimum(jnp.searchsorted(found.ends, t, side="right"), sizes.n_slabs - 1)
    pos = jnp.clip(found.first[j] + t - (found.ends[j] - found.length[j]), 0, sizes.slab - 1)
    return jnp.where(t < found.ends[-1], lay.ids[j, pos], n), lay.slab_points[j, pos]


@functools.partial(jax.jit, static_argnames=("k", "sizes", "with_index"))
def _sweep(points: jax.Array, k: int, sizes: Plan, with_index: bool) -> Neighbours:
    n, d = points.shape
    c, slab, n_slabs, _, _, box_size = sizes
    total = n_slabs * slab
    inf = jnp.array(jnp.inf, points.dtype)
    lay = layout(points, sizes)

    def body(b):
        q, q_ids, qx, qy, cands, cand_ids, bound = candidates(lay, sizes, n, b)
        q_valid = q_ids >= 0
        own = cand_ids[None, :] == q_ids[:, None]
        sq = jnp.where((cand_ids[None, :] < n) & ~own, squared_distances(q, cands), inf)  # [C, span x window]
        kth = kth_smallest(sq, k)
        exact = jnp.all((kth <= bound) | ~q_valid)

        def swept(_):  # shaped as the fallback's [C, k + 1] outputs: column k, and columns 0..k - 1
            nearer = within(sq, kth, cand_ids, k) if with_index else jnp.broadcast_to(q_ids[:, None], (c, k - 1))
            return jnp.broadcast_to(kth[:, None], (c, k + 1)), jnp.concatenate(
                [q_ids[:, None], nearer, q_ids[:, None]], axis=1
            )

        def box(_):
            found = box_range(lay, sizes, qx, qy, q_valid, kth)

            def gathered(size):  # the box's points in a buffer of size points, then top_k
                box_ids, box_points = gather_box(lay, sizes, found, size, n)
                sq = jnp.where(box_ids[None, :] == q_ids[:, None], -1.0, squared_distances(q, box_points))
                neg, at = jax.lax.top_k(-jnp.where(box_ids[None, :] < n, sq, inf), k + 1)
                return -neg, box_ids[at]

            def brute(_):
                return _brute_block(q, q_ids, points, k)

            ends = found.ends
            # a buffer a quarter as large first: top_k's cost grows with it
            small = max(box_size // 4, k + 1)
            larger = lambda _: jax.lax.cond(ends[-1] <= box_size, lambda _: gathered(box_size), brute, None)  # noqa: E731
            return jax.lax.cond(ends[-1] <= small, lambda _: gathered(small), larger, None) + (ends[-1] > box_size,)

        sq, index, brute = jax.lax.cond(exact, lambda _: swept(_) + (False,), box, None)
        return sq, index, ~exact, brute

    sq, index, failed, brute = jax.lax.map(body, jnp.arange(total // c))
    flat = lay.ids.reshape(-1)  # the point of each sweep row; padding rows (>= n) are dropped
    out_sq = jnp.zeros((n,), points.dtype).at[flat].set(sq.reshape(total, k + 1)[:, k], mode="drop")
    out_index = (
        jnp.zeros((n, k), jnp.int32).at[flat].set(index.reshape(total, k + 1)[:, :k], mode="drop")
        if with_index
        else None
    )
    return Neighbours(out_sq, out_index, jnp.sum(failed & ~brute, dtype=jnp.int32), jnp.sum(brute, dtype=jnp.int32))


def nearest(
    points: jax.Array, k: int, block: int = SWEEP_BLOCK, with_index: bool = False, sizes: Plan | None = None
) -> Neighbours:
    """Exact k-th neighbour distances (and neighbourhoods) of every point, by the slab sweep.

    Args:
        points: [N, d], N >= k + 1.
        k: neighbour rank among the other points.
        block: query points per block (memory: block x N distances for a block that falls back).
        with_index: also return each point's neighbourhood (itself and its k - 1 nearest others).
        sizes: the sweep's static sizes (default :func:`plan` (N, k, block)).
    Returns:
        :class:`Neighbours` (sq [N], index [N, k] or None, boxed and fallback block counts).
    """
    n = points.shape[0]
    return _sweep(points, int(k), sizes or plan(n, int(k), block), bool(with_index))
