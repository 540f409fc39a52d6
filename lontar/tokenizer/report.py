"""Fertility: how many tokens a tokenizer spends on a language's text.

Tokens per character and bytes per token are tokenizer-independent ways to see the cost a
tokenizer imposes on Khmer; byte-fallback and unknown rates show how much text it cannot represent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


def fertility(tokenizer: Any, texts: Iterable[str], batch_size: int = 1000) -> dict[str, float | int]:
    byte_ids = {i for tok, i in tokenizer.get_vocab().items() if _BYTE_PIECE.match(tok)}
    unk = tokenizer.unk_token_id
    docs = chars = nbytes = tokens = byte_tokens = unk_tokens = 0
    batch: list[str] = []

    def flush() -> None:
        nonlocal tokens, byte_tokens, unk_tokens
        for ids in tokenizer(batch, add_special_tokens=False, split_special_tokens=True)["input_ids"]:
            tokens += len(ids)
            byte_tokens += sum(i in byte_ids for i in ids)
            unk_tokens += sum(i == unk for i in ids)
        batch.clear()

    for text in texts:
        docs += 1
        chars += len(text)
        nbytes += len(text.encode("utf-8"))
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    if not tokens:
        raise ValueError("fertility needs at least one non-empty text")
    return {
        "docs": docs, "chars": chars, "bytes": nbytes, "tokens": tokens,
        "tokens_per_char": round(tokens / chars, 4),
        "bytes_per_token": round(nbytes / tokens, 4),
        "byte_fallback_rate": round(byte_tokens / tokens, 6),
        "unk_rate": round(unk_tokens / tokens, 6),
    }
