"""Bits per byte: the score that compares models with different tokenizers fairly.

The summed negative log-likelihood of each document (in nats) is divided by ln 2 and by the
document's UTF-8 byte count, so a tokenizer that spends more tokens on Khmer gains nothing.
Each document is scored after the token it starts with in training (`document_start_id`: BOS where
the tokenizer has one, as Gemma and Llama were trained and as lm-evaluation-harness scores, else EOS);
a document longer than the window is scored in rolling windows that keep up to `max_length`
tokens of context, so every token is scored exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from tqdm import tqdm
from lontar.errors import InvalidInput

from lontar.train.packing import document_start_id

IGNORE = -100


def rolling_windows(ids: Sequence[int], prefix_id: int, max_length: int,
                    stride: int | None = None) -> list[tuple[list[int], list[int]]]:
    """`(input_ids, labels)` windows over `[prefix_id] + ids`; labels are the next tokens, IGNORE
    where a position is context already scored by an earlier window."""
    stride = stride or max(1, max_length // 2)
    if max_length < 1 or not 1 <= stride <= max_length:
        raise InvalidInput(f"need max_length >= 1 and 1 <= stride <= max_length, got {max_length}, {stride}")
    full = [prefix_id, *ids]
    windows, start = [], 1  # `start`: index in `full` of the first target not yet scored
    while start < len(full):
        end = min(len(full), start + stride)
        ctx = max(0, end - 1 - max_length)
        inputs, labels = full[ctx: end - 1], list(full[ctx + 1: end])
        n_context = len(labels) - (end - start)
        labels[:n_context] = [IGNORE] * n_context
        windows.append((inputs, labels))
        start = end
    return windows


@torch.no_grad()
def window_nll(model: Any, windows: list[tuple[list[int], list[int]]], *, batch_size: int, pad_id: int,
               device: torch.device | str, desc: str = "bpb", progress: bool = True) -> list[float]:
    """NLL (nats) summed over each window's labelled positions, in the windows' order.

    Windows are sorted by length so a batch pads little; right padding is never labelled.
    """
    order = sorted(range(len(windows)), key=lambda i: -len(windows[i][0]))
    out = [0.0] * len(windows)
    for b in tqdm(range(0, len(order), batch_size), desc=desc, mininterval=1.0, disable=not progress):
        rows = order[b: b + batch_size]
        batch = [windows[i] for i in rows]
        width = max(len(inp) for inp, _ in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (inp, lab) in enumerate(batch):
            input_ids[row, : len(inp)] = torch.tensor(inp)
            labels[row, : len(lab)] = torch.tensor(lab)
            attention[row, : len(inp)] = 1
        logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits.float()
        labels = labels.to(device)
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, ignore_index=IGNORE,
                                                reduction="none").sum(dim=1)
        for i, value in zip(rows, nll.tolist()):
            out[i] = value
    return out


def summed_nll(model: Any, windows: list[tuple[list[int], list[int]]], *, batch_size: int, pad_id: int,
               device: torch.device | str, desc: str = "bpb") -> tuple[float, int]:
    """Summed NLL (nats) over all labelled positions, and how many there were."""
    nll = window_nll(model, windows, batch_size=batch_size, pad_id=pad_id, device=device, desc=desc)
    return sum(nll), sum(sum(1 for x in lab if x != IGNORE) for _, lab in windows)


def document_nll(model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int, batch_size: int,
                 device: torch.device | str, desc: str = "bpb", progress: bool = True) -> tuple[list[float], list[int]]:
    """Per document: summed NLL (nats) of its tokens after its start token, and the token count."""
    prefix = document_start_id(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else prefix
    encoded = tokenizer(list(texts), add_special_tokens=False, split_special_tokens=True, verbose=False)["input_ids"]
    windows, owner = [], []
    for d, ids in enumerate(encoded):
        for w in rolling_windows(ids, prefix, max_length):
            windows.append(w)
            owner.append(d)
    per_window = window_nll(model, windows, batch_size=batch_size, pad_id=pad, device=device, desc=desc,
                            progress=progress)
    nll = [0.0] * len(texts)
    for d, value in zip(owner, per_window):
        nll[d] += value
    return nll, [len(ids) for ids in encoded]


def bits_per_byte(model: Any, tokenizer: Any, texts: Sequence[str], *, max_length: int, batch_size: int,
                  device: torch.device | str, desc: str = "bpb") -> dict[str, float | int]:
    """Bits per byte and per character of `texts` under `model` (lower is better)."""
    nll_docs, tok_docs = document_nll(model, tokenizer, texts, max_length=max_length, batch_size=batch_size,
                                      device=device, desc=desc)
    nll, tokens = sum(nll_docs), sum(tok_docs)
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    chars = sum(len(t) for t in texts)
    return {
        "bits_per_byte": nll / math.log(2) / nbytes,
        "bits_per_char": nll / math.log(2) / chars,
        "nll_per_token": nll / tokens,
        "docs": len(texts), "tokens": tokens, "bytes": nbytes, "chars": chars,
    }
