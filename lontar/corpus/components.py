"""Connected components of the near-duplicate graph as distributed stages (large-star / small-star).

The verified near-duplicate edges can outgrow one process on a web crawl (a large share of its
documents have a near twin), so no task holds the whole graph. Each round is two stages over the
node partitions, the alternating operations of Kiveris et al., "Connected Components in MapReduce
and Beyond" (SoCC 2014):

- small-star: each node links itself and its smaller neighbours to the smallest of them;
- large-star: each node links its larger neighbours to the smallest of itself and its neighbours.

Both keep every component connected and only ever point edges at smaller nodes; alternating them
ends with each component a star around its smallest node, the earliest document (a node is a
document's order), after O(log^2 n) rounds. A round's edges go to files partitioned by the node
they are grouped by, so a task holds only its partition's edges. The build stops when the edge set
entering large-star is the same as in the round before (its size and an order-free hash over the
edges, summed over partitions by the driver).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lontar.corpus.stages import Context, _load_arrays, _partition, _unique_pairs, save_arrays
from lontar.errors import StageError
from lontar.manifest import atomic_write_text

MAX_ROUNDS = 200  # large-star/small-star needs O(log^2 n) rounds; far beyond that is a bug
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _group_min(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For pairs sorted by u: each group's start, its node and the smallest v in it."""
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    return starts, u[starts], np.minimum.reduceat(v, starts)


def edge_hash(child: np.ndarray, parent: np.ndarray) -> int:
    """An order-free hash of a set of (child, parent) edges: the wrapping sum of a mix of each pair."""
    with np.errstate(over="ignore"):
        x = child * _M1 ^ ((parent << np.uint64(17)) | (parent >> np.uint64(47)))
        x = (x ^ (x >> np.uint64(31))) * _M2
        x ^= x >> np.uint64(29)
        return int(x.sum(dtype=np.uint64))


def small_star(child: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges child > parent, all children of one node present: each node and its smaller neighbours
    linked to the smallest of them. Returns (child, parent) edges, child > parent."""
    u, v = _unique_pairs(child, parent)
    if not len(u):
        return u, v
    starts, nodes, m = _group_min(u, v)
    m_of = np.repeat(m, np.diff(np.r_[starts, len(u)]))
    keep = v != m_of
    return np.concatenate([v[keep], nodes]), np.concatenate([m_of[keep], m])


def large_star(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges in both directions, every neighbour of a node present: each node's larger neighbours
    linked to the smallest of the node and its neighbours. Returns (child, parent) edges, child >
    parent, and the nodes that are their component's smallest as far as these edges show (roots)."""
    u, v = _unique_pairs(a, b)
    if not len(u):
        return u, v, u
    starts, nodes, m = _group_min(u, v)
    m = np.minimum(m, nodes)
    m_of = np.repeat(m, np.diff(np.r_[starts, len(u)]))
    larger = v > u
    return v[larger], m_of[larger], nodes[m == nodes]


def _files(ctx: Context, k: int, op: str, q: int) -> list[Path]:
    return ctx.glob(f"cc/{k:03d}", f"{op}-*-{q:04d}.npz")


def _send(ctx: Context, k: int, op: str, src: int, key: np.ndarray, **arrays: np.ndarray) -> None:
    """Arrays split by the partition of `key`, one file per destination partition."""
    part = _partition(key, ctx.partitions)
    for q in range(ctx.partitions):
        sel = part == q
        save_arrays(ctx.path(f"cc/{k:03d}", f"{op}-{src:04d}-{q:04d}.npz"), **{n: a[sel] for n, a in arrays.items()})


def small_star_task(ctx: Context, item: tuple[int, int]) -> int:
    """Round k's small-star over partition q (round 0 reads the verified edges, later > first); its
    edges go out in both directions, to the partition of the node that large-star groups them by."""
    k, q = item
    if k == 0:
        child, parent = _load_arrays(ctx.glob("ne", f"{q:04d}.npz"), "later", "first")
    else:
        child, parent = _load_arrays(_files(ctx, k, "s", q), "child", "parent")
    c, p = small_star(child, parent)
    a, b = np.concatenate([c, p]), np.concatenate([p, c])
    _send(ctx, k, "l", q, a, a=a, b=b)
    return len(c)


def large_star_task(ctx: Context, item: tuple[int, int]) -> dict[str, int]:
    """Round k's large-star over partition q; its edges go to the next round's small-star by child.
    Returns the size and hash of the edge set it read, and the roots it saw."""
    k, q = item
    a, b = _load_arrays(_files(ctx, k, "l", q), "a", "b")
    a, b = _unique_pairs(a, b)
    later = a > b
    c, p, roots = large_star(a, b)
    _send(ctx, k + 1, "s", q, c, child=c, parent=p)
    return {"edges": int(later.sum()), "hash": edge_hash(a[later], b[later]), "roots": len(roots)}


def components(run: Callable[[str, Callable, Sequence[Any]], list[Any]], ctx: Context) -> dict[str, int]:
    """Rounds until the graph is a star per component; afterwards `roots_of` answers from the last
    round's files. `run(name, fn, items)` runs a stage on the build's executor."""
    parts = range(ctx.partitions)
    previous = None
    for k in range(MAX_ROUNDS):
        run("near_small_star", small_star_task, [(k, q) for q in parts])
        seen = run("near_large_star", large_star_task, [(k, q) for q in parts])
        state = (sum(s["edges"] for s in seen), sum(s["hash"] for s in seen) % (1 << 64))
        if k:
            shutil.rmtree(Path(ctx.stages_dir, "cc", f"{k - 1:03d}"), ignore_errors=True)
        if state == previous:
            atomic_write_text(Path(ctx.stages_dir, "cc", "final"), str(k))
            return {"rounds": k + 1, "clusters": sum(s["roots"] for s in seen)}
        previous = state
    raise StageError(f"corpus: near-duplicate components did not converge in {MAX_ROUNDS} rounds "
                     f"({Path(ctx.stages_dir, 'cc')}); please report it with the card")


def roots_of(ctx: Context, q: int, nodes: np.ndarray) -> np.ndarray:
    """The smallest node of each node's component, for nodes of partition q that have an edge."""
    k = int(Path(ctx.stages_dir, "cc", "final").read_text())
    a, b = _load_arrays(_files(ctx, k, "l", q), "a", "b")
    if not len(nodes):
        return nodes
    a, b = _unique_pairs(a, b)
    _, keys, m = _group_min(a, b)
    root = np.minimum(m, keys)
    pos = np.searchsorted(keys, nodes)
    if np.any(pos >= len(keys)) or np.any(keys[np.minimum(pos, len(keys) - 1)] != nodes):
        raise StageError(f"corpus: near-duplicate components in {Path(ctx.stages_dir, 'cc', f'{k:03d}')} lack "
                         f"nodes of partition {q}: the work folder was changed during the build; run again")
    return root[pos]
