"""Connected components of the near-duplicate graph by large-star/small-star over partitioned files."""

from __future__ import annotations

import numpy as np
import pytest

from lontar.corpus.components import components, large_star, roots_of, small_star
from lontar.corpus.stages import Context, save_arrays, _partition


def _union_find(later: np.ndarray, first: np.ndarray) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in zip(later.tolist(), first.tolist()):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return {x: find(x) for x in parent}


def _context(tmp_path, partitions: int) -> Context:
    return Context(chunks_dir=str(tmp_path / "chunks"), stages_dir=str(tmp_path / "stages"), sources=[], signatures=[],
                   steps=[], chunk_docs=1, raw_limit=1, partitions=partitions, validation_fraction=0.0, shard_docs=1)


def _graph(rng: np.random.Generator, kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == "random":
        x, y = rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)
    elif kind == "path":  # the worst case for label propagation: a long chain in shuffled order
        perm = rng.permutation(n)
        x, y = perm[1:], perm[:-1]
    else:  # near-duplicate-like: many small families, each linked to a nearby earlier document
        x = rng.integers(1, n, n)
        y = np.maximum(x - rng.integers(1, 5, n), 0)
    keep = x != y
    # orders as the build makes them: chunk ordinal in the high bits, row in the low ones
    to_order = np.vectorize(lambda v: (v // 97) << 32 | (v % 97), otypes=[np.uint64])
    x, y = to_order(x[keep]), to_order(y[keep])
    return np.maximum(x, y), np.minimum(x, y)


@pytest.mark.parametrize("kind", ["random", "path", "families"])
@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_stages_find_the_earliest_document_of_every_component(tmp_path, kind, partitions):
    rng = np.random.default_rng(partitions)
    later, first = _graph(rng, kind, 600)
    ctx = _context(tmp_path, partitions)
    part = _partition(later, partitions)
    for q in range(partitions):  # near_verify's output: pairs by the partition of the later document
        save_arrays(ctx.path("ne", f"{q:04d}.npz"), later=later[part == q], first=first[part == q])
    figures = components(lambda name, fn, items: [fn(ctx, item) for item in items], ctx)
    expected = _union_find(later, first)
    assert figures["clusters"] == len(set(expected.values()))
    assert 2 <= figures["rounds"] <= 40
    got = {}
    for q in range(partitions):
        nodes = np.unique(later[part == q])
        got.update(zip(nodes.tolist(), roots_of(ctx, q, nodes).tolist()))
    assert got == {int(v): expected[int(v)] for v in np.unique(later)}


def test_star_operations_only_point_at_smaller_nodes():
    c, p = small_star(np.array([5, 5, 9], dtype=np.uint64), np.array([3, 1, 5], dtype=np.uint64))
    assert sorted(zip(c.tolist(), p.tolist())) == [(3, 1), (5, 1), (9, 5)]
    a = np.array([1, 3, 3, 3, 7], dtype=np.uint64)
    b = np.array([3, 1, 7, 8, 3], dtype=np.uint64)
    c, p, roots = large_star(a, b)
    assert sorted(zip(c.tolist(), p.tolist())) == [(3, 1), (7, 1), (8, 1)]
    assert roots.tolist() == [1]


def test_a_node_missing_from_the_final_files_is_a_stage_error(tmp_path):
    from lontar.errors import StageError

    ctx = _context(tmp_path, 1)
    later, first = np.array([5, 9], dtype=np.uint64), np.array([1, 5], dtype=np.uint64)
    save_arrays(ctx.path("ne", "0000.npz"), later=later, first=first)
    components(lambda name, fn, items: [fn(ctx, item) for item in items], ctx)
    assert roots_of(ctx, 0, np.array([5, 9], dtype=np.uint64)).tolist() == [1, 1]
    with pytest.raises(StageError, match="lack nodes of partition 0"):
        roots_of(ctx, 0, np.array([7], dtype=np.uint64))
