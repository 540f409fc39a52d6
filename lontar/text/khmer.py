"""Khmer script normalization: invisible characters, cluster order, common misencodings.

NFC does nothing for Khmer: the same word can be stored in several code point orders that render
alike (or nearly), and each order tokenizes and hashes differently. These pure, idempotent
functions pick one spelling per rendering so that counting, dedup and tokenizer training see one.

Orthographic syllable (cluster) order, following the Unicode Standard's Khmer section
(B {R | C} {S {R}}* {{Z} V} {O} {S}) and the common typing convention for subscript RO:

    0 base: consonant or independent vowel (U+1780..U+17B3)
    1 robat U+17CC, register shifters U+17C9 MUUSIKATOAN / U+17CA TRIISAP
    2 subscripts: COENG U+17D2 + consonant (kept in typed order)
    3 subscript RO: COENG + U+179A, always last among subscripts (ស្ត្រ, not ស្រ្ត)
    4 ZWNJ / ZWJ (only meaningful right before a vowel, after a shifter)
    5 dependent vowels U+17B6..U+17C5 (kept in typed order)
    6 signs above: nikahit, bantoc, toandakhiat, kakabat, ahsda, samyok sannya, viriam, ...
    7 signs after: reahmuk U+17C7, yuukaleapintu U+17C8

The shifter goes right after the base because the Unicode grammar allows it nowhere else (SIL's
khnormal puts it after the subscripts instead; real text has both, ម្យ៉ាង and ម៉្យាង). Subscripts typed
after a vowel (Unicode's trailing {S}) are moved before it: in modern Khmer that is always the
typing error ខែ្មរ. Shapers (HarfBuzz, Uniscribe) render several of these orders identically, so
the order is a canonical form for text processing, not a claim that other orders are unreadable.
"""

from __future__ import annotations

import re
import unicodedata

from lontar.text.normalize import normalize_text, normalize_whitespace

COENG = "\u17d2"
RO = "\u179a"
ZWSP, ZWNJ, ZWJ = "\u200b", "\u200c", "\u200d"
SHIFTERS = "\u17c9\u17ca"

_BASES = "\u1780-\u17b3"  # consonants and independent vowels
_VOWELS = "\u17b6-\u17c5"
_SIGNS_ABOVE = "\u17c6\u17cb\u17cd\u17ce\u17cf\u17d0\u17d1\u17d3\u17dd"
_SIGNS_AFTER = "\u17c7\u17c8"


def _is_base(ch: str) -> bool:
    return "\u1780" <= ch <= "\u17b3"


def _is_khmer(ch: str) -> bool:
    return "\u1780" <= ch <= "\u17ff" or "\u19e0" <= ch <= "\u19ff"


def _is_khmer_letter_or_mark(ch: str) -> bool:
    """Letters and combining marks, not COENG (which still needs its consonant), digits or punctuation."""
    return ("\u1780" <= ch <= "\u17d1" or ch in "\u17d3\u17dd") and ch != COENG


# --- zero-width characters -------------------------------------------------------------------

# Invisible characters with no job in running Khmer text: BOM/ZWNBSP, word joiner, Mongolian vowel
# separator, soft hyphen, and the deprecated invisible Khmer inherent vowels U+17B4/U+17B5.
_ALWAYS_INVISIBLE = re.compile("[\ufeff\u2060\u180e\u00ad\u17b4\u17b5]")
_ZW_RUN = re.compile("[\u200b\u200c\u200d]+")


def _in_shifter_slot(text: str, i: int) -> bool:
    """True when text[i] sits where Unicode's {Z} is allowed: after a shifter (and any subscripts)."""
    j = i - 1
    while j >= 1 and text[j - 1] == COENG and _is_base(text[j]):
        j -= 2
    return j >= 0 and text[j] in SHIFTERS


