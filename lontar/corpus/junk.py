"""Web junk inside documents, removed line by line (C4 and FineWeb style), before language ID and quality.

Crawled text carries what the page extractor left behind: raw HTML tags, runs of links, menus
("Home | News | Sport"), cookie banners, and navigation ("Read More", "Next: <title>"). Filters that
score whole documents let most of it through, because it is a small share of a long page. Here:

- HTML comments, `<script>`/`<style>` blocks and tags are removed and entities decoded, keeping the
  text between tags (a `<p>` around prose is markup, the prose is not);
- a run of two or more URLs is removed, and so is a line that is one URL;
- a navigation phrase (English ones and the language's own, from `lontar.langs`) cuts its line
  there: the prose before it stays, the teaser or title after it goes;
- menu lines (three or more short items between `|`, `»`, `›` or `•`, with no sentence end) and
  banner lines (cookies, "lorem ipsum", "enable JavaScript", "All rights reserved") are dropped;
- a sentence of `REPEAT_MIN_CHARS` or more that repeats an earlier sentence of the same document
  is removed (scrapers often store an article's body twice; the text is kept once, not the whole
  document thrown away by the repetition filters).

A document left empty, or losing more than `max_removed_char_frac` of its characters, is set aside
(mostly junk: what is left is a fragment). Every removal is counted for the data card.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from lontar.corpus.pipeline import Batch, StepOutput
from lontar.langs import EN_JUNK_LINE, EN_NAV, get_lang

_BLOCK = re.compile(r"<!--.*?-->|<(script|style|noscript)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!DOCTYPE[^>]*>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]{2,8});")
_URL = r"(?:https?://|www\.)[^\s<>\"'|]+"
_URL_RUN = re.compile(rf"{_URL}(?:[\s|,;·•»›-]*{_URL})+")
_ONE_URL_LINE = re.compile(rf"^[\s|,;·•»›-]*{_URL}[\s|,;·•»›-]*$")
_MENU_SEP = re.compile(r"\s[|»›•]\s|\s/\s")
_JUNK_LINE = re.compile("|".join(EN_JUNK_LINE), re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")


@lru_cache(maxsize=None)
def _nav(lang: str) -> re.Pattern[str]:
    """The language's navigation phrases and the English ones; Latin phrases only at a word start."""
    phrases = sorted({*EN_NAV, *get_lang(lang).nav_phrases}, key=len, reverse=True)
    parts = [(r"(?<![^\W_])" if p[0].isascii() else "") + re.escape(p) for p in phrases]
    return re.compile("|".join(parts))


def _menu(line: str, ends: str) -> bool:
    items = [x.strip() for x in _MENU_SEP.split(f" {line} ") if x.strip()]
    return len(items) >= 3 and all(len(x) <= 30 for x in items) and not line.rstrip().endswith(tuple(ends))


def clean_line(line: str, lang: str, counts: dict[str, int]) -> str:
    """The line without markup, link runs and navigation; "" when nothing of it is prose."""
    if "<" in line:
        new, n = _BLOCK.subn(" ", line)
        new, m = _TAG.subn(" ", new)
        if n + m:
            counts["html tags removed"] = counts.get("html tags removed", 0) + n + m
            line = new
    if "&" in line and _ENTITY.search(line):
        line = html.unescape(line)
    if ("http" in line or "www." in line):
        if _ONE_URL_LINE.match(line):
            counts["url lines removed"] = counts.get("url lines removed", 0) + 1
            return ""
        line, n = _URL_RUN.subn(" ", line)
        if n:
            counts["url runs removed"] = counts.get("url runs removed", 0) + n
    found = _nav(lang).search(line)
    if found:
        counts["navigation cut"] = counts.get("navigation cut", 0) + 1
        line = line[: found.start()]
    if _JUNK_LINE.search(line) or _menu(line, get_lang(lang).sentence_end + ".!?"):
        counts["banner or menu lines removed"] = counts.get("banner or menu lines removed", 0) + 1
        return ""
    line = _SPACES.sub(" ", line).strip()
    return line if any(ch.isalnum() for ch in line) else ""


REPEAT_MIN_CHARS = 30


@lru_cache(maxsize=None)
def _sentence_split(lang: str) -> re.Pattern[str]:
    """Split after the language's sentence ends (and ".!?"), keeping them with their sentence."""
    ends = re.escape("".join(sorted(set(get_lang(lang).sentence_end + ".!?"))))
    return re.compile(rf"(?<=[{ends}])\s+")


def drop_repeated_sentences(text: str, lang: str, counts: dict[str, int]) -> str:
    """The text with every sentence that repeats an earlier one (of REPEAT_MIN_CHARS or more) removed."""
    seen: set[str] = set()
    lines = []
    for line in text.split("\n"):
        kept = []
        for sentence in _sentence_split(lang).split(line):
            key = " ".join(sentence.split())
            if len(key) >= REPEAT_MIN_CHARS and key in seen:
                counts["repeated sentences removed"] = counts.get("repeated sentences removed", 0) + 1
                continue
            seen.add(key)
            kept.append(sentence)
        if kept or not line.strip():
            lines.append(" ".join(kept))
        else:
            counts["lines removed"] = counts.get("lines removed", 0) + 1
    return "\n".join(lines).strip("\n")


def clean_text(text: str, lang: str, counts: dict[str, int]) -> str:
    out = []
    for line in text.split("\n"):
        if not line.strip():
            out.append("")
            continue
        new = clean_line(line, lang, counts)
        if new:
            out.append(new)
        else:
            counts["lines removed"] = counts.get("lines removed", 0) + 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


def junk_step(batch: Batch, max_removed_char_frac: float) -> StepOutput:
    texts: list[str] = []
    reasons: list[str | None] = []
    counts: dict[str, int] = {}
    for text, lang in zip(batch["text"], batch["lang"]):
        new = clean_text(text, lang, counts) if _maybe_junk(text, lang) else text
        new = drop_repeated_sentences(new, lang, counts) if len(new) >= 2 * REPEAT_MIN_CHARS else new
        removed = 1 - len(new) / len(text) if text else 0.0
        if text and not new.strip():
            reasons.append("junk: only markup, links or navigation")
        elif removed > max_removed_char_frac:
            reasons.append(f"junk: mostly markup, links or navigation ({removed:.2f} > {max_removed_char_frac})")
        else:
            reasons.append(None)
        texts.append(new)
    return texts, reasons, counts


def _maybe_junk(text: str, lang: str) -> bool:
    """Cheap pre-check: most documents hold none of the markers, and keep their text as it is."""
    return ("<" in text or "&" in text or "http" in text or "www." in text or " | " in text or " / " in text
            or "»" in text or "›" in text or "•" in text or bool(_nav(lang).search(text))
            or bool(_JUNK_LINE.search(text)))
