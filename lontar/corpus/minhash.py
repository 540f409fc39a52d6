"""MinHash LSH near-duplicate detection that works for scripts without spaces.

Shingles are n-grams of syllables for km, lo, th, my (a whitespace shingle of Khmer is a whole
phrase, so near-duplicates slip through) and of words otherwise. Signatures are computed with numpy
over all shingles and permutations at once; bands x rows give the S-curve
P(candidate | Jaccard s) = 1 - (1 - s**rows)**bands. Documents are clustered as they stream, with the
first document of a cluster kept, which is what union-find with a lowest-index survivor gives.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lontar.corpus.decontam import gram_units

if TYPE_CHECKING:
    from lontar.config import NearDedupConfig

_PRIME = np.uint64((1 << 61) - 1)
_MAX32 = np.uint64((1 << 32) - 1)


def shingle_hashes(text: str, lang: str, n: int) -> np.ndarray:
    """32-bit hashes of the distinct n-unit shingles (the whole text if shorter than n units)."""
    units = gram_units(text, lang)
    grams = {"\x1f".join(units[i: i + n]) for i in range(max(1, len(units) - n + 1))} if units else set()
    return np.fromiter((int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=4).digest(), "little")
                        for g in sorted(grams)), dtype=np.uint64, count=len(grams))


def s_curve(bands: int, rows: int, points: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)) -> dict[float, float]:
    """Probability that a pair with Jaccard similarity s becomes a candidate."""
    return {s: round(1 - (1 - s ** rows) ** bands, 4) for s in points}


@dataclass
class MinHasher:
    bands: int = 14
    rows: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        perms = self.bands * self.rows
        # The universal-hash family of datasketch: (a*h + b) mod (2**61 - 1), truncated to 32 bits, with
        # a, b drawn below the prime. a*h wraps modulo 2**64 in uint64 (intended); small a would leave
        # the order of h unchanged and every permutation would pick the same minimum.
        self._a = rng.integers(1, int(_PRIME), size=perms, dtype=np.uint64)
        self._b = rng.integers(0, int(_PRIME), size=perms, dtype=np.uint64)

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        if not len(hashes):
            return np.full(self.bands * self.rows, _MAX32, dtype=np.uint64)
        with np.errstate(over="ignore"):
            values = ((hashes[:, None] * self._a[None, :] + self._b[None, :]) % _PRIME) & _MAX32
        return values.min(axis=0)

    def band_keys(self, signature: np.ndarray) -> list[bytes]:
        return [signature[i * self.rows: (i + 1) * self.rows].tobytes() for i in range(self.bands)]


@dataclass
class NearDedup:
    """Streaming LSH: `add` returns the index of the earlier document this one duplicates, or None."""

    hasher: MinHasher
    n: int = 5
    buckets: list[dict[bytes, int]] = field(default_factory=list)
    seen: int = 0

    def __post_init__(self) -> None:
        self.buckets = [{} for _ in range(self.hasher.bands)]

    @classmethod
    def from_config(cls, cfg: "NearDedupConfig") -> "NearDedup":
        return cls(MinHasher(cfg.bands, cfg.rows, cfg.seed), n=cfg.shingle)

    def describe(self) -> str:
        """One line for the run log: the settings and the S-curve they give."""
        h = self.hasher
        curve = ", ".join(f"J={s:.1f}: {p:.3f}" for s, p in s_curve(h.bands, h.rows).items())
        return f"near-dedup {h.bands} bands x {h.rows} rows, {self.n}-unit shingles; P(candidate | Jaccard) {curve}"

    def add(self, text: str, lang: str) -> int | None:
        keys = self.hasher.band_keys(self.hasher.signature(shingle_hashes(text, lang, self.n)))
        match = next((self.buckets[i][k] for i, k in enumerate(keys) if k in self.buckets[i]), None)
        cluster = match if match is not None else self.seen  # a duplicate joins the earlier document's cluster
        for i, k in enumerate(keys):
            self.buckets[i].setdefault(k, cluster)
        self.seen += 1
        return match