def remove_zero_width(text: str, *, keep_word_zwsp: bool = True) -> str:
    """Drop zero-width characters that carry no meaning; keep the two that do.

    Rules (a run of adjacent zero-width characters is judged as one unit):
    - always removed: U+FEFF, U+2060, U+180E, soft hyphen, Khmer U+17B4/U+17B5;
    - ZWSP U+200B is how careful Khmer writers mark a word boundary inside unspaced text (Unicode
      recommends it; line breaking uses it). That is real information we cannot recover later, so a
      single ZWSP is kept *between two Khmer syllables* (after a Khmer letter or mark, before a
      Khmer consonant or independent vowel). Everywhere else it is noise and removed: at string
      edges, next to spaces, punctuation, digits or other scripts, inside a cluster (before a vowel,
      sign or after COENG), and doubled runs collapse to one. Pass `keep_word_zwsp=False` to drop
      every ZWSP (e.g. before hashing for dedup, where invisible differences must not count).
    - ZWNJ/ZWJ: kept (one) only in Unicode's {Z} slot, between a register shifter (plus any
      subscripts) and a dependent vowel, where it changes how the shifter is drawn. Removed when
      they touch Khmer anywhere else, sit at an edge or next to whitespace, or are doubled; left
      alone between two non-Khmer characters (emoji ZWJ sequences, Indic or Arabic text).
    """
    text = _ALWAYS_INVISIBLE.sub("", text)

    def judge(m: re.Match[str]) -> str:
        run, start, end = m.group(), m.start(), m.end()
        prev = text[start - 1] if start else ""
        nxt = text[end] if end < len(text) else ""
        joiners = [c for c in run if c != ZWSP]
        if joiners and "\u17b6" <= nxt <= "\u17c5" and _in_shifter_slot(text, start):
            return joiners[0]
        if ZWSP in run and keep_word_zwsp and prev and _is_khmer_letter_or_mark(prev) and _is_base(nxt):
            return ZWSP
        if joiners and prev and nxt and not (prev.isspace() or nxt.isspace() or _is_khmer(prev) or _is_khmer(nxt)):
            return joiners[0]
        return ""

    return _ZW_RUN.sub(judge, text)


# --- cluster order ---------------------------------------------------------------------------

_CLUSTER = re.compile(
    f"[{_BASES}](?:{COENG}[{_BASES}]|[{_VOWELS}{SHIFTERS}\u17cc{_SIGNS_ABOVE}{_SIGNS_AFTER}]|[{ZWNJ}{ZWJ}](?=[{_VOWELS}]))+"
)


def _rank(item: str) -> int:
    if item[0] == COENG:
        return 3 if item[1] == RO else 2
    if item in SHIFTERS or item == "\u17cc":
        return 1
    if item in (ZWNJ, ZWJ):
        return 4
    if "\u17b6" <= item <= "\u17c5":
        return 5
    if item in _SIGNS_AFTER:
        return 7
    return 6


def _reorder_cluster(m: re.Match[str]) -> str:
    cluster = m.group()
    items: list[str] = []
    ranks: list[int] = []
    i = 1
    while i < len(cluster):
        step = 2 if cluster[i] == COENG else 1
        item = cluster[i : i + step]
        rank = _rank(item)
        # A second non-RO subscript typed after a vowel (ក្នុ្ង, ថ្នា្ក) is a stray COENG, not a
        # misplaced subscript: end the cluster there and leave the rest as typed.
        if rank == 2 and 2 in ranks and max(ranks) >= 4:
            break
        items.append(item)
        ranks.append(rank)
        i += step
    rest = cluster[i:]
    if ranks == sorted(ranks) and ranks.count(4) <= 1:
        return cluster
    order = sorted(range(len(items)), key=lambda k: ranks[k])  # stable: typed order within a rank
    joiners = [k for k in order if ranks[k] == 4][1:]  # one joiner per cluster is all that can matter
    return cluster[0] + "".join(items[k] for k in order if k not in joiners) + rest


def reorder_clusters(text: str) -> str:
    """Put every Khmer cluster into the canonical order in the module docstring.

    A cluster is a base followed by its subscripts (COENG + consonant), vowels, signs and joiners.
    A COENG not followed by a consonant ends the cluster and is left where it is, so broken input
    is never rearranged across it; so does a ZWNJ/ZWJ not followed by a vowel, and a second
    non-RO subscript typed after a vowel (a stray COENG: ក្នុ្ង is left alone, not made ក្ន្ងុ).
    Extra ZWNJ/ZWJ inside one cluster are dropped (one can matter).
    Example: ខែ្មរ (vowel typed before the subscript) -> ខ្មែរ.
    """
    return _CLUSTER.sub(_reorder_cluster, text)


# --- misencodings ----------------------------------------------------------------------------

