"""The corpus build as stages of tasks, each a function `(ctx, item) -> small result` run by an executor.

Tasks read and write files under the run's work folder and return statistics only, so the driver
never holds documents, and a global step is a map over chunks followed by a reduce over hash
partitions (as in datatrove's multi-stage MinHash and NeMo Curator's shuffles):

1. `read`: a file of a source (or every `stride`-th chunk of it) read and run through the per-document
   steps, one parquet per chunk of `chunk_docs` good records (kept across runs for resume).
2. `bp_map` / `bp_reduce`: in how many multi-line documents each line appears, counted per hash
   partition; only the keys of boilerplate lines (in >= min_docs documents) come out.
3. `prepare`: boilerplate lines removed, each kept document's id (content hash), and its (id, order)
   sent to the exact-dedup partition its id hashes to.
4. `exact_reduce`: per partition, the first occurrence of each id is kept; the others are duplicates
   of it.
5. `near_map` -> `near_band_reduce` -> `near_verify` -> components -> `near_clusters`: MinHash signatures of the
   exact survivors, their band keys partitioned by key; per band bucket, every document paired with
   the bucket's first; pairs deduplicated and verified by partition of the later document; connected
   components by rounds of large-star/small-star over partitioned edge files (`lontar.corpus.components`,
   no task holds the whole graph); per partition, each near duplicate named with its cluster. A document
   linked to an earlier one is a near duplicate, exactly as the streaming index decided; its cluster
   is named by its earliest document.
6. `finalize`: per chunk, rejects, duplicates and the split written, with the card's figures.
7. `mix`: per chunk, the temperature-sampled train mixture (and rehydration copies) written by pass.

A document's order is `chunk ordinal << 32 | row`, the order of the corpus as read: every decision
depends on it and on content only, never on which worker ran what, so any executor, worker count or
partition count gives the same corpus row for row.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lontar.config import BoilerplateConfig, NearDedupConfig, SourceConfig
from lontar.corpus.boilerplate import line_keys, strip_lines
from lontar.corpus.minhash import NearDedup
from lontar.corpus.mixing import mix_part
from lontar.corpus.pipeline import Step, StepStats, process_batch, stats_from_rows
from lontar.corpus.shards import SCHEMA as SHARD_SCHEMA
from lontar.corpus.sources import iter_source
from lontar.corpus.steps import split_of, text_hash
from lontar.manifest import atomic_write_text
from lontar.records import raw_fields

log = logging.getLogger("lontar.corpus")

CHUNK_SCHEMA = pa.schema([
    ("text", pa.string()), ("source", pa.string()), ("lang", pa.string()), ("line", pa.string()),
    ("reason", pa.string()), ("step", pa.string()), ("trace_chars", pa.list_(pa.int64())),
    ("trace_bytes", pa.list_(pa.int64())), ("counts", pa.string()),
])
PREP_SCHEMA = pa.schema([
    ("text", pa.string()), ("source", pa.string()), ("lang", pa.string()), ("line", pa.string()),
    ("reason", pa.string()), ("step", pa.string()), ("id", pa.string()),
])
NATURAL_SCHEMA = SHARD_SCHEMA.append(pa.field("weight", pa.int64()))
MAP_BATCH = 1000  # documents per step batch; batch counters ride on the batch's first row
ROW_BITS = 32
ROW_MASK = (1 << ROW_BITS) - 1
ROW_GROUP = 1 << 16
# FineWeb-2's rehydration (its README): copies of a kept document by the size of its duplicate cluster,
# from the lower bound of each range; very large clusters are taken to be low quality and get one.
REHYDRATE = {1: 1, 2: 2, 3: 3, 5: 5, 100: 8, 1000: 1}
LENGTH_BINS = np.concatenate([[0], np.logspace(0, 9, 9 * 40 + 1)])  # characters, 40 bins per decade


def rehydrate_copies(cluster_size: int) -> int:
    limits = sorted(REHYDRATE)
    return REHYDRATE[limits[bisect.bisect_right(limits, cluster_size) - 1]]


@dataclass(frozen=True)
class Chunk:
    ordinal: int  # position in the corpus order
    name: str  # `<source>-<unit>-<chunk>`
    source: int


@dataclass(frozen=True)
class ReadTask:
    source: int
    unit: int
    path: str | None  # one file of the source, or None for the whole source (or the shard below)
    stride: int  # the unit's chunks k with k % stride == offset are this task's
    offset: int
    shard: tuple[int, int] | None = None  # a streamed hub dataset's (shard, of shards)


@dataclass
class Context:
    """What every task of a build needs; pickled to workers once per stage."""

    chunks_dir: str
    stages_dir: str
    sources: list[SourceConfig]
    signatures: list[str]
    steps: list[Step]
    chunk_docs: int
    raw_limit: int
    partitions: int
    validation_fraction: float
    shard_docs: int
    boilerplate: BoilerplateConfig | None = None
    near: NearDedupConfig | None = None
    rehydrate: bool = False
    natural: bool = False  # train goes to natural parts (for mixing or rehydration) instead of final shards
    rates: dict[str, float] = field(default_factory=dict)
    mix_seed: int = 0
    tokenizer: tuple[str, bool] | None = None  # (spec, trust_remote_code) of the token counter

    def path(self, *parts: str) -> Path:
        p = Path(self.stages_dir, *parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def glob(self, folder: str, pattern: str) -> list[Path]:
        return sorted(Path(self.stages_dir, folder).glob(pattern))


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_table(table: pa.Table, path: Path) -> None:
    """Atomically, with row groups small enough that a range filter reads little."""
    tmp = _tmp(path)
    pq.write_table(table, tmp, row_group_size=ROW_GROUP)
    tmp.replace(path)


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _load_arrays(paths: list[Path], *names: str) -> list[np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for p in paths:
        with np.load(p) as z:
            for n in names:
                parts[n].append(z[n])
    return [np.concatenate(parts[n]) if parts[n] else np.empty(0, dtype=np.uint64) for n in names]


def _order_range(chunk: Chunk) -> tuple[int, int]:
    return chunk.ordinal << ROW_BITS, (chunk.ordinal + 1) << ROW_BITS


def _read_range(paths: list[Path], lo: int, hi: int, column: str = "order") -> pa.Table | None:
    """The rows of sorted tables whose `column` lies in [lo, hi): row-group statistics skip the rest."""
    tables = [pq.read_table(p, filters=[(column, ">=", lo), (column, "<", hi)]) for p in paths]
    tables = [t for t in tables if t.num_rows]
    return pa.concat_tables(tables) if tables else None


def _partition(values: np.ndarray, partitions: int) -> np.ndarray:
    """A partition per uint64 key, from its high bits (the low bits may carry a row number)."""
    return ((values.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) % np.uint64(partitions)


# 1. read --------------------------------------------------------------------------------------------


def _process(records: list[dict[str, Any]], steps: list[Step]) -> pa.Table:
    columns = ("text", "source", "lang", "line")
    parts = []
    for start in range(0, len(records), MAP_BATCH):
        batch = {k: [r[k] for r in records[start: start + MAP_BATCH]] for k in columns}
        parts.append(pa.Table.from_pydict(process_batch(batch, steps), schema=CHUNK_SCHEMA))
    return pa.concat_tables(parts) if parts else CHUNK_SCHEMA.empty_table()


def _done(ctx: Context, name: str, signature: str) -> dict[str, Any] | None:
    marker = Path(ctx.chunks_dir, f"{name}.done")
    try:
        meta = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("signature") != signature or not Path(ctx.chunks_dir, f"{name}.parquet").exists():
        return None
    return meta


def read(ctx: Context, task: ReadTask) -> list[dict[str, Any]]:
    """Read one unit of a source and run the steps over the chunks this task owns; returns their metas."""
    src, signature = ctx.sources[task.source], ctx.signatures[task.source]
    out: list[dict[str, Any]] = []
    k, good, reused = 0, 0, None
    records: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    counts: Counter = Counter()

    def owned(k: int) -> bool:
        return k % task.stride == task.offset

    def name_of(k: int) -> str:
        return f"{task.source:03d}-{task.unit:05d}-{k:05d}"

    def start(k: int) -> dict[str, Any] | None:
        return _done(ctx, name_of(k), signature) if owned(k) else None

    def flush() -> None:
        if not owned(k):
            return
        if reused is not None:
            out.append({**reused, "reused": True})
            return
        name = name_of(k)
        base = Path(ctx.chunks_dir, name)
        reject_file = base.with_suffix(".rejects.jsonl")
        atomic_write_text(reject_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects))
        write_table(_process(records, ctx.steps), base.with_suffix(".parquet"))
        meta = {"signature": signature, "name": name, "source": task.source, "read": counts["read"],
                "read_rejects": {r: n for r, n in counts.items() if r != "read"}}
        atomic_write_text(base.with_suffix(".done"), json.dumps(meta))
        out.append({**meta, "reused": False})

    reused = start(0)
    for ok, item in iter_source(src, ctx.raw_limit, Path(task.path) if task.path else task.shard):
        if good == ctx.chunk_docs:  # the next record opens chunk k + 1
            flush()
            k, good, records, rejects, counts = k + 1, 0, [], [], Counter()
            reused = start(k)
        mine = owned(k) and reused is None
        counts["read"] += 1
        if not ok:
            counts[item["reason"]] += 1
            if mine:
                rejects.append({**item, "step": "read"})
            continue
        good += 1
        if mine:
            records.append(item)
    if counts["read"]:
        flush()
    return out


# 2. boilerplate line counts ----------------------------------------------------------------------------


def _chunk_file(ctx: Context, chunk: Chunk) -> Path:
    return Path(ctx.chunks_dir, f"{chunk.name}.parquet")


def _doc_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs, sorted by a, then b."""
    if not len(a):
        return a, b
    s = np.lexsort((b, a))
    a, b = a[s], b[s]
    keep = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    return a[keep], b[keep]


