"""Instruction tuning data: chat or alpaca jsonl rendered with the tokenizer's chat template.

The loss covers the assistant turns only. Which characters belong to an assistant turn is read
from the template itself: the conversation up to a turn, rendered with the generation prompt, is a
prefix of the conversation including that turn, and the characters in between are the reply (with
the template's own end-of-turn marker). Tokens are labelled by their character offsets, so nothing
depends on how a response marker tokenizes in context (which breaks on Khmer, Thai, Lao, Burmese).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lontar.errors import LontarError
from lontar.train.packing import Segment

ROLES = ("system", "user", "assistant")


class ChatFormatError(LontarError, ValueError):
    """A record or the chat template cannot be used for instruction tuning; the message says which."""


def read_jsonl(pattern: str, limit: int | None = None) -> Iterator[tuple[str, int, dict[str, Any]]]:
    files = sorted(glob.glob(pattern, recursive=True))
    if not files:
        raise FileNotFoundError(f"no file matches '{pattern}'")
    n = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                if limit is not None and n >= limit:
                    return
                try:
                    yield path, lineno, json.loads(line)
                except json.JSONDecodeError as e:
                    raise ChatFormatError(f"{path}:{lineno}: not JSON ({e.msg})") from None
                n += 1


def to_messages(record: dict[str, Any], fmt: str = "auto") -> list[dict[str, str]]:
    """`messages` records ([{role, content}]) or alpaca records (instruction, input, output[, system])."""
    if fmt == "messages" or (fmt == "auto" and "messages" in record):
        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ChatFormatError("'messages' must be a non-empty list of {role, content}")
        out = []
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise ChatFormatError(f"bad message {m!r}: needs 'role' in {ROLES} and a string 'content'")
            out.append({"role": m["role"], "content": m["content"]})
        if not any(m["role"] == "assistant" for m in out):
            raise ChatFormatError("no assistant message: nothing to learn from")
        return out
    if fmt == "alpaca" or (fmt == "auto" and "instruction" in record):
        if not isinstance(record.get("output"), str) or not isinstance(record.get("instruction"), str):
            raise ChatFormatError("alpaca records need string 'instruction' and 'output'")
        prompt = record["instruction"]
        if record.get("input"):
            prompt += "\n\n" + record["input"]
        messages = [{"role": "system", "content": record["system"]}] if record.get("system") else []
        return [*messages, {"role": "user", "content": prompt}, {"role": "assistant", "content": record["output"]}]
    raise ChatFormatError("a record needs 'messages' (chat) or 'instruction' and 'output' (alpaca)")


def _render(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character spans of its assistant replies."""
    text = _render(tokenizer, messages, False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], True) if i else ""
        upto = _render(tokenizer, messages[: i + 1], False)
        if not (upto.startswith(before) and text.startswith(upto)):
            raise ChatFormatError("the chat template does not render a conversation's turns as prefixes of it "
                                  "(e.g. it rewrites earlier turns): assistant tokens cannot be located")
        spans.append((len(before), len(upto)))
    return text, spans


def chat_segment(tokenizer: Any, messages: list[dict[str, str]]) -> Segment:
    text, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = np.asarray(enc["input_ids"], dtype=np.int32)
    starts = np.asarray([s for s, _ in enc["offset_mapping"]], dtype=np.int64)
    loss = np.zeros(len(ids), dtype=bool)
    for a, b in spans:
        loss |= (starts >= a) & (starts < b)
    return Segment(ids, loss, nbytes=len(text.encode("utf-8")))


def chat_segments(tokenizer: Any, pattern: str, fmt: str = "auto", limit: int | None = None) -> Iterator[Segment]:
    if not getattr(tokenizer, "chat_template", None):
        raise ChatFormatError("the tokenizer has no chat template: set tokenizer.chat_template in the config "
                              "(model.tokenizer: run) or use a base whose tokenizer has one")
    for path, lineno, record in read_jsonl(pattern, limit):
        try:
            yield chat_segment(tokenizer, to_messages(record, fmt))
        except ChatFormatError as e:
            raise ChatFormatError(f"{Path(path).name}:{lineno}: {e}") from None
