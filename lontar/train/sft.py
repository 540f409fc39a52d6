"""Instruction tuning data: chat, sharegpt or alpaca jsonl rendered with a chat template.

The loss covers the assistant turns only. Which characters belong to an assistant turn is read
from the template itself: the conversation up to a turn, rendered with the generation prompt, is a
prefix of the conversation including that turn, and the characters in between are the reply (with
the template's own end-of-turn marker). Tokens are labelled by their character offsets, so nothing
depends on how a response marker tokenizes in context (which breaks on Khmer, Thai, Lao, Burmese).

A record that cannot be used (not JSON, not the format, no assistant turn, longer than a block) is
set aside with its reason and raw text, and counted; it never stops the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lontar.errors import LontarError, MissingInput
from lontar.fields import get_field
from lontar.train.packing import Segment
from lontar.records import expand_glob

ROLES = ("system", "user", "assistant")


class ChatFormatError(LontarError, ValueError):
    """A record or the chat template cannot be used for instruction tuning; the message says which."""


def read_records(pattern: str, limit: int | None = None) -> Iterator[tuple[str, int, Any, str]]:
    """(file, line, parsed record or the ChatFormatError of an unparsable line, raw line) per non-empty line."""
    files = sorted(expand_glob(pattern))
    if not files:
        raise MissingInput(f"no file matches '{pattern}'")
    n = 0
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                if limit is not None and n >= limit:
                    return
                try:
                    record: Any = json.loads(line)
                except json.JSONDecodeError as e:
                    record = ChatFormatError(f"not JSON ({e.msg})")
                yield path, lineno, record, line.rstrip("\n")
                n += 1


def read_jsonl(pattern: str, limit: int | None = None) -> Iterator[tuple[str, int, dict[str, Any]]]:
    for path, lineno, record, _ in read_records(pattern, limit):
        if isinstance(record, ChatFormatError):
            raise ChatFormatError(f"{path}:{lineno}: {record}")
        yield path, lineno, record


def read_hub_records(dataset: str, config: str | None = None, split: str = "train", revision: str | None = None,
                     limit: int | None = None) -> Iterator[tuple[str, int, Any, str]]:
    """(data set label, row number, record, raw JSON) per row of a Hugging Face dataset (hub id or local
    directory), streamed: an instruction set's first `limit` rows need not be downloaded whole."""
    import datasets

    label = dataset + (f"/{config}" if config else "") + f"[{split}]"
    try:
        rows = datasets.load_dataset(dataset, name=config, split=split, revision=revision, streaming=True)
    except (OSError, ValueError, ConnectionError) as e:  # offline, no such dataset/config/split, a bad folder
        raise MissingInput(f"chat dataset {label}: cannot load it: {type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''}") from None
    for i, row in enumerate(rows):
        if limit is not None and i >= limit:
            return
        yield label, i + 1, row, json.dumps(row, ensure_ascii=False, default=str)


def renamed(record: Any, columns: dict[str, str | list[str]]) -> Any:
    """A record with lontar's keys read from the data set's own columns: a column name or dotted path
    (`{instruction: inputs}`, `{output: label}`), or a list of them joined by newlines
    (`{instruction: [prompts.0.question, prompts.0.option_a]}`). A key whose column is missing stays unset."""
    if not columns or not isinstance(record, dict):
        return record
    out = dict(record)
    for key, cols in columns.items():
        parts = [get_field(record, c) for c in ([cols] if isinstance(cols, str) else cols)]
        if all(isinstance(p, str) for p in parts):
            out[key] = "\n".join(parts)
    return out


SHAREGPT_ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "bot": "assistant", "model": "assistant"}


def _checked(out: list[dict[str, str]]) -> list[dict[str, str]]:
    if not any(m["role"] == "assistant" for m in out):
        raise ChatFormatError("no assistant message: nothing to learn from")
    return out


def to_messages(record: dict[str, Any], fmt: str = "auto") -> list[dict[str, str]]:
    """`messages` records ([{role, content}]), sharegpt records (`conversations`: [{from, value}]) or alpaca
    records (instruction, input, output[, system]) as a list of {role, content}."""
    if not isinstance(record, dict):
        raise ChatFormatError("a record must be a JSON object")
    if fmt == "messages" or (fmt == "auto" and "messages" in record):
        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ChatFormatError("'messages' must be a non-empty list of {role, content}")
        out = []
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise ChatFormatError(f"bad message {m!r}: needs 'role' in {ROLES} and a string 'content'")
            out.append({"role": m["role"], "content": m["content"]})
        return _checked(out)
    if fmt == "sharegpt" or (fmt == "auto" and "conversations" in record):
        turns = record.get("conversations")
        if not isinstance(turns, list) or not turns:
            raise ChatFormatError("'conversations' must be a non-empty list of {from, value}")
        out = [{"role": "system", "content": record["system"]}] if isinstance(record.get("system"), str) else []
        for m in turns:
            if not isinstance(m, dict) or m.get("from") not in SHAREGPT_ROLES or not isinstance(m.get("value"), str):
                raise ChatFormatError(f"bad turn {m!r}: needs 'from' in {sorted(SHAREGPT_ROLES)} and a string 'value'")
            out.append({"role": SHAREGPT_ROLES[m["from"]], "content": m["value"]})
        return _checked(out)
    if fmt == "alpaca" or (fmt == "auto" and "instruction" in record):
        if not isinstance(record.get("output"), str) or not isinstance(record.get("instruction"), str):
            raise ChatFormatError("alpaca records need string 'instruction' and 'output'")
        prompt = record["instruction"]
        if record.get("input"):
            prompt += "\n\n" + record["input"]
        messages = [{"role": "system", "content": record["system"]}] if record.get("system") else []
        return [*messages, {"role": "user", "content": prompt}, {"role": "assistant", "content": record["output"]}]
    raise ChatFormatError("a record needs 'messages' (chat), 'conversations' (sharegpt) or 'instruction' and "
                          "'output' (alpaca)")


