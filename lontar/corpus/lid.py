"""Language identification: script share for scripts that name their language, lingua for the rest.

Khmer, Lao, Burmese, Thai, Chinese, Japanese and Korean are decided by the share of letters in
their script (spaces, digits, punctuation and symbols are not letters). Everything else, above all
the Latin-script languages of the region (vi, id, ms, tl) and English, goes to lingua
(`lingua-language-detector`, which ships its models in the wheel and runs offline), built only from
the languages this identifier needs: the ones asked for plus vi, id, ms, tl, en, so that a text in a
neighbouring language is named as such instead of being forced onto the expected one.

Build one `LanguageIdentifier` per process; the lingua detector is built lazily on the first text
that needs it and cached on the instance (pickling drops it, so an identifier handed to
`datasets.map(num_proc=N)` or ray builds one per worker). There is no module-level state.

Confidence: for a script language, its share of the letters; for a lingua language, lingua's
confidence times the share of letters that are not in a script language (so a Khmer page quoting
one English sentence is `km`, and an English sentence with a Khmer name keeps a slightly lower
confidence).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, Protocol

from lontar.errors import InvalidInput
from lontar.langs import LANGS, OTHER_SCRIPT_LETTER_WEIGHT, OTHER_SCRIPTS

# Script languages (registry `lid == "script"`): letters (and combining marks) in their ranges name
# the language. Kana and Hangul keep Japanese and Korean from being counted as Chinese or as unknown.
SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    **{code: lang.script_ranges for code, lang in LANGS.items() if lang.lid == "script"},
    "kana": OTHER_SCRIPTS["ja"], "ko": OTHER_SCRIPTS["ko"],
}
SCRIPT_LANGS = (*(code for code, lang in LANGS.items() if lang.lid == "script"), *OTHER_SCRIPTS)

# Always in the lingua detector, whatever is asked for: the registry's lingua-routed languages (the
# Latin-script languages of the region and English), which are each other's usual confusions.
DEFAULT_LINGUA_LANGS = tuple(code for code, lang in LANGS.items() if lang.lid == "lingua")

# Letters carry different amounts of text (registry `lid_letter_weight`, measured on parallel text):
# a Han character counts as about 3 English letters, kana and Hangul as 2, so a Chinese sentence
# quoting a few English names stays Chinese.
SCRIPT_WEIGHTS = {**{code: lang.lid_letter_weight for code, lang in LANGS.items() if lang.lid == "script"},
                  "kana": OTHER_SCRIPT_LETTER_WEIGHT, "ko": OTHER_SCRIPT_LETTER_WEIGHT}

# A Latin word that starts with a capital or a digit (Manchester, FC, U23)
# inside text of a script language is a name or an acronym: it says nothing about the language, so
# it is left out of the share that goes to lingua.
_NAME = re.compile(r"(?<![^\W\d_])[A-Z0-9][\w'’.&-]*")

# Japanese: Han text with at least this share of kana among its CJK letters.
_KANA_SHARE_FOR_JA = 0.05

# Letters in Python's sense (Unicode categories L*): the word class minus digits and underscore.
_ALPHA = re.compile(r"[^\W\d_]")


def _letter_class(ranges: tuple[tuple[int, int], ...], categories: str = "LM") -> re.Pattern[str]:
    """A regex class of the characters in `ranges` whose Unicode category starts with one of
    `categories` (by default letters and combining marks: digits, punctuation, symbols dropped)."""
    parts: list[str] = []
    start = prev = None
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            if cp > sys.maxunicode:
                break
            if unicodedata.category(chr(cp))[0] in categories:
                if prev is not None and cp == prev + 1:
                    prev = cp
                    continue
                if start is not None:
                    parts.append(_span(start, prev))
                start = prev = cp
    if start is not None:
        parts.append(_span(start, prev))
    return re.compile("[" + "".join(parts) + "]")


def _span(a: int, b: int) -> str:
    return re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"


class _Detector(Protocol):  # the part of lingua's LanguageDetector used here
    def compute_language_confidence_values(self, text: str) -> list[Any]: ...


class LanguageIdentifier:
    """Names the language of a text with a confidence in [0, 1].

    `languages`: ISO 639-1 codes this identifier must know. Script languages (km, lo, my, th, zh,
    ja, ko) are always recognised, at no cost; every other code must be one lingua knows and joins
    vi, id, ms, tl, en in the lingua detector.
    `low_accuracy`: lingua's low accuracy mode (trigrams only): a 25 MB instead of 106 MB process and
    a 0.03 s instead of 0.36 s first call, about 1.4x the speed, but 5-8 points worse on Indonesian
    and Malay questions (benchmarks/lid_accuracy.py). High accuracy is the default.
    `preload`: load lingua's models when the detector is built rather than on first use.
    """

    def __init__(self, languages: Sequence[str], *, low_accuracy: bool = False, preload: bool = False) -> None:
        if isinstance(languages, str):
            raise TypeError("languages must be a sequence of codes, not one string")
        self.languages = tuple(dict.fromkeys(code.strip().lower() for code in languages))
        self.low_accuracy = low_accuracy
        self.preload = preload
        self.lingua_languages = tuple(dict.fromkeys(
            [c for c in DEFAULT_LINGUA_LANGS] + [c for c in self.languages if c not in SCRIPT_LANGS]))
        self._lingua_codes = self._check_lingua_codes(self.lingua_languages)
        self._scripts = {name: _letter_class(ranges) for name, ranges in SCRIPT_RANGES.items()}
        # Combining marks of these scripts (Khmer and Burmese vowel signs...): letters here, though
        # Python's alphabetic class leaves them out.
        all_ranges = tuple(r for rs in SCRIPT_RANGES.values() for r in rs)
        self._script_marks = _letter_class(all_ranges, "M")
        # Runs of script-language letters, blanked out before the rest of a mixed text goes to lingua.
        self._script_runs = re.compile(_letter_class(all_ranges).pattern + "+")
        self._any_script = _letter_class(all_ranges)
        self._detector: _Detector | None = None
        if preload:
            self.detector  # noqa: B018 - build now

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for datasets.map(num_proc=N) and ray: the lingua detector (a Rust object) is not
        # sent; each worker builds its own on first use.
        state = self.__dict__.copy()
        state["_detector"] = None
        return state

    @staticmethod
    def _check_lingua_codes(codes: Sequence[str]) -> dict[str, Any]:
        from lingua import Language

        known = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise InvalidInput(f"language identification does not know {', '.join(unknown)}: use a script language "
                             f"({', '.join(SCRIPT_LANGS)}) or one of lingua's codes ({', '.join(sorted(known))})")
        return {c: known[c] for c in codes}

    @property
    def detector(self) -> _Detector:
        """The lingua detector, built on first use from `lingua_languages` only."""
        if self._detector is None:
            from lingua import LanguageDetectorBuilder

            builder = LanguageDetectorBuilder.from_languages(*self._lingua_codes.values())
            if self.low_accuracy:
                builder = builder.with_low_accuracy_mode()
            if self.preload:
                builder = builder.with_preloaded_language_models()
            self._detector = builder.build()
        return self._detector

    # -- script share -------------------------------------------------------------------------
    def script_shares(self, text: str) -> tuple[dict[str, float], float]:
        """Weighted share of letters per script language (see SCRIPT_WEIGHTS), and the share left for
        lingua (letters of every other script, Latin above all)."""
        if not self._any_script.search(text):  # fast path: most Latin-script text
            return {}, (1.0 if _ALPHA.search(text) else 0.0)
        counts = {name: len(rx.findall(text)) for name, rx in self._scripts.items()}
        in_scripts = sum(counts.values())
        names = sum(len(_ALPHA.findall(m)) for m in _NAME.findall(text))
        other = max(0, len(_ALPHA.findall(text)) + len(self._script_marks.findall(text)) - in_scripts - names)
        weighted = {name: n * SCRIPT_WEIGHTS.get(name, 1.0) for name, n in counts.items() if n}
        kana = weighted.pop("kana", 0.0)
        if kana and counts["kana"] >= _KANA_SHARE_FOR_JA * (counts["zh"] + counts["kana"]):
            weighted["ja"] = weighted.pop("zh", 0.0) + kana
        elif kana:
            weighted["zh"] = weighted.get("zh", 0.0) + kana
        total = other + sum(weighted.values())
        shares = {k: v / total for k, v in weighted.items()}
        return shares, other / total

    # -- identification -----------------------------------------------------------------------
    def identify(self, text: str) -> tuple[str | None, float]:
        """(language code, confidence); (None, 0.0) when the text has no letters or no known language."""
        decided, rest, shares = self._by_script(text)
        if decided is not None:
            return decided
        values = self.detector.compute_language_confidence_values(self._for_lingua(text, shares))
        return self._from_lingua(values, rest, shares)

    def identify_batch(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        """`identify` over many texts, one at a time.

        Deliberately not lingua's multi-threaded batch call: its rayon thread pool, once started,
        does not survive a fork, so a corpus run that used it in the parent and then forked
        `datasets.map(num_proc=N)` workers deadlocked. Parallelism comes from the workers instead
        (the batch call gave no speed-up on 2 cores either).
        """
        return [self.identify(text) for text in texts]

    def _by_script(self, text: str) -> tuple[tuple[str | None, float] | None, float, dict[str, float]]:
        """(decision, share left for lingua, script shares): a decision when a script language holds
        at least as many (weighted) letters as the rest, or when there are no letters at all."""
        shares, rest = self.script_shares(text)
        if not shares and rest == 0.0:
            return (None, 0.0), 0.0, shares
        if shares:
            lang, share = max(shares.items(), key=lambda kv: kv[1])
            if share >= rest:
                return (lang, round(share, 4)), rest, shares
        return None, rest, shares

    def _for_lingua(self, text: str, shares: dict[str, float]) -> str:
        """The text lingua judges: script-language letters blanked out, so that lingua (which names a
        text by any unique script it sees) scores the remaining words only."""
        return self._script_runs.sub(" ", text) if shares else text

    @staticmethod
    def _from_lingua(values: list[Any], rest: float, shares: dict[str, float]) -> tuple[str | None, float]:
        if not values or values[0].value <= 0.0:
            if shares:  # nothing lingua knows: fall back on the largest script language
                lang, share = max(shares.items(), key=lambda kv: kv[1])
                return lang, round(share, 4)
            return None, 0.0
        top = values[0]
        return top.language.iso_code_639_1.name.lower(), round(top.value * rest, 4)


def lid_reasons(batch: dict[str, list], expected_lang: str, threshold: float,
                identifier: LanguageIdentifier, *, also_accept: Sequence[str] = ()) -> list[str | None]:
    """Why each record fails language identification, or None when it is `expected_lang` (or one of
    `also_accept`, e.g. "ms" for an "id" corpus) with confidence >= `threshold`."""
    accept = {expected_lang, *also_accept}
    reasons: list[str | None] = []
    for lang, conf in identifier.identify_batch(batch["text"]):
        if lang in accept and conf >= threshold:
            reasons.append(None)
        else:
            reasons.append(f"lid: {lang or 'unknown'} ({conf:.2f}; expected {expected_lang} >= {threshold:.2f})")
    return reasons
