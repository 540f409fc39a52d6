"""Corpus steps: pure functions over a batch (a dict of columns).

The same function runs under `datasets.Dataset.map(batched=True)` or `ray.data`; the runner here
calls it directly on batches.
"""

from __future__ import annotations

import hashlib

from lontar.text.normalize import normalize_text


def text_hash(text: str) -> str:
    """Content hash of already-normalized text: the key of exact dedup and of the split."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def normalize_batch(batch: dict[str, list]) -> dict[str, list]:
    out = dict(batch)
    out["text"] = [normalize_text(t) for t in batch["text"]]
    out["id"] = [text_hash(t) for t in out["text"]]
    return out


def length_reasons(batch: dict[str, list], min_chars: int) -> list[str | None]:
    """Why each record fails the length filter, or None when it passes."""
    return [None if len(t) >= min_chars else ("empty" if not t else f"shorter than {min_chars} chars")
            for t in batch["text"]]


def split_of(doc_id: str, validation_fraction: float) -> str:
    """Deterministic split from the content hash: the same text lands in the same split on every run."""
    bucket = int(doc_id[:8], 16) / 0xFFFFFFFF
    return "validation" if bucket < validation_fraction else "train"
