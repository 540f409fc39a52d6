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
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from lontar.errors import InvalidInput

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

# Scripts that are not among the ten languages but must be recognised so that Japanese and Korean text
# is not counted as Chinese or as unknown by language identification.
KANA: Ranges = ((0x3040, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
HANGUL: Ranges = ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))
OTHER_SCRIPTS: Mapping[str, Ranges] = MappingProxyType({"ja": KANA, "ko": HANGUL})
OTHER_SCRIPT_LETTER_WEIGHT = 2.0  # a kana or Hangul letter counts as two Latin letters in script shares

_SYL = "lontar.text.syllables:"
UNIT_KINDS = ("word", "syllable", "character")

# Gopher's word-level thresholds (Rae et al. 2021), stated for English words; every language's defaults
# are these scaled to its own unit by `Lang.quality_defaults` (see benchmarks/web_text.py).
GOPHER_MEAN_WORD_CHARS = (3.0, 10.0)
GOPHER_MIN_WORDS = 3
GOPHER_MIN_WORDS_FOR_REPETITION = 50
GOPHER_TOP_NGRAM = {2: 0.20, 3: 0.18, 4: 0.16}
GOPHER_DUP_NGRAM = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
# Mean length of an English whitespace word as the quality filter counts it (punctuation attached),
# measured on the Global-MMLU-Lite English questions.
EN_UNIT_CHARS = 5.0

# Navigation and teaser phrases that end or interrupt prose on web pages; a line holding one is cut
# there by the junk-line step (`lontar.corpus.junk`). English phrases are checked in every language
# (crawled pages of every language carry them).
EN_NAV = ("Read More", "Read more", "READ MORE", "Continue reading", "Next:", "Previous:", "Next post",
          "Previous post", "Next article", "Previous article", "Related posts", "Related articles",
          "Share this:", "Tags:")
# Lines C4 drops (regular expressions, matched case-insensitively): legal and cookie banners,
# placeholder text, script warnings.
EN_JUNK_LINE = (r"\bterms of (?:use|service)\b", r"\bprivacy policy\b", r"\bcookie (?:policy|settings)\b",
                r"\buses? (?:of )?cookies\b", r"\baccept (?:all )?cookies\b", r"\blorem ipsum\b",
                r"\benable javascript\b", r"\bjavascript (?:is )?(?:disabled|required)\b", r"\ball rights reserved\b")


