"""Corpus steps: pure functions over a batch (a dict of columns), see `lontar.corpus.pipeline`.

The same functions run under `datasets.Dataset.map(batched=True)` or `ray.data`; the local runner
calls them directly on batches.
"""

from __future__ import annotations

import hashlib
from functools import partial

from lontar.config import CorpusConfig
from lontar.corpus.pipeline import Batch, Step, StepOutput
from lontar.text.normalize import normalize_text


def text_hash(text: str) -> str:
    """Content hash of already-normalized text: the key of exact dedup and of the split."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def normalize(batch: Batch) -> StepOutput:
    return [normalize_text(t) for t in batch["text"]], [None] * len(batch["text"]), {}


def min_length(batch: Batch, min_chars: int) -> StepOutput:
    reasons = [None if len(t) >= min_chars else ("empty" if not t else f"shorter than {min_chars} chars")
               for t in batch["text"]]
    return batch["text"], reasons, {}


def build_steps(corpus: CorpusConfig) -> list[Step]:
    """The step list a corpus config asks for, in order."""
    return [
        Step("normalize", normalize, "Unicode NFC, control characters removed, whitespace collapsed"),
        Step("min_length", partial(min_length, min_chars=corpus.min_chars),
             f"documents shorter than {corpus.min_chars} characters set aside"),
    ]


def split_of(doc_id: str, validation_fraction: float) -> str:
    """Deterministic split from the content hash: the same text lands in the same split on every run."""
    bucket = int(doc_id[:8], 16) / 0xFFFFFFFF
    return "validation" if bucket < validation_fraction else "train"
