"""Which document is trained next: a seeded, resumable order over the whole corpus, mixed by token share.

Each training dataset splits into *streams*: the run corpus into its sources (each one language),
a chat file into one. A stream's documents are read in a seeded order that needs no pass over the
corpus: its rows are cut into chunks of consecutive rows, the chunks are permuted (anew each epoch),
and the documents of a window of chunks are shuffled together; only one window's texts are held.
Every stream has a target share of the training tokens (dataset weight x the source's share in the
data card's mixture); the next document always comes from the stream furthest below its target, so
every stretch of training, down to one optimizer step, holds the configured proportions.

Documents become blocks with the same first-fit, padding-free packing as `lontar.train.packing`,
done incrementally so that only the blocks of the next step are built. The whole position (each
stream's epoch, window and offset, tokens emitted, the packer's open blocks) is a small state that
a checkpoint stores, so resuming continues with the very same blocks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lontar.train.packing import LOSS, PAD, START, Segment

_SALT = 7_919  # keeps these generators apart from the ones seeded with the bare run seed


class ParquetDocs:
    """Rows of parquet shards by global index, read a row group at a time; nothing loaded up front."""

    def __init__(self, files: Sequence[Path], text_field: str = "text"):
        self.files = [Path(f) for f in files]
        self.text_field = text_field
        self._open: dict[int, pq.ParquetFile] = {}
        starts, where = [0], []
        for fi, f in enumerate(self.files):
            meta = pq.ParquetFile(f).metadata
            for rg in range(meta.num_row_groups):
                starts.append(starts[-1] + meta.row_group(rg).num_rows)
                where.append((fi, rg))
        self.rg_start = np.asarray(starts, dtype=np.int64)
        self.rg_where = where

    def __len__(self) -> int:
        return int(self.rg_start[-1])

    def codes(self, column: str) -> tuple[np.ndarray, list[str]] | None:
        """A string column as integer codes per row and their values (dictionary-decoded, no Python strings
        per row), or None when the shards lack it."""
        values: list[str] = []
        index: dict[str, int] = {}
        parts = []
        for f in self.files:
            if column not in pq.ParquetFile(f).schema_arrow.names:
                return None
            col = pq.read_table(f, columns=[column], read_dictionary=[column]).column(0)
            for chunk in col.chunks:
                if not pa.types.is_dictionary(chunk.type):
                    chunk = chunk.dictionary_encode()
                lookup = np.asarray([index.setdefault(v, len(index)) for v in chunk.dictionary.to_pylist()] or [0],
                                    dtype=np.int32)
                parts.append(lookup[chunk.indices.to_numpy(zero_copy_only=False)])
        values = list(index)
        return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)), values

    def read(self, rows: np.ndarray) -> list[str]:
        """Texts of `rows` (global indices) in that order; each row group touched is decoded once."""
        rows = np.asarray(rows, dtype=np.int64)
        out: list[str | None] = [None] * len(rows)
        rg = np.searchsorted(self.rg_start, rows, side="right") - 1
        for g in np.unique(rg):
            pick = np.flatnonzero(rg == g)
            fi, idx = self.rg_where[int(g)]
            pf = self._open.get(fi)
            if pf is None:
                pf = self._open[fi] = pq.ParquetFile(self.files[fi])
            col = pf.read_row_group(idx, columns=[self.text_field]).column(0)
            texts = col.take(pa.array(rows[pick] - self.rg_start[g])).to_pylist()
            for j, t in zip(pick, texts):
                out[j] = t
        return [t if t is not None else "" for t in out]


@dataclass
class DocOrder:
    """The seeded order of one stream's rows: permuted chunks, shuffled within windows. Pure function of
    (seed, key, epoch, window): a position is three integers."""

    rows: np.ndarray  # the stream's global row indices, in file order
    chunk: int
    window: int
    seed: int
    key: tuple[int, ...]

    def __post_init__(self) -> None:
        self.n_chunks = -(-len(self.rows) // self.chunk)
        self.n_windows = -(-self.n_chunks // self.window)
        self._perm: tuple[int, np.ndarray] | None = None

    def window_rows(self, epoch: int, w: int) -> np.ndarray:
        if self._perm is None or self._perm[0] != epoch:
            self._perm = (epoch, np.random.default_rng([self.seed, _SALT, *self.key, epoch]).permutation(self.n_chunks))
        chunks = self._perm[1][w * self.window: (w + 1) * self.window]
        rows = np.concatenate([self.rows[c * self.chunk: (c + 1) * self.chunk] for c in chunks])
        return rows[np.random.default_rng([self.seed, _SALT, *self.key, epoch, w + 1]).permutation(len(rows))]


@dataclass
class StreamInfo:
    name: str  # "<dataset>" or "<dataset>/<source>"
    dataset: int
    lang: str
    share: float  # target share of all training tokens


class DocStream:
    """Segments of one stream in its order, made lazily (read and tokenized a batch at a time), handed out
    in pieces of at most a block: a long document is drawn a block at a time, not all at once."""

    def __init__(self, info: StreamInfo, order: DocOrder, fetch: Callable[[np.ndarray], list[Any]],
                 segment: Callable[[list[Any]], list[Segment | None]], epochs: int | None, block_size: int,
                 split_long: bool = True, batch: int = 256):
        self.info, self.order, self.fetch, self.segment, self.epochs, self.batch = info, order, fetch, segment, epochs, batch
        self.block_size, self.split_long = block_size, split_long
        self.piece = 0  # pieces of the current document (at offset - 1) already handed out
        self.epoch = self.window = self.offset = 0
        self.docs_read = 0  # documents handed out (empty ones included)
        self._items: list[Any] | None = None
        self._segs: list[Segment | None] = []
        self._yielded = 0  # segments this epoch (unknown after a resume: assumed some)
        self._current = None

    def state(self) -> list[int]:
        return [self.epoch, self.window, self.offset, self.docs_read, self.piece]

    def load(self, state: Sequence[int]) -> None:
        self.epoch, self.window, self.offset, self.docs_read, self.piece = (int(x) for x in state)
        self._current: Segment | None = None
        self._items, self._segs, self._yielded = None, [], 1

    def exhausted(self) -> bool:
        return self.order.n_windows == 0 or (self.epochs is not None and self.epoch >= self.epochs)

    def next(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The next piece (token ids, loss mask) of at most a block, or None when the stream's epochs are done."""
        b = self.block_size
        if self.piece and self._current is None:  # resumed in the middle of a document: read it again
            self.offset -= 1
            self.docs_read -= 1
            piece, self.piece = self.piece, 0
            self._current = self._next_segment()
            self.piece = piece
        if self.piece:
            seg = self._current
            start = self.piece * b
            if self.split_long and start < len(seg.ids):
                lo = (np.ones(len(seg.ids), dtype=bool) if seg.loss is None else seg.loss.astype(bool))[start: start + b].copy()
                lo[0] = False  # a continuation has no context for its first token in this block
                self.piece += 1
                return seg.ids[start: start + b], lo
            self.piece, self._current = 0, None
        seg = self._next_segment()
        if seg is None:
            return None
        self._current, self.piece = seg, 1
        lo = np.ones(len(seg.ids), dtype=bool) if seg.loss is None else seg.loss.astype(bool)
        return seg.ids[:b], lo[:b]

    def _next_segment(self) -> Segment | None:
        while not self.exhausted():
            if self._items is None:
                self._items = self.fetch(self.order.window_rows(self.epoch, self.window))
                self._segs, self._base = [], self.offset
            if self.offset >= len(self._items):
                self._items, self.offset = None, 0
                self.window += 1
                if self.window >= self.order.n_windows:
                    if self.docs_read and not self._yielded:
                        from lontar.errors import DataError

                        raise DataError(f"train data '{self.info.name}': none of its documents gives a token")
                    self.window, self.epoch, self._yielded = 0, self.epoch + 1, 0
                continue
            at = self.offset - self._base
            if at >= len(self._segs):
                self._segs.extend(self.segment(self._items[self.offset: self.offset + self.batch]))
            seg = self._segs[at]
            self.offset += 1
            self.docs_read += 1
            if seg is not None:
                self._yielded += 1
                return seg
        return None


