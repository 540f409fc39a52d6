"""Line-level boilerplate removal: lines that repeat across many documents (headers, footers, menus,
cookie notices) are removed from multi-line documents.

Only documents of two or more lines take part: a one-line document that repeats is a duplicate, which
exact dedup handles, not boilerplate. Lines are compared after trimming, by a 64-bit hash.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Container, Iterable


def _key(line: str, min_chars: int) -> int | None:
    line = line.strip()
    if len(line) < min_chars:
        return None
    return int.from_bytes(hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest(), "little")


def _lines(text: str) -> list[str]:
    return text.split("\n")


def line_keys(text: str, min_chars: int) -> set[int]:
    """The keys of a multi-line document's lines (of at least `min_chars`); none for a one-line document."""
    lines = [line for line in _lines(text) if line.strip()]
    if len(lines) < 2:
        return set()
    return {k for k in (_key(line, min_chars) for line in lines) if k is not None}


def count_lines(texts: Iterable[str], min_chars: int) -> Counter:
    """In how many multi-line documents each line (of at least `min_chars`) appears."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(line_keys(text, min_chars))
    return counts


def strip_boilerplate(text: str, counts: Counter, min_docs: int, min_chars: int) -> tuple[str, int]:
    """The text without its boilerplate lines, and how many lines went."""
    return strip_lines(text, {k for k, n in counts.items() if n >= min_docs}, min_chars)


def strip_lines(text: str, frequent: Container[int], min_chars: int) -> tuple[str, int]:
    """The text without the lines whose keys are in `frequent` (found in enough documents), and how many went."""
    lines = _lines(text)
    if sum(1 for line in lines if line.strip()) < 2:
        return text, 0
    kept = [line for line in lines if (k := _key(line, min_chars)) is None or k not in frequent]
    removed = len(lines) - len(kept)
    if not removed:
        return text, 0
    return "\n".join(kept).strip("\n"), removed
