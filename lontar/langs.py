"""One registry of the languages lontar knows: codes, script, spacing, normalizer and segmenter.

Every stage asks this module instead of hard-coding per-language facts, so adding a language is one
entry here. Entries are frozen and the registry is a read-only mapping: no global mutable state.
Normalizers and segmenters are named as "module:function" strings (resolved lazily by `load`), so
importing the registry never imports the text stack.
"""

from __future__ import annotations

import importlib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

Ranges = tuple[tuple[int, int], ...]

# Unicode blocks (inclusive code point ranges) per script.
KHMER: Ranges = ((0x1780, 0x17FF), (0x19E0, 0x19FF))
LAO: Ranges = ((0x0E80, 0x0EFF),)
MYANMAR: Ranges = ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F))
THAI: Ranges = ((0x0E00, 0x0E7F),)
# Basic Latin letters, Latin-1 letters, Extended-A/B, combining diacritics (non-NFC Vietnamese),
# Latin Extended Additional (precomposed Vietnamese vowels with tone marks).
LATIN: Ranges = (
    (0x0041, 0x005A),
    (0x0061, 0x007A),
    (0x00C0, 0x024F),
    (0x0300, 0x036F),
    (0x1E00, 0x1EFF),
)
HAN: Ranges = (
    (0x2E80, 0x2FDF),  # radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x3134F),  # extensions B-H
)

_SYL = "lontar.text.syllables:"


@dataclass(frozen=True)
class Lang:
    """Facts about one language. `script` is the ISO 15924 code; ranges are inclusive code points."""

    code: str  # ISO 639-1
    name: str
    iso639_3: str
    script: str
    script_ranges: Ranges
    uses_spaces: bool
    flores: str  # FLORES-200 code
    belebele: str  # Belebele config name (FLORES style)
    normalizer: str | None = None  # "module:function", the full normalizer; None: normalize_text alone
    segmenter: str | None = None  # "module:function" returning syllable units
    # ISO 3166-1 country whose national phone and ID formats the language's documents use (PII);
    # None: written across the region (English, Chinese), so every region in PHONE_REGIONS is tried.
    region: str | None = None

    def in_script(self, ch: str) -> bool:
        o = ord(ch)
        return any(lo <= o <= hi for lo, hi in self.script_ranges)


LANGS: Mapping[str, Lang] = MappingProxyType(
    {
        lang.code: lang
        for lang in (
            Lang("km", "Khmer", "khm", "Khmr", KHMER, False, "khm_Khmr", "khm_Khmr",
                 "lontar.text.khmer:normalize_khmer", _SYL + "khmer_syllables", "KH"),
            Lang("lo", "Lao", "lao", "Laoo", LAO, False, "lao_Laoo", "lao_Laoo",
                 "lontar.text.thai_lao:normalize_lao", _SYL + "lao_syllables", "LA"),
            Lang("my", "Burmese", "mya", "Mymr", MYANMAR, False, "mya_Mymr", "mya_Mymr",
                 "lontar.text.burmese:normalize_burmese", _SYL + "burmese_syllables", "MM"),
            Lang("th", "Thai", "tha", "Thai", THAI, False, "tha_Thai", "tha_Thai",
                 "lontar.text.thai_lao:normalize_thai", _SYL + "thai_syllables", "TH"),
            Lang("vi", "Vietnamese", "vie", "Latn", LATIN, True, "vie_Latn", "vie_Latn",
                 "lontar.text.vietnamese:normalize_vietnamese", region="VN"),
            Lang("id", "Indonesian", "ind", "Latn", LATIN, True, "ind_Latn", "ind_Latn", region="ID"),
            # ISO 639-1 "ms" is the Malay macrolanguage (msa); FLORES-200 and Belebele use the
            # individual language Standard Malay, zsm.
            Lang("ms", "Malay", "msa", "Latn", LATIN, True, "zsm_Latn", "zsm_Latn", region="MY"),
            Lang("tl", "Tagalog", "tgl", "Latn", LATIN, True, "tgl_Latn", "tgl_Latn", region="PH"),
            Lang("en", "English", "eng", "Latn", LATIN, True, "eng_Latn", "eng_Latn"),
            # "zh" is the Chinese macrolanguage (zho); we target Simplified script. One Han character
            # is one syllable, so Han text gets syllable units like the other unspaced scripts.
            Lang("zh", "Chinese", "zho", "Hans", HAN, False, "zho_Hans", "zho_Hans", None, _SYL + "han_syllables"),
        )
    }
)


# Countries whose phone numbers are looked for in national format when a document's language names
# none: the languages' own, and Singapore (English, Malay, Chinese and Tamil are written there).
PHONE_REGIONS: tuple[str, ...] = (*dict.fromkeys(lang.region for lang in LANGS.values() if lang.region), "SG")


def get_lang(code: str | Lang) -> Lang:
    """Look up by ISO 639-1, ISO 639-3 or FLORES/Belebele code (case-insensitive)."""
    if isinstance(code, Lang):
        return code
    key = str(code).strip()
    if key in LANGS:
        return LANGS[key]
    low = key.lower()
    for lang in LANGS.values():
        if low in (lang.code, lang.iso639_3, lang.flores.lower(), lang.belebele.lower()):
            return lang
    known = ", ".join(LANGS)
    raise ValueError(f"unknown language code {code!r}; known: {known} (or their ISO 639-3 / FLORES codes)")


def load(ref: str) -> Callable[..., Any]:
    """Resolve a "module:function" reference from the registry."""
    module, _, name = ref.partition(":")
    if not module or not name:
        raise ValueError(f"expected 'module:function', got {ref!r}")
    return getattr(importlib.import_module(module), name)


def normalizer_for(lang: str | Lang) -> Callable[[str], str]:
    """The language's normalizer, or plain `normalize_text` when it has no script-specific one."""
    ref = get_lang(lang).normalizer or "lontar.text.normalize:normalize_text"
    return load(ref)


def script_share(text: str, lang: str | Lang) -> float:
    """Share of letters (and combining marks) in `text` that belong to `lang`'s script.

    Spaces, digits, punctuation and symbols are ignored, so numbers or a trailing "?" do not dilute
    the share. Marks count because in Brahmic scripts vowels are marks. 0.0 when there are no letters.
    """
    lang = get_lang(lang)
    letters = in_script = 0
    for ch in text:
        if unicodedata.category(ch)[0] in "LM":
            letters += 1
            in_script += lang.in_script(ch)
    return in_script / letters if letters else 0.0
