"""Normalization applied before anything counts or hashes text.

Foundation level: Unicode NFC, control characters and whitespace. Script-specific rules (Khmer
cluster order, Zawgyi, Thai/Lao sara am, Vietnamese tone placement) plug in here per language.
"""

from __future__ import annotations

import re
import unicodedata

# Every character that ends a line somewhere (CRLF, CR, VT, FF, the file/group/record separators,
# NEL, LINE and PARAGRAPH SEPARATOR: the set `str.splitlines` knows) becomes a newline. They must be
# mapped before the control characters are dropped: deleting one glues the words on either side
# together ("ខ្មែរ\rភាសា" would become one word in a script written without spaces).
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# C0/C1 controls except tab and newline; they break tokenizers and carry no text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANKS = re.compile(r"[ \t\u00a0\u3000]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def normalize_whitespace(text: str) -> str:
    """Collapse runs of spaces per line, trim lines, keep at most one blank line between paragraphs."""
    text = _LINE_BREAKS.sub("\n", text)
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def normalize_text(text: str) -> str:
    """NFC, line breaks of every kind as newlines, drop other control characters, tidy whitespace. Idempotent."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", _LINE_BREAKS.sub("\n", text))
    return normalize_whitespace(text)
