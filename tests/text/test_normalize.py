import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lontar.text.normalize import normalize_text, normalize_whitespace


def test_nfc_composes_khmer_split_vowel():
    # ោ (U+17C4) decomposes canonically? It does not; but Latin é does, and Khmer must survive untouched.
    khmer = "ខ្មែរ ភាសា"
    assert normalize_text(khmer) == khmer
    assert normalize_text("cafe\u0301") == "café"
    assert unicodedata.is_normalized("NFC", normalize_text("e\u0301 ខ្មែរ"))


def test_whitespace_and_controls():
    assert normalize_text("  ក  ខ\t\tគ \x00\x07\r\n\n\n\nឃ  ") == "ក ខ គ\n\nឃ"
    assert normalize_text("") == ""


def test_idempotent(khmer_sentences):
    for s in khmer_sentences[:2000]:
        once = normalize_text(s)
        assert normalize_text(once) == once


@pytest.mark.parametrize("brk", ["\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_every_line_break_separates_words(brk):
    # Deleting a break glues the words on either side: fatal in a script written without spaces.
    assert normalize_text(f"ខ្មែរ{brk}ភាសា") == "ខ្មែរ\nភាសា"
    assert normalize_text(f"one{brk}two") == "one\ntwo"
    assert normalize_whitespace(f"one{brk}two") == "one\ntwo"


def test_line_breaks_agree_with_str_splitlines():
    text = "a\rb\r\nc\vd\fe\x1cf\x1dg\x1eh\x85i\u2028j\u2029k\nl"
    assert normalize_text(text).split("\n") == text.splitlines()


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(st.sampled_from(list("ab ខ្មែរ\t\r\n\v\f\x85\u2028\u2029\x00\x07"))))
def test_no_letter_lost_and_idempotent(text):
    once = normalize_text(text)
    assert normalize_text(once) == once
    letters = [c for c in text if c.isalpha() or unicodedata.category(c).startswith("M")]
    assert [c for c in once if c.isalpha() or unicodedata.category(c).startswith("M")] == letters
    # Words stay words: nothing but the deleted controls (NUL, BEL) may join two of them.
    assert once.split() == text.replace("\x00", "").replace("\x07", "").split()