def bp_map(ctx: Context, chunk: Chunk) -> int:
    """(line, document) pairs of the chunk's multi-line documents, sent to the line's partition. A
    line is counted once per distinct document, so copies of one page (exact dedup's work) do not make
    its lines boilerplate."""
    bp = ctx.boilerplate
    table = pq.read_table(_chunk_file(ctx, chunk), columns=["text", "reason"])
    keys: list[int] = []
    docs: list[int] = []
    for text, reason in zip(table.column("text").to_pylist(), table.column("reason").to_pylist()):
        if reason is None:
            found = line_keys(text, bp.min_line_chars)
            if found:
                keys.extend(found)
                docs.extend([_doc_key(text)] * len(found))
    keys_a, docs_a = _unique_pairs(np.array(keys, dtype=np.uint64), np.array(docs, dtype=np.uint64))
    part = _partition(keys_a, ctx.partitions)
    for r in range(ctx.partitions):
        sel = part == r
        save_arrays(ctx.path("bp", f"m-{chunk.ordinal:06d}-{r:04d}.npz"), keys=keys_a[sel], docs=docs_a[sel])
    return len(keys_a)


def bp_reduce(ctx: Context, r: int) -> dict[str, int]:
    """Per line of this partition, the distinct documents it is in; the boilerplate lines' keys saved."""
    keys, docs = _load_arrays(ctx.glob("bp", f"m-*-{r:04d}.npz"), "keys", "docs")
    frequent = np.empty(0, dtype=np.uint64)
    distinct = 0
    if len(keys):
        keys, docs = _unique_pairs(keys, docs)  # a page in two chunks counts once
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        totals = np.diff(np.r_[starts, len(keys)])
        frequent = keys[starts][totals >= ctx.boilerplate.min_docs]
        distinct = len(starts)
    np.save(ctx.path("bp", f"f-{r:04d}.npy"), frequent)
    return {"lines": distinct, "boilerplate": len(frequent)}