_DEPRECATED = str.maketrans(
    {
        "\u17a3": "\u17a2",  # QAQ -> QA
        "\u17a4": "\u17a2\u17b6",  # QAA -> QA + AA
        "\u17b4": None,  # invisible inherent vowels
        "\u17b5": None,
        "\u17d8": "\u17d4\u179b\u17d4",  # BEYYAL -> KHAN LO KHAN (។ល។), per the Unicode Standard
    }
)
# Split vowels typed as their visual parts: E + II looks like OE, E + AA looks like OO.
_SPLIT_VOWELS = re.compile("\u17c1([\u17b8\u17b6])")
_COMPOSED = {"\u17b8": "\u17be", "\u17b6": "\u17c4"}
_DOUBLE_COENG = re.compile(f"{COENG}{{2,}}")
_REPEATED_MARK = re.compile(f"([{_VOWELS}{SHIFTERS}\u17cc{_SIGNS_ABOVE}{_SIGNS_AFTER}])\\1+")
# Vowel U (U+17BB) under a consonant with an above vowel (or AA + NIKAHIT) looks exactly like a
# register shifter, which is drawn as a U-shape in that position, so users type U: សុី for ស៊ី,
# ញុាំ for ញ៉ាំ. U + NIKAHIT alone (ខ្ញុំ) is a real vowel and is left alone. Only for consonants whose
# shifter is unambiguous: TRIISAP for ស ហ អ, MUUSIKATOAN for ង ញ ម យ រ វ (ប takes either).
_ABOVE = "\u17b7-\u17ba\u17be"
_SHIFTABLE = "\u179f\u17a0\u17a2\u1784\u1789\u1798\u1799\u179a\u179c"
_U_BEFORE = re.compile(f"(?<!{COENG})([{_SHIFTABLE}])\u17bb(?=[{_ABOVE}]|\u17b6\u17c6|\u17c6\u17b6)")
_U_AFTER = re.compile(f"(?<!{COENG})([{_SHIFTABLE}])([{_ABOVE}])\u17bb")


def _shifter_for(base: str) -> str:
    return "\u17ca" if base in "\u179f\u17a0\u17a2" else "\u17c9"


def fix_misencodings(text: str) -> str:
    """Repair encodings that render like correct Khmer but are different code points.

    - deprecated characters: U+17A3 -> U+17A2, U+17A4 -> U+17A2 U+17B6, U+17B4/U+17B5 removed,
      U+17D8 -> ។ល។ (U+17D4 U+179B U+17D4);
    - split vowels: E + II -> OE (U+17BE), E + AA -> OO (U+17C4);
    - doubled COENG and the same mark typed twice in a row (ទប់់ -> ទប់) collapse to one;
    - vowel U typed for a register shifter (សុី -> ស៊ី, អីុ -> អ៊ី, ញុាំ -> ញ៉ាំ).
    Khmer and Latin digits are left as they are: mixing them is a style choice, not an error.
    """
    text = text.translate(_DEPRECATED)
    text = _DOUBLE_COENG.sub(COENG, text)
    text = _SPLIT_VOWELS.sub(lambda m: _COMPOSED[m.group(1)], text)
    text = _REPEATED_MARK.sub(r"\1", text)
    text = _U_BEFORE.sub(lambda m: m.group(1) + _shifter_for(m.group(1)), text)
    return _U_AFTER.sub(lambda m: m.group(1) + _shifter_for(m.group(1)) + m.group(2), text)


def normalize_khmer(text: str, *, keep_word_zwsp: bool = True) -> str:
    """`normalize_text`, then zero-width cleanup, misencoding fixes and canonical cluster order.

    Whitespace is tidied again after zero-width removal (which can leave two spaces touching).
    Fixes run before reordering (so a doubled COENG cannot split a cluster) and again after it
    (reordering can make split vowel parts or repeated marks adjacent). The result is NFC: NFC
    moves COENG (combining class 9) before ATTHACAN (230), so in that rare case the Khmer steps run
    again until nothing changes. Idempotent.
    """
    text = normalize_text(text)
    for _ in range(4):
        text = normalize_whitespace(remove_zero_width(text, keep_word_zwsp=keep_word_zwsp))
        text = fix_misencodings(reorder_clusters(fix_misencodings(text)))
        nfc = unicodedata.normalize("NFC", text)
        if nfc == text:
            break
        text = nfc
    return text
