"""Thai and Lao: one spelling for sara am, no marks typed twice.

Sara am (Thai ำ U+0E33, Lao ຳ U+0EB3) is often stored as nikhahit + sara aa (ํ + า), the form
SentencePiece's `nmt_nfkc` produces and that keyboards emit when typed in visual order; the two render
alike but count, hash and tokenize differently. NFC leaves both forms alone (the decomposition is a
compatibility one), so we compose explicitly. The standard order is consonant + tone mark + sara am
(น้ำ, ນ້ຳ), so a tone typed between nikhahit and sara aa, or after sara am, moves before it.

Also removed: a non-spacing mark (vowel above or below, tone mark, thanthakhat, ...) repeated
immediately. NFC already puts a below vowel before a tone mark (canonical combining classes).
Not changed: spacing vowels repeated for emphasis (มากกก, ค่าาา), which are content; two different
tone marks on one consonant (no way to tell which is meant); Lao ໜ/ໝ versus ຫນ/ຫມ, both in use, so
choosing one is a corpus decision; we only make sure the composed letters survive (no NFKC here).
"""

from __future__ import annotations

import re

from lontar.text.normalize import normalize_text


def _rules(tones: str, marks: str, nikhahit: str, sara_aa: str, sara_am: str):
    return (
        (re.compile(f"([{marks}])\\1+"), r"\1"),
        (re.compile(f"{nikhahit}([{tones}]?){sara_aa}"), f"\\1{sara_am}"),
        (re.compile(f"(?<![{tones}]){sara_am}([{tones}])"), f"\\1{sara_am}"),
    )


# Non-spacing marks: Thai U+0E31, U+0E34-U+0E3A, U+0E47-U+0E4E; Lao U+0EB1, U+0EB4-U+0EBC, U+0EC8-U+0ECE.
_THAI = _rules("\u0e48-\u0e4b", "\u0e31\u0e34-\u0e3a\u0e47-\u0e4e", "\u0e4d", "\u0e32", "\u0e33")
_LAO = _rules("\u0ec8-\u0ecb", "\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ece", "\u0ecd", "\u0eb2", "\u0eb3")


def _apply(text: str, rules) -> str:
    text = normalize_text(text)
    for _ in range(4):  # one pass nearly always suffices; repeat so the result is a fixed point
        fixed = text
        for pattern, replacement in rules:
            fixed = pattern.sub(replacement, fixed)
        if fixed == text:
            break
        text = fixed
    return text


def normalize_thai(text: str) -> str:
    """`normalize_text`, then compose sara am (tone mark before it) and drop doubled marks. Idempotent."""
    return _apply(text, _THAI)


def normalize_lao(text: str) -> str:
    """`normalize_text`, then compose sara am (tone mark before it) and drop doubled marks. Idempotent.

    ໜ and ໝ are kept as they are, and so are ຫນ and ຫມ (see the module docstring).
    """
    return _apply(text, _LAO)