class StreamPacker:
    """First-fit packing like `lontar.train.packing.pack_segments`, handing out closed blocks as it goes, with
    the stream of every token; its open blocks are part of the resumable state.

    Blocks leave strictly in the order they were opened (pack_segments lets a full block go at once,
    and the fullest when the window is full): the blocks of a step then hold what the mixer drew for
    it, and a stream of short documents is not held back while full blocks of long ones pass ahead.
    """

    def __init__(self, block_size: int, pad_id: int, end_id: int | None, open_blocks: int):
        self.block_size, self.pad_id, self.end_id, self.open_blocks = block_size, pad_id, end_id, open_blocks
        self.bins: list[list[tuple[np.ndarray, np.ndarray, int]]] = []
        self.free: list[int] = []
        self.ready: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque()

    def _close(self, i: int) -> None:
        parts = self.bins.pop(i)
        self.free.pop(i)
        b = self.block_size
        ids = np.full(b, self.pad_id, dtype=np.int32)
        flags = np.zeros(b, dtype=np.uint8)
        sid = np.full(b, -1, dtype=np.int16)
        at = 0
        for seg_ids, seg_loss, s in parts:
            n = len(seg_ids)
            ids[at: at + n] = seg_ids
            flags[at: at + n] = np.where(seg_loss, LOSS, 0)
            flags[at] |= START
            sid[at: at + n] = s
            at += n
        if at < b:
            flags[at:] = PAD
            flags[at] |= START
            if self.end_id is not None:  # the last document still learns to end
                ids[at] = self.end_id
                flags[at] |= LOSS
                sid[at] = parts[-1][2] if parts else -1
        self.ready.append((ids, flags, sid))

    def add(self, ids: np.ndarray, loss: np.ndarray, stream: int) -> None:
        """Place one piece (at most a block long) first-fit."""
        b, n = self.block_size, len(ids)
        i = next((k for k, f in enumerate(self.free) if f >= n), None)
        if i is None:
            if len(self.bins) >= self.open_blocks:
                self._close(0)  # the oldest block leaves: blocks come out in the order documents went in
            self.bins.append([])
            self.free.append(b)
            i = len(self.bins) - 1
        self.bins[i].append((np.asarray(ids, dtype=np.int32), np.asarray(loss, dtype=bool), stream))
        self.free[i] -= n
        while self.free and self.free[0] == 0:  # full blocks leave in the order they were opened
            self._close(0)

    def flush(self) -> None:
        while self.bins:
            self._close(0)

    def state(self) -> dict[str, np.ndarray]:
        segs = [(k, ids, lo, s) for k, parts in enumerate(self.bins) for ids, lo, s in parts]
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt))  # noqa: E731
        ready = list(self.ready)
        shape = (len(ready), self.block_size)
        return {"bin_of": np.asarray([k for k, *_ in segs], dtype=np.int64),
                "seg_len": np.asarray([len(ids) for _, ids, _, _ in segs], dtype=np.int64),
                "seg_stream": np.asarray([s for *_, s in segs], dtype=np.int64),
                "seg_ids": cat([ids for _, ids, _, _ in segs], np.int32),
                "seg_loss": cat([lo for _, _, lo, _ in segs], np.bool_),
                "n_bins": np.asarray([len(self.bins)], dtype=np.int64),
                "ready_ids": np.stack([r[0] for r in ready]) if ready else np.zeros(shape, np.int32),
                "ready_flags": np.stack([r[1] for r in ready]) if ready else np.zeros(shape, np.uint8),
                "ready_sid": np.stack([r[2] for r in ready]) if ready else np.zeros(shape, np.int16)}

    def load(self, st: dict[str, np.ndarray]) -> None:
        self.bins = [[] for _ in range(int(st["n_bins"][0]))]
        at = 0
        for k, n, s in zip(st["bin_of"], st["seg_len"], st["seg_stream"]):
            self.bins[int(k)].append((st["seg_ids"][at: at + n].copy(), st["seg_loss"][at: at + n].copy(), int(s)))
            at += int(n)
        self.free = [self.block_size - sum(len(p[0]) for p in parts) for parts in self.bins]
        self.ready = deque(zip(st["ready_ids"], st["ready_flags"], st["ready_sid"]))