@dataclass(frozen=True)
class Lang:
    """Facts about one language. `script` is the ISO 15924 code; ranges are inclusive code points.

    `unit`: what the quality, repetition and dedup measures count: whitespace words, syllables
    (scripts without spaces, from `segmenter`) or characters (Han). Units differ in size, so
    `units_per_en_word` (units for the content of one English word, measured on parallel text) and
    `unit_chars` (mean characters per unit) rescale Gopher's English thresholds to this unit.
    `lid`: "script" when the share of letters in `script_ranges` names the language, "lingua" when a
    statistical identifier must tell it from its Latin-script neighbours.
    """

    code: str  # ISO 639-1
    name: str
    iso639_3: str
    script: str
    script_ranges: Ranges
    uses_spaces: bool
    flores: str  # FLORES-200 code
    belebele: str  # Belebele config name (FLORES style)
    normalizer: str | None = None  # "module:function", the full normalizer; None: normalize_text alone
    segmenter: str | None = None  # "module:function" returning syllable (or character) units
    # ISO 3166-1 country whose national phone and ID formats the language's documents use (PII);
    # None: written across the region (English, Chinese), so every region in PHONE_REGIONS is tried.
    region: str | None = None
    unit: str = "word"
    units_per_en_word: float = 1.0
    unit_chars: float = EN_UNIT_CHARS
    lid: str = "lingua"
    lid_letter_weight: float = 1.0  # a letter of this script counts this many letters in script shares
    lid_also_accept: tuple[str, ...] = ()  # close relatives LID cannot reliably tell apart (id and ms)
    digits: str = ""  # native digits, 0 to 9, besides ASCII
    sentence_end: str = ".!?"  # characters that end a sentence (C4's terminal punctuation)
    stop_words: frozenset[str] = frozenset()  # frequent function words (Gopher's stop-word filter)
    nav_phrases: tuple[str, ...] = ()  # "Read more", "Next" and the like in this language
    # A legacy encoding still common on the web, and "module:function" giving P(text is in it).
    legacy_encoding: str | None = None
    legacy_detector: str | None = None
    quality: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # explicit threshold defaults over the scaled ones

    def in_script(self, ch: str) -> bool:
        o = ord(ch)
        return any(lo <= o <= hi for lo, hi in self.script_ranges)

    def quality_defaults(self) -> dict[str, Any]:
        """Gopher's thresholds restated in this language's unit: n-gram sizes and unit counts times
        `units_per_en_word`, mean unit length times `unit_chars / EN_UNIT_CHARS`; the share
        thresholds are shares of characters and stay as they are. Then `quality` on top."""
        r, k = self.units_per_en_word, self.unit_chars / EN_UNIT_CHARS

        def grams(table: dict[int, float]) -> dict[int, float]:
            out: dict[int, float] = {}
            for n, limit in table.items():
                out.setdefault(max(1, round(n * r)), limit)
            return out

        values: dict[str, Any] = {
            "min_units": max(1, round(GOPHER_MIN_WORDS * r)),
            "min_mean_unit_chars": round(GOPHER_MEAN_WORD_CHARS[0] * k, 2),
            "max_mean_unit_chars": round(GOPHER_MEAN_WORD_CHARS[1] * k, 2),
            "min_units_for_repetition": round(GOPHER_MIN_WORDS_FOR_REPETITION * r),
            "max_top_ngram_frac": grams(GOPHER_TOP_NGRAM),
            "max_dup_ngram_frac": grams(GOPHER_DUP_NGRAM),
        }
        return values | {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self.quality.items()}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# units_per_en_word and unit_chars are measured by `python -m benchmarks.web_text --derive`: on the
