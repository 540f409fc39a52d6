"""Line-level boilerplate removal: lines that repeat across many documents (headers, footers, menus,
cookie notices) are removed from multi-line documents.

Only documents of two or more lines take part: a one-line document that repeats is a duplicate, which
exact dedup handles, not boilerplate. Lines are compared after trimming, by a 64-bit hash.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable


def _key(line: str, min_chars: int) -> int | None:
    line = line.strip()
    if len(line) < min_chars:
        return None
    return int.from_bytes(hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest(), "little")


def _lines(text: str) -> list[str]:
    return text.split("\n")


def count_lines(texts: Iterable[str], min_chars: int) -> Counter:
    """In how many multi-line documents each line (of at least `min_chars`) appears."""
    counts: Counter = Counter()
    for text in texts:
        lines = [line for line in _lines(text) if line.strip()]
        if len(lines) < 2:
            continue
        counts.update({k for k in (_key(line, min_chars) for line in lines) if k is not None})
    return counts


def strip_boilerplate(text: str, counts: Counter, min_docs: int, min_chars: int) -> tuple[str, int]:
    """The text without its boilerplate lines, and how many lines went."""
    lines = _lines(text)
    if sum(1 for line in lines if line.strip()) < 2:
        return text, 0
    kept = [line for line in lines if (k := _key(line, min_chars)) is None or counts[k] < min_docs]
    removed = len(lines) - len(kept)
    if not removed:
        return text, 0
    return "\n".join(kept).strip("\n"), removed
