"""Language and source mixing by temperature sampling, with per-source weights and an upsampling cap.

The target share of a group (a language or a source) is p proportional to n**alpha, with n its
characters after dedup: alpha = 1 keeps the natural mix, alpha < 1 flattens it toward uniform (XLM-R
and mT5 use 0.3), so a small language is seen more often than its size alone would give; per-source
weights multiply in. A source's sampling rate is r = p * T / n (T = the mixture's size): r > 1 repeats its
documents, r < 1 keeps a deterministic fraction of them. No rate exceeds `cap`. By default T is the
smallest mixture that leaves no document out; a fixed T (`total_chars`) may downsample.

Copies are decided per document from its content hash and the seed, so a run is reproducible and a
document's copies never depend on the order of the corpus.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lontar.errors import InvalidInput
from lontar.corpus.shards import ShardWriter


@dataclass(frozen=True)
class GroupPlan:
    natural: float  # characters after dedup (train split)
    target_share: float
    rate: float
    capped: bool


def target_shares(sizes: dict[str, float], weights: dict[str, float], alpha: float,
                  lang_of: dict[str, str] | None = None) -> dict[str, float]:
    """Target share per source.

    Without `lang_of`: p_s proportional to w_s * n_s**alpha. With it (mixing by language): each
    language gets p_L proportional to n_L**alpha, split among its sources in proportion to w_s * n_s.
    """
    if lang_of is None:
        scores = {g: weights.get(g, 1.0) * n ** alpha for g, n in sizes.items() if n > 0}
        total = sum(scores.values())
        if not total:
            raise InvalidInput("mixing needs at least one source with text")
        return {g: scores.get(g, 0.0) / total for g in sizes}
    lang_sizes: dict[str, float] = {}
    lang_weighted: dict[str, float] = {}
    for g, n in sizes.items():
        lang_sizes[lang_of[g]] = lang_sizes.get(lang_of[g], 0.0) + n
        lang_weighted[lang_of[g]] = lang_weighted.get(lang_of[g], 0.0) + weights.get(g, 1.0) * n
    lang_shares = target_shares(lang_sizes, {}, alpha)
    return {g: lang_shares[lang_of[g]] * weights.get(g, 1.0) * n / lang_weighted[lang_of[g]] if n > 0 else 0.0
            for g, n in sizes.items()}


def plan_mixture(sizes: dict[str, float], shares: dict[str, float], cap: float,
                 total: float | None = None) -> dict[str, GroupPlan]:
    """Sampling rate per source for the target `shares`.

    With no `total`, nothing is left out: the mixture is the smallest one in which every source has
    rate >= 1, and a source whose rate would pass `cap` stays at `cap` (it ends below its target
    share). With `total`, the mixture has that many characters (sources may be downsampled) and a
    capped source's unused budget goes to the others (water filling).
    """
    if cap <= 0:
        raise InvalidInput(f"upsampling cap must be > 0, got {cap}")
    live = {g for g, n in sizes.items() if n > 0 and shares[g] > 0}
    rates: dict[str, float] = {}
    if total is None:
        budget = max(sizes[g] / shares[g] for g in live) if live else 0.0
        rates = {g: min(cap, shares[g] * budget / sizes[g]) for g in live}
    else:
        free = set(live)
        while free:
            left = total - sum(rates[g] * sizes[g] for g in rates)
            share_free = sum(shares[g] for g in free)
            over = {g for g in free if shares[g] / share_free * left / sizes[g] > cap}
            if not over:
                rates.update({g: shares[g] / share_free * left / sizes[g] for g in free})
                break
            rates.update(dict.fromkeys(over, cap))
            free -= over
    return {g: GroupPlan(natural=sizes[g], target_share=shares[g], rate=rates.get(g, 0.0),
                         capped=g in rates and rates[g] >= cap) for g in sizes}


def copies(doc_id: str, rate: float, seed: int) -> int:
    """How many times a document goes into the mixture: floor(rate), plus one with probability frac(rate)."""
    whole = math.floor(rate)
    frac = rate - whole
    if frac <= 0:
        return whole
    u = int.from_bytes(hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest(), "little") / 2 ** 64
    return whole + (1 if u < frac else 0)


def mix_part(natural: list[Path], writer_for_pass: Callable[[int], ShardWriter], rates: dict[str, float],
             seed: int, count_tokens: Callable[[list[str]], list[int]] | None = None) -> dict[str, Counter]:
    """Write one part of the train mixture from its natural (deduplicated) shards; figures per source.

    Copy e of every document goes to the writer of pass e, and the passes are laid end to end in the
    final shards, so the copies of one document sit a whole corpus apart instead of side by side in
    one training block. A row's `weight` (rehydration, `corpus.near_dedup.rehydrate`) multiplies its rate.
    """
    per: dict[str, Counter] = {g: Counter() for g in rates}
    passes = 0
    e = 0
    while e == 0 or e < passes:
        for path in natural:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
                rows = batch.to_pylist()
                ks = [copies(r["id"], rates[r["source"]] * r.pop("weight", 1), seed) for r in rows]
                if e == 0:
                    passes = max([passes, *ks])
                    tokens = count_tokens([r["text"] for r in rows]) if count_tokens else [0] * len(rows)
                    for r, k, t in zip(rows, ks, tokens):
                        n, b = len(r["text"]), len(r["text"].encode("utf-8"))
                        per[r["source"]].update({
                            "natural_docs": 1, "natural_chars": n, "natural_bytes": b, "natural_tokens": t,
                            "mixed_docs": k, "mixed_chars": k * n, "mixed_bytes": k * b, "mixed_tokens": k * t,
                            "left_out_docs": int(k == 0)})
                for r, k in zip(rows, ks):
                    if k > e:
                        writer_for_pass(e).add(r)
        e += 1
    return per


def summarize_mixture(per: dict[str, Counter], rates: dict[str, float], lang_of: dict[str, str],
                      with_tokens: bool) -> dict[str, Any]:
    """The card's mixing figures from the per-source counters of every part."""
    sources = {g: {"lang": lang_of[g], "rate": round(rates[g], 6),
                   **{f"{state}_{k}": per[g][f"{state}_{k}"] for state in ("natural", "mixed")
                      for k in ("docs", "chars", "bytes", "tokens")},
                   "left_out_docs": per[g]["left_out_docs"]} for g in rates}
    langs: dict[str, Counter] = {}
    for g, s in sources.items():
        langs.setdefault(s["lang"], Counter()).update({k: v for k, v in s.items() if k not in ("lang", "rate")})
    tot = Counter()
    for c in langs.values():
        tot.update(c)

    def share(c: Counter, key: str) -> float | None:
        return round(c[key] / tot[key], 4) if tot[key] else None

    languages = {lang: {"natural_chars": c["natural_chars"], "mixed_chars": c["mixed_chars"],
                        "natural_tokens": c["natural_tokens"], "mixed_tokens": c["mixed_tokens"],
                        "natural_char_share": share(c, "natural_chars"), "mixed_char_share": share(c, "mixed_chars"),
                        "natural_token_share": share(c, "natural_tokens") if with_tokens else None,
                        "mixed_token_share": share(c, "mixed_tokens") if with_tokens else None}
                 for lang, c in sorted(langs.items())}
    return {"sources": sources, "languages": languages}