# Global-MMLU-Lite questions (parallel: en, id, ms, tl, vi, zh, my) and on tests/data/prose (parallel
# paragraphs written for lontar: en, km, th, lo).
LANGS: Mapping[str, Lang] = MappingProxyType(
    {
        lang.code: lang
        for lang in (
            Lang("km", "Khmer", "khm", "Khmr", KHMER, False, "khm_Khmr", "khm_Khmr",
                 normalizer="lontar.text.khmer:normalize_khmer", segmenter=_SYL + "khmer_syllables", region="KH",
                 unit="syllable", units_per_en_word=2.6, unit_chars=1.93, lid="script",
                 digits="០១២៣៤៥៦៧៨៩", sentence_end="។៕!?",
                 stop_words=_words("និង នៃ ជា ក្នុង ដែល បាន មាន នេះ ទៅ ពី"),
                 nav_phrases=("អានបន្ត", "អានបន្ថែម", "អត្ថបទបន្ទាប់", "អត្ថបទមុន", "ព័ត៌មានទាក់ទង"),
                 # Khmer news repeats its headline in the lead and long titles in the body: the limits
                 # are the largest values on 721 held-out news articles (benchmarks/web_text.md).
                 quality=MappingProxyType({"max_dup_ngram_frac": MappingProxyType(
                     {13: 0.32, 16: 0.27, 18: 0.25, 21: 0.25, 23: 0.22, 26: 0.21})})),
            Lang("lo", "Lao", "lao", "Laoo", LAO, False, "lao_Laoo", "lao_Laoo",
                 normalizer="lontar.text.thai_lao:normalize_lao", segmenter=_SYL + "lao_syllables", region="LA",
                 unit="syllable", units_per_en_word=2.25, unit_chars=2.05, lid="script",
                 # ໆ (U+0EC6) repeats the word before it; it never ends a sentence
                 digits="໐໑໒໓໔໕໖໗໘໙", sentence_end=".!?",
                 stop_words=_words("ແລະ ຂອງ ທີ່ ໃນ ເປັນ ໄດ້ ມີ ບໍ່ ຈະ ໃຫ້"),
                 nav_phrases=("ອ່ານຕໍ່", "ອ່ານເພີ່ມເຕີມ", "ບົດຕໍ່ໄປ", "ຂ່າວທີ່ກ່ຽວຂ້ອງ")),
            Lang("my", "Burmese", "mya", "Mymr", MYANMAR, False, "mya_Mymr", "mya_Mymr",
                 normalizer="lontar.text.burmese:normalize_burmese", segmenter=_SYL + "burmese_syllables", region="MM",
                 unit="syllable", units_per_en_word=1.97, unit_chars=2.93, lid="script", lid_letter_weight=0.8,
                 digits="၀၁၂၃၄၅၆၇၈၉", sentence_end="။!?", legacy_encoding="Zawgyi",
                 legacy_detector="lontar.text.burmese:zawgyi_probability",
                 stop_words=_words("သည် နှင့် တွင် ၏ ကို များ ပါ မှာ ဖြစ် က"),
                 nav_phrases=("ဆက်ဖတ်ရန်", "ဆက်လက်ဖတ်ရှုရန်", "နောက်သတင်း")),
            Lang("th", "Thai", "tha", "Thai", THAI, False, "tha_Thai", "tha_Thai",
                 normalizer="lontar.text.thai_lao:normalize_thai", segmenter=_SYL + "thai_syllables", region="TH",
                 unit="syllable", units_per_en_word=2.5, unit_chars=1.9, lid="script",
                 digits="๐๑๒๓๔๕๖๗๘๙", sentence_end=".!?ฯ",
                 stop_words=_words("และ ของ ที่ ใน เป็น ได้ มี ไม่ จะ ให้"),
                 nav_phrases=("อ่านต่อ", "อ่านเพิ่มเติม", "บทความถัดไป", "บทความก่อนหน้า", "ข่าวที่เกี่ยวข้อง")),
            Lang("vi", "Vietnamese", "vie", "Latn", LATIN, True, "vie_Latn", "vie_Latn",
                 normalizer="lontar.text.vietnamese:normalize_vietnamese", region="VN", units_per_en_word=1.34, unit_chars=3.48,
                 stop_words=_words("và của là có không được những các cho trong"),
                 nav_phrases=("Xem thêm", "Đọc thêm", "Đọc tiếp", "Bài tiếp theo", "Bài trước", "Tin liên quan")),
            Lang("id", "Indonesian", "ind", "Latn", LATIN, True, "ind_Latn", "ind_Latn",
                 region="ID", units_per_en_word=0.87, unit_chars=6.26, lid_also_accept=("ms",),
                 stop_words=_words("yang dan di ini itu dengan untuk dari dalam tidak"),
                 nav_phrases=("Baca juga", "Baca Juga", "Selengkapnya", "Baca selengkapnya", "Berita terkait")),
            # ISO 639-1 "ms" is the Malay macrolanguage (msa); FLORES-200 and Belebele use the
            # individual language Standard Malay, zsm.
            Lang("ms", "Malay", "msa", "Latn", LATIN, True, "zsm_Latn", "zsm_Latn",
                 region="MY", units_per_en_word=0.88, unit_chars=6.3, lid_also_accept=("id",),
                 stop_words=_words("yang dan di ini itu dengan untuk dari dalam tidak"),
                 nav_phrases=("Baca juga", "Baca lagi", "Baca seterusnya", "Berita berkaitan")),
            Lang("tl", "Tagalog", "tgl", "Latn", LATIN, True, "tgl_Latn", "tgl_Latn",
                 region="PH", units_per_en_word=1.15, unit_chars=5.15,
                 stop_words=_words("ang ng sa na mga at ay si ito hindi"),
                 nav_phrases=("Magbasa pa", "Basahin ang", "Susunod na", "Kaugnay na balita")),
            Lang("en", "English", "eng", "Latn", LATIN, True, "eng_Latn", "eng_Latn",
                 stop_words=_words("the be to of and that have with")),
            # "zh" is the Chinese macrolanguage (zho); we target Simplified script. One Han character
            # is one unit (a syllable, most often a morpheme).
            Lang("zh", "Chinese", "zho", "Hans", HAN, False, "zho_Hans", "zho_Hans",
                 segmenter=_SYL + "han_syllables", unit="character", units_per_en_word=1.62, unit_chars=1.03,
                 lid="script", lid_letter_weight=3.0, sentence_end="。！？!?.",
                 stop_words=frozenset("的是在了和有不这也就"),
                 nav_phrases=("阅读更多", "阅读全文", "查看更多", "下一篇", "上一篇", "相关文章", "点击这里")),
        )
    }
)

