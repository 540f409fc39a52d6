"""Padding-free packing: whole documents (or chat examples) placed into fixed blocks.

A block holds several *segments*. Each segment restarts its position ids at 0, and transformers
reads the restarts as packed sequences: sdpa and eager get a block-diagonal causal mask, flash
attention its variable-length kernel, so attention never crosses a document. Segments are placed
first-fit into a window of open blocks (documents are not cut unless longer than a block), and the
little space left at the end of a block is a padding segment with no loss.

A document is packed as `[start] + tokens + [EOS]` (`document_segment`): the start token is the one the
model was trained to see first, BOS where the tokenizer has one (Gemma, Llama, Mistral), else EOS (as
lm-evaluation-harness does, and as GPT-2 / Qwen-style models see a document after the previous one's
end). The start token is context, never a target (the token before it belongs to another document);
the EOS is a target, so the model learns to end. The eval stage scores documents after the same start.

A packed set is two arrays of the same `[n_blocks, block_size]` shape: token ids (int32) and flags
(uint8): START (a segment begins, positions restart), LOSS (the token is a training target, i.e.
predicted from the token before it) and PAD (not part of any document).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from lontar.errors import InvalidInput

START, LOSS, PAD = np.uint8(1), np.uint8(2), np.uint8(4)
IGNORE = -100


@dataclass
class Segment:
    """Token ids and, per token, whether it is a training target (None: every token is)."""

    ids: np.ndarray
    loss: np.ndarray | None = None
    nbytes: int = 0  # UTF-8 bytes of the text it came from (bits per byte)


@dataclass
class Packed:
    input_ids: np.ndarray  # int32 [n, block_size]
    flags: np.ndarray  # uint8 [n, block_size]
    docs: int = 0
    nbytes: int = 0
    cut: int = 0  # segments longer than a block, split (continued pre-training) or truncated (chat)
    stats: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def block_size(self) -> int:
        return self.input_ids.shape[1]


def document_start_id(tokenizer: Any) -> int:
    """The token a document starts with, as the model was trained: BOS, else EOS."""
    bos = tokenizer.bos_token_id
    return bos if bos is not None else tokenizer.eos_token_id


def document_segment(ids: Any, start_id: int, end_id: int | None, nbytes: int = 0) -> Segment:
    """`[start] + ids + [end]`, the start not a target."""
    body = [start_id, *ids] + ([end_id] if end_id is not None else [])
    loss = np.ones(len(body), dtype=bool)
    loss[0] = False
    return Segment(np.asarray(body, dtype=np.int32), loss, nbytes=nbytes)


def _chunks(seg: Segment, block_size: int, split_long: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    loss = np.ones(len(seg.ids), dtype=bool) if seg.loss is None else seg.loss.astype(bool)
    if len(seg.ids) <= block_size or not split_long:
        yield seg.ids[:block_size], loss[:block_size]
        return
    for start in range(0, len(seg.ids), block_size):
        ids, lo = seg.ids[start: start + block_size], loss[start: start + block_size].copy()
        if start:
            lo[0] = False  # a continuation has no context for its first token in this block
        yield ids, lo


def pack_segments(segments: Iterable[Segment], block_size: int, pad_id: int, *, max_blocks: int | None = None,
                  open_blocks: int = 64, end_id: int | None = None, split_long: bool = True) -> Packed:
    """First-fit packing of segments into `block_size` blocks, at most `open_blocks` open at a time.

    `end_id` (legacy layout, segments `[EOS] + tokens`): a padded block starts its padding with `end_id`
    as a target so the last document in it still learns to end; `document_segment` ends each document
    with its own EOS instead, and needs no `end_id`. Segments longer than a block are
    cut into block-sized pieces (`split_long`) or truncated. Stops reading once `max_blocks` blocks
    are complete; otherwise every open block is closed (padded) at the end.
    """
    if block_size < 2:
        raise InvalidInput("block_size must be at least 2")
    done_ids: list[np.ndarray] = []
    done_flags: list[np.ndarray] = []
    bins: list[list[tuple[np.ndarray, np.ndarray]]] = []
    free = np.zeros(0, dtype=np.int64)
    docs = nbytes = cut = 0

    def close(i: int) -> None:
        nonlocal free
        parts = bins.pop(i)
        free = np.delete(free, i)
        ids = np.full(block_size, pad_id, dtype=np.int32)
        flags = np.zeros(block_size, dtype=np.uint8)
        at = 0
        for seg_ids, seg_loss in parts:
            n = len(seg_ids)
            ids[at: at + n] = seg_ids
            flags[at: at + n] = np.where(seg_loss, LOSS, 0)
            flags[at] |= START
            at += n
        if at < block_size:
            flags[at:] = PAD
            flags[at] |= START
            if end_id is not None:
                ids[at] = end_id
                flags[at] |= LOSS
        done_ids.append(ids)
        done_flags.append(flags)

    for seg in segments:
        if max_blocks is not None and len(done_ids) >= max_blocks:
            break
        docs += 1
        nbytes += seg.nbytes
        cut += len(seg.ids) > block_size
        for ids, lo in _chunks(seg, block_size, split_long):
            n = len(ids)
            fits = np.flatnonzero(free >= n)
            if len(fits):
                i = int(fits[0])
            else:
                if len(bins) >= open_blocks:
                    close(int(np.argmin(free)))  # the fullest block leaves
                bins.append([])
                free = np.append(free, block_size)
                i = len(bins) - 1
            bins[i].append((ids, lo))
            free[i] -= n
            if free[i] == 0:
                close(i)
    while bins and (max_blocks is None or len(done_ids) < max_blocks):
        close(0)
    if max_blocks is not None:
        del done_ids[max_blocks:], done_flags[max_blocks:]
    shape = (len(done_ids), block_size)
    input_ids = np.stack(done_ids) if done_ids else np.zeros(shape, dtype=np.int32)
    flags = np.stack(done_flags) if done_flags else np.zeros(shape, dtype=np.uint8)
    packed = Packed(input_ids, flags, docs=docs, nbytes=nbytes, cut=cut)
    packed.stats = {"blocks": len(input_ids), "fill": float((flags & PAD == 0).mean()) if len(flags) else 0.0}
    return packed


def position_ids(flags: np.ndarray) -> np.ndarray:
    """Positions restarting at every START flag (each row must start with one)."""
    idx = np.broadcast_to(np.arange(flags.shape[-1]), flags.shape)
    last_start = np.maximum.accumulate(np.where(flags & START, idx, 0), axis=-1)
    return idx - last_start


def labels(input_ids: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """transformers convention (the model shifts): the token itself where it is a target, else -100."""
    return np.where(flags & LOSS, input_ids, IGNORE).astype(np.int64)


def segment_lengths(flags: np.ndarray) -> np.ndarray:
    """Lengths of the segments of the rows laid end to end (every row starts one)."""
    starts = np.flatnonzero(flags.reshape(-1) & START)
    return np.diff(np.append(starts, flags.size))


def to_batch(input_ids: np.ndarray, flags: np.ndarray, device: torch.device | str = "cpu",
             attention: str = "mask") -> dict[str, Any]:
    """Model inputs for packed rows: no attention mask, so the restarts in `position_ids` define the documents.

    `attention`: "mask" (sdpa/eager: transformers builds a block-diagonal mask from the restarts),
    "flash" (flash-attention varlen: `cu_seq_lens_*` over the flattened micro-batch) or "packed"
    (`lontar.train.attention`: per-document buckets).
    """
    batch: dict[str, Any] = {
        "input_ids": torch.from_numpy(input_ids.astype(np.int64)).to(device),
        "position_ids": torch.from_numpy(position_ids(flags).astype(np.int64)).to(device),
        "labels": torch.from_numpy(labels(input_ids, flags)).to(device),
    }
    if attention == "flash":
        lengths = segment_lengths(flags)
        cu = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)).to(device)
        batch.update(cu_seq_lens_q=cu, cu_seq_lens_k=cu, max_length_q=int(lengths.max()), max_length_k=int(lengths.max()))
    elif attention == "packed":
        from lontar.train.attention import bucket_plan

        batch["packed_plan"] = bucket_plan(segment_lengths(flags), flags.shape[1], device)
    return batch


def targets_per_block(flags: np.ndarray) -> np.ndarray:
    """Loss targets per block: LOSS flags after the first position (the model shifts labels by one)."""
    return ((flags[:, 1:] & LOSS) != 0).sum(axis=1)


def real_tokens_per_block(flags: np.ndarray) -> np.ndarray:
    return ((flags & PAD) == 0).sum(axis=1)


def attention_pairs_per_block(flags: np.ndarray) -> np.ndarray:
    """Sum over the documents of a block of L(L+1)/2: the query-key pairs causal attention computes."""
    pos = position_ids(flags).astype(np.int64)
    real = (flags & PAD) == 0
    return np.where(real, pos + 1, 0).sum(axis=1)  # each token attends to pos+1 keys
