"""Quality filters in each language's unit, on real and written prose."""

import json
import re
from pathlib import Path

import pytest

from lontar.config import QualityConfig
from lontar.corpus.quality import _duplicate_ngram_fraction, quality_reason

REPO = Path(__file__).resolve().parents[2]
PROSE = REPO / "tests" / "data" / "prose"
SEAHELM = REPO.parent / "shared" / "data" / "seahelm"
Q = QualityConfig()


def _reason(text: str, lang: str) -> str | None:
    return quality_reason(text, lang, Q.for_lang(lang))


@pytest.mark.parametrize("lang", ["en", "km", "th", "lo", "zh"])
def test_written_parallel_prose_passes_in_every_language(lang):
    text = (PROSE / f"{lang}.txt").read_text(encoding="utf-8")
    assert [_reason(p, lang) for p in text.splitlines()] == [None] * 6
    assert _reason(text, lang) is None


@pytest.mark.skipif(not SEAHELM.is_dir(), reason=f"SEA-HELM data not at {SEAHELM}")
def test_a_chinese_document_passes_the_default_filter():
    rows = [json.loads(line) for line in (SEAHELM / "global_mmlu_lite_zh_test.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = [r["prompts"][0]["question"] for r in rows if "__" not in r["prompts"][0]["question"]]
    doc = "\n".join(questions[:20])
    assert _reason(doc, "zh") is None
    kept = sum(_reason(q, "zh") is None for q in questions if len(q) >= 40)
    assert kept / sum(len(q) >= 40 for q in questions) >= 0.95


def test_long_khmer_prose_with_repeated_names_passes(khmer_sentences):
    """Names mentioned a few times in a news report are prose, not repetition."""
    sentences = [s for s in khmer_sentences[:5000] if s.endswith("។") and len(s) > 60][:60]
    names = ["ក្រុមហ៊ុនអគ្គិសនីកម្ពុជា ", "លោក សុខ ដារ៉ា ប្រធានមន្ទីរអប់រំខេត្ត ", "ក្រុម Phnom Penh Crown "]
    kept = 0
    for i in range(0, 60, 10):
        doc = sentences[i: i + 10]
        for j in (1, 4, 7):
            doc[j] = names[i // 10 % 3] + doc[j]
        kept += _reason(" ".join(doc), "km") is None
    assert kept == 6


def test_spam_and_repetition_are_still_caught():
    spam = " ".join(["ទិញឥឡូវនេះ តម្លៃពិសេស!"] * 40)
    assert _reason(spam, "km").startswith("quality: top ")
    assert _reason(" ".join(["buy cheap watches online now"] * 30), "en").startswith("quality: top ")
    assert _reason(" ".join(["限时特价 马上购买"] * 40), "zh").startswith("quality: top ")


def test_duplicate_ngrams_count_repeats_only():
    # "a b c" twice: the second occurrence is the repeat (3 of 8 characters of units), the first is text.
    units = ["a", "b", "c", "x", "y", "a", "b", "c"]
    assert _duplicate_ngram_fraction(units, 3) == pytest.approx(3 / 8)
    assert _duplicate_ngram_fraction(units[:5], 3) == 0.0


def test_khmer_units_are_syllables_and_thresholds_follow_them():
    km = Q.for_lang("km")
    assert km.min_mean_unit_chars < 1.93 < km.max_mean_unit_chars
    assert min(km.max_dup_ngram_frac) > 10  # longer than the old 10-syllable n-grams
    # config overrides still win over the registry's defaults
    q = QualityConfig(langs={"km": {"min_units": 1}})
    assert q.for_lang("km").min_units == 1 and q.for_lang("th").min_units == Q.for_lang("th").min_units
    assert re.match(r"quality: mean unit length", _reason(" ".join(["a" * 5, "b" * 200, "c" * 40]), "en"))
