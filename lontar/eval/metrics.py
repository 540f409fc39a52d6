"""Metrics, counted in units that make sense per script, with seeded bootstrap confidence intervals.

- Multiple choice: `acc` (argmax of the summed log-likelihood) and `acc_norm` (divided by the
  choice's length in characters), exactly as lm-evaluation-harness.
- Generation: `exact_match` and `f1` over units: syllables for Khmer, Lao, Thai, Burmese (and one
  unit per Han character), words elsewhere (lontar.text.syllables.units), after NFC and the language's
  own normalizer, case folding and punctuation removal that includes the script's own full stops
  (។ ៕ ။ ๚ and the abbreviation marks ฯ ຯ), so an answer that ends with "។" still matches.
  `chrf` is chrF++ exactly as sacrebleu computes it (character 6-grams and whitespace-word 2-grams) and
  `bleu` is sacrebleu's BLEU with its default 13a tokenizer: the figures other papers report. For
  scripts without spaces a whitespace "word" is a phrase or a sentence, so `chrf_syllables` and
  `bleu_syllables` are reported beside them: the same sacrebleu metrics over the text segmented into
  syllables and re-joined with spaces (the character part of chrF++ is unchanged). The name says
  which units were counted; the two are never mixed under one label.
- Several references (TyDiQA, XQuAD): exact match and F1 take the best reference per item;
  chrF++ and BLEU use sacrebleu's multi-reference scoring over all of them.
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


References = str | Sequence[str]


def _refs(reference: References) -> list[str]:
    return [reference] if isinstance(reference, str) else list(reference)


def exact_match(prediction: str, reference: References, lang: str) -> float:
    """1 when the prediction equals any reference (in units, after normalization)."""
    pred = answer_units(prediction, lang)
    return max(float(pred == answer_units(r, lang)) for r in _refs(reference))


def refusal(prediction: str, markers: Sequence[str]) -> float:
    """1 when the generation contains one of the language's refusal phrases (NFC, case-folded)."""
    text = unicodedata.normalize("NFC", prediction).casefold()
    return float(any(unicodedata.normalize("NFC", m).casefold() in text for m in markers))


def f1(prediction: str, reference: References, lang: str) -> float:
    """Unit-overlap F1 against the best-matching reference (as SQuAD's evaluation)."""
    return max(_f1(answer_units(prediction, lang), answer_units(r, lang)) for r in _refs(reference))


def _f1(pred: list[str], ref: list[str]) -> float:
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


CORPUS_METRICS = ("chrf", "chrf_syllables", "bleu", "bleu_syllables")


def syllable_variant(metric: str, lang: str) -> str | None:
    """`chrf_syllables` beside `chrf` (and for BLEU) where the language writes no spaces between words."""
    return f"{metric}_syllables" if metric in ("chrf", "bleu") and not get_lang(lang).uses_spaces else None


def _sacre(metric: str) -> Any:
    from sacrebleu.metrics import BLEU, CHRF

    if metric.startswith("chrf"):
        return CHRF(word_order=2)
    return BLEU(tokenize="none") if metric.endswith("_syllables") else BLEU()


def corpus_stats(metric: str, predictions: Sequence[str], references: Sequence[References], lang: str) -> np.ndarray:
    """Per-item sufficient statistics of chrF++ / BLEU, shape (items, k): sums give the corpus score.
    Items may have different numbers of references (sacrebleu's multi-reference streams, None-padded)."""
    m = _sacre(metric)
    prep = (lambda t: _spaced(t, lang)) if metric.endswith("_syllables") else (lambda t: t)
    per_item = [_refs(r) for r in references]
    width = max((len(r) for r in per_item), default=1)
    hyps = [prep(p) for p in predictions]
    streams = [[prep(r[j]) if j < len(r) else None for r in per_item] for j in range(width)]
    return np.asarray(m._extract_corpus_statistics(hyps, streams), dtype=np.float64)


def corpus_score(metric: str, stats: np.ndarray, lang: str) -> float:
    m = _sacre(metric)
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
