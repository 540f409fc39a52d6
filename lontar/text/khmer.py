"""Khmer script normalization: invisible characters, cluster order, common misencodings.

NFC does nothing for Khmer: the same word can be stored in several code point orders that render
alike (or nearly), and each order tokenizes and hashes differently. These pure, idempotent
functions pick one spelling per rendering so that counting, dedup and tokenizer training see one.

Orthographic syllable (cluster) order: the order of Unicode Technical Note #61 and of SIL's
khnormal (sillsdev/khmer-normalizer), which sort a cluster's parts by category:

    0 base: consonant or independent vowel (U+1780..U+17B3), then robat U+17CC
    1 subscripts: COENG U+17D2 + consonant (kept in typed order)
    2 subscript RO: COENG + U+179A, always last among subscripts (ស្ត្រ, not ស្រ្ត)
    3 register shifters U+17C9 MUUSIKATOAN / U+17CA TRIISAP, after the subscripts (ម្យ៉ាង)
    4 ZWNJ / ZWJ (only meaningful right before a vowel, after a shifter)
    5-8 dependent vowels by where they are drawn: pre (U+17BE..U+17C5), below (U+17BB..U+17BD),
      above (U+17B7..U+17BA), post (AA U+17B6); the same kind keeps its typed order
    9 signs above: nikahit, bantoc, toandakhiat, kakabat, ahsda, samyok sannya, viriam, ...
    10 signs after: reahmuk U+17C7, yuukaleapintu U+17C8

Sorting makes every typing order of the same marks one spelling, after which split vowels
(E + II, E + AA) and a vowel U typed for a shifter can be repaired by looking at one order only.
Subscripts typed after a vowel (Unicode's trailing {S}) are moved before it: in modern Khmer that
is always the typing error ខែ្មរ. Shapers (HarfBuzz, Uniscribe) render several of these orders
identically, so the order is a canonical form for text processing, not a claim that other orders
are unreadable. Where this module departs from khnormal on purpose (zero-width characters,
deprecated letters, doubled marks, a stray COENG after a vowel) the README lists it.
"""

from __future__ import annotations

import functools
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

# Two or more marks: a base with one mark is already in order, so it is not even matched.
_CLUSTER = re.compile(
    f"[{_BASES}](?:{COENG}[{_BASES}]|[{_VOWELS}{SHIFTERS}\u17cc{_SIGNS_ABOVE}{_SIGNS_AFTER}]|[{ZWNJ}{ZWJ}](?=[{_VOWELS}])){{2,}}"
)
# Vowels sort by where they are drawn: before the base, below, above, after (UTN #61, khnormal).
_VOWEL_RANK = {**dict.fromkeys("\u17be\u17bf\u17c0\u17c1\u17c2\u17c3\u17c4\u17c5", 5),
               **dict.fromkeys("\u17bb\u17bc\u17bd", 6), **dict.fromkeys("\u17b7\u17b8\u17b9\u17ba", 7),
               "\u17b6": 8}
_SUBSCRIPT, _SUBSCRIPT_RO, _JOINER = 1, 2, 4


def _rank(item: str) -> int:
    if item[0] == COENG:
        return _SUBSCRIPT_RO if item[1] == RO else _SUBSCRIPT
    if item == "\u17cc":
        return 0  # robat sits on the base
    if item in SHIFTERS:
        return 3
    if item in (ZWNJ, ZWJ):
        return _JOINER
    if item in _VOWEL_RANK:
        return _VOWEL_RANK[item]
    if item in _SIGNS_AFTER:
        return 10
    return 9


def _reorder_cluster(m: re.Match[str]) -> str:
    return _reorder(m.group())


@functools.lru_cache(maxsize=1 << 16)
def _reorder(cluster: str) -> str:
    """One cluster in canonical order; cached, since a text repeats a small set of clusters."""
    items: list[str] = []
    ranks: list[int] = []
    i = 1
    while i < len(cluster):
        step = 2 if cluster[i] == COENG else 1
        item = cluster[i : i + step]
        rank = _rank(item)
        # A second non-RO subscript typed after a vowel (ក្នុ្ង, ថ្នា្ក) is a stray COENG, not a
        # misplaced subscript: end the cluster there and leave the rest as typed.
        if rank == _SUBSCRIPT and _SUBSCRIPT in ranks and max(ranks) > _JOINER:
            break
        items.append(item)
        ranks.append(rank)
        i += step
    rest = cluster[i:]
    if ranks == sorted(ranks) and ranks.count(_JOINER) <= 1:
        return cluster
    order = sorted(range(len(items)), key=lambda k: ranks[k])  # stable: typed order within a rank
    joiners = [k for k in order if ranks[k] == _JOINER][1:]  # one joiner per cluster is all that can matter
    return cluster[0] + "".join(items[k] for k in order if k not in joiners) + rest


