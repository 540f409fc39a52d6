"""Training data: documents and chat examples packed into blocks, mixed by weight, in a fixed order.

Continued pre-training: each document becomes the segment `[EOS] + tokens`, so the model reads a
document after the separator (as the eval stage scores it) and learns to end one (the next
segment's EOS is the target of a document's last token). Chat/instruction data: one segment per
example (`lontar.train.sft`).

The order of training blocks is a pure function of the seed and the step: step `s` takes plan
entries `[s*G, (s+1)*G)` (G = micro batch x accumulation x processes), and process `r` takes, in
micro-batch `i`, entries `(i*world + r)*micro ...`. Resuming at step `s` is therefore exact, and a
run on 1 or 2 processes with the same global batch sees the same blocks in every step.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from lontar.corpus.shards import iter_texts
from lontar.train.packing import (Packed, Segment, attention_pairs_per_block, pack_segments, real_tokens_per_block,
                                  targets_per_block, to_batch)
from lontar.train.sft import chat_segments


def tokenize_stream(tokenizer: Any, texts: Iterable[str], batch_size: int = 1000) -> Iterator[list[int]]:
    """Token ids per document. Raw text never yields special ids (a literal "</s>" in the corpus stays
    text); packing adds the real EOS separators."""
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            yield from tokenizer(batch, add_special_tokens=False, split_special_tokens=True)["input_ids"]
            batch = []
    if batch:
        yield from tokenizer(batch, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def document_segments(tokenizer: Any, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Segment]:
    """`[EOS] + tokens` per non-empty document, with its UTF-8 byte count."""
    eos = tokenizer.eos_token_id
    texts = iter(texts)
    while True:
        batch = [t for t in (next(texts, None) for _ in range(batch_size)) if t is not None]
        if not batch:
            return
        for text, ids in zip(batch, tokenize_stream(tokenizer, batch, batch_size)):
            if ids:
                yield Segment(np.asarray([eos, *ids], dtype=np.int32), nbytes=len(text.encode("utf-8")))


def read_texts(path: str, text_field: str = "text", limit: int | None = None) -> Iterator[str]:
    """Documents from a corpus folder (`train-*.parquet` shards) or files: .parquet, .jsonl, .txt (a line each)."""
    p = Path(path)
    if p.is_dir():
        yield from iter_texts(p, "train", limit=limit)
        return
    files = sorted(glob.glob(path, recursive=True))
    if not files:
        raise FileNotFoundError(f"no file matches '{path}'")
    n = 0
    for f in files:
        if f.endswith(".parquet"):
            rows = (t for b in pq.ParquetFile(f).iter_batches(columns=[text_field]) for t in b.column(0).to_pylist())
        elif f.endswith((".jsonl", ".json")):
            import json

            rows = (json.loads(line)[text_field] for line in open(f, encoding="utf-8") if line.strip())
        else:
            rows = (line.rstrip("\n") for line in open(f, encoding="utf-8"))
        for text in rows:
            if limit is not None and n >= limit:
                return
            yield text
            n += 1


def pack_dataset(spec: Any, tokenizer: Any, run_dir: Path, block_size: int, max_blocks: int | None,
                 default_max_docs: int | None = None, open_blocks: int = 64) -> Packed:
    """Pack one `train.datasets` entry into at most `max_blocks` blocks."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if spec.type == "corpus":
        limit = spec.max_docs or default_max_docs
        texts = read_texts(spec.path, spec.text_field, limit) if spec.path else iter_texts(run_dir / "corpus", "train",
                                                                                          limit=limit)
        return pack_segments(document_segments(tokenizer, texts), block_size, pad, max_blocks=max_blocks,
                             open_blocks=open_blocks, end_id=tokenizer.eos_token_id)
    return pack_segments(chat_segments(tokenizer, spec.path, spec.format, spec.max_docs), block_size, pad,
                         max_blocks=max_blocks, open_blocks=open_blocks, split_long=False)


