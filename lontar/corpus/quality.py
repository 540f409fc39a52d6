"""Quality filters in the Gopher, C4 and FineWeb style, with per-language thresholds.

The unit is the registry's (`lontar.langs`): the syllable for Khmer, Lao, Thai and Burmese (their
words are not separated by spaces, so a whitespace "word" would be a whole phrase), the character
for Chinese, the whitespace word otherwise; each language's default thresholds are Gopher's restated
in its unit (`Lang.quality_defaults`). Each filter
returns a reason `quality: <measure> (<value> vs <threshold>)`: the data card counts by measure (the
text before the parenthesis) and `rejected/` keeps the full reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence

from lontar.config import QualityConfig, QualityThresholds
from lontar.corpus.pipeline import Batch, StepOutput
from lontar.langs import get_lang
from lontar.text.syllables import units as text_units

# Sentence-final punctuation any language may use (C4 keeps lines that end in one); each language
# adds its own (`Lang.sentence_end`: ។ ။ 。...).
TERMINAL = ".!?\"'”’»)…"
_BULLET = re.compile(r"^\s*[-*•·‣◦▪●–—]\s")
_ELLIPSIS = ("...", "…")
_SYMBOLS = re.compile(r"[#…]|\.\.\.")


def _duplicate_fraction(items: Sequence[str]) -> tuple[float, float]:
    """Share of items that repeat an earlier one, and share of characters in them (Gopher)."""
    if not items:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        seen.add(item)
    total_chars = sum(map(len, items)) or 1
    return dup_items / len(items), dup_chars / total_chars


def _ngrams(units: Sequence[str], n: int) -> Iterator[tuple[str, ...]]:
    """The n-grams of units in order, as tuples."""
    return zip(*(units[i:] for i in range(n)))


def _top_ngram_fraction(units: Sequence[str], n: int) -> float:
    """Characters covered by the most frequent n-gram over all characters in units (Gopher)."""
    if len(units) < n:
        return 0.0
    grams = Counter(_ngrams(units, n))
    gram, count = grams.most_common(1)[0]
    if count < 2:
        return 0.0
    return count * sum(map(len, gram)) / (sum(map(len, units)) or 1)


def _repeats(units: Sequence[str], n: int) -> bool:
    """Whether any n-gram of units occurs twice (a repeated longer n-gram starts with a repeated n-gram)."""
    count = len(units) - n + 1
    return count > 1 and len(set(_ngrams(units, n))) < count


def _duplicate_ngram_fraction(units: Sequence[str], n: int) -> float:
    """Characters in repeated n-grams over all characters, counting repeats only (Gopher as datatrove
    and FineWeb compute it): the first occurrence of an n-gram is text, each later one a repeat, and
    the scan jumps past a repeat. A long name mentioned three times in a short article then counts
    twice, not three times plus every overlapping n-gram around it."""
    if len(units) < n:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeated = i = 0
    while i <= len(units) - n:
        gram = tuple(units[i: i + n])
        if gram in seen:
            repeated += sum(len(u) for u in gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return repeated / (sum(len(u) for u in units) or 1)


def _stop_word_hits(text: str, units: Sequence[str], lang: str) -> int:
    """Stop words found: whole units for spaced scripts, substrings where words are not spaced."""
    info = get_lang(lang)
    words = info.stop_words
    if not words:
        return -1  # no list: the filter does not apply
    if not info.uses_spaces:
        return sum(text.count(w) for w in words)
    return sum(1 for u in units if u.lower() in words)


def quality_reason(text: str, lang: str, t: QualityThresholds) -> str | None:
    """Why `text` fails the quality filters for `lang`, or None when it passes."""
    units = [u for u in text_units(text, lang) if u.strip()]
    n = len(units)
    if n < t.min_units:
        return f"quality: too few units ({n} < {t.min_units})"
    if t.max_units is not None and n > t.max_units:
        return f"quality: too many units ({n} > {t.max_units})"
    mean = sum(map(len, units)) / n
    if not t.min_mean_unit_chars <= mean <= t.max_mean_unit_chars:
        return f"quality: mean unit length ({mean:.1f} outside [{t.min_mean_unit_chars}, {t.max_mean_unit_chars}])"
    chars = len(text) or 1
    symbols = len(_SYMBOLS.findall(text)) / n
    if symbols > t.max_symbol_ratio:
        return f"quality: symbol/unit ratio ({symbols:.2f} > {t.max_symbol_ratio})"
    digits = sum(map(str.isdigit, text)) / chars
    if digits > t.max_digit_ratio:
        return f"quality: digit ratio ({digits:.2f} > {t.max_digit_ratio})"
    alpha = sum(c for u, c in Counter(units).items() if any(map(str.isalpha, u))) / n
    if alpha < t.min_alpha_unit_ratio:
        return f"quality: units with a letter ({alpha:.2f} < {t.min_alpha_unit_ratio})"
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) > 1:
        bullets = sum(bool(_BULLET.match(line)) for line in lines) / len(lines)
        if bullets > t.max_bullet_line_frac:
            return f"quality: bullet lines ({bullets:.2f} > {t.max_bullet_line_frac})"
        ellipsis = sum(line.endswith(_ELLIPSIS) for line in lines) / len(lines)
        if ellipsis > t.max_ellipsis_line_frac:
            return f"quality: lines ending in an ellipsis ({ellipsis:.2f} > {t.max_ellipsis_line_frac})"
        dup_lines, dup_line_chars = _duplicate_fraction(lines)
        if dup_lines > t.max_dup_line_frac:
            return f"quality: duplicate lines ({dup_lines:.2f} > {t.max_dup_line_frac})"
        if dup_line_chars > t.max_dup_line_char_frac:
            return f"quality: characters in duplicate lines ({dup_line_chars:.2f} > {t.max_dup_line_char_frac})"
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        dup_paras, _ = _duplicate_fraction(paragraphs)
        if dup_paras > t.max_dup_para_frac:
            return f"quality: duplicate paragraphs ({dup_paras:.2f} > {t.max_dup_para_frac})"
        if t.min_terminal_line_frac:
            ends = tuple(TERMINAL + get_lang(lang).sentence_end)
            terminal = sum(line.endswith(ends) for line in lines) / len(lines)
            if terminal < t.min_terminal_line_frac:
                return f"quality: lines ending in punctuation ({terminal:.2f} < {t.min_terminal_line_frac})"
        short = sum(len(line) <= t.short_line_chars for line in lines) / len(lines)
        if short > t.max_short_line_frac:
            return f"quality: short lines ({short:.2f} > {t.max_short_line_frac})"
    repetition = n >= t.min_units_for_repetition
    for size, limit in sorted(t.max_top_ngram_frac.items()) if repetition else ():
        frac = _top_ngram_fraction(units, size)
        if frac > limit:
            return f"quality: top {size}-gram ({frac:.2f} > {limit})"
    dup_sizes = sorted(t.max_dup_ngram_frac.items()) if repetition else []
    if dup_sizes and not _repeats(units, dup_sizes[0][0]):
        dup_sizes = []  # no repeated n-gram of the smallest size: none of a larger size either
    for size, limit in dup_sizes:
        frac = _duplicate_ngram_fraction(units, size)
        if frac > limit:
            return f"quality: duplicated {size}-grams ({frac:.2f} > {limit})"
    if t.min_stop_words:
        hits = _stop_word_hits(text, units, lang)
        if 0 <= hits < t.min_stop_words:
            return f"quality: too few stop words ({hits} < {t.min_stop_words})"
    return None


def quality_step(batch: Batch, config: QualityConfig) -> StepOutput:
    thresholds = {lang: config.for_lang(lang) for lang in set(batch["lang"])}
    reasons = [quality_reason(text, lang, thresholds[lang]) for text, lang in zip(batch["text"], batch["lang"])]
    return batch["text"], reasons, {}