def reorder_clusters(text: str) -> str:
    """Put every Khmer cluster into the canonical order in the module docstring.

    A cluster is a base followed by its subscripts (COENG + consonant), vowels, signs and joiners.
    A COENG not followed by a consonant ends the cluster and is left where it is, so broken input
    is never rearranged across it; so does a ZWNJ/ZWJ not followed by a vowel, and a second
    non-RO subscript typed after a vowel (a stray COENG: ក្នុ្ង is left alone, not made ក្ន្ងុ).
    Extra ZWNJ/ZWJ inside one cluster are dropped (one can matter).
    Example: ខែ្មរ (vowel typed before the subscript) -> ខ្មែរ; ម៉្យាង (shifter before the subscript) -> ម្យ៉ាង.
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
# Split vowels typed as their visual parts: E + II looks like OE, E + AA looks like OO. A below
# vowel may sit between the parts once a cluster is in canonical order (E, U, II for ស៊ើ typed as
# សុេី); it moves in front of the composed vowel, where the shifter rule below can see it.
_SPLIT_VOWELS = re.compile("\u17c1([\u17bb-\u17bd]?)([\u17b8\u17b6])")
_COMPOSED = {"\u17b8": "\u17be", "\u17b6": "\u17c4"}
_DOUBLE_COENG = re.compile(f"{COENG}{{2,}}")
_REPEATED_MARK = re.compile(f"([{_VOWELS}{SHIFTERS}\u17cc{_SIGNS_ABOVE}{_SIGNS_AFTER}])\\1+")
# Vowel U (U+17BB) under a cluster with an above vowel (or AA + NIKAHIT, or SAMYOK SANNYA) looks
# exactly like a register shifter, which is drawn as a U-shape in that position, so users type U:
# សុី for ស៊ី, ញុាំ for ញ៉ាំ. U + NIKAHIT alone (ខ្ញុំ) is a real vowel and is left alone. The shifter
# is the one the cluster can take: MUUSIKATOAN when it holds BA or only sonorants (ង ញ ណ ន ប ម យ
# រ ល វ ឡ, which are o-series or BA), TRIISAP otherwise; it goes after the subscripts.
_SONORANTS = "\u1784\u1789\u178e\u1793\u1794\u1798\u1799\u179a\u179b\u179c\u179d\u17a1"
_ABOVE = "(?:[\u17b7-\u17ba\u17be\u17bf\u17dd\u17d0]|\u17b6\u17c6)"
# In canonical order OE (a pre vowel) comes before U: ស + OE + U is the same ស៊ើ.
_U_AS_SHIFTER = re.compile(
    f"([{_BASES}]\u17cc?(?:{COENG}[{_BASES}])*)(?:([\u17c1-\u17c5]?)\u17bb(?={_ABOVE})|(\u17be)\u17bb)")


def _u_to_shifter(m: re.Match[str]) -> str:
    return m.group(1) + _shifter_for(m.group(1)) + (m.group(2) or m.group(3) or "")


def _shifter_for(cluster: str) -> str:
    consonants = [c for c in cluster if _is_base(c)]
    if "\u1794" in consonants or all(c in _SONORANTS or c > "\u17a2" for c in consonants):
        return "\u17c9"
    return "\u17ca"


def fix_misencodings(text: str, *, coeng_da_to_ta: bool = True) -> str:
    """Repair encodings that render like correct Khmer but are different code points.

    - deprecated characters: U+17A3 -> U+17A2, U+17A4 -> U+17A2 U+17B6, U+17B4/U+17B5 removed,
      U+17D8 -> ។ល។ (U+17D4 U+179B U+17D4);
    - split vowels: E + II -> OE (U+17BE), E + AA -> OO (U+17C4); OE + AA, drawn like OO + II,
      becomes OO + II (as in khmerspell's khnormal);
    - doubled COENG and the same mark typed twice in a row (ទប់់ -> ទប់) collapse to one;
    - vowel U typed for a register shifter (សុី -> ស៊ី, អីុ -> អ៊ី, ញុាំ -> ញ៉ាំ, ស្រុី -> ស្រ៊ី);
    - `coeng_da_to_ta`: subscript DA -> subscript TA (្ដ -> ្ត). The two are drawn alike and typed
      interchangeably (កណ្ដាល / កណ្តាល), so SIL's khnormal merges them; pass False to keep them apart.
    Khmer and Latin digits are left as they are: mixing them is a style choice, not an error.
    The U rule expects canonical order (`reorder_clusters`) to see every typing order.
    """
    text = text.translate(_DEPRECATED)
    text = _DOUBLE_COENG.sub(COENG, text)
    text = _SPLIT_VOWELS.sub(lambda m: _COMPOSED[m.group(2)] + m.group(1), text)
    text = text.replace("\u17be\u17b6", "\u17c4\u17b8")  # OE + AA is drawn as OO + II: one spelling
    text = _REPEATED_MARK.sub(r"\1", text)
    text = _U_AS_SHIFTER.sub(_u_to_shifter, text)
    if coeng_da_to_ta:
        text = text.replace(COENG + "\u178a", COENG + "\u178f")
    return text


def normalize_khmer(text: str, *, keep_word_zwsp: bool = True, coeng_da_to_ta: bool = True) -> str:
    """`normalize_text`, then zero-width cleanup, misencoding fixes and canonical cluster order.

    Whitespace is tidied again after zero-width removal (which can leave two spaces touching).
    Deprecated letters and doubled COENG are fixed before reordering, the other repairs after it
    (on canonical order, so every typing order gets the same repair), then clusters are reordered
    once more (a repair can put a shifter before a pre vowel). The result is NFC: NFC
    moves COENG (combining class 9) before ATTHACAN (230), so in that rare case the Khmer steps run
    again until nothing changes. Idempotent. `coeng_da_to_ta`: see `fix_misencodings`.
    """
    text = normalize_text(text)
    for _ in range(8):
        before = text
        text = normalize_whitespace(remove_zero_width(text, keep_word_zwsp=keep_word_zwsp))
        # Deprecated letters and doubled COENG first (a doubled COENG would split a cluster), then
        # canonical order, so that the repairs below see one order whatever order was typed.
        text = _DOUBLE_COENG.sub(COENG, text.translate(_DEPRECATED))
        text = fix_misencodings(reorder_clusters(text), coeng_da_to_ta=coeng_da_to_ta)
        text = unicodedata.normalize("NFC", reorder_clusters(text))
        if text == before:
            break
    return text
