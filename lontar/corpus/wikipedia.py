"""A streaming reader of MediaWiki XML dumps (`*-pages-articles.xml.bz2`).

Pages are parsed one at a time with `iterparse` and cleared once read, so a multi-GB dump runs in
constant memory. Wiki markup is removed with mwparserfromhell; links to files and categories (named
in the dump's own language, read from its `<siteinfo>`) are dropped rather than kept as text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import IO, Any

import mwparserfromhell

FILE_NS, CATEGORY_NS = "6", "14"
_BLANK_LINES = re.compile(r"\n{3,}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(elem: ET.Element, name: str) -> str | None:
    for child in elem:
        if _local(child.tag) == name:
            return child.text
    return None


def clean_wikitext(text: str, drop_prefixes: tuple[str, ...]) -> str:
    """Plain text of an article: templates, tags, tables, file and category links removed."""
    code = mwparserfromhell.parse(text)
    for link in code.filter_wikilinks(recursive=False):
        title = str(link.title).strip().lstrip(":").lower()
        if title.startswith(drop_prefixes):
            try:
                code.remove(link)
            except ValueError:
                pass
    for tag in code.filter_tags(recursive=False):
        if str(tag.tag).lower() in ("ref", "gallery", "table", "math", "references"):
            try:
                code.remove(tag)
            except ValueError:
                pass
    plain = code.strip_code(normalize=True, collapse=True)
    return _BLANK_LINES.sub("\n\n", plain).strip()


def iter_pages(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Yield `{"id", "title", "text", "error"}` per page; `error` says why a page is not an article."""
    drop = {"file:", "image:", "category:"}
    ns_name: dict[str, str] = {}
    root = None
    for event, elem in ET.iterparse(stream, events=("start", "end")):
        if event == "start":
            if root is None:
                root = elem
            continue
        tag = _local(elem.tag)
        if tag == "namespace":
            ns_name[elem.get("key", "")] = (elem.text or "").strip()
        elif tag == "namespaces":
            drop |= {ns_name[k].lower() + ":" for k in (FILE_NS, CATEGORY_NS) if ns_name.get(k)}
        elif tag == "page":
            title = _child_text(elem, "title") or ""
            page_id = _child_text(elem, "id") or "?"
            ns = _child_text(elem, "ns") or "0"
            is_redirect = any(_local(c.tag) == "redirect" for c in elem)
            revision = next((c for c in elem if _local(c.tag) == "revision"), None)
            raw = (_child_text(revision, "text") if revision is not None else None) or ""
            error = ""
            text = ""
            if ns != "0":
                error = f"not an article (namespace {ns})"
            elif is_redirect:
                error = "redirect"
            else:
                text = clean_wikitext(raw, tuple(sorted(drop)))
                if not text:
                    error = "empty after markup removal"
            yield {"id": page_id, "title": title, "text": text, "error": error}
            elem.clear()
            if root is not None:
                root.clear()  # drop finished pages held by the root
