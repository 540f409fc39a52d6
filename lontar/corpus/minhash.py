"""MinHash LSH near-duplicate detection that works for scripts without spaces.

Shingles are n-grams of a unit chosen per language (`unit`):
- "char": characters of the text lower-cased, with spaces, punctuation, symbols and invisible
  characters dropped. The default for languages written without spaces (`lontar.langs`): a
  whitespace "word" there is a whole phrase, and short documents (a sentence) need small shingles
  for a single typo not to break them.
- "syllable": the registry's units (syllables, Han characters; `lontar.text.syllables`), lower-cased
  words elsewhere.
- "auto": "char" where the registry says the language has no spaces, words elsewhere.

Shingle hashes and signatures are computed with numpy, all shingles and permutations at once (and
many documents at once in `MinHasher.signatures`). bands x rows give the S-curve
P(candidate | Jaccard s) = 1 - (1 - s**rows)**bands. A candidate pair can then be verified: it is
kept only when the share of equal minhashes over the whole signature (an unbiased estimate of the
Jaccard similarity) reaches `threshold`, which cuts the pairs that met in one band by chance.

Documents are clustered with union-find as they stream in. The survivor of a cluster is its
earliest document: `add` returns that document's index for a document that joins a cluster, and
None for a document that starts one (it is kept). A streaming pass cannot take back a document it
kept: when a later document links two clusters, both earlier survivors stay (`labels` still reports
the merged cluster).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lontar.errors import InvalidInput
from lontar.corpus.decontam import gram_units
from lontar.langs import unspaced

if TYPE_CHECKING:
    from lontar.config import NearDedupConfig

UNITS = ("auto", "char", "syllable")

_MAX32 = np.uint64((1 << 32) - 1)
_POLY = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the rolling n-gram hash
_M1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64 finalizer
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_DROP = frozenset("PSZC")  # punctuation, symbols, separators (spaces), controls and format characters
_UNIT_CACHE: dict[str, int] = {}
_UNIT_CACHE_MAX = 1 << 20


def resolve_unit(unit: str, lang: str) -> str:
    if unit not in UNITS:
        raise InvalidInput(f"unknown shingle unit {unit!r} (known: {', '.join(UNITS)})")
    if unit == "auto":
        return "char" if unspaced(lang) else "syllable"
    return unit


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection of uint64 that spreads every input bit over the output."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _unit_value(unit: str) -> int:
    v = _UNIT_CACHE.get(unit)
    if v is None:
        if len(_UNIT_CACHE) >= _UNIT_CACHE_MAX:
            _UNIT_CACHE.clear()
        v = _UNIT_CACHE[unit] = int.from_bytes(hashlib.blake2b(unit.encode("utf-8"), digest_size=8).digest(), "little")
    return v


class _DropTable(dict):
    """str.translate table: None (delete) for punctuation, symbols, separators, controls and format
    characters; each character's category is looked up once and cached."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code))[0] in _DROP else code
        if len(self) < 1 << 16:
            self[code] = value
        return value


_DROP_TABLE = _DropTable()


def clean_chars(text: str) -> str:
    """The characters that carry content: lower-cased, without spaces, punctuation, symbols or invisibles."""
    return unicodedata.normalize("NFC", text).lower().translate(_DROP_TABLE)


def _ngrams(values: np.ndarray, n: int) -> np.ndarray:
    """32-bit hashes of the n-grams of a uint64 sequence (the whole sequence if shorter), repeats kept."""
    if not len(values):
        return np.empty(0, dtype=np.uint64)
    n = min(n, len(values))
    count = len(values) - n + 1
    with np.errstate(over="ignore"):
        acc = values[:count].copy()
        for k in range(1, n):
            acc = acc * _POLY + values[k: k + count]
        return _mix(acc) >> _S32


