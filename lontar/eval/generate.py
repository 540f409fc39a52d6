"""Batched greedy generation with stop sequences and a token limit.

Prompts are sorted by length (long first) and left padded, so a batch pads little; each row stops at
its first stop sequence or after `max_new_tokens`. Stop sequences are matched by transformers'
`stop_strings` (on token ids, against tables precomputed once per vocabulary, so a stop string split
across tokens is found without decoding anything); only where a stop string could begin inside the
prompt (the prompt ends with a stop string's first characters) does a batch fall back to checking the
decoded new text, since `stop_strings` also looks at the prompt. The returned text is cut before the
stop sequence, so both paths return the same text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from tqdm import tqdm
from transformers import StoppingCriteria, StoppingCriteriaList

from lontar.eval.loglik import encode


class _StopOnText(StoppingCriteria):
    """Per row: done once the generated text contains a stop sequence."""

    def __init__(self, tokenizer: Any, prompt_width: int, stops: Sequence[str]):
        self.tokenizer, self.prompt_width, self.stops = tokenizer, prompt_width, [s for s in stops if s]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        if not self.stops:
            return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_width:], skip_special_tokens=True)
        return torch.tensor([any(s in t for s in self.stops) for t in texts], device=input_ids.device)


def stop_may_span(tokenizer: Any, rows: Sequence[Sequence[int]], stops: Sequence[str]) -> bool:
    """Whether some row's prompt ends with a proper prefix of a stop string (which `stop_strings`,
    matching across the prompt boundary, would complete early)."""
    longest = max((len(s) for s in stops), default=0)
    if longest <= 1:
        return False
    for row in rows:
        tail = tokenizer.decode(list(row[-longest:]), skip_special_tokens=False)
        if any(tail.endswith(s[:k]) for s in stops for k in range(1, len(s))):
            return True
    return False


def cut_at_stop(text: str, stops: Sequence[str]) -> str:
    cut = min((text.find(s) for s in stops if s and s in text), default=len(text))
    return text[:cut]


@torch.no_grad()
def greedy_generate(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int,
                    stop: Sequence[str] = (), batch_size: int = 8, max_length: int | None = None,
                    device: torch.device | str = "cpu", desc: str = "generate", progress: bool = True,
                    truncated: list[bool] | None = None) -> list[str]:
    """Greedy continuations of `prompts`, in order. A prompt longer than the window less
    `max_new_tokens` keeps its end (as lm-eval's `generate_until`); `truncated`, when given, receives
    one flag per prompt saying whether it was cut."""
    cfg = getattr(model, "config", None)
    window = max_length or getattr(cfg, "max_position_embeddings", None) or 2048
    room = max(1, window - max_new_tokens)
    full = [encode(tokenizer, p) for p in prompts]
    encoded = [ids[-room:] for ids in full]  # keep the end of an over-long prompt
    if truncated is not None:
        truncated.extend(len(ids) > room for ids in full)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    order = sorted(range(len(prompts)), key=lambda i: -len(encoded[i]))
    out: list[str] = [""] * len(prompts)
    for b in tqdm(range(0, len(order), batch_size), desc=desc, mininterval=1.0, disable=not progress):
        rows = [encoded[i] for i in order[b: b + batch_size]]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):  # left padding
            ids[r, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[r, width - len(row):] = 1
        stops = [s for s in stop if s]
        if stops and not stop_may_span(tokenizer, rows, stops):
            how: dict[str, Any] = {"stop_strings": stops, "tokenizer": tokenizer}
        else:
            how = {"stopping_criteria": StoppingCriteriaList([_StopOnText(tokenizer, width, stops)])}
        gen = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), do_sample=False,
                             max_new_tokens=max_new_tokens, pad_token_id=pad, temperature=None, top_p=None,
                             top_k=None, **how)
        texts = tokenizer.batch_decode(gen[:, width:], skip_special_tokens=True)
        for i, text in zip(order[b: b + batch_size], texts):
            out[i] = cut_at_stop(text, stop)
    return out