def _frequent_lines(ctx: Context) -> set[int]:
    return {int(k) for p in ctx.glob("bp", "f-*.npy") for k in np.load(p)}


# 3. prepare -----------------------------------------------------------------------------------------


def prepare(ctx: Context, chunk: Chunk) -> dict[str, StepStats]:
    """Step statistics of the chunk, boilerplate removed, ids computed, (id, order) partitioned."""
    rows = pq.read_table(_chunk_file(ctx, chunk)).to_pylist()
    names = [s.name for s in ctx.steps]
    stats = stats_from_rows(rows, names)
    if ctx.boilerplate is not None:
        frequent = _frequent_lines(ctx)
        st = stats["boilerplate"] = StepStats()
        kept = [r for r in rows if r["reason"] is None]
        st.count_in([r["text"] for r in kept])
        for r in kept:
            text, removed = strip_lines(r["text"], frequent, ctx.boilerplate.min_line_chars)
            st.counts["lines removed"] += removed
            if not text.strip():  # the reject keeps the original text
                r["reason"], r["step"] = "only boilerplate lines", "boilerplate"
                st.rejected[r["reason"]] += 1
            else:
                r["text"] = text
        st.count_out([r["text"] for r in kept if r["reason"] is None])
    ids = [text_hash(r["text"]) if r["reason"] is None else None for r in rows]
    write_table(pa.table({"text": [r["text"] for r in rows], "source": [r["source"] for r in rows],
                          "lang": [r["lang"] for r in rows], "line": [r["line"] for r in rows],
                          "reason": [r["reason"] for r in rows], "step": [r["step"] for r in rows], "id": ids},
                         schema=PREP_SCHEMA), ctx.path("prep", f"{chunk.ordinal:06d}.parquet"))
    kept = [i for i, d in enumerate(ids) if d is not None]
    key = np.array([int(ids[i][:16], 16) for i in kept], dtype=np.uint64)
    order = (np.uint64(chunk.ordinal) << np.uint64(ROW_BITS)) | np.array(kept, dtype=np.uint64)
    part = _partition(key, ctx.partitions)
    for r in range(ctx.partitions):
        sel = np.flatnonzero(part == r)
        write_table(pa.table({"id": pa.array([ids[kept[i]] for i in sel], pa.string()),
                              "order": pa.array(order[sel], pa.uint64()),
                              "line": pa.array([rows[kept[i]]["line"] for i in sel], pa.string())}),
                    ctx.path("ex", f"m-{chunk.ordinal:06d}-{r:04d}.parquet"))
    return stats


