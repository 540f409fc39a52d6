"""Corpus steps composed in a list, with accounting per step.

A step is a pure function over a batch (a dict of columns) that returns the new texts, a reject
reason (or None) per document, and optional counters (e.g. PII replacements). The runner applies
the steps in order and keeps, for each one, documents, characters and bytes in and out and the
rejection reasons, so that at every step: in = out + rejected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Batch = dict[str, list]
StepOutput = tuple[list[str], list[str | None], dict[str, int]]


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
        chars, nbytes = _sizes(texts)
        self.docs_in, self.chars_in, self.bytes_in = self.docs_in + len(texts), self.chars_in + chars, self.bytes_in + nbytes

    def count_out(self, texts: Sequence[str]) -> None:
        chars, nbytes = _sizes(texts)
        self.docs_out, self.chars_out, self.bytes_out = self.docs_out + len(texts), self.chars_out + chars, self.bytes_out + nbytes

    def merge(self, other: "StepStats") -> None:
        for name in ("docs_in", "chars_in", "bytes_in", "docs_out", "chars_out", "bytes_out"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.update(other.rejected)
        self.counts.update(other.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"docs_in": self.docs_in, "chars_in": self.chars_in, "bytes_in": self.bytes_in,
                "docs_out": self.docs_out, "chars_out": self.chars_out, "bytes_out": self.bytes_out,
                "rejected": dict(self.rejected), **({"counts": dict(self.counts)} if self.counts else {})}


def _sizes(texts: Sequence[str]) -> tuple[int, int]:
    return sum(len(t) for t in texts), sum(len(t.encode("utf-8")) for t in texts)


def run_steps(batch: Batch, steps: Sequence[Step], stats: dict[str, StepStats]) -> tuple[Batch, list[dict[str, Any]]]:
    """Run `steps` over one batch; returns the surviving batch and the rejected rows (with step and reason)."""
    rejects: list[dict[str, Any]] = []
    for step in steps:
        if not batch["text"]:
            break
        st = stats.setdefault(step.name, StepStats())
        st.count_in(batch["text"])
        texts, reasons, counts = step.fn(batch)
        if len(texts) != len(batch["text"]) or len(reasons) != len(texts):
            raise RuntimeError(f"corpus step '{step.name}' returned {len(texts)} texts / {len(reasons)} reasons "
                               f"for {len(batch['text'])} documents")
        st.counts.update(counts)
        keep = [i for i, r in enumerate(reasons) if r is None]
        for i, reason in enumerate(reasons):
            if reason is not None:
                st.rejected[reason] += 1
                rejects.append({"source": batch["source"][i], "line": batch["line"][i], "step": step.name,
                                "reason": reason, "raw": batch["text"][i][:2000]})
        batch = {k: [v[i] for i in keep] for k, v in batch.items()}
        batch["text"] = [texts[i] for i in keep]
        st.count_out(batch["text"])
    return batch, rejects
