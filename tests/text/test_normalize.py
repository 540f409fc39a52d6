import unicodedata

from lontar.text.normalize import normalize_text


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
