"""Vietnamese: composed tone marks and one tone-placement convention for oa, oe, uy.

In an open syllable ending in oa, oe or uy, two conventions put the tone mark on different vowels:
old style hòa, khỏe, thủy and new style hoà, khoẻ, thuỷ (the 1980s school rule: tone on the main
vowel). Both are correct and both are common, so the same word gets two spellings, two hashes and
two tokenizations unless one is chosen.

Default "old": it is what the real text we have mostly uses, so fewer words change and the result
matches the benchmark text. Measured on SEA-HELM's Vietnamese files: Global-MMLU-Lite has 336
old-style words and 1 new-style, the 1925 novel 75 and 33 (it mixes both). Pass style="new" for the
school convention.

Untouched, because placement there is the same in both styles: syllables with a final consonant
(hoàn, toán, thuyền), other vowel groups (người, mùa, thuở), triphthongs (ngoài, khuỷu), and the
qu- onset, where u belongs to the consonant (quý, quỳnh). Other misplaced tones (muá for múa) are not
fixed. Non-Vietnamese words of the same shape with an accent (Noé) follow the chosen style too.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from lontar.errors import InvalidInput
from lontar.text.normalize import normalize_text

Style = Literal["old", "new"]

_TONED = {"a": "àáảãạ", "e": "èéẻẽẹ", "o": "òóỏõọ", "u": "ùúủũụ", "y": "ỳýỷỹỵ"}
_BASE_TONE = {t: (base, i) for base, toned in _TONED.items() for i, t in enumerate(toned)}
_PAIRS = {("o", "a"), ("o", "e"), ("u", "y")}
# A whole syllable: consonant onset, then the two vowels, with no letter or combining mark around.
_SYLLABLE = re.compile(
    r"(?<![\w\u0300-\u036f])([b-df-hj-np-tv-zđ]*)([oòóỏõọuùúủũụ])([aàáảãạeèéẻẽẹyỳýỷỹỵ])(?![\w\u0300-\u036f])",
    re.IGNORECASE,
)


def _split(char: str) -> tuple[str, int | None]:
    """(base vowel, tone index or None) of one lower-case vowel."""
    return _BASE_TONE.get(char, (char, None))


def _with_tone(char: str, tone: int | None) -> str:
    """`char` with tone `tone` (None: no tone), keeping its case."""
    base, _ = _split(char.lower())
    out = base if tone is None else _TONED[base][tone]
    return out.upper() if char.isupper() else out


def _place_tone(match: re.Match[str], style: Style) -> str:
    onset, first, second = match.groups()
    (b1, t1), (b2, t2) = _split(first.lower()), _split(second.lower())
    if (b1, b2) not in _PAIRS or (b1 == "u" and onset.lower().endswith("q")):
        return match.group()
    if style == "new" and t1 is not None and t2 is None:
        return onset + _with_tone(first, None) + _with_tone(second, t1)
    if style == "old" and t2 is not None and t1 is None:
        return onset + _with_tone(first, t2) + _with_tone(second, None)
    return match.group()


def normalize_vietnamese(text: str, style: Style = "old") -> str:
    """`normalize_text` (NFC composes tone marks), then one tone placement for oa/oe/uy. Idempotent."""
    if style not in ("old", "new"):
        raise InvalidInput(f"style must be 'old' or 'new', got {style!r}")
    text = normalize_text(text)
    return unicodedata.normalize("NFC", _SYLLABLE.sub(lambda m: _place_tone(m, style), text))
