"""Kozachenko-Leonenko k-nearest-neighbour entropy of point samples in R^d (SPEC sec. 11).

For N points x_1..x_N in R^d,

    H_k = psi(N) - psi(k) + ln V_d + (d / N) * sum_i ln rho_{i,k},   V_d = pi^(d/2) / Gamma(d/2 + 1),

with rho_{i,k} the Euclidean distance from x_i to its k-th nearest neighbour among the other N - 1
points. Entropies are differential entropies in nats.

Neighbour search is exact and pure JAX. A single sample (:func:`knn_distances`,
:func:`knn_entropy`) uses the slab sweep of :mod:`pmaxent.continuous.neighbours`: queries are
compared with a few hundred candidates near them, and a block of queries whose candidates cannot
be shown to contain its neighbours is searched again in a box that provably does, or against all
N points. Team samples (:func:`team_knn_distances`, :class:`KNNEntropy`) use blocks of
``chunk_size`` queries against every point, keeping each query's k + 1 smallest squared distances
to each agent's points: for k + 1 <= :data:`NETWORK_MAX_NEIGHBOURS` by a network of min and max
(tiles of a few points of every agent are sorted and merged into running minima), for larger k
with ``jax.lax.top_k`` on the block's [m, chunk, N] distances; merges of those per-agent lists
then give the k-th neighbour in the pooled sample and in the sample without each agent. Either
way the query itself is among the points at distance exactly 0 (distances are computed as sums of
squared coordinate differences, never as |x|^2 + |y|^2 - 2 x.y, so self-distances and distances
between repeated points are exactly 0), hence the (k + 1)-th smallest distance over all N points
is the k-th smallest over the other N - 1, with or without repeated points. Nothing of size
N x N is ever built: the largest intermediate of a team search is one block's
(k + 1) x m x chunk_size running minima, or its m x chunk_size x N distances with top_k (for a
single sample's search, see :mod:`pmaxent.continuous.neighbours`).

Repeated points. A move into a wall leaves an agent in place, so samples repeat points. When a
point has k or more exact copies, rho = 0 and ln rho = -inf. Every rho is floored at
``min_distance`` (default :data:`MIN_DISTANCE` = 1e-5, absolute, in the units of the features):
a floored point contributes (d / N) ln(1e-5) = -11.5 d / N instead of -inf, so the estimate stays
finite and behaves as if each clump of copies were spread over a ball of radius 1e-5. It lowers
the estimate (a sample that sits still scores very low, as it should) but boundedly, and it only
changes points whose k-th neighbour is closer than 1e-5, which a continuous sample without
repeats essentially never has at the scales of SPEC's worlds (arena width 12).

Shapes: ``m`` agents, ``B`` team samples, ``N`` points per agent, ``d`` feature dimension.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from pmaxent.continuous.neighbours import BRUTE_BLOCK, SWEEP_BLOCK, brute_force, nearest
from pmaxent.continuous.team_sweep import team_sweep
from pmaxent.core.components import TeamEntropies

MIN_DISTANCE = 1e-5
"""Floor on the k-th neighbour distance (absolute, feature units); see the module docstring."""

DEFAULT_CHUNK_SIZE = 128
"""Query points per block of the team samples' neighbour search with ``jax.lax.top_k`` (k + 1 >
:data:`NETWORK_MAX_NEIGHBOURS`; the fastest block size benchmarks/bench_knn.py found)."""

NETWORK_MAX_NEIGHBOURS = 32
"""Largest k + 1 for which the team search keeps the k + 1 smallest distances per query and agent
with a network of min and max instead of ``jax.lax.top_k`` on a block's [m, chunk, N]
distances. A wide network (k = 50, width 64) still beat top_k on short trajectories (101 points
per agent) but was several times slower on long ones (1,200 points), hence the bound (the
figures: docs/speed.md, Design measurements)."""

TILE_POINTS = 8
"""Points of each agent per step of the network (capped at the power of two >= k + 1). Tiles of 8
sorted by the network and merged into the running minima, with the agents' lists merged by
:func:`team_knn_distances`'s scans, made the team search several times faster at every team size
than inserting points one at a time into the minima and merging the lists with top_k (the
figures: docs/speed.md, Design measurements). Both return the same distances bit for bit when
called on their own; inside a jitted training update XLA fuses the arithmetic differently and
they can differ in the last bit."""

NETWORK_CHUNK_SIZE = 2048
"""Query points per block of the network search: at k = 15, faster than blocks of 128 and 512 at
m = 4 and m = 16 on benchmarks/bench_knn.py's team samples (the figures: docs/speed.md, Design
measurements); its memory is (k + 1) x m x chunk floats."""

SEARCHES = ("sweep", "brute")
"""Neighbour searches of a single sample: the slab sweep (default) or brute force, both exact."""

TEAM_SEARCHES = ("auto", "all-pairs", "sweep")
"""How :class:`KNNEntropy` searches a team sample: all pairs (:func:`team_knn_distances`), the
sweep (:func:`pmaxent.continuous.team_sweep.team_sweep`), or "auto": the sweep from
SWEEP_MIN_POINTS pooled points of at most SWEEP_MAX_DIMENSION dimensions."""
SWEEP_MIN_POINTS = 4096
"""Pooled points from which "auto" uses the sweep (the crossover: benchmarks/bench_population.py)."""
SWEEP_MAX_DIMENSION = 3
"""Largest feature dimension "auto" searches by the sweep, whose slabs cut two coordinates."""


def log_unit_ball_volume(d: int) -> float:
    """ln V_d = (d/2) ln pi - ln Gamma(d/2 + 1), the log volume of the unit Euclidean ball in R^d."""
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1.0)


def kl_constant(n: int, k: int, d: int) -> float:
    """psi(n) - psi(k) + ln V_d, the additive constant of the Kozachenko-Leonenko estimator."""
    import scipy.special  # here, not at import: the CLI imports this module to build its options

    return float(scipy.special.digamma(n) - scipy.special.digamma(k)) + log_unit_ball_volume(d)


def _check_k(k: int, n: int, what: str) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k-NN entropy: k must be an integer >= 1; got {k!r}")
    if k >= n:
        raise ValueError(f"k-NN entropy: k = {k} needs at least k + 1 = {k + 1} points in {what}, which has {n}")


def _check_chunk(chunk_size: int) -> None:
    if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(f"k-NN entropy: chunk_size must be an integer >= 1; got {chunk_size!r}")


def _chunks(queries: jax.Array, chunk_size: int) -> tuple[jax.Array, int]:
    """Pads queries [..., Q, d] with copies of the first query to a multiple of the block size
    and returns blocks [..., Q' / C, C, d] and C. Padded rows are computed and discarded."""
    q = queries.shape[-2]
    c = min(chunk_size, q)
    pad = -q % c
    if pad:
        filler = jnp.broadcast_to(queries[..., :1, :], queries.shape[:-2] + (pad, queries.shape[-1]))
        queries = jnp.concatenate([queries, filler], axis=-2)
    return queries.reshape(queries.shape[:-2] + (queries.shape[-2] // c, c, queries.shape[-1])), c


def _block_smallest(queries: jax.Array, points: jax.Array, k1: int) -> jax.Array:
    """The k1 smallest squared distances from each query to each group of points.

    Args:
        queries: [C, d].
        points: [G, n, d].
        k1: how many (``jax.lax.top_k`` above :data:`NETWORK_MAX_NEIGHBOURS`, else a network of
            min and max over the n points).
    Returns:
        [k1, G, C], ascending along the first axis (levels first and groups next, so that the
        merges over groups that follow read contiguous rows).
    """

    # Squared distances are sums of squared coordinate differences (no |x|^2 + |y|^2 - 2 x.y
    # cancellation), so repeated points are at distance exactly 0.
    def distances(point):  # point [G, ..., d] -> [G, C, ...]
        return sum(
            (queries[(None, slice(None)) + (None,) * (point.ndim - 2) + (j,)] - point[:, None, ..., j]) ** 2
            for j in range(queries.shape[-1])
        )

    if k1 > NETWORK_MAX_NEIGHBOURS:
        neg, _ = jax.lax.top_k(-distances(points), k1)  # [G, C, n] -> [G, C, k1]
        return jnp.moveaxis(-neg, -1, 0)

    # A tile of P points of every group at a time is sorted by a bitonic network and merged into
    # the k1 running minima: about (log2 P + 1) / 2 + log2 w min and max per point, w the power
    # of two >= k1, against 2 k1 for inserting the points one at a time. Padding points are at
    # +inf, never among the smallest.
    tile = min(TILE_POINTS, _power_of_two(k1))
    n = points.shape[1]
    if n % tile:
        points = jnp.concatenate(
            [points, jnp.full((points.shape[0], -n % tile, points.shape[2]), jnp.inf, points.dtype)], axis=1
        )
    tiles = jnp.moveaxis(points.reshape(points.shape[0], -1, tile, points.shape[2]), 1, 0)  # [n / P, G, P, d]

    def merge_tile(smallest, tile_points):
        return _merge_smallest(smallest, _bitonic_sort(jnp.moveaxis(distances(tile_points), -1, 0))), None

    empty = jnp.full((k1, points.shape[0], queries.shape[0]), jnp.inf, jnp.result_type(queries, points))
    return jax.lax.scan(merge_tile, empty, tiles)[0]


def _power_of_two(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _pad(values: jax.Array, width: int) -> jax.Array:
    """values [n, ...] followed by +inf rows to [width, ...]."""
    return (
        jnp.concatenate([values, jnp.full((width - values.shape[0],) + values.shape[1:], jnp.inf, values.dtype)])
        if width > values.shape[0]
        else values
    )


def _compare_exchange(values: jax.Array, half: int, flip: bool) -> jax.Array:
    """One stage of a bitonic network on values [w, ...] (w a power of two): within each block of
    2 half rows, row i gets the min and its partner the max, the partner being row i + half
    (``flip``: row 2 half - 1 - i)."""
    w = values.shape[0]
    blocks = values.reshape((w // (2 * half), 2, half) + values.shape[1:])
    low, high = blocks[:, 0], blocks[:, 1]
    if flip:
        high = high[:, ::-1]
    smaller, larger = jnp.minimum(low, high), jnp.maximum(low, high)
    if flip:
        larger = larger[:, ::-1]
    return jnp.stack([smaller, larger], axis=1).reshape(values.shape)


def _bitonic_clean(values: jax.Array) -> jax.Array:
    """A bitonic sequence of rows values [w, ...] sorted ascending (elementwise), by log2 w
    half-cleaners."""
    half = values.shape[0] // 2
    while half:
        values = _compare_exchange(values, half, flip=False)
        half //= 2
    return values


def _bitonic_sort(values: jax.Array) -> jax.Array:
    """Rows values [w, ...] (w a power of two) sorted ascending, elementwise, by a bitonic network."""
    size = 2
    while size <= values.shape[0]:
        # the two sorted halves of each block of size rows, the second reversed, form a bitonic one
        values = _compare_exchange(values, size // 2, flip=True)
        half = size // 4
        while half:
            values = _compare_exchange(values, half, flip=False)
            half //= 2
        size *= 2
    return values


def _merge_smallest(a: jax.Array, b: jax.Array) -> jax.Array:
    """The k1 smallest of the union of two ascending lists, ascending, by a bitonic merge.

    a: [k1, ...], b: [P, ...] with P at most w, the power of two >= k1 (list entries along the
    first axis, elementwise over the rest, +inf allowed). Padded to w rows with +inf,
    min(a_i, b_{w-1-i}) keeps the w smallest of the union as a bitonic sequence, which log2 w
    half-cleaners sort; min and max only move values, so the result is exact."""
    k1 = a.shape[0]
    width = _power_of_two(k1)
    return _bitonic_clean(jnp.minimum(_pad(a, width), _pad(b, width)[::-1]))[:k1]


def _kth_of_union(a: jax.Array, b: jax.Array) -> jax.Array:
    """The k1-th smallest of the union of two ascending lists a, b [k1, ...] (+inf allowed): the
    minimum over splits i = 0..k1 of max(a_{i-1}, b_{k1-1-i}), with a_{-1} = b_{-1} = -inf."""
    below = jnp.full((1,) + a.shape[1:], -jnp.inf, a.dtype)
    return jnp.min(jnp.maximum(jnp.concatenate([below, a]), jnp.concatenate([b[::-1], below])), axis=0)


def _merged_before(levels: jax.Array, reverse: bool = False) -> jax.Array:
    """levels [k1, G, C] (each group's ascending list) -> [k1, G, C]: at g the k1 smallest of the
    union of the lists of the groups before g (after g with ``reverse``), +inf for none. A scan
    over the groups, one merge each."""

    def step(merged, lists):
        return _merge_smallest(merged, lists), merged

    infinite = jnp.full((levels.shape[0],) + levels.shape[2:], jnp.inf, levels.dtype)
    return jnp.moveaxis(jax.lax.scan(step, infinite, jnp.moveaxis(levels, 1, 0), reverse=reverse)[1], 0, 1)


def _check_search(search: str, chunk_size: int | None) -> int:
    """Checks ``search`` and returns its query block: ``chunk_size``, or the search's default."""
    if search not in SEARCHES:
        raise ValueError(f"k-NN entropy: search must be one of {SEARCHES}; got {search!r}")
    if chunk_size is None:
        return SWEEP_BLOCK if search == "sweep" else BRUTE_BLOCK
    _check_chunk(chunk_size)
    return int(chunk_size)


def _knn_sq_distances(points: jax.Array, k: int, chunk_size: int, search: str) -> jax.Array:
    find = nearest if search == "sweep" else brute_force
    return find(points, k, chunk_size).sq


def knn_distances(points: jax.Array, k: int, chunk_size: int | None = None, search: str = "sweep") -> jax.Array:
    """Exact distance from each point to its k-th nearest neighbour among the other points.

    Not floored: repeated points give exact zeros.

    Args:
        points: [N, d].
        k: neighbour rank, 1 <= k < N.
        chunk_size: query points per block (default: SWEEP_BLOCK for the sweep, BRUTE_BLOCK for
            brute force); memory is O(chunk_size * N).
        search: "sweep" (default) or "brute" (:data:`SEARCHES`).
    Returns:
        rho: [N], rho[i] = k-th smallest of |x_i - x_j| over j != i.
    """
    points = jnp.asarray(points)
    if points.ndim != 2:
        raise ValueError(f"knn_distances: points must be [N, d]; got shape {points.shape}")
    _check_k(k, points.shape[0], "the sample")
    chunk_size = _check_search(search, chunk_size)
    return jnp.sqrt(_knn_sq_distances(points, int(k), chunk_size, search))


def _mean_log_rho(sq: jax.Array, min_distance: float, axis=None) -> jax.Array:
    """Mean over ``axis`` of ln max(rho, min_distance), from squared distances."""
    return 0.5 * jnp.mean(jnp.log(jnp.maximum(sq, min_distance**2)), axis=axis)


def knn_entropy(
    points: jax.Array, k: int, chunk_size: int | None = None, min_distance: float = MIN_DISTANCE, search: str = "sweep"
) -> jax.Array:
    """Kozachenko-Leonenko entropy (nats) of one sample.

    Args:
        points: [N, d].
        k: neighbour rank, 1 <= k < N.
        chunk_size: query points per block of the neighbour search (default: the search's own).
        min_distance: floor on rho (see the module docstring).
        search: "sweep" (default) or "brute" (:data:`SEARCHES`).
    Returns:
        H_k: scalar.
    """
    points = jnp.asarray(points)
    if points.ndim != 2:
        raise ValueError(f"knn_entropy: points must be [N, d]; got shape {points.shape}")
    n, d = points.shape
    _check_k(k, n, "the sample")
    chunk_size = _check_search(search, chunk_size)
    sq = _knn_sq_distances(points, int(k), chunk_size, search)
    return kl_constant(n, k, d) + d * _mean_log_rho(sq, min_distance)


@functools.partial(jax.jit, static_argnames=("k", "chunk_size"))
def _team_sq_distances(features: jax.Array, k: int, chunk_size: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    batch, m, n, d = features.shape
    k1 = k + 1
    pooled = features.reshape(batch, m * n, d)
    labels = jnp.broadcast_to(jnp.repeat(jnp.arange(m), n), (batch, m * n)).astype(jnp.int32)
    blocks, c = _chunks(pooled, chunk_size)  # [B, nb, C, d]
    n_blocks = blocks.shape[1]
    label_blocks = _chunks(labels[..., None], chunk_size)[0][..., 0]  # [B, nb, C]

    def search(block, label, points):  # one team sample's query block [C, d] against its points [m, n, d]
        levels = _block_smallest(block, points, k1)  # [k1, m, C]
        own = jnp.take_along_axis(levels[k], label[None, :], axis=0)[0]
        if m == 1:
            return levels[k, 0], own, jnp.zeros((c, 1), features.dtype)
        # The pooled sample's k-th neighbour is the (k + 1)-th smallest of the union of the
        # per-agent lists (the query itself is the first), and the sample without agent j's is
        # the (k + 1)-th of the union of the lists before j and of those after j.
        before, after = _merged_before(levels), _merged_before(levels, reverse=True)
        team = _kth_of_union(before[:, -1], levels[:, -1])  # the lists before the last agent's, and its
        without = _kth_of_union(before, after).T  # [C, m]
        # the point is not in the sample without its own agent
        without = jnp.where(jnp.arange(m)[None, :] == label[:, None], 0.0, without)
        return team, own, without

    # one team sample's block at a time: searching the same block of every team sample at once,
    # vmapped, was slower (docs/speed.md, Design measurements)
    xs = (
        blocks.reshape(batch * n_blocks, c, d),
        label_blocks.reshape(batch * n_blocks, c),
        jnp.repeat(jnp.arange(batch), n_blocks),
    )
    found = jax.lax.map(lambda x: search(x[0], x[1], features[x[2]]), xs)
    team, own, without = (a.reshape((batch, n_blocks) + a.shape[1:]) for a in found)

    def unblock(a):  # [B, nb, C, ...] -> [B, m, n, ...]
        return a.reshape((batch, n_blocks * c) + a.shape[3:])[:, : m * n].reshape((batch, m, n) + a.shape[3:])

    return unblock(team), unblock(own), unblock(without)


def team_chunk_size(k: int) -> int:
    """The default query block of the team search for neighbour rank k."""
    return NETWORK_CHUNK_SIZE if k + 1 <= NETWORK_MAX_NEIGHBOURS else DEFAULT_CHUNK_SIZE


def team_knn_distances(
    features: jax.Array, k: int, chunk_size: int | None = None
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Squared k-th neighbour distances of every point within the three samples PGPSE needs.

    One search: each query block computes its distances to every agent's points once, keeps the
    k + 1 smallest per agent (k + 1 because the query itself is among its own agent's points), and
    merges those short lists: the (k + 1)-th smallest of the union of the per-agent lists is the
    k-th neighbour in the pooled sample, and of the union without agent j's list, in the sample
    without agent j (the k + 1 smallest of a union lie in the union of each part's k + 1 smallest).
    The lists of the agents before j and of those after j are merged by two scans over the agents
    (bitonic merges), so the m leave-one-agent-out distances cost about 2 m merges per query.

    Args:
        features: [B, m, N, d].
        k: neighbour rank, 1 <= k < N.
        chunk_size: query points per block (default :func:`team_chunk_size`); memory is
            O(chunk_size * m * N) with ``jax.lax.top_k``, O(chunk_size * m * (k + 1)) with the
            network (k + 1 <= NETWORK_MAX_NEIGHBOURS).
    Returns:
        (team [B, m, N], own [B, m, N], without [B, m, N, m]): squared k-th neighbour distances
        of point (b, i, n) in the pooled sample, in agent i's own sample, and in the pooled
        sample without agent j (``without[b, i, n, i]`` = 0: the point is not in that sample;
        all zeros when m = 1).
    """
    features = jnp.asarray(features)
    if features.ndim != 4:
        raise ValueError(f"team_knn_distances: features must be [B, m, N, d]; got shape {features.shape}")
    _check_k(k, features.shape[2], f"one agent's sample (N = {features.shape[2]} points per agent)")
    chunk_size = team_chunk_size(k) if chunk_size is None else chunk_size
    _check_chunk(chunk_size)
    return _team_sq_distances(features, int(k), int(chunk_size))


class KNNEntropy:
    """Kozachenko-Leonenko k-NN entropies of team samples: the
    :class:`~pmaxent.core.components.EntropyEstimator` for continuous worlds.

    ``team`` is the entropy of the m N pooled points, ``agents[:, i]`` of agent i's N points and
    ``without_agent[:, i]`` of the (m - 1) N points of the other agents (0 when m = 1), which does
    not depend on agent i's actions: an unbiased baseline for its score term. All three come from
    one neighbour search (:func:`team_knn_distances`).

    Args:
        k: neighbour rank (MEPOL uses 50); needs k < N, the points per agent.
        chunk_size: query points per block of the search (default :func:`team_chunk_size`).
        min_distance: floor on rho (see the module docstring).
        dimension: d, the features' dimension, if known: features of another dimension are
            refused (the trainer checks it against the environment before compiling).
        stride: keep every stride-th of an agent's N points (the first, then every stride-th):
            consecutive states of a trajectory lie within one step of each other, so a long
            trajectory's visitation is estimated from ceil(N / stride) points at about
            1 / stride^2 of the neighbour search's cost.
        search: "all-pairs", "sweep" or "auto" (:data:`TEAM_SEARCHES`); both are exact, and give the
            same distances (the leave-one-agent-out entropies to float32 rounding of their sums).
    """

    extra_metrics = ()

    def __init__(
        self,
        k: int,
        chunk_size: int | None = None,
        min_distance: float = MIN_DISTANCE,
        dimension: int | None = None,
        stride: int = 1,
        search: str = "auto",
    ):
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"KNNEntropy: k must be an integer >= 1; got {k!r}")
        chunk_size = team_chunk_size(k) if chunk_size is None else chunk_size
        _check_chunk(chunk_size)
        if not min_distance > 0:
            raise ValueError(f"KNNEntropy: min_distance must be > 0; got {min_distance!r}")
        self.k = int(k)
        self.chunk_size = int(chunk_size)
        self.min_distance = float(min_distance)
        if dimension is not None and (
            isinstance(dimension, bool) or not isinstance(dimension, (int, np.integer)) or dimension < 1
        ):
            raise ValueError(f"KNNEntropy: dimension must be a positive integer; got {dimension!r}")
        self.dimension = None if dimension is None else int(dimension)
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ValueError(f"KNNEntropy: stride must be a positive integer; got {stride!r}")
        self.stride = int(stride)
        if search not in TEAM_SEARCHES:
            raise ValueError(f"KNNEntropy: unknown search {search!r}; choose from {', '.join(TEAM_SEARCHES)}")
        self.search = search

    def __repr__(self):
        return (
            f"KNNEntropy(k={self.k}, chunk_size={self.chunk_size}, min_distance={self.min_distance}, "
            f"dimension={self.dimension}, stride={self.stride}, search={self.search!r})"
        )

    def uses_sweep(self, agents: int, points: int, dimension: int) -> bool:
        """Whether a team sample of ``agents`` x ``points`` points in ``dimension`` dimensions is
        searched by the sweep (:mod:`pmaxent.continuous.team_sweep`) rather than all pairs."""
        if self.search != "auto":
            return self.search == "sweep"
        return agents > 1 and dimension <= SWEEP_MAX_DIMENSION and agents * points >= SWEEP_MIN_POINTS

    def __call__(self, features: jax.Array) -> TeamEntropies:
        """features: [B, m, N, d] -> TeamEntropies(team [B], agents [B, m], without_agent [B, m], extras={})."""
        features = jnp.asarray(features)
        if features.ndim != 4:
            raise ValueError(f"KNNEntropy: features must be [B, m, N, d] (rank 4); got shape {features.shape}")
        features = features[:, :, :: self.stride]
        batch, m, n, d = features.shape
        if self.dimension is not None and d != self.dimension:
            raise ValueError(f"KNNEntropy: features must be {self.dimension}-dimensional; got shape {features.shape}")
        eps = self.min_distance
        if self.uses_sweep(m, n, d):
            found = jax.vmap(lambda f: team_sweep(f, self.k, eps))(features)
            team = kl_constant(m * n, self.k, d) + d * _mean_log_rho(found.team, eps, axis=(1, 2))
            agents = kl_constant(n, self.k, d) + d * _mean_log_rho(found.own, eps, axis=2)
            without = kl_constant((m - 1) * n, self.k, d) + d * found.without_log / ((m - 1) * n)
            return TeamEntropies(team, agents, without, {})
        team_sq, own_sq, without_sq = team_knn_distances(features, self.k, self.chunk_size)
        team = kl_constant(m * n, self.k, d) + d * _mean_log_rho(team_sq, eps, axis=(1, 2))
        agents = kl_constant(n, self.k, d) + d * _mean_log_rho(own_sq, eps, axis=2)
        if m == 1:
            without = jnp.zeros((batch, m), team.dtype)
        else:
            # log rho of point (i, n) in the sample without agent j, summed over i != j
            log_rho = 0.5 * jnp.log(jnp.maximum(without_sq, eps**2))  # [B, m(i), N, m(j)]
            others = 1.0 - jnp.eye(m, dtype=log_rho.dtype)  # [i, j]
            total = jnp.einsum("binj,ij->bj", log_rho, others)
            without = kl_constant((m - 1) * n, self.k, d) + d * total / ((m - 1) * n)
        return TeamEntropies(team, agents, without, {})