# 4. exact dedup ---------------------------------------------------------------------------------------


def exact_reduce(ctx: Context, r: int) -> int:
    """The first occurrence of each id in this partition is kept; the rest name it as their twin."""
    tables = [pq.read_table(p) for p in ctx.glob("ex", f"m-*-{r:04d}.parquet")]
    t = pa.concat_tables(tables) if tables else pa.table({"id": pa.array([], pa.string()),
                                                          "order": pa.array([], pa.uint64()),
                                                          "line": pa.array([], pa.string())})
    t = t.sort_by([("id", "ascending"), ("order", "ascending")])
    ids = t.column("id").to_numpy(zero_copy_only=False)
    n = len(ids)
    start = np.r_[True, ids[1:] != ids[:-1]] if n else np.zeros(0, dtype=bool)
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0)) if n else np.zeros(0, dtype=np.int64)
    dup = np.flatnonzero(~start)
    orders = t.column("order").to_numpy()
    dups = pa.table({"order": pa.array(orders[dup], pa.uint64()), "twin": pa.array(orders[first[dup]], pa.uint64()),
                     "twin_id": t.column("id").take(pa.array(first[dup])),
                     "twin_line": t.column("line").take(pa.array(first[dup]))}).sort_by("order")
    write_table(dups, ctx.path("ex", f"d-{r:04d}.parquet"))
    twins, sizes = np.unique(orders[first[dup]], return_counts=True)
    write_table(pa.table({"twin": pa.array(twins, pa.uint64()), "n": pa.array(sizes, pa.int64())}),
                ctx.path("ex", f"s-{r:04d}.parquet"))
    return len(dup)


