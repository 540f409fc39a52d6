"""lontar.text.vietnamese: NFC tone marks and old/new tone placement, on real Vietnamese text."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lontar.text.normalize import normalize_text
from lontar.text.vietnamese import normalize_vietnamese

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "seahelm"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real-data folder {DATA} is missing (CI has ../shared beside the checkout)"
)

# (old style, new style)
STYLE_PAIRS = [
    ("hòa", "hoà"),
    ("khỏe", "khoẻ"),
    ("thủy", "thuỷ"),
    ("họa", "hoạ"),
    ("xõa", "xoã"),
    ("ngụy", "nguỵ"),
    ("Hóa", "Hoá"),
    ("HÒA", "HOÀ"),
    ("ThỦY", "ThUỶ"),
    ("ủy", "uỷ"),
    ("òa", "oà"),
]
# Same placement in both styles: final consonant, other vowel groups, triphthongs, qu- onset.
UNAMBIGUOUS = [
    "hoàn", "toán", "thuyền", "khuyến", "người", "mùa", "thuở", "ngoài", "xoáy", "khuỷu",
    "ngoẻo", "quý", "quỳnh", "quà", "hoa", "tuy", "khuya", "hoặc", "Việt Nam",
]


@pytest.mark.parametrize("old, new", STYLE_PAIRS)
def test_styles(old, new):
    assert normalize_vietnamese(old, style="old") == old
    assert normalize_vietnamese(new, style="old") == old
    assert normalize_vietnamese(old, style="new") == new
    assert normalize_vietnamese(new, style="new") == new


@pytest.mark.parametrize("word", UNAMBIGUOUS)
def test_unambiguous_syllables_untouched(word):
    assert normalize_vietnamese(word, style="old") == word
    assert normalize_vietnamese(word, style="new") == word


def test_sentence_and_default():
    old = "Hòa bình là khát vọng của nhân dân; sức khỏe và thủy lợi, quý hơn vàng."
    new = "Hoà bình là khát vọng của nhân dân; sức khoẻ và thuỷ lợi, quý hơn vàng."
    assert normalize_vietnamese(new) == old  # default style is "old"
    assert normalize_vietnamese(old, style="new") == new


def test_nfc_composes_decomposed_tone_marks():
    decomposed = unicodedata.normalize("NFD", "Tiếng Việt hòa nhã")
    assert decomposed != "Tiếng Việt hòa nhã"
    assert normalize_vietnamese(decomposed) == "Tiếng Việt hòa nhã"
    assert normalize_vietnamese("ho\u0300a", style="new") == "hoà"
    assert normalize_vietnamese("Vie\u0302\u0323t") == "Việt"


def test_style_is_checked():
    with pytest.raises(ValueError):
        normalize_vietnamese("hòa", style="modern")  # type: ignore[arg-type]


def vietnamese_documents() -> dict[str, list[str]]:
    novel = (DATA / "pure_heart_ngoc_phachHoang_vi.txt").read_text(encoding="utf-8")
    mmlu = []
    for split in ("dev", "test"):
        for line in (DATA / f"global_mmlu_lite_vi_{split}.jsonl").read_text(encoding="utf-8").splitlines():
            for prompt in json.loads(line)["prompts"]:
                mmlu.extend(v for v in prompt.values() if isinstance(v, str))
    return {"novel": [novel], "mmlu": mmlu}


def changed_words(docs: list[str], style: str) -> Counter:
    words = re.compile(r"\w+")
    out: Counter = Counter()
    for doc in docs:
        before = words.findall(normalize_text(doc))
        after = words.findall(normalize_vietnamese(doc, style=style))
        assert len(before) == len(after)
        out.update((b, a) for b, a in zip(before, after) if b != a)
    return out


def strip_tones(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if c not in "\u0300\u0301\u0303\u0309\u0323")


# (source, style): (words changed, distinct changes), measured. The novel mixes both styles
# (75 old-style words, 33 new-style); Global-MMLU-Lite is old style but for one "hoá".
MEASURED = {
    ("novel", "old"): (33, 14),
    ("novel", "new"): (75, 21),
    ("mmlu", "old"): (1, 1),
    ("mmlu", "new"): (336, 30),
}


@needs_data
@pytest.mark.parametrize("source, style", MEASURED)
def test_real_text_changes(source, style):
    docs = vietnamese_documents()[source]
    changes = changed_words(docs, style)
    assert (sum(changes.values()), len(changes)) == MEASURED[(source, style)]
    for before, after in changes:
        # Only the tone moved, between the two vowels of a final oa/oe/uy.
        assert strip_tones(before) == strip_tones(after)
        assert re.search("(?i)(oa|oe|uy)$", strip_tones(after))
    for doc in docs:
        once = normalize_vietnamese(doc, style=style)
        assert normalize_vietnamese(once, style=style) == once


@needs_data
def test_real_text_styles_are_inverse():
    for docs in vietnamese_documents().values():
        for doc in docs:
            old = normalize_vietnamese(doc, style="old")
            assert normalize_vietnamese(normalize_vietnamese(doc, style="new"), style="old") == old


TONE_MARKS = "\u0300\u0301\u0309\u0303\u0323"
VOWELS = [unicodedata.normalize("NFC", v + t) for v in "aeiouyâêôơưăOUY" for t in ["", *TONE_MARKS]]
ALPHABET = list("bcdđghklmnqrstvxBHQT") + VOWELS + [" ", "\n", "-", *TONE_MARKS]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=30), st.sampled_from(["old", "new"]))
def test_idempotent(text, style):
    once = normalize_vietnamese(text, style=style)
    assert normalize_vietnamese(once, style=style) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ALPHABET), max_size=30))
def test_styles_are_inverse(text):
    old, new = normalize_vietnamese(text, style="old"), normalize_vietnamese(text, style="new")
    assert normalize_vietnamese(new, style="old") == old
    assert normalize_vietnamese(old, style="new") == new