# Languages with parallel Global-MMLU-Lite text in the shared SEA-HELM files (the tokenizer report's
# default parity set).
GLOBAL_MMLU_LANGS = ("en", "id", "ms", "my", "tl", "vi", "zh")


def unspaced(lang: str | Lang) -> bool:
    """Whether whitespace words are meaningless units for this language (km, lo, my, th, zh)."""
    return not get_lang(lang).uses_spaces


# Countries whose phone numbers are looked for in national format when a document's language names
# none: the languages' own, and Singapore (English, Malay, Chinese and Tamil are written there).
PHONE_REGIONS: tuple[str, ...] = (*dict.fromkeys(lang.region for lang in LANGS.values() if lang.region), "SG")


# Languages lontar evaluates (Belebele, M3Exam) but builds no corpus for: no language-identification
# route or normalizer yet, so they stay out of LANGS (which the corpus and tokenizer stages iterate).
EVAL_LANGS: Mapping[str, Lang] = MappingProxyType(
    {
        **LANGS,
        **{
            lang.code: lang
            for lang in (
                Lang("jv", "Javanese", "jav", "Latn", LATIN, True, "jav_Latn", "jav_Latn"),
                Lang("su", "Sundanese", "sun", "Latn", LATIN, True, "sun_Latn", "sun_Latn"),
            )
        },
    }
)


def get_lang(code: str | Lang) -> Lang:
    """Look up by ISO 639-1, ISO 639-3 or FLORES/Belebele code (case-insensitive)."""
    if isinstance(code, Lang):
        return code
    key = str(code).strip()
    if key in EVAL_LANGS:
        return EVAL_LANGS[key]
    low = key.lower()
    for lang in EVAL_LANGS.values():
        if low in (lang.code, lang.iso639_3, lang.flores.lower(), lang.belebele.lower()):
            return lang
    known = ", ".join(EVAL_LANGS)
    raise InvalidInput(f"unknown language code {code!r}; known: {known} (or their ISO 639-3 / FLORES codes)")


def load(ref: str) -> Callable[..., Any]:
    """Resolve a "module:function" reference from the registry."""
    module, _, name = ref.partition(":")
    if not module or not name:
        raise InvalidInput(f"expected 'module:function', got {ref!r}")
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


# Thai and Lao write no full stop: a space ends a sentence (or a clause), besides `Lang.sentence_end`.
SPACE_ENDS_SENTENCE = frozenset({"th", "lo"})


def sentence_pattern(lang: str | Lang) -> str:
    """A regular expression that splits `lang`'s text into sentences: a run of its sentence-ending
    characters (`Lang.sentence_end`; followed by a space or the end where the script writes spaces, so
    "3.5" stays whole), and a space in Thai and Lao."""
    import re

    info = get_lang(lang)
    pattern = "[" + re.escape(info.sentence_end) + "]+" + (r"(?=\s|$)" if info.uses_spaces else "")
    return pattern + (r"|\s+" if info.code in SPACE_ENDS_SENTENCE else "")