def _exact_dups(ctx: Context, chunk: Chunk) -> dict[int, tuple[str, str]]:
    t = _read_range(ctx.glob("ex", "d-*.parquet"), *_order_range(chunk))
    if t is None:
        return {}
    return {int(o) & ROW_MASK: (i, line) for o, i, line in zip(t.column("order").to_pylist(),
                                                                 t.column("twin_id").to_pylist(),
                                                                 t.column("twin_line").to_pylist())}


# 5. near dedup ----------------------------------------------------------------------------------------


def _near(ctx: Context) -> NearDedup:
    return NearDedup.from_config(ctx.near)


def near_map(ctx: Context, chunk: Chunk) -> int:
    """Signatures of the chunk's exact survivors, and their band keys sent to the key's partition."""
    near = _near(ctx)
    t = pq.read_table(ctx.path("prep", f"{chunk.ordinal:06d}.parquet"), columns=["text", "lang", "reason"])
    dups = _exact_dups(ctx, chunk)
    rows = [i for i, reason in enumerate(t.column("reason").to_pylist()) if reason is None and i not in dups]
    texts, langs = t.column("text").to_pylist(), t.column("lang").to_pylist()
    sigs = near.hasher.signatures([near.shingles(texts[i], langs[i]) for i in rows]) if rows else \
        np.empty((0, near.hasher.perms), dtype=np.uint32)
    order = (np.uint64(chunk.ordinal) << np.uint64(ROW_BITS)) | np.array(rows, dtype=np.uint64)
    np.save(ctx.path("sig", f"{chunk.ordinal:06d}.order.npy"), order)
    np.save(ctx.path("sig", f"{chunk.ordinal:06d}.sig.npy"), sigs)
    keys = near.hasher.band_keys_many(sigs) if rows else np.empty((0, near.hasher.bands), dtype=np.uint64)
    band = np.broadcast_to(np.arange(near.hasher.bands, dtype=np.uint16), keys.shape).ravel()
    orders = np.repeat(order, near.hasher.bands)
    keys = keys.ravel()
    part = _partition(keys, ctx.partitions)
    for r in range(ctx.partitions):
        sel = part == r
        save_arrays(ctx.path("nb", f"m-{chunk.ordinal:06d}-{r:04d}.npz"), band=band[sel], key=keys[sel],
                    order=orders[sel])
    return len(rows)


def near_band_reduce(ctx: Context, r: int) -> int:
    """Per band bucket, every document paired with the bucket's first (the streaming index's candidates)."""
    band, key, order = _load_arrays(ctx.glob("nb", f"m-*-{r:04d}.npz"), "band", "key", "order")
    later = first = np.empty(0, dtype=np.uint64)
    if len(order):
        s = np.lexsort((order, key, band))
        band, key, order = band[s], key[s], order[s]
        start = np.r_[True, (band[1:] != band[:-1]) | (key[1:] != key[:-1])]
        head = np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))
        later, first = order[~start], order[head[~start]]
    part = _partition(later, ctx.partitions)
    for q in range(ctx.partitions):
        sel = part == q
        save_arrays(ctx.path("np", f"m-{r:04d}-{q:04d}.npz"), later=later[sel], first=first[sel])
    return len(later)


