"""Syllable-like units for scripts written without spaces between words (Khmer, Lao, Thai, Burmese).

Whitespace words are meaningless there, so word counts, shingles and per-word metrics use these
units instead. Every `*_syllables` function is lossless: "".join(result) == text. Characters outside
the script become their own units: a run of whitespace, a run of digits, a run of letters of another
script (a Latin word), or a single punctuation mark or symbol.

The units are rule based (regular expressions over Unicode character classes, no dictionary):
- Khmer: orthographic syllables (base + subscripts + vowels + signs), the classic "KCC" unit. A
  final consonant is its own unit (កាត់ -> កា + ត់), as in Khmer script itself.
- Burmese: the standard syllable-break rule: break before a consonant unless it is stacked (after
  U+1039) or closed by asat (U+103A, possibly after dot below U+1037).
- Thai and Lao: TCC-like clusters (Thai Character Clusters, Theeramunkong et al. 2000): a leading
  vowel binds to the next consonant, marks and following vowels bind to their consonant, and a few
  vowels that always take a final (Thai ั ็, Lao ັ ົ) or a fixed second letter (เ-ีย, เ-ือ, ເ-ືອ)
  pull it in; a silent consonant with Thai ์ / Lao ໌ joins the unit before it. A cluster is never
  split by a word boundary but can be smaller than a syllable (an open final consonant stands alone).
- Han: one character is one syllable.
"""

from __future__ import annotations

import re

from lontar.langs import HAN, KHMER, LAO, MYANMAR, THAI, Lang, Ranges, get_lang, load

_ZW = "\u200b\u200c\u200d\u2060\ufeff"


def _char_class(ranges: Ranges) -> str:
    return "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges)


def _compile(unit: str, script: Ranges) -> re.Pattern[str]:
    """The script's unit first; then whitespace runs, digit runs, words of other scripts, any one char."""
    foreign_letter = f"(?:(?![{_char_class(script)}])[^\\W\\d_]|[\u0300-\u036f])"
    return re.compile(f"{unit}|\\s+|\\d+|{foreign_letter}+|.", re.DOTALL)


# Khmer: base, then any subscripts (COENG + letter), vowels, signs and joiners.
_KHMER = _compile("[\u1780-\u17b3](?:\u17d2[\u1780-\u17b3]|[\u17b4-\u17d3\u17dd\u200c\u200d])*", KHMER)

# Burmese: a syllable starts at a consonant, independent vowel or syllabic symbol, and runs over
# marks, stacked consonants (after U+1039 virama) and consonants closed by asat (U+103A).
_MY_START = (
    "[\u1000-\u102a\u103f\u104c-\u104f\u1050-\u1055\u105a-\u105d\u1061\u1065\u1066\u106e-\u1070"
    "\u1075-\u1081\u108e\ua9e0-\ua9e4\ua9e7-\ua9ef\ua9fa-\ua9fe\uaa60-\uaa6f\uaa71-\uaa76\uaa7a]"
)
_MY_MARK = (
    "[\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d"
    "\u108f\u109a-\u109d\ua9e5\uaa7b-\uaa7d\u200c\u200d]"
)
_MY_CLOSED = f"{_MY_START}(?=\u1037?[\u103a\u1039])"
_BURMESE = _compile(f"{_MY_START}(?:{_MY_MARK}|(?<=\u1039){_MY_START}|{_MY_CLOSED})*", MYANMAR)


def _tcc(lead: str, cons: str, mark: str, follow: str, tone: str, closed: str, closed_after_lead: str,
         pairs: str, karan: str, cluster_lead: str, cluster_mark: str) -> str:
    """Build a TCC-like cluster regex from one script's character classes (see the module docstring).

    Tried in order: leading vowel + consonant + a vowel with a fixed second letter (`pairs`); a vowel
    that always takes a final consonant (`closed`, or `closed_after_lead` only after a leading
    vowel), which then pulls in the next consonant unless that one carries its own vowel; otherwise
    consonant + marks + following vowels. A second onset consonant (เปลี่ยน, แปลก) is taken only
    after `cluster_lead` and before `cluster_mark`, since elsewhere it starts a new syllable (ใน|ห้อง).
    """
    second = f"(?:(?<={cluster_lead}{cons}){cons}(?={cluster_mark}))?"
    onset = f"(?:{lead}{cons}{second}|{cons})"
    led_onset = f"{lead}{cons}{second}"
    final = f"{cons}(?!{mark}|{follow})"
    silent = f"(?:{cons}{mark}?{karan})*"
    alternatives = [
        f"{led_onset}(?:{pairs}){follow}?",
        f"{led_onset}{closed_after_lead}{tone}?{final}" if closed_after_lead else None,
        f"{onset}{closed}{tone}?{final}",
        f"{onset}{mark}*(?:{follow}{mark}*)*",
    ]
    return "(?:" + "|".join(f"(?:{a}){silent}" for a in alternatives if a) + ")"