class Mixer:
    """Streams drawn by token deficit: the next document comes from the live stream with the fewest tokens
    emitted relative to its target share (ties: the first). Deterministic, no random draw to store."""

    def __init__(self, streams: list[DocStream], packer: StreamPacker):
        self.streams, self.packer = streams, packer
        self.shares = np.asarray([s.info.share for s in streams], dtype=float)
        self.emitted = np.zeros(len(streams), dtype=np.int64)
        self.done = False

    def block(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The next closed block, or None once every stream is exhausted and the packer is empty."""
        while not self.packer.ready:
            if self.done:
                return None
            live = [i for i, s in enumerate(self.streams) if not s.exhausted() and self.shares[i] > 0]
            if not live:
                self.done = True
                self.packer.flush()
                continue
            i = min(live, key=lambda k: (self.emitted[k] / self.shares[k], k))
            piece = self.streams[i].next()
            if piece is None:
                continue
            self.emitted[i] += len(piece[0])
            self.packer.add(*piece, i)
        return self.packer.ready.popleft()

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return ({"streams": [s.state() for s in self.streams], "emitted": self.emitted.tolist(), "done": self.done},
                self.packer.state())

    def load(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        for s, st in zip(self.streams, meta["streams"]):
            s.load(st)
        self.emitted = np.asarray(meta["emitted"], dtype=np.int64)
        self.done = bool(meta["done"])
        self.packer.load(arrays)
