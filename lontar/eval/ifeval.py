"""Instruction following with programmatic checks (IFEval's instruction ids), for any script.

Google's IFEval (and lm-eval's `ifeval` task) counts words by whitespace and sentences by Latin full
stops, so "answer in at least 100 words" is unmeasurable in Khmer, Lao, Thai or Burmese. Here every
count goes through `lontar.langs`: words are the language's units (`units`: syllables where the
script writes no spaces, whitespace words elsewhere), sentences end at the script's own full stops
(`Lang.sentence_end`, and a space in Thai and Lao: `sentence_pattern`), and "respond in language X"
is the share of letters in X's script.

An item carries IFEval's fields: `instruction_id_list` (e.g. `length_constraints:number_words`) and
`kwargs` (one dict per instruction, IFEval's argument names). Each instruction is checked `strict`
(the response as written) and `loose` (IFEval's loose variants: also without its first line, its last
line, or markdown asterisks; any passing counts). An instruction id this module does not know is a
DataError naming it: a silently skipped check would inflate the score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lontar.errors import DataError
from lontar.langs import get_lang, script_share, sentence_pattern
from lontar.text.syllables import units


def _compare(value: int, relation: str, n: int) -> bool:
    if relation in ("less than", "less_than"):
        return value < n
    if relation in ("at least", "at_least"):
        return value >= n
    raise DataError(f"ifeval: relation {relation!r}: use 'less than' or 'at least'")


def count_words(text: str, lang: str) -> int:
    return len([u for u in units(text, lang) if any(ch.isalnum() for ch in u)])


def count_sentences(text: str, lang: str) -> int:
    return len([s for s in re.split(sentence_pattern(lang), text) if any(ch.isalnum() for ch in s)])


Check = Callable[[str, Mapping[str, Any], str, str], bool]


def _number_paragraphs(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    parts = [p.strip() for p in re.split(r"\s?\*\*\*\s?", r)]
    if any(not p for p in parts[1:-1]) or not parts[0] and len(parts) > 1:
        return False
    return len([p for p in parts if p]) == int(kw["num_paragraphs"])


def _nth_paragraph(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    parts = [p for p in re.split(r"\n\s*\n", r.strip()) if p.strip()]
    n, i = int(kw["num_paragraphs"]), int(kw["nth_paragraph"])
    if len(parts) != n or i > n:
        return False
    first = parts[i - 1].strip()
    return first.lower().startswith(str(kw["first_word"]).lower())


def _bullets(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    n = len(re.findall(r"^\s*\*[^\*].*$", r, flags=re.M)) + len(re.findall(r"^\s*-.*$", r, flags=re.M))
    return n == int(kw["num_bullets"])


def _sections(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    splitter = str(kw["section_spliter"]).strip()
    return len(re.split(r"\s?" + re.escape(splitter) + r"\s?\d+\s?", r)) - 1 >= int(kw["num_sections"])


def _highlighted(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    n = sum(1 for h in re.findall(r"\*[^\n\*]*\*", r) if h.strip("*").strip())
    n += sum(1 for h in re.findall(r"\*\*[^\n\*]*\*\*", r) if h.removeprefix("**").removesuffix("**").strip())
    return n >= int(kw["num_highlights"])


def _json(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    body = r.strip().removeprefix("```json").removeprefix("```Json").removeprefix("```JSON").removeprefix("```")
    try:
        json.loads(body.removesuffix("```").strip())
    except ValueError:
        return False
    return True


def _title(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return any(t.strip() for t in re.findall(r"<<[^\n]+>>", r))


def _keywords(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return all(k.lower() in r.lower() for k in kw["keywords"])


def _forbidden(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    # Whole words where the script has spaces; substrings where it has none (no boundaries to match).
    if get_lang(lang).uses_spaces:
        return not any(re.search(r"\b" + re.escape(w) + r"\b", r, flags=re.I) for w in kw["forbidden_words"])
    return not any(w in r for w in kw["forbidden_words"])


def _frequency(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    word = str(kw["keyword"])
    n = len(re.findall(re.escape(word), r, flags=re.I))
    return _compare(n, str(kw["relation"]), int(kw["frequency"]))


def _letters(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    n = r.lower().count(str(kw["letter"]).lower())
    return _compare(n, str(kw["let_relation"]), int(kw["let_frequency"]))


def _words(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return _compare(count_words(r, lang), str(kw["relation"]), int(kw["num_words"]))


def _sentences(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return _compare(count_sentences(r, lang), str(kw["relation"]), int(kw["num_sentences"]))


def _placeholders(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return len(re.findall(r"\[.*?\]", r)) >= int(kw["num_placeholders"])


def _postscript(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    marker = str(kw["postscript_marker"]).strip()
    pattern = r"\s*p\.\s?p\.\s?s.*$" if marker.lower() == "p.p.s" else (
        r"\s*p\.\s?s\..*$" if marker.lower() == "p.s." else r"\s*" + re.escape(marker) + r".*$")
    return bool(re.findall(pattern, r, flags=re.I | re.M))


def _end(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return r.strip().strip('"').lower().endswith(str(kw["end_phrase"]).strip().lower())


def _quotation(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    s = r.strip()
    return len(s) > 1 and (s[0], s[-1]) in {('"', '"'), ("“", "”"), ("«", "»"), ("「", "」")}


def _no_comma(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return not any(c in r for c in ",，、")  # Latin, full-width and ideographic commas


def _lowercase(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return r == r.lower()


def _uppercase(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return r == r.upper()


def _capital_words(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    n = sum(1 for w in r.split() if w.isupper())
    return _compare(n, str(kw["capital_relation"]), int(kw["capital_frequency"]))


def _language(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    """Most letters in the asked language's script. Latin-script languages cannot be told apart this
    way (Indonesian from Malay): there the check passes on script alone, and says so in its name."""
    try:
        lang_asked = get_lang(str(kw["language"]))
    except ValueError as e:
        raise DataError(f"ifeval: language:response_language: {e}") from None
    return script_share(r, lang_asked) >= 0.5


def _repeat(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    return r.strip().lower().startswith(str(kw["prompt_to_repeat"]).strip().lower())


def _two_responses(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    parts = [p.strip() for p in r.split("******")]
    return len(parts) == 2 and all(parts) and parts[0] != parts[1]


def _constrained(r: str, kw: Mapping[str, Any], lang: str, prompt: str) -> bool:
    options = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
    return any(o in r.strip() for o in options)


CHECKS: dict[str, Check] = {
    "length_constraints:number_words": _words,
    "length_constraints:number_sentences": _sentences,
    "length_constraints:number_paragraphs": _number_paragraphs,
    "length_constraints:nth_paragraph_first_word": _nth_paragraph,
    "detectable_format:number_bullet_lists": _bullets,
    "detectable_format:multiple_sections": _sections,
    "detectable_format:number_highlighted_sections": _highlighted,
    "detectable_format:json_format": _json,
    "detectable_format:title": _title,
    "detectable_format:constrained_response": _constrained,
    "keywords:existence": _keywords,
    "keywords:forbidden_words": _forbidden,
    "keywords:frequency": _frequency,
    "keywords:letter_frequency": _letters,
    "detectable_content:number_placeholders": _placeholders,
    "detectable_content:postscript": _postscript,
    "startend:end_checker": _end,
    "startend:quotation": _quotation,
    "punctuation:no_comma": _no_comma,
    "change_case:english_lowercase": _lowercase,
    "change_case:english_capital": _uppercase,
    "change_case:capital_word_frequency": _capital_words,
    "language:response_language": _language,
    "combination:repeat_prompt": _repeat,
    "combination:two_responses": _two_responses,
}


def _loose_variants(r: str) -> list[str]:
    lines = r.split("\n")
    first, last = "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip()
    both = "\n".join(lines[1:-1]).strip()
    out = [r, first, last, both]
    return [v for x in out for v in (x, x.replace("*", ""))]


def check_item(response: str, instruction_ids: Sequence[str], kwargs: Sequence[Mapping[str, Any] | None],
               lang: str, prompt: str = "") -> dict[str, list[bool]]:
    """Per instruction: followed or not, `strict` and `loose`."""
    if len(kwargs) != len(instruction_ids):
        raise DataError(f"ifeval: {len(instruction_ids)} instructions but {len(kwargs)} kwargs entries")
    strict, loose = [], []
    variants = _loose_variants(response)
    for iid, kw in zip(instruction_ids, kwargs):
        check = CHECKS.get(iid)
        if check is None:
            raise DataError(f"ifeval: instruction {iid!r} has no check here (known: {', '.join(sorted(CHECKS))})")
        args = {k: v for k, v in (kw or {}).items() if v is not None}
        ok = bool(response.strip()) and check(response, args, lang, prompt)
        strict.append(ok)
        loose.append(ok or any(v.strip() and check(v, args, lang, prompt) for v in variants))
    return {"strict": strict, "loose": loose}