_CHATML = ("{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
           "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
CHAT_TEMPLATES: dict[str, str] = {
    "chatml": _CHATML,
    "qwen": _CHATML,  # Qwen2/2.5/3 chat turns are ChatML
    "llama3": ("{{ '<|begin_of_text|>' }}{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + "
               "'<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}{% endfor %}{% if add_generation_prompt %}"
               "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    # Gemma has no system turn: a system message opens the first user turn.
    "gemma": ("{{ '<bos>' }}{% set sys = messages[0]['content'] + '\n\n' if messages and messages[0]['role'] == 'system' "
              "else '' %}{% for m in messages if m['role'] != 'system' %}{% set role = 'model' if m['role'] == "
              "'assistant' else m['role'] %}{{ '<start_of_turn>' + role + '\n' + (sys if loop.first else '') + "
              "m['content'] + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}"
              "{{ '<start_of_turn>model\n' }}{% endif %}"),
}
ROLE_MARKERS: dict[str, list[str]] = {
    "chatml": ["<|im_start|>", "<|im_end|>"], "qwen": ["<|im_start|>", "<|im_end|>"],
    "llama3": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    "gemma": ["<bos>", "<start_of_turn>", "<end_of_turn>"],
}


def template_markers(tokenizer: Any, name: str) -> list[str]:
    """The role markers of the template a run trains with (lontar's default template's too)."""
    if name != "tokenizer":
        return list(ROLE_MARKERS[name])
    from lontar.config import DEFAULT_CHAT_TEMPLATE

    return ["<|system|>", "<|user|>", "<|assistant|>"] if tokenizer.chat_template == DEFAULT_CHAT_TEMPLATE else []


def _datasets(cfg: Any) -> list[Any]:
    """Every training data set of the run, over all its phases."""
    every = getattr(cfg.train, "all_datasets", None)
    return every() if callable(every) else list(cfg.train.datasets)


def chat_setup(tokenizer: Any, cfg: Any) -> list[str]:
    """For a run with chat data: its named template set on the tokenizer, and the template's role markers
    added as special tokens where the tokenizer splits them into pieces. Every stage loads the
    tokenizer through this, so train, eval and publish see the same ids. Returns the markers added."""
    if not any(d.type == "chat" for d in _datasets(cfg)):
        return []
    name = cfg.train.chat_template
    if name != "tokenizer":
        tokenizer.chat_template = CHAT_TEMPLATES[name]
    elif not getattr(tokenizer, "chat_template", None):
        return []  # refused with its reason when the chat data are read
    vocab = tokenizer.get_vocab()
    missing = [m for m in template_markers(tokenizer, name) if m not in vocab]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
    return missing


def marker_ids(tokenizer: Any, cfg: Any) -> list[int]:
    """Ids of the run's role markers: their embedding rows are trained like new tokens."""
    if not any(d.type == "chat" for d in _datasets(cfg)):
        return []
    vocab = tokenizer.get_vocab()
    return [vocab[m] for m in template_markers(tokenizer, cfg.train.chat_template) if m in vocab]


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


def chat_segments(tokenizer: Any, pattern: str | Iterable[tuple[str, int, Any, str]], fmt: str = "auto",
                  limit: int | None = None, block_size: int | None = None,
                  rejected: list[dict[str, Any]] | None = None, columns: dict[str, str | list[str]] | None = None
                  ) -> Iterator[Segment]:
    """Segments of the usable records (`pattern`: a jsonl glob, or records from `read_hub_records`); the
    others go to `rejected` ({file, line, reason, raw}) or, when it is None, raise `ChatFormatError` naming
    the file and line."""
    if not getattr(tokenizer, "chat_template", None):
        raise ChatFormatError("the tokenizer has no chat template: set train.chat_template or tokenizer.chat_template "
                              "in the config (model.tokenizer: run), or use a base whose tokenizer has one")
    records = read_records(pattern, limit) if isinstance(pattern, str) else pattern
    for path, lineno, record, raw in records:
        try:
            if isinstance(record, ChatFormatError):
                raise record
            seg = chat_segment(tokenizer, to_messages(renamed(record, columns or {}), fmt))
            if block_size is not None and len(seg.ids) > block_size:
                raise ChatFormatError(f"{len(seg.ids)} tokens, longer than train.block_size ({block_size})")
        except ChatFormatError as e:
            if rejected is None:
                raise ChatFormatError(f"{Path(path).name}:{lineno}: {e}") from None
            rejected.append({"file": Path(path).name, "line": lineno, "reason": str(e), "raw": raw[:20000]})
            continue
        yield seg
