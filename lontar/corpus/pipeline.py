"""Corpus steps composed in a list, with exact accounting per step.

A step is a pure function over a batch (a dict of columns) that returns the new texts, a reject
reason (or None) per document, and optional counters (e.g. PII replacements). `process_batch` runs
the steps over a batch and returns one row per input row, rejected rows included, each carrying its
trace: its size before the first step and after every step it passed. The traces give, per step,
documents, characters and bytes in and out, so at every step in = out + rejected, whatever ran the
batches (a loop, `datasets.map(num_proc=N)` or `ray.data`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Batch = dict[str, list]
StepOutput = tuple[list[str], list[str | None], dict[str, int]]
OUTPUT_COLUMNS = ("text", "source", "lang", "line", "reason", "step", "trace_chars", "trace_bytes", "counts")


@dataclass(frozen=True)
class Step:
    name: str
    fn: Callable[[Batch], StepOutput]
    description: str = ""


@dataclass
class StepStats:
    docs_in: int = 0
    chars_in: int = 0
    bytes_in: int = 0
    docs_out: int = 0
    chars_out: int = 0
    bytes_out: int = 0
    rejected: Counter = field(default_factory=Counter)
    counts: Counter = field(default_factory=Counter)

    def count_in(self, texts: Sequence[str]) -> None:
        self.docs_in += len(texts)
        self.chars_in += sum(len(t) for t in texts)
        self.bytes_in += sum(len(t.encode("utf-8")) for t in texts)

    def count_out(self, texts: Sequence[str]) -> None:
        self.docs_out += len(texts)
        self.chars_out += sum(len(t) for t in texts)
        self.bytes_out += sum(len(t.encode("utf-8")) for t in texts)

    def merge(self, other: "StepStats") -> None:
        for name in ("docs_in", "chars_in", "bytes_in", "docs_out", "chars_out", "bytes_out"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.update(other.rejected)
        self.counts.update(other.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"docs_in": self.docs_in, "chars_in": self.chars_in, "bytes_in": self.bytes_in,
                "docs_out": self.docs_out, "chars_out": self.chars_out, "bytes_out": self.bytes_out,
                "rejected": dict(self.rejected), **({"counts": dict(self.counts)} if self.counts else {})}


def process_batch(batch: Batch, steps: Sequence[Step]) -> Batch:
    """Run `steps` over a batch; every input row comes out once, kept (`reason` None) or rejected."""
    n = len(batch["text"])
    texts = list(batch["text"])
    reason: list[str | None] = [None] * n
    failed: list[str | None] = [None] * n
    trace_chars = [[len(t)] for t in texts]
    trace_bytes = [[len(t.encode("utf-8"))] for t in texts]
    batch_counts: Counter = Counter()
    alive = list(range(n))
    for step in steps:
        if not alive:
            break
        sub = {k: [v[i] for i in alive] for k, v in batch.items()}
        sub["text"] = [texts[i] for i in alive]
        new_texts, reasons, counts = step.fn(sub)
        if len(new_texts) != len(alive) or len(reasons) != len(alive):
            raise RuntimeError(f"corpus step '{step.name}' returned {len(new_texts)} texts and {len(reasons)} "
                               f"reasons for {len(alive)} documents")
        batch_counts.update({f"{step.name}:{k}": v for k, v in counts.items()})
        still = []
        for i, new, why in zip(alive, new_texts, reasons):
            if why is not None:
                reason[i], failed[i] = why, step.name
                continue
            texts[i] = new
            trace_chars[i].append(len(new))
            trace_bytes[i].append(len(new.encode("utf-8")))
            still.append(i)
        alive = still
    counts_col = [""] * n
    if n and batch_counts:
        counts_col[0] = json.dumps(dict(batch_counts))  # batch totals ride on the first row
    return {"text": texts, "source": list(batch["source"]), "lang": list(batch["lang"]), "line": list(batch["line"]),
            "reason": reason, "step": failed, "trace_chars": trace_chars, "trace_bytes": trace_bytes,
            "counts": counts_col}


def reason_key(reason: str) -> str:
    """The countable part of a reason: `quality: top 2-gram (0.31 > 0.2)` -> `quality: top 2-gram`."""
    return reason.split(" (", 1)[0]


def stats_from_rows(rows: Iterable[dict[str, Any]], step_names: Sequence[str]) -> dict[str, StepStats]:
    """Per-step statistics from processed rows (their traces, reasons and counters)."""
    stats = {name: StepStats() for name in step_names}
    for row in rows:
        chars, nbytes = row["trace_chars"], row["trace_bytes"]
        for j, name in enumerate(step_names):
            if j >= len(chars):
                break
            st = stats[name]
            st.docs_in += 1
            st.chars_in += chars[j]
            st.bytes_in += nbytes[j]
            if j + 1 < len(chars):
                st.docs_out += 1
                st.chars_out += chars[j + 1]
                st.bytes_out += nbytes[j + 1]
        if row["reason"] is not None:
            stats[row["step"]].rejected[reason_key(row["reason"])] += 1
        if row["counts"]:
            for key, value in json.loads(row["counts"]).items():
                step, what = key.split(":", 1)
                stats[step].counts[what] += value
    return stats