class _Signatures:
    """Signatures looked up by order from the per-chunk files. A file is mapped only while its rows are
    copied out: kept mapped, every page a task touched would stay in its RSS, which then grows with
    the corpus (each partition's candidates reach into most chunks)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.known: dict[int, np.ndarray] = {}  # each chunk's orders, 8 bytes a document

    def get(self, orders: np.ndarray, perms: int) -> np.ndarray:
        out = np.empty((len(orders), perms), dtype=np.uint32)
        ordinals = orders >> np.uint64(ROW_BITS)
        for o in np.unique(ordinals):
            base = f"{int(o):06d}"
            if int(o) not in self.known:
                self.known[int(o)] = np.load(self.ctx.path("sig", f"{base}.order.npy"))
            sel = np.flatnonzero(ordinals == o)
            sigs = np.load(self.ctx.path("sig", f"{base}.sig.npy"), mmap_mode="r")
            out[sel] = sigs[np.searchsorted(self.known[int(o)], orders[sel])]
            del sigs
        return out


def near_verify(ctx: Context, q: int) -> dict[str, int]:
    """Distinct candidate pairs of this partition's later documents, kept when their signatures agree enough."""
    near = _near(ctx)
    later, first = _load_arrays(ctx.glob("np", f"m-*-{q:04d}.npz"), "later", "first")
    if len(later):
        pairs = np.unique(np.stack([later, first], axis=1), axis=0)
        later, first = pairs[:, 0], pairs[:, 1]
    candidates, keep = len(later), np.ones(len(later), dtype=bool)
    if candidates and near.threshold > 0:
        sigs = _Signatures(ctx)
        for s in range(0, candidates, 1 << 16):
            a = sigs.get(later[s: s + (1 << 16)], near.hasher.perms)
            b = sigs.get(first[s: s + (1 << 16)], near.hasher.perms)
            keep[s: s + (1 << 16)] = (a == b).mean(axis=1) >= near.threshold
    save_arrays(ctx.path("ne", f"{q:04d}.npz"), later=later[keep], first=first[keep])
    return {"candidates": candidates, "rejected": int(candidates - keep.sum())}


def _lookup(ctx: Context, orders: np.ndarray) -> tuple[list[str], list[str]]:
    """Ids and source lines of kept documents by order, read from their chunks' prepared tables."""
    ids: list[str] = [""] * len(orders)
    lines: list[str] = [""] * len(orders)
    ordinals = orders >> np.uint64(ROW_BITS)
    for o in np.unique(ordinals):
        t = pq.read_table(ctx.path("prep", f"{int(o):06d}.parquet"), columns=["id", "line"])
        sel = np.flatnonzero(ordinals == o)
        rows = pa.array((orders[sel] & np.uint64(ROW_MASK)).astype(np.int64))
        for i, d, line in zip(sel, t.column("id").take(rows).to_pylist(), t.column("line").take(rows).to_pylist()):
            ids[i], lines[i] = d, line
    return ids, lines


def near_clusters(ctx: Context, q: int) -> dict[str, int]:
    """Partition q's near duplicates (documents linked to an earlier one) with their cluster's earliest
    document, and (for rehydration) the cluster sizes they add to it."""
    from lontar.corpus.components import roots_of

    (later,) = _load_arrays(ctx.glob("ne", f"{q:04d}.npz"), "later")
    removed = np.unique(later)
    twins = roots_of(ctx, q, removed) if len(removed) else removed
    twin_ids, twin_lines = _lookup(ctx, twins)
    write_table(pa.table({"order": pa.array(removed, pa.uint64()), "twin": pa.array(twins, pa.uint64()),
                          "twin_id": pa.array(twin_ids, pa.string()), "twin_line": pa.array(twin_lines, pa.string())}),
                ctx.path("near", f"d-{q:04d}.parquet"))
    sizes = {"twin": np.empty(0, dtype=np.uint64), "n": np.empty(0, dtype=np.int64)}
    if ctx.rehydrate and len(removed):
        # a near duplicate brings its own exact duplicates into its cluster
        ex = [pq.read_table(p) for p in ctx.glob("ex", "s-*.parquet")]
        ex_t = pa.concat_tables(ex) if ex else None
        extra = np.zeros(len(removed), dtype=np.int64)
        if ex_t is not None and ex_t.num_rows:
            et, en = ex_t.column("twin").to_numpy(), ex_t.column("n").to_numpy()
            s = np.argsort(et)
            et, en = et[s], en[s]
            pos = np.clip(np.searchsorted(et, removed), 0, len(et) - 1)
            extra = np.where(et[pos] == removed, en[pos], 0)
        uniq, inv = np.unique(twins, return_inverse=True)
        sizes = {"twin": uniq, "n": np.bincount(inv, weights=1 + extra).astype(np.int64)}
    # a cluster spread over partitions has a row in each: readers add them up
    write_table(pa.table({"twin": pa.array(sizes["twin"], pa.uint64()), "n": pa.array(sizes["n"], pa.int64())}),
                ctx.path("near", f"s-{q:04d}.parquet"))
    return {"near_duplicates": len(removed), "edges": len(later)}


