"""Burmese: detect and convert Zawgyi, then tidy Unicode Burmese.

Zawgyi is a font encoding that reuses Myanmar code points for other glyphs (visual order, contextual
glyph variants); much Burmese web text is still in it, and a corpus that mixes it with Unicode
teaches a tokenizer two spellings of every word. Detection uses Google's `myanmartools` model;
conversion uses the Rabbit rule set (MIT, Rabbit-Converter project) as packaged in pure Python by
`paraencoder`, checked against ICU's CLDR `Zawgyi-my` transform (see tests/text/test_burmese.py).

Unicode fixes applied by `normalize_burmese` (all are typing errors with one correct spelling):
- NFC (via `normalize_text`): U+1025 U+102E -> U+1026, dot below U+1037 before asat U+103A.
- digit zero/seven carrying a vowel sign or medial is the letter it looks like: ၀ -> ဝ, ၇ -> ရ.
- U+1025 (vowel ဥ) before asat or aa is the consonant U+1009 ဉ (ဉ်, ဉာဏ်).
- medials and vowel signs after a consonant go in Unicode storage order (UTN #11): ျ ြ ွ ှ, ေ,
  upper vowels, lower vowels, ါ/ာ, ံ, ့; then a sign typed twice is kept once.
Not fixed: asat and visarga are never moved (ကျွန်ုပ် has asat before ု by convention); ၀/ဝ or ၇/ရ
confusion without a following sign (အ၀တ်); ၄င်း -> ၎င်း; kinzi or stacking errors; U+200B (kept in
Unicode text, dropped by the converter). The rules are for Burmese; Shan, Mon and Karen text in the
same block is not their target.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import warnings

from lontar.errors import InvalidInput
from lontar.text.normalize import normalize_text

_MYANMAR = re.compile(r"[\u1000-\u109f]")
# Runs of medials and vowel signs. Asat U+103A, visarga U+1038 and the virama U+1039 stay where
# they are: ကျွန်ုပ် is spelled with asat before ု, and asat-medial pairs (က်ျ) are mixed-encoding
# debris whose intended order is unknown.
_SIGN_RUN = re.compile(r"[\u102b-\u1032\u1036\u1037\u103b-\u103e]{2,}")
_ORDER = {c: i for i, group in enumerate(
    ["\u103b", "\u103c", "\u103d", "\u103e", "\u1031", "\u102d\u102e\u1032", "\u102f\u1030",
     "\u102b\u102c", "\u1036", "\u1037"]) for c in group}
_DOUBLED_SIGN = re.compile(r"([\u102b-\u103e])\1+")
_DIGIT_AS_LETTER = re.compile(r"[\u1040\u1047](?=[\u102b-\u1032\u1036\u103b-\u103e])")
_VOWEL_U_AS_NYA = re.compile(r"\u1025(?=\u1037?\u103a|\u102c)")
# Rabbit reads a lone ၀ as ဝ; inside a decimal number (၀.၅, ၁၂,၀) it is the digit.
_DECIMAL_ZERO = re.compile(r"(?<=[\u1040-\u1049][.,])\u101d|\u101d(?=[.,][\u1040-\u1049])")


@functools.lru_cache(maxsize=1)
def _detector():
    from myanmartools import ZawgyiDetector

    with warnings.catch_warnings():  # myanmartools 1.2.1 loads its model with a deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        return ZawgyiDetector()


def zawgyi_probability(text: str) -> float:
    """Probability that `text` is Zawgyi rather than Unicode; 0.0 when it has no Burmese letters.

    Long texts score near 0 or 1; a few syllables can land anywhere, so decide per document.
    """
    if not _MYANMAR.search(text):
        return 0.0
    # The model answers -inf when nothing it knows is present (only digits, say): not Zawgyi.
    return max(0.0, float(_detector().get_zawgyi_probability(text)))


def _fix_unicode(text: str) -> str:
    """The Unicode fixes listed in the module docstring, repeated until nothing changes."""
    for _ in range(4):
        fixed = _DIGIT_AS_LETTER.sub(lambda m: "\u101d" if m.group() == "\u1040" else "\u101b", text)
        fixed = _VOWEL_U_AS_NYA.sub("\u1009", fixed)
        fixed = _SIGN_RUN.sub(lambda m: "".join(sorted(m.group(), key=_ORDER.__getitem__)), fixed)
        fixed = unicodedata.normalize("NFC", _DOUBLED_SIGN.sub(r"\1", fixed))
        if fixed == text:
            break
        text = fixed
    return text


def zawgyi_to_unicode(text: str) -> str:
    """Convert Zawgyi to Unicode Burmese, unconditionally (Rabbit rules, then the Unicode fixes).

    Not idempotent by nature: Unicode input is misread as Zawgyi. For text of unknown encoding
    use `normalize_burmese`, which converts only what the detector calls Zawgyi.
    """
    from para.convert import zg_to_unicode

    converted = zg_to_unicode(text, normalize=False, force=True)
    return _fix_unicode(unicodedata.normalize("NFC", _DECIMAL_ZERO.sub("\u1040", converted)))


def _normalize_once(text: str, threshold: float) -> str:
    text = normalize_text(text)
    if zawgyi_probability(text) >= threshold:
        converted = normalize_text(zawgyi_to_unicode(text))
        # Keep the conversion only if the detector is as sure that the result is Unicode: this
        # turns away some short Unicode strings that merely looked like Zawgyi.
        if converted != text and zawgyi_probability(converted) < 1.0 - threshold:
            return converted
    return _fix_unicode(text)


def normalize_burmese(text: str, threshold: float = 0.95) -> str:
    """`normalize_text`, Zawgyi -> Unicode when P(Zawgyi) >= threshold, then the Unicode fixes.

    0.95 is Google's advice for automatic conversion (few Unicode strings cross it). Call it on
    whole documents: on a few syllables the detector can be confidently wrong. Idempotent: the
    steps repeat until the text is stable, at most three rounds, since a converted text scores
    below 1 - threshold and is not converted again.
    """
    if not 0.5 < threshold <= 1.0:
        raise InvalidInput(f"threshold must be in (0.5, 1], got {threshold}")
    for _ in range(4):
        normalized = _normalize_once(text, threshold)
        if normalized == text:
            break
        text = normalized
    return text
