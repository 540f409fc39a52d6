"""Planted near-duplicates with known ground truth, made deterministically from real text and a seed.

    planted = plant(base_texts, seed=0, families=5000)

`families` originals are drawn at random from `base` among the texts that are isolated: at least
`min_chars` characters long, and with no other base text within a character 5-gram Jaccard similarity
of `max_jaccard` (0.3; computed exactly, on lower-cased text without spaces, punctuation, symbols or
invisible characters). Each original gets 1 to `max_variants` variants, each made from the original
by one operation, and the variants are inserted at random places among the base texts. The truth is
the family: an original and its variants are near-duplicates of one another. The base corpus has
natural near-duplicates of its own (rdlab-dataset has many) that the truth does not list; since the
originals have none, any document a tool puts in a cluster with a planted document is either of its
family (right) or not (wrong), whatever the tool's notion of similarity, and the natural
near-duplicates elsewhere in the corpus are left out of the score.

The operations and their sizes, fixed before any tool was run on them (L = characters of the original):
- char_edit: 1 to max(1, round(0.05 L)) single-character typos at random places (a substitution,
  an insertion or a deletion each; new characters come from the original's own characters);
- insertion: a span of 5-10% of L (at least 3 characters), cut from another base text, inserted at a
  random place;
- deletion: a contiguous span of 5-10% of L (at least 3 characters) removed;
- truncation: the end cut off, keeping 80-95% of L;
- reorder: the text split at a clause boundary (a space or a Khmer sign ។ ៕ ៖ ៗ) and its two
  parts swapped, the sentence-final sign kept at the end; drawn only for texts with such a boundary.
Cuts are made between written clusters: never before a dependent vowel, sign or subscript (a
position counts only where a base character or a space or punctuation starts), so every variant is
well-formed text of the same script.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

OPS = ("char_edit", "insertion", "deletion", "truncation", "reorder")
COENG = "\u17d2"
_CLAUSE_SIGNS = "។៕៖ៗ"
_FINAL_SIGNS = "។៕?!."


@dataclass(frozen=True)
class Planted:
    """The corpus in order, and per document its family (-1: a base text outside every family) and role."""

    texts: list[str]
    family: list[int]  # family id, or -1
    role: list[str | None]  # "original", an operation from OPS for a variant, or None
    seed: int
    info: dict = field(default_factory=dict)  # how the originals were chosen

    @property
    def planted_indices(self) -> list[int]:
        return [i for i, f in enumerate(self.family) if f >= 0]

    def families(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for i, f in enumerate(self.family):
            if f >= 0:
                out.setdefault(f, []).append(i)
        return out

    def summary(self) -> dict[str, int]:
        roles = Counter(r for r in self.role if r is not None)
        return {"documents": len(self.texts), "families": len(self.families()), "originals": roles["original"],
                "variants": sum(v for k, v in roles.items() if k != "original"),
                **{f"variants:{op}": roles[op] for op in OPS}, **self.info}


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PSZC")


class JaccardIndex:
    """Which texts of a corpus have another text within character n-gram Jaccard similarity `t`, exactly.

    N-grams get ids in order of first appearance (deterministic). Candidates come from prefix
    filtering (Bayardo et al. 2007; Xiao et al., ppjoin): with every text's n-grams ordered rarest
    first, two texts with J >= t share an n-gram among the first |x| - ceil(t |x|) + 1 of each. J is
    then computed exactly for the candidates.
    """

    def __init__(self, texts: Sequence[str], n: int = 5, t: float = 0.3) -> None:
        vocab: dict[str, int] = {}
        ptr, grams = [0], []
        for text in texts:
            c = _clean(text)
            ids = {vocab.setdefault(c[i: i + n], len(vocab)) for i in range(max(1, len(c) - n + 1))} if c else set()
            grams.extend(sorted(ids))
            ptr.append(len(grams))
        self.t = t
        self.ptr = np.array(ptr, dtype=np.int64)
        sizes = np.diff(self.ptr)
        doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), sizes)
        grams_arr = np.array(grams, dtype=np.int64)
        df = np.bincount(grams_arr, minlength=len(vocab))
        order = np.lexsort((grams_arr, df[grams_arr], doc_of))  # per text: rarest n-gram first
        self.grams = grams_arr[order]
        rank = np.arange(len(self.grams)) - self.ptr[doc_of]
        prefix_len = sizes - np.ceil(t * sizes - 1e-9).astype(np.int64) + 1
        in_prefix = rank < prefix_len[doc_of]
        pg, pd = self.grams[in_prefix], doc_of[in_prefix]
        by_gram = np.argsort(pg, kind="stable")
        self.prefix_grams = pg
        self.post_docs = pd[by_gram]
        self.post_ptr = np.concatenate([[0], np.cumsum(np.bincount(pg, minlength=len(vocab)))])
        self.prefix_len = prefix_len

    @staticmethod
    def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        lens = ends - starts
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        return offsets + np.arange(int(lens.sum()))

    def max_similarity(self, a: int) -> float:
        """The largest J(a, b) over the other texts b if it is >= t, else a value below t."""
        g = self.grams[self.ptr[a]: self.ptr[a + 1]]
        m = len(g)
        if m == 0:
            return 1.0
        prefix = g[: self.prefix_len[a]]
        others = np.unique(self.post_docs[self._ranges(self.post_ptr[prefix], self.post_ptr[prefix + 1])])
        lens = self.ptr[others + 1] - self.ptr[others]
        keep = (others != a) & (lens >= self.t * m) & (self.t * lens <= m)  # J <= min/max of the sizes
        others, lens = others[keep], lens[keep]
        if not len(others):
            return 0.0
        hit = np.isin(self.grams[self._ranges(self.ptr[others], self.ptr[others + 1])], g)
        overlap = np.add.reduceat(hit, np.concatenate([[0], np.cumsum(lens)[:-1]]))
        return float((overlap / (m + lens - overlap)).max())


def _starts_cluster(text: str, i: int) -> bool:
    """A cut at i keeps every written cluster whole: text[i] is no combining mark and follows no COENG."""
    if i <= 0 or i >= len(text):
        return True
    ch = text[i]
    if text[i - 1] == COENG or ch in "\u200c\u200d":
        return False
    return unicodedata.category(ch)[0] != "M"


def _cuts(text: str) -> list[int]:
    return [i for i in range(len(text) + 1) if _starts_cluster(text, i)]


def _span(rng: random.Random, text: str, length: int) -> tuple[int, int]:
    """A span of about `length` characters with both ends between clusters."""
    cuts = _cuts(text)
    start = rng.choice([c for c in cuts if c <= max(0, len(text) - length)] or [0])
    end = min((c for c in cuts if c >= start + length), default=len(text))
    return start, end


def char_edit(rng: random.Random, text: str) -> str:
    k = rng.randint(1, max(1, round(0.05 * len(text))))
    alphabet = [c for c in text if not c.isspace()] or list(text)
    chars = list(text)
    for _ in range(k):
        kind = rng.choice(("substitute", "insert", "delete")) if len(chars) > 1 else "insert"
        i = rng.randrange(len(chars) + (kind == "insert"))
        if kind == "substitute":
            chars[i] = rng.choice([c for c in alphabet if c != chars[i]] or alphabet)
        elif kind == "insert":
            chars.insert(i, rng.choice(alphabet))
        else:
            del chars[i]
    return "".join(chars)


def insertion(rng: random.Random, text: str, donor: str) -> str:
    length = max(3, round(rng.uniform(0.05, 0.10) * len(text)))
    a, b = _span(rng, donor, length)
    at = rng.choice(_cuts(text))
    return text[:at] + donor[a:b] + text[at:]


def deletion(rng: random.Random, text: str) -> str:
    length = max(3, round(rng.uniform(0.05, 0.10) * len(text)))
    a, b = _span(rng, text, length)
    return text[:a] + text[b:]


def truncation(rng: random.Random, text: str) -> str:
    keep = round(rng.uniform(0.80, 0.95) * len(text))
    cut = max((c for c in _cuts(text) if 0 < c <= keep), default=keep)
    return text[:cut].rstrip()


def _clause_points(body: str) -> list[int]:
    """Positions after a clause boundary (a space run or a clause sign) with text on both sides."""
    points = []
    for i in range(1, len(body)):
        if (body[i - 1] == " " or body[i - 1] in _CLAUSE_SIGNS) and body[i] != " " and body[:i].strip():
            points.append(i)
    return points


def _split_final(text: str) -> tuple[str, str]:
    body = text.rstrip()
    end = len(body)
    while end > 0 and (body[end - 1] in _FINAL_SIGNS or body[end - 1] == " "):
        end -= 1
    return body[:end], body[end:]


def can_reorder(text: str) -> bool:
    return bool(_clause_points(_split_final(text)[0]))


def reorder(rng: random.Random, text: str) -> str:
    body, final = _split_final(text)
    i = rng.choice(_clause_points(body))
    first, second = body[:i].rstrip(), body[i:].strip()
    return f"{second} {first}{final}"


def make_variant(rng: random.Random, op: str, text: str, donor: str) -> str:
    if op == "char_edit":
        return char_edit(rng, text)
    if op == "insertion":
        return insertion(rng, text, donor)
    if op == "deletion":
        return deletion(rng, text)
    if op == "truncation":
        return truncation(rng, text)
    if op == "reorder":
        return reorder(rng, text)
    raise ValueError(f"unknown operation {op!r}")


def plant(base: Sequence[str], seed: int, families: int = 5000, max_variants: int = 3,
          min_chars: int = 40, max_jaccard: float = 0.3) -> Planted:
    """Base texts plus near-duplicate families planted among them (deterministic for a seed)."""
    rng = random.Random(seed)
    eligible = [i for i, t in enumerate(base) if len(t) >= min_chars]
    rng.shuffle(eligible)
    index = JaccardIndex(base, n=5, t=max_jaccard)
    originals, screened = [], 0
    for i in eligible:  # in random order, until enough isolated texts are found
        screened += 1
        if index.max_similarity(i) < max_jaccard:
            originals.append(i)
            if len(originals) == families:
                break
    if len(originals) < families:
        raise ValueError(f"only {len(originals)} isolated texts of >= {min_chars} characters; asked for {families}")
    originals.sort()
    info = {"originals_screened": screened, "isolation": f"no other base text with character 5-gram Jaccard >= "
            f"{max_jaccard}", "min_chars": min_chars, "max_variants": max_variants}
    variants: list[tuple[int, str, str]] = []  # (family, op, text)
    family_of = {idx: f for f, idx in enumerate(originals)}
    for f, idx in enumerate(originals):
        text = base[idx]
        ops = [op for op in OPS if op != "reorder" or can_reorder(text)]
        made: set[str] = {text}
        for _ in range(rng.randint(1, max_variants)):
            op = rng.choice(ops)
            donor = base[rng.randrange(len(base))]
            new = make_variant(rng, op, text, donor)
            if new in made or not new.strip():  # an exact copy is not a near-duplicate: try once more
                new = make_variant(rng, op, text, donor)
            if new in made or not new.strip():
                continue
            made.add(new)
            variants.append((f, op, new))
    # Each variant goes after a random base position (stable order for ties).
    slots = sorted((rng.randrange(len(base) + 1), k) for k in range(len(variants)))
    texts: list[str] = []
    family: list[int] = []
    role: list[str | None] = []
    s = 0
    for i in range(len(base) + 1):
        while s < len(slots) and slots[s][0] == i:
            f, op, new = variants[slots[s][1]]
            texts.append(new)
            family.append(f)
            role.append(op)
            s += 1
        if i < len(base):
            texts.append(base[i])
            family.append(family_of.get(i, -1))
            role.append("original" if i in family_of else None)
    return Planted(texts, family, role, seed, info)


def _pairs(k: int) -> int:
    return k * (k - 1) // 2


def score(planted: Planted, labels: Sequence[object | None]) -> dict:
    """Near-duplicate precision, recall and F1 of predicted clusters against the planted families.

    `labels` names each document's predicted cluster (documents with the same label are in one
    cluster); None marks a document the tool did not cluster because an earlier step rejected it:
    it leaves the truth and the prediction. Pairs are unordered pairs of documents:
    - predicted pairs: pairs in one predicted cluster with at least one planted document (an
      original or a variant) in them; pairs of two base texts (the corpus's own near-duplicates,
      which the truth does not know) are not scored;
    - true pairs: pairs of one family;
    precision = predicted pairs that are true / predicted pairs, recall = true pairs predicted /
    true pairs. The originals have no near-duplicate among the base texts (see `plant`), so a
    predicted pair of a planted document and any document outside its family is a false positive.
    """
    if len(labels) != len(planted.texts):
        raise ValueError(f"{len(labels)} labels for {len(planted.texts)} documents")
    clusters: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        if label is not None:
            clusters.setdefault(label, []).append(i)
    fam = planted.family
    predicted = correct = 0
    for members in clusters.values():
        families = Counter(fam[i] for i in members if fam[i] >= 0)
        if not families:
            continue
        planted_n = sum(families.values())
        predicted += _pairs(len(members)) - _pairs(len(members) - planted_n)
        correct += sum(_pairs(k) for k in families.values())
    kept = [i for i in planted.planted_indices if labels[i] is not None]
    true = sum(_pairs(k) for k in Counter(fam[i] for i in kept).values())
    precision = correct / predicted if predicted else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # Per operation: the share of (original, variant) pairs in one cluster.
    original = {fam[i]: i for i in kept if planted.role[i] == "original"}
    by_op: dict[str, list[int]] = {op: [0, 0] for op in OPS}
    for i in kept:
        op = planted.role[i]
        if op in by_op and fam[i] in original:
            by_op[op][1] += 1
            by_op[op][0] += labels[i] == labels[original[fam[i]]]
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "predicted_pairs": predicted, "true_pairs": true, "correct_pairs": correct,
            "planted_docs_not_clustered": len(planted.planted_indices) - len(kept),
            "recall_original_variant_by_op": {op: round(h / n, 4) if n else None for op, (h, n) in by_op.items()}}