def shingle_hashes(text: str, lang: str, n: int, unit: str = "auto", distinct: bool = True) -> np.ndarray:
    """32-bit hashes (as uint64) of the n-unit shingles of a text; a repeat changes no minhash, so
    `distinct=False` skips removing repeats."""
    if resolve_unit(unit, lang) == "char":
        chars = clean_chars(text)
        values = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    else:
        values = np.fromiter((_unit_value(u) for u in gram_units(text, lang)), dtype=np.uint64)
    hashes = _ngrams(values, n)
    return np.unique(hashes) if distinct else hashes


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
        # Multiply-add-shift (Dietzfelbinger 1996): h(x) = ((a*x + b) mod 2**64) >> 32 for 32-bit x, with a
        # and b random 64-bit words (a odd), is a strongly universal family of 32-bit hashes; each of
        # bands x rows draws stands for one random permutation. uint64 arithmetic wraps mod 2**64.
        perms = self.bands * self.rows
        self._a = rng.integers(0, 1 << 63, size=perms, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self._b = rng.integers(0, 1 << 63, size=perms, dtype=np.uint64) * np.uint64(2)
        self._band_powers = np.array([pow(int(_POLY), r, 1 << 64) for r in range(self.rows)], dtype=np.uint64)

    @property
    def perms(self) -> int:
        return self.bands * self.rows

    def _hash(self, hashes: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (hashes[:, None] * self._a[None, :] + self._b[None, :]) >> _S32

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        """The minhash of each permutation (uint32); all 2**32 - 1 for a document without shingles."""
        if not len(hashes):
            return np.full(self.perms, _MAX32, dtype=np.uint32)
        return self._hash(hashes).min(axis=0).astype(np.uint32)

    def signatures(self, shingles: Sequence[np.ndarray], block: int = 1 << 14) -> np.ndarray:
        """Signatures of many documents at once: shape (documents, bands * rows), the same as `signature`."""
        out = np.full((len(shingles), self.perms), _MAX32, dtype=np.uint32)
        sizes = np.fromiter((len(h) for h in shingles), dtype=np.int64, count=len(shingles))
        start = 0
        while start < len(shingles):  # documents in groups of about `block` shingles
            stop = start + 1
            total = sizes[start]
            while stop < len(shingles) and total + sizes[stop] <= block:
                total += sizes[stop]
                stop += 1
            docs = [i for i in range(start, stop) if sizes[i]]
            if docs:
                flat = np.concatenate([shingles[i] for i in docs])
                offsets = np.concatenate([[0], np.cumsum(sizes[docs])[:-1]])
                out[docs] = np.minimum.reduceat(self._hash(flat), offsets, axis=0).astype(np.uint32)
            start = stop
        return out

    def band_keys(self, signature: np.ndarray) -> list[int]:
        """One 64-bit key per band, a hash of its rows."""
        with np.errstate(over="ignore"):
            rows = signature.reshape(self.bands, self.rows).astype(np.uint64)
            return _mix((rows * self._band_powers).sum(axis=1, dtype=np.uint64)).tolist()

    def band_keys_many(self, signatures: np.ndarray) -> np.ndarray:
        """`band_keys` of many signatures at once: shape (documents, bands), uint64."""
        with np.errstate(over="ignore"):
            rows = signatures.reshape(len(signatures), self.bands, self.rows).astype(np.uint64)
            return _mix((rows * self._band_powers).sum(axis=2, dtype=np.uint64))


@dataclass
class NearDedup:
    """Streaming LSH with union-find: `add` returns the earliest document of the cluster a document joins.

    `threshold` (0 turns it off) is the estimated Jaccard similarity a candidate pair must reach over
    the whole signature to be linked.
    """

    hasher: MinHasher
    n: int = 5
    unit: str = "auto"
    threshold: float = 0.0
    buckets: list[dict[int, int]] = field(default_factory=list)
    seen: int = 0
    candidates: int = 0  # pairs that met in a band
    rejected: int = 0  # of those, pairs below the threshold

    def __post_init__(self) -> None:
        resolve_unit(self.unit, "km")  # fails early on an unknown unit
        self.buckets = [{} for _ in range(self.hasher.bands)]
        self._parent: list[int] = []
        self._sigs = np.empty((1024, self.hasher.perms), dtype=np.uint32)

    @classmethod
    def from_config(cls, cfg: "NearDedupConfig") -> "NearDedup":
        return cls(MinHasher(cfg.bands, cfg.rows, cfg.seed), n=cfg.shingle, unit=cfg.unit, threshold=cfg.threshold)

    def describe(self) -> str:
        """One line for the run log: the settings and the S-curve they give."""
        h = self.hasher
        curve = ", ".join(f"J={s:.1f}: {p:.3f}" for s, p in s_curve(h.bands, h.rows).items())
        unit = {"auto": "character (languages without spaces) or word", "char": "character",
                "syllable": "syllable (languages without spaces) or word"}[self.unit]
        verify = (f"; candidates verified at estimated Jaccard >= {self.threshold:g}" if self.threshold > 0
                  else "; candidates not verified")
        return (f"near-dedup {h.bands} bands x {h.rows} rows, {self.n}-{unit} shingles; "
                f"P(candidate | Jaccard) {curve}{verify}")

    def _find(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving
            i = parent[i]
        return i

    def _union(self, i: int, j: int) -> None:
        ri, rj = self._find(i), self._find(j)
        if ri != rj:  # the earlier document is the root: it is the cluster's survivor
            self._parent[max(ri, rj)] = min(ri, rj)

    def shingles(self, text: str, lang: str) -> np.ndarray:
        return shingle_hashes(text, lang, self.n, self.unit, distinct=False)

    def add(self, text: str, lang: str) -> int | None:
        return self.add_signature(self.hasher.signature(self.shingles(text, lang)))

    def add_many(self, texts: Iterable[str], langs: Iterable[str], batch: int = 4096) -> list[int | None]:
        """`add` for many documents, with signatures computed a batch at a time (same results)."""
        out: list[int | None] = []
        texts, langs = list(texts), list(langs)
        for start in range(0, len(texts), batch):
            part = [self.shingles(t, g) for t, g in zip(texts[start: start + batch], langs[start: start + batch])]
            out.extend(self.add_signature(sig) for sig in self.hasher.signatures(part))
        return out

    def add_signature(self, sig: np.ndarray) -> int | None:
        i = self.seen
        if i == len(self._sigs):
            self._sigs = np.concatenate([self._sigs, np.empty_like(self._sigs)])
        self._sigs[i] = sig
        self._parent.append(i)
        found = {b.setdefault(k, i) for b, k in zip(self.buckets, self.hasher.band_keys(sig))}
        found.discard(i)  # a band seen before holds its first document; a new band now holds this one
        if found:
            others = sorted(found)
            self.candidates += len(others)
            if self.threshold > 0:
                agree = (self._sigs[others] == sig).mean(axis=1)
                linked = [o for o, a in zip(others, agree) if a >= self.threshold]
                self.rejected += len(others) - len(linked)
                others = linked
            for o in others:
                self._union(i, o)
        self.seen += 1
        root = self._find(i)
        return root if root != i else None

    def labels(self) -> list[int]:
        """The cluster of every document added so far, named by its earliest document."""
        return [self._find(i) for i in range(self.seen)]
