"""Language-balanced line sampling for tokenizer training.

A tokenizer trained on the corpus mix as it is spends its vocabulary on the biggest language. Each
language's target share is p_l proportional to c_l**alpha (c_l: its characters): alpha = 1 keeps the
corpus mix, alpha < 1 flattens it toward uniform (XLM-R and mT5 use 0.3). A language's sampling rate
is r_l = (p_l / natural share) * s, with s = min(1, input_sentence_size / lines) (1 when there is no
cap): r > 1 repeats its lines (whole copies, then a sample of the rest), r < 1 keeps a uniform sample.

Deterministic: each language draws from its own RNG seeded from `seed` and the language code, so a
run is reproducible and independent of the order in which languages appear.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from lontar.errors import InvalidInput


@dataclass(frozen=True)
class LangPlan:
    lines: int
    chars: int
    share: float  # natural share of characters
    target_share: float
    rate: float  # expected copies of each line


def doc_lines(text: str) -> list[str]:
    """A document's lines, each keeping its newline (SentencePiece learns `\\n`), empty strings dropped."""
    return [line for line in text.splitlines(keepends=True) if line]


def iter_docs(files: Iterable[Path]) -> Iterator[tuple[str, str]]:
    """(lang, text) of every document of the given corpus shards, in order."""
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=8192, columns=["lang", "text"]):
            yield from zip(batch.column(0).to_pylist(), batch.column(1).to_pylist())


def plan(counts: dict[str, tuple[int, int]], alpha: float, max_lines: int = 0) -> dict[str, LangPlan]:
    """Sampling rate per language from its (lines, chars); `max_lines` caps the expected total (0: no cap)."""
    counts = {lang: (n, c) for lang, (n, c) in counts.items() if n > 0 and c > 0}
    if not counts:
        raise InvalidInput("no text to train a tokenizer on")
    total_chars = sum(c for _, c in counts.values())
    total_lines = sum(n for n, _ in counts.values())
    scores = {lang: c**alpha for lang, (_, c) in counts.items()}
    norm = sum(scores.values())
    natural = {lang: c / total_chars for lang, (_, c) in counts.items()}
    target = {lang: s / norm for lang, s in scores.items()}
    boost = {lang: target[lang] / natural[lang] for lang in counts}
    expected = sum(boost[lang] * n for lang, (n, _) in counts.items())
    scale = min(1.0, max_lines / expected) if max_lines > 0 else 1.0
    return {lang: LangPlan(n, c, natural[lang], target[lang], boost[lang] * scale)
            for lang, (n, c) in counts.items()}


def count_lines(docs: Iterable[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = {}
    for lang, text in docs:
        entry = out.setdefault(lang, [0, 0])
        for line in doc_lines(text):
            entry[0] += 1
            entry[1] += len(line)
    return {lang: (n, c) for lang, (n, c) in out.items()}


def sample_lines(docs: Iterable[tuple[str, str]], plans: dict[str, LangPlan], seed: int) -> list[str]:
    """Lines drawn per `plans` in one pass over (lang, text): whole copies, then a reservoir sample."""
    whole = {lang: math.floor(p.rate + 1e-9) for lang, p in plans.items()}
    k = {lang: round((p.rate - whole[lang]) * p.lines) for lang, p in plans.items()}
    rngs = {lang: random.Random(f"{seed}:{lang}") for lang in plans}
    seen = dict.fromkeys(plans, 0)
    reservoirs: dict[str, list[str]] = {lang: [] for lang in plans}
    copies: dict[str, list[str]] = {lang: [] for lang in plans}
    for lang, text in docs:
        if lang not in plans:
            continue
        reservoir, kl = reservoirs[lang], k[lang]
        for line in doc_lines(text):
            copies[lang].extend([line] * whole[lang])
            i = seen[lang]
            seen[lang] = i + 1
            if i < kl:
                reservoir.append(line)
            elif kl and (j := rngs[lang].randrange(i + 1)) < kl:
                reservoir[j] = line
    return [line for lang in sorted(plans) for line in (*copies[lang], *reservoirs[lang])]


def balanced_lines(files: list[Path], alpha: float, max_lines: int, seed: int) -> tuple[Callable[[], Iterable[str]], dict[str, LangPlan]]:
    """A factory of training lines over corpus shards, and the per-language plan it follows.

    When every rate is 1 (one language or alpha 1, and no cap reached) the lines stream from the
    shards each time; otherwise the sample is drawn once and kept in memory (it is capped).
    """
    plans = plan(count_lines(iter_docs(files)), alpha, max_lines)
    if all(abs(p.rate - 1) < 1e-9 for p in plans.values()):
        return (lambda: (line for _, text in iter_docs(files) for line in doc_lines(text))), plans
    lines = sample_lines(iter_docs(files), plans, seed)
    return (lambda: iter(lines)), plans