def apportion(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` proportional to `weights` (largest remainder), each at least 1."""
    w = np.asarray(weights, dtype=float) / sum(weights)
    raw = w * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return [max(1, int(c)) for c in counts]


@dataclass
class Source:
    name: str
    packed: Packed
    uses: int  # blocks the plan takes from it (more than it has: it repeats, reshuffled each epoch)


class TrainData:
    """The fixed plan of training blocks and the micro-batches each process reads at each step."""

    def __init__(self, sources: list[Source], steps: int, micro: int, accum: int, world: int, seed: int):
        self.sources, self.micro, self.accum, self.world = sources, micro, accum, world
        self.global_batch = micro * accum * world
        total = steps * self.global_batch
        picks = []
        for s_idx, src in enumerate(sources):
            n = len(src.packed)
            if n == 0:
                raise ValueError(f"train data '{src.name}' gives no blocks")
            epochs = -(-src.uses // n)
            order = np.concatenate([np.random.default_rng([seed, s_idx, e]).permutation(n) for e in range(epochs)])
            picks.append(np.stack([np.full(src.uses, s_idx), order[: src.uses]], axis=1))
        plan = np.concatenate(picks)
        plan = plan[np.random.default_rng([seed, 1_000_003]).permutation(len(plan))][:total]
        if len(plan) < total:
            raise ValueError(f"train data: the plan has {len(plan)} blocks, {total} needed")
        self.plan = plan
        self.targets = [targets_per_block(s.packed.flags) for s in sources]
        self.real = [real_tokens_per_block(s.packed.flags) for s in sources]
        self.pairs = [attention_pairs_per_block(s.packed.flags) for s in sources]
        self._fingerprint: str | None = None

    def _rows(self, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.stack([self.sources[s].packed.input_ids[j] for s, j in entries])
        flags = np.stack([self.sources[s].packed.flags[j] for s, j in entries])
        return ids, flags

    def step_entries(self, step: int) -> np.ndarray:
        """Plan entries of 0-based `step` (all processes, all micro-batches)."""
        return self.plan[step * self.global_batch: (step + 1) * self.global_batch]

    def micro_batch(self, step: int, i: int, rank: int, device: Any = "cpu", attention: str = "mask") -> dict[str, Any]:
        at = step * self.global_batch + (i * self.world + rank) * self.micro
        return to_batch(*self._rows(self.plan[at: at + self.micro]), device=device, attention=attention)

    def step_stats(self, step: int) -> dict[str, int]:
        """Global counts of the step: loss targets (the loss denominator), real tokens, attention pairs."""
        e = self.step_entries(step)
        return {"targets": int(sum(self.targets[s][j] for s, j in e)),
                "tokens": int(sum(self.real[s][j] for s, j in e)),
                "pairs": int(sum(self.pairs[s][j] for s, j in e))}

    def fingerprint(self) -> str:
        """A hash of every block and of the plan: resuming needs the very same data."""
        if self._fingerprint is None:
            h = hashlib.sha256(self.plan.tobytes())
            for src in self.sources:
                h.update(src.packed.input_ids.tobytes())
                h.update(src.packed.flags.tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def describe(self) -> list[str]:
        lines = []
        for src in self.sources:
            p = src.packed
            lines.append(f"{src.name}: {p.docs:,} docs -> {len(p):,} blocks ({p.stats['fill']:.1%} filled, "
                         f"{p.cut} cut), {src.uses:,} blocks used ({src.uses / len(p):.2f} epochs)")
        return lines


def build_train_data(cfg: Any, tokenizer: Any, world: int) -> TrainData:
    t = cfg.train
    total = t.max_steps * t.micro_batch_size * t.gradient_accumulation_steps * world
    uses = apportion(total, [d.weight for d in t.datasets])
    sources = []
    for i, (spec, n) in enumerate(zip(t.datasets, uses)):
        packed = pack_dataset(spec, tokenizer, cfg.run_dir, t.block_size, max_blocks=n,
                              default_max_docs=t.max_train_docs, open_blocks=t.packing_open_blocks)
        name = spec.name or (f"{spec.type}:{spec.path}" if spec.path else "corpus")
        sources.append(Source(name if name not in [s.name for s in sources] else f"{name}#{i}", packed, n))
    return TrainData(sources, t.max_steps, t.micro_batch_size, t.gradient_accumulation_steps, world, cfg.seed)


def build_validation(cfg: Any, tokenizer: Any) -> Packed | None:
    """The run corpus's validation documents (at most `train.eval_docs`), packed like training data."""
    t = cfg.train
    corpus = cfg.run_dir / "corpus"
    if not t.eval_every or not list(corpus.glob("validation-*-of-*.parquet")):
        return None
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    texts = iter_texts(corpus, "validation", limit=t.eval_docs)
    return pack_segments(document_segments(tokenizer, texts), t.block_size, pad, end_id=tokenizer.eos_token_id,
                         open_blocks=t.packing_open_blocks)
