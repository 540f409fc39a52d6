"""Metrics, counted in units that make sense per script, with seeded bootstrap confidence intervals.

- Multiple choice: `acc` (argmax of the summed log-likelihood) and `acc_norm` (divided by the
  choice's length in characters), exactly as lm-evaluation-harness.
- Generation: `exact_match` and `f1` over units: syllables for Khmer, Lao, Thai, Burmese (and one
  unit per Han character), words elsewhere (lontar.text.syllables.units), after NFC and the language's
  own normalizer, case folding and punctuation removal that includes the script's own full stops
  (។ ៕ ။ ๚ and the abbreviation marks ฯ ຯ), so an answer that ends with "។" still matches.
  `chrf` (chrF++: character 6-grams and word 2-grams, sacrebleu) and `bleu` (sacrebleu). For scripts without spaces the word part of
  chrF++ and BLEU runs over syllables (the text is segmented and re-joined with spaces first): a
  whitespace "word" there is a phrase or a sentence. The character part of chrF++ is unchanged.
- Bits per byte / per character: summed NLL over summed UTF-8 bytes / characters.

Every figure comes with a 95% percentile bootstrap interval over items (seeded: reruns agree).
Corpus-level scores (chrF++, BLEU, bits per byte) are resampled from per-item sufficient statistics.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from lontar.langs import get_lang, normalizer_for

CI_LEVEL = 0.95


# ---------------------------------------------------------------------- multiple choice


def mc_scores(logliks: Sequence[float], choice_texts: Sequence[str], gold: int) -> dict[str, float]:
    ll = np.asarray(logliks, dtype=np.float64)
    lengths = np.asarray([float(len(c)) for c in choice_texts])
    return {"acc": float(np.argmax(ll) == gold), "acc_norm": float(np.argmax(ll / lengths) == gold)}


# ---------------------------------------------------------------------- units and normalization


# Marks Unicode files as letters but that end or abbreviate like punctuation: Thai paiyannoi ฯ, Lao ຯ.
_LETTER_PUNCT = {"\u0e2f", "\u0eaf"}


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS" or ch in _LETTER_PUNCT


@lru_cache(maxsize=None)
def _norm(lang: str) -> Callable[[str], str]:
    try:
        return normalizer_for(lang)
    except ValueError:
        return lambda s: unicodedata.normalize("NFC", s)


def normalize_answer(text: str, lang: str) -> str:
    """NFC + the language's normalizer, case folded, punctuation (every script's) replaced by spaces."""
    text = _norm(lang)(unicodedata.normalize("NFC", text)).casefold()
    return " ".join("".join(" " if _is_punct(c) else c for c in text).split())


def answer_units(text: str, lang: str) -> list[str]:
    from lontar.text.syllables import units

    return units(normalize_answer(text, lang), lang)


def exact_match(prediction: str, reference: str, lang: str) -> float:
    return float(answer_units(prediction, lang) == answer_units(reference, lang))


def refusal(prediction: str, markers: Sequence[str]) -> float:
    """1 when the generation contains one of the language's refusal phrases (NFC, case-folded)."""
    text = unicodedata.normalize("NFC", prediction).casefold()
    return float(any(unicodedata.normalize("NFC", m).casefold() in text for m in markers))


def f1(prediction: str, reference: str, lang: str) -> float:
    pred, ref = answer_units(prediction, lang), answer_units(reference, lang)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def _spaced(text: str, lang: str) -> str:
    """Scripts without spaces: syllables joined by spaces (word n-grams become syllable n-grams)."""
    if get_lang(lang).uses_spaces:
        return text
    from lontar.text.syllables import units

    return " ".join(units(unicodedata.normalize("NFC", text), lang))


def _sacre(metric: str, lang: str) -> Any:
    from sacrebleu.metrics import BLEU, CHRF

    if metric == "chrf":
        return CHRF(word_order=2)
    spaced = not get_lang(lang).uses_spaces
    return BLEU(tokenize="none" if spaced else "13a", effective_order=True)


def corpus_stats(metric: str, predictions: Sequence[str], references: Sequence[str], lang: str) -> np.ndarray:
    """Per-item sufficient statistics of chrF++ / BLEU, shape (items, k): sums give the corpus score."""
    m = _sacre(metric, lang)
    hyps = [_spaced(p, lang) for p in predictions]
    refs = [[_spaced(r, lang) for r in references]]
    return np.asarray(m._extract_corpus_statistics(hyps, refs), dtype=np.float64)


def corpus_score(metric: str, stats: np.ndarray, lang: str) -> float:
    m = _sacre(metric, lang)
    summed = [int(x) if float(x).is_integer() else float(x) for x in stats.sum(axis=0)]
    return float(m._compute_score_from_stats(summed).score)


# ---------------------------------------------------------------------- aggregation with intervals


def _interval(samples: np.ndarray) -> list[float]:
    lo, hi = np.nanpercentile(samples, [100 * (1 - CI_LEVEL) / 2, 100 * (1 + CI_LEVEL) / 2])
    return [float(lo), float(hi)]


def bootstrap_mean(values: Sequence[float], *, n: int, seed: int) -> dict[str, Any]:
    v = np.asarray(values, dtype=np.float64)
    out: dict[str, Any] = {"value": float(v.mean()) if len(v) else math.nan, "n": int(len(v))}
    if n and len(v) > 1:
        idx = np.random.default_rng(seed).integers(0, len(v), size=(n, len(v)))
        out["ci"] = _interval(v[idx].mean(axis=1))
    return out


def bootstrap_ratio(num: Sequence[float], den: Sequence[float], *, n: int, seed: int,
                    scale: float = 1.0) -> dict[str, Any]:
    """sum(num) / sum(den) * scale, resampling items (bits per byte: NLL / ln 2 over bytes)."""
    a, b = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out: dict[str, Any] = {"value": float(a.sum() / b.sum() * scale), "n": int(len(a))}
    if n and len(a) > 1:
        idx = np.random.default_rng(seed).integers(0, len(a), size=(n, len(a)))
        out["ci"] = _interval(a[idx].sum(axis=1) / b[idx].sum(axis=1) * scale)
    return out


def bootstrap_corpus(metric: str, stats: np.ndarray, lang: str, *, n: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"value": corpus_score(metric, stats, lang), "n": int(len(stats))}
    if n and len(stats) > 1:
        idx = np.random.default_rng(seed).integers(0, len(stats), size=(n, len(stats)))
        out["ci"] = _interval(np.asarray([corpus_score(metric, stats[i], lang) for i in idx]))
    return out
