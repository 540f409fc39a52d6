"""Continued pre-training data: documents tokenized, joined with EOS, cut into fixed blocks.

Every document ends with EOS, so the model learns where documents stop and never reads two
documents as one sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def pack_blocks(token_lists: Iterable[list[int]], block_size: int, eos_id: int, max_blocks: int | None = None) -> np.ndarray:
    """Concatenate documents (each + EOS) and cut into `[n, block_size]`; the tail shorter than a block is dropped.

    Reads only as many documents as `max_blocks` needs; holds tokens as int32 arrays, not Python ints.
    """
    parts: list[np.ndarray] = []
    total = 0
    need = None if max_blocks is None else max_blocks * block_size
    for ids in token_lists:
        parts.append(np.append(np.asarray(ids, dtype=np.int32), np.int32(eos_id)))
        total += len(ids) + 1
        if need is not None and total >= need:
            break
    n = total // block_size if max_blocks is None else min(total // block_size, max_blocks)
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    return flat[: n * block_size].astype(np.int64).reshape(n, block_size)


def tokenize_stream(tokenizer: Any, texts: Iterable[str], batch_size: int = 1000) -> Iterable[list[int]]:
    """Token ids per document. Raw text never yields special ids (a literal "</s>" in the corpus stays
    text); packing adds the real EOS separators."""
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            yield from tokenizer(batch, add_special_tokens=False, split_special_tokens=True)["input_ids"]
            batch = []
    if batch:
        yield from tokenizer(batch, add_special_tokens=False, split_special_tokens=True)["input_ids"]