def _near_dups(ctx: Context, chunk: Chunk) -> dict[int, tuple[str, str]]:
    t = _read_range(ctx.glob("near", "d-*.parquet"), *_order_range(chunk))
    if t is None:
        return {}
    return {int(o) & ROW_MASK: (i, line) for o, i, line in zip(t.column("order").to_pylist(),
                                                                 t.column("twin_id").to_pylist(),
                                                                 t.column("twin_line").to_pylist())}


def _cluster_sizes(ctx: Context, chunk: Chunk) -> Counter:
    """Documents removed in favour of each kept document of the chunk (exact and near), by row."""
    sizes: Counter = Counter()
    paths = [*ctx.glob("ex", "s-*.parquet"), *ctx.glob("near", "s-*.parquet")]
    t = _read_range(paths, *_order_range(chunk), column="twin")
    if t is not None:
        for twin, n in zip(t.column("twin").to_pylist(), t.column("n").to_pylist()):
            sizes[int(twin) & ROW_MASK] += n
    return sizes


# 6. finalize ------------------------------------------------------------------------------------------


class PartWriter:
    """Rows of one split of one chunk (or one mixing pass of it), in parts of at most `shard_docs`;
    the driver names the parts of all chunks as the final shards."""

    def __init__(self, folder: Path, tag: str, shard_docs: int, schema: pa.Schema) -> None:
        self.folder, self.tag, self.shard_docs, self.schema = folder, tag, shard_docs, schema
        self.rows: list[dict[str, Any]] = []
        self.paths: list[Path] = []

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.shard_docs:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            path = self.folder / f"{self.tag}-{len(self.paths):05d}.parquet"
            self.folder.mkdir(parents=True, exist_ok=True)
            write_table(pa.Table.from_pylist(self.rows, schema=self.schema), path)
            self.paths.append(path)
            self.rows = []

    def close(self) -> list[str]:
        self._flush()
        return [str(p) for p in self.paths]