_TH_TONE = "[\u0e48-\u0e4b]"
_THAI = _compile(
    _tcc(
        lead="[\u0e40-\u0e44]",
        cons="[\u0e01-\u0e2e]",
        mark="[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]",
        follow="[\u0e30\u0e32\u0e33\u0e45]",
        tone=_TH_TONE,
        closed="\u0e31",  # mai han-akat: always closed (กัน, ตัว)
        closed_after_lead="\u0e47",  # mai taikhu after a leading vowel: เป็น, แข็ง (but ก็ stays open)
        pairs=f"\u0e35{_TH_TONE}?\u0e22|\u0e37{_TH_TONE}?\u0e2d",  # เ-ีย, เ-ือ
        karan="\u0e4c",
        cluster_lead="[\u0e40\u0e41]",  # เ แ
        cluster_mark="[\u0e34-\u0e37\u0e47-\u0e4b]",  # above vowels, mai taikhu, tone marks
    ),
    THAI,
)

_LO_TONE = "[\u0ec8-\u0ecb]"
_LAO = _compile(
    _tcc(
        lead="[\u0ec0-\u0ec4]",
        cons="[\u0e81-\u0eae\u0edc-\u0edf]",
        mark="[\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ece]",
        follow="[\u0eb0\u0eb2\u0eb3\u0ebd]",
        tone=_LO_TONE,
        closed="[\u0eb1\u0ebb]",  # mai kan, mai kon: closed (ເປັນ, ຄົນ); ເ-ົາ has no final, stays open
        closed_after_lead="",
        pairs=f"\u0eb5{_LO_TONE}?\u0e8d|\u0eb7{_LO_TONE}?\u0ead",  # ເ-ີຍ, ເ-ືອ
        karan="\u0ecc",
        cluster_lead="[\u0ec0\u0ec1]",  # ເ ແ
        cluster_mark="[\u0eb4-\u0eb7\u0ec8-\u0ecb]",  # above vowels, tone marks
    ),
    LAO,
)

_HAN = _compile(f"[{_char_class(HAN)}]", HAN)


def khmer_syllables(text: str) -> list[str]:
    """Khmer orthographic syllables: base + subscripts + vowels + signs. Lossless."""
    return _KHMER.findall(text)


def burmese_syllables(text: str) -> list[str]:
    """Burmese syllables: break before a consonant that is neither stacked nor closed by asat. Lossless."""
    return _BURMESE.findall(text)


def thai_syllables(text: str) -> list[str]:
    """Thai TCC-like clusters (module docstring). Lossless."""
    return _THAI.findall(text)


def lao_syllables(text: str) -> list[str]:
    """Lao TCC-like clusters (module docstring). Lossless."""
    return _LAO.findall(text)


def han_syllables(text: str) -> list[str]:
    """One unit per Han character, which is one syllable. Lossless."""
    return _HAN.findall(text)


_DROP_ZW = dict.fromkeys(map(ord, _ZW))


def _is_blank(unit: str) -> bool:
    """Only zero-width characters and whitespace (str.strip's whitespace is str.isspace's)."""
    return not unit.translate(_DROP_ZW).strip()


def units(text: str, lang: str | Lang) -> list[str]:
    """Counting units for `lang`: syllables where the registry names a segmenter, else whitespace words.

    Unlike the `*_syllables` functions this is not lossless: whitespace and zero-width characters
    (ZWSP word separators included) are dropped, since they are boundaries, not units.
    """
    info = get_lang(lang)
    if info.segmenter is None:
        return text.split()
    return [u for u in load(info.segmenter)(text) if not _is_blank(u)]
