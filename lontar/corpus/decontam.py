"""Benchmark decontamination: a training document that shares an n-gram of N units with an
evaluation item is removed (or flagged), and the data card lists which items were found.

Units are syllables for km, lo, th, my (whitespace words would make a whole Khmer sentence one
"word", so nothing would ever match) and lower-cased words otherwise; punctuation is ignored so
"Canada," matches "Canada". N-grams are hashed (blake2b-64) to keep the index small enough to ship to
every worker.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from lontar.config import DecontamConfig, DecontamSource
from lontar.corpus.pipeline import Batch, StepOutput
from lontar.corpus.sources import open_binary, source_files
from lontar.fields import get_field
from lontar.text.syllables import units


def _clean(unit: str) -> str:
    return "".join(ch for ch in unit.lower() if unicodedata.category(ch)[0] not in "PSZC")


def gram_units(text: str, lang: str) -> list[str]:
    return [c for c in (_clean(u) for u in units(text, lang)) if c]


def _hash(gram: tuple[str, ...]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode("utf-8"), digest_size=8).digest(), "little")


def ngram_hashes(text: str, lang: str, n: int) -> set[int]:
    u = gram_units(text, lang)
    return {_hash(tuple(u[i: i + n])) for i in range(len(u) - n + 1)}


def _items(src: DecontamSource) -> Iterator[tuple[str, str]]:
    """(item id, text) for every evaluation item: its fields joined by newlines."""
    for path in source_files(src.path):
        with open_binary(path) as f:
            for i, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                obj = json.loads(raw)
                parts = [get_field(obj, p) for p in src.text_fields]
                yield f"{path.name}:{i}", "\n".join(str(p) for p in parts if p is not None)


@dataclass
class ContaminationIndex:
    n: int
    grams: dict[int, str] = field(default_factory=dict)  # n-gram hash -> first item that has it
    items: int = 0
    too_short: int = 0  # items with fewer than n units: they cannot be matched, and the card says how many

    @classmethod
    def build(cls, config: DecontamConfig) -> "ContaminationIndex":
        index = cls(config.n)
        for src in config.sources:
            for item_id, text in _items(src):
                index.items += 1
                hashes = ngram_hashes(text, src.lang, config.n)
                if not hashes:
                    index.too_short += 1
                for h in hashes:
                    index.grams.setdefault(h, item_id)
        return index


def decontaminate(batch: Batch, index: ContaminationIndex, action: str) -> StepOutput:
    """Reject (or keep and count) documents sharing an n-gram with an evaluation item; counts name the items."""
    reasons: list[str | None] = []
    counts: dict[str, int] = {}
    for text, lang in zip(batch["text"], batch["lang"]):
        hits = sorted({index.grams[h] for h in ngram_hashes(text, lang, index.n) if h in index.grams})
        for item in hits:
            counts[f"item {item}"] = counts.get(f"item {item}", 0) + 1
        if hits:
            counts["documents"] = counts.get("documents", 0) + 1
        reasons.append(f"contaminated ({', '.join(hits[:3])})" if hits and action == "remove" else None)
    return batch["text"], reasons, counts