class _JsonlPart:
    def __init__(self, path: Path) -> None:
        self.path, self.count, self._lines = path, 0, []
        self.examples: dict[str, str] = {}

    def add(self, item: dict[str, Any]) -> None:
        if "reason" in item and "line" in item:
            self.examples.setdefault(str(item["reason"]), Path(str(item["line"])).name)
        self._lines.append(json.dumps(item, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> str | None:
        if not self._lines:
            return None
        atomic_write_text(self.path, "".join(self._lines))
        return str(self.path)


def finalize(ctx: Context, chunk: Chunk) -> dict[str, Any]:
    """Rejects, duplicates and the split of one chunk written; its figures for the card."""
    t = pq.read_table(ctx.path("prep", f"{chunk.ordinal:06d}.parquet")).to_pylist()
    tag = f"{chunk.ordinal:06d}"
    rejects = _JsonlPart(ctx.path("out", "rejected", f"{tag}.jsonl"))
    read_rejects = Path(ctx.chunks_dir, f"{chunk.name}.rejects.jsonl")
    for line in read_rejects.read_text(encoding="utf-8").splitlines() if read_rejects.exists() else []:
        rejects.add(json.loads(line))
    duplicates = _JsonlPart(ctx.path("out", "duplicates", f"{tag}.jsonl"))
    exact, near = _exact_dups(ctx, chunk), (_near_dups(ctx, chunk) if ctx.near is not None else {})
    sizes = _cluster_sizes(ctx, chunk) if ctx.rehydrate else Counter()
    folder = Path(ctx.stages_dir, "out")
    writers = {"train": PartWriter(folder / ("natural" if ctx.natural else "train"), tag, ctx.shard_docs,
                                   NATURAL_SCHEMA if ctx.natural else SHARD_SCHEMA),
               "validation": PartWriter(folder / "validation", tag, ctx.shard_docs, SHARD_SCHEMA)}
    dedup, summary, rehydrated = StepStats(), Counter(), Counter()
    lengths = np.zeros(len(LENGTH_BINS) - 1, dtype=np.int64)
    kept = [(i, r) for i, r in enumerate(t) if r["reason"] is None]
    for r in t:
        if r["reason"] is not None:
            rejects.add({"source": r["source"], "line": r["line"], "step": r["step"], "reason": r["reason"],
                         **raw_fields(r["text"], ctx.raw_limit)})
    dedup.count_in([r["text"] for _, r in kept])
    survivors, sizes_kept = [], []
    for i, r in kept:
        twin = exact.get(i)
        kind = "exact"
        if twin is None:
            twin, kind = near.get(i), "near"
        if twin is not None:
            dedup.counts[f"{kind} duplicates"] += 1
            duplicates.add({"source": r["source"], "line": r["line"], "kind": kind, "id": r["id"],
                            "kept_id": twin[0], "kept_line": twin[1]})
            continue
        survivors.append(r["text"])
        split = split_of(r["id"], ctx.validation_fraction)
        row = {"id": r["id"], "text": r["text"], "source": r["source"], "lang": r["lang"]}
        weight = 1
        if split == "train" and ctx.rehydrate:
            weight = rehydrate_copies(1 + sizes.get(i, 0))
            rehydrated[str(weight)] += 1
        if split == "train" and ctx.natural:
            row["weight"] = weight
        writers[split].add(row)
        size, nbytes = len(r["text"]), len(r["text"].encode("utf-8"))
        summary.update({f"{split}:docs": 1, f"{split}:chars": size, f"{split}:bytes": nbytes,
                        f"lang:{r['lang']}:docs": 1, f"lang:{r['lang']}:chars": size,
                        f"source:{r['source']}:{split}:chars": size * weight})
        sizes_kept.append(size)
    dedup.count_out(survivors)
    if sizes_kept:
        lengths += np.histogram(sizes_kept, bins=LENGTH_BINS)[0]
    return {"dedup": dedup, "summary": summary, "lengths": lengths, "rehydrated": rehydrated,
            "rejects": rejects.count, "examples": rejects.examples, "rejected_file": rejects.close(),
            "duplicates_file": duplicates.close(),
            "parts": {split: w.close() for split, w in writers.items()}}


# 7. mixing --------------------------------------------------------------------------------------------

_COUNTERS: dict[tuple[str, bool], Callable[[list[str]], list[int]]] = {}


def _token_counter(ctx: Context) -> Callable[[list[str]], list[int]] | None:
    if ctx.tokenizer is None:
        return None
    if ctx.tokenizer not in _COUNTERS:  # once per worker process
        from lontar.corpus.tokens import load_token_counter

        _COUNTERS[ctx.tokenizer] = load_token_counter(*ctx.tokenizer)
    return _COUNTERS[ctx.tokenizer]


def mix(ctx: Context, item: tuple[Chunk, list[str]]) -> dict[str, Any]:
    """The chunk's natural train part sampled into the mixture, copy e of a document in pass e."""
    chunk, natural = item
    folder = Path(ctx.stages_dir, "out", "train")
    writers: dict[int, PartWriter] = {}

    def writer_for_pass(e: int) -> PartWriter:
        if e not in writers:
            writers[e] = PartWriter(folder, f"{e:04d}-{chunk.ordinal:06d}", ctx.shard_docs, SHARD_SCHEMA)
        return writers[e]

    per = mix_part([Path(p) for p in natural], writer_for_pass, ctx.rates, ctx.mix_seed, _token_counter(ctx))
    return {"per": per, "parts": [p for e in sorted(writers) for p in writers[e].close()]}


__all__ = ["Chunk", "Context", "ReadTask", "bp_map", "bp_reduce", "exact_reduce", "finalize", "mix",
           "near_band_reduce", "near_clusters", "near_map", "near_verify", "prepare", "read"]
