"""Training data: documents and chat examples packed into blocks, mixed by token share, step by step.

Continued pre-training: each document becomes the segment `[BOS] + tokens + [EOS]`
(`lontar.train.packing.document_segment`: the start the model was trained to see, as the eval stage
scores it; the EOS target teaches it to end). Chat/instruction data: one segment per
example (`lontar.train.sft`).

Which document comes next is `lontar.train.sampler`'s: every dataset and every source of the run
corpus in its share of the training tokens, in a seeded order over the whole corpus, read lazily.
Every process builds the same global step of G blocks (G = micro batch x accumulation x
processes) and process `r` takes, in micro-batch `i`, blocks `(i*world + r)*micro ...`, so a run on
1 or 2 processes with the same global batch sees the same blocks in every step; the sampler's
position is saved in checkpoints, so resuming continues with the very same blocks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch

from lontar.corpus.shards import iter_texts, split_files
from lontar.errors import DataError, MissingInput
from lontar.train.packing import (PAD, START, Packed, Segment, attention_pairs_per_block, document_segment,
                                  document_start_id, pack_segments, real_tokens_per_block, targets_per_block, to_batch)
from lontar.train.sampler import DocOrder, DocStream, Mixer, ParquetDocs, StreamInfo, StreamPacker
from lontar.train.sft import chat_segments, read_hub_records
from lontar.records import expand_glob
from lontar.manifest import sha256_file

log = logging.getLogger(__name__)


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
    """`[BOS] + tokens + [EOS]` per non-empty document, with its UTF-8 byte count."""
    start, eos = document_start_id(tokenizer), tokenizer.eos_token_id
    texts = iter(texts)
    while True:
        batch = [t for t in (next(texts, None) for _ in range(batch_size)) if t is not None]
        if not batch:
            return
        for text, ids in zip(batch, tokenize_stream(tokenizer, batch, batch_size)):
            if ids:
                yield document_segment(ids, start, eos, nbytes=len(text.encode("utf-8")))


def read_texts(path: str, text_field: str = "text", limit: int | None = None) -> Iterator[str]:
    """Documents from a corpus folder (`train-*.parquet` shards) or files: .parquet, .jsonl, .txt (a line each)."""
    p = Path(path)
    if p.is_dir():
        yield from iter_texts(p, "train", limit=limit)
        return
    files = sorted(expand_glob(path))
    if not files:
        raise MissingInput(f"no file matches '{path}'")
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


def doc_segments(tokenizer: Any, texts: list[str]) -> list[Segment | None]:
    """`[BOS] + tokens + [EOS]` per document (None for one that gives no token), tokenized in one call."""
    start, eos = document_start_id(tokenizer), tokenizer.eos_token_id
    if not texts:
        return []
    ids = tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    return [document_segment(x, start, eos, nbytes=len(t.encode("utf-8"))) if x else None
            for t, x in zip(texts, ids)]


def apportion(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` proportional to `weights` (largest remainder), each at least 1."""
    w = np.asarray(weights, dtype=float) / sum(weights)
    raw = w * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return [max(1, int(c)) for c in counts]


def dataset_name(spec: Any, i: int, taken: list[str]) -> str:
    name = spec.name or (f"{spec.type}:{Path(spec.path).name}" if spec.path else
                         f"{spec.type}:{spec.location}" if getattr(spec, "dataset", None) else "corpus")
    return name if name not in taken else f"{name}#{i}"


def card_shares(run_dir: Path) -> dict[str, float]:
    """Each source's share of the run corpus's train mixture, as the data card records it: tokens where it
    counted them, else characters; {} without a card."""
    path = run_dir / "corpus" / "data_card.json"
    if not path.is_file():
        return {}
    card = json.loads(path.read_text(encoding="utf-8"))
    mixed = (card.get("mixing") or {}).get("sources") or {}
    for key in ("mixed_tokens", "mixed_chars"):
        sizes = {g: float(v.get(key) or 0) for g, v in mixed.items()}
        if sum(sizes.values()) > 0 and all(v > 0 for g, v in sizes.items() if mixed[g].get("mixed_docs")):
            return {g: v / sum(sizes.values()) for g, v in sizes.items()}
    sizes = {s["source"]: float(s.get("kept_chars") or 0) for s in card.get("sources", [])}
    total = sum(sizes.values())
    return {g: v / total for g, v in sizes.items()} if total else {}


@dataclass
class Part:
    """A stream before it is opened: its rows, how to read and segment them, its share within its dataset."""

    name: str
    lang: str
    rows: np.ndarray
    fetch: Callable[[np.ndarray], list[Any]]
    segment: Callable[[list[Any]], list[Segment | None]]
    share: float
    split_long: bool


def _limit(rows: np.ndarray, limit: int | None, total: int) -> np.ndarray:
    """A document cap spread over the streams in proportion to their size (never only the first source)."""
    if limit is None or limit >= total:
        return rows
    return rows[: max(1, round(limit * len(rows) / total))]


def corpus_parts(spec: Any, name: str, run_dir: Path, tokenizer: Any, limit: int | None) -> list[Part]:
    """One stream per source of a parquet corpus (by its `source`, else `lang` column), shares from the card."""
    segment = lambda texts: doc_segments(tokenizer, texts)  # noqa: E731
    if spec.path and not Path(spec.path).is_dir() and not spec.path.endswith(".parquet"):
        texts = list(read_texts(spec.path, spec.text_field, limit))
        rows = np.arange(len(texts), dtype=np.int64)
        return [Part(name, spec.lang or "und", rows, lambda r: [texts[i] for i in r], segment, 1.0, True)]
    if spec.path and Path(spec.path).is_dir():
        files = split_files(Path(spec.path), "train")
    elif spec.path:
        files = [Path(f) for f in sorted(expand_glob(spec.path))]
        if not files:
            raise DataError(f"train.datasets: no file matches '{spec.path}'")
    else:
        files = split_files(run_dir / "corpus", "train")
    docs = ParquetDocs(files, spec.text_field)
    total = len(docs)
    if total == 0:
        raise DataError(f"train data '{name}': {files[0].parent} holds no documents")
    langs = docs.codes("lang")
    groups = docs.codes("source") or langs
    shares = card_shares(run_dir) if not spec.path else {}
    parts = []
    if groups is None:
        return [Part(name, spec.lang or "und", _limit(np.arange(total), limit, total), docs.read, segment, 1.0, True)]
    codes, values = groups
    for g, label in enumerate(values):
        rows = np.flatnonzero(codes == g)
        if not len(rows):
            continue
        lang = langs[1][langs[0][rows[0]]] if langs is not None else (spec.lang or "und")
        share = shares.get(label, len(rows) / total) if shares else len(rows) / total
        parts.append(Part(f"{name}/{label}", lang, _limit(rows, limit, total), docs.read, segment, share, True))
    norm = sum(p.share for p in parts)
    for p in parts:
        p.share /= norm
    return parts


def chat_part(spec: Any, name: str, tokenizer: Any, block_size: int) -> tuple[Part, list[dict[str, Any]]]:
    """A chat dataset, rendered and tokenized up front (records are few): its segments and what was set aside."""
    rejected: list[dict[str, Any]] = []
    source = (read_hub_records(spec.dataset, spec.config, spec.split, spec.revision, spec.max_docs) if spec.dataset
              else spec.path)
    segs = list(chat_segments(tokenizer, source, spec.format, spec.max_docs, block_size=block_size,
                              rejected=rejected, columns=spec.columns))
    if not segs:
        reasons = sorted({r["reason"] for r in rejected})[:3]
        raise DataError(f"train data '{name}' ({spec.location}): no usable record ({len(rejected)} set aside: "
                        f"{'; '.join(reasons)})")
    part = Part(name, spec.lang or "und", np.arange(len(segs), dtype=np.int64), lambda r: [segs[i] for i in r],
                lambda items: list(items), 1.0, False)
    return part, rejected


@dataclass
class StepBlocks:
    ids: np.ndarray  # int32 [G, block]
    flags: np.ndarray  # uint8 [G, block]
    sid: np.ndarray  # int16 [G, block]: the stream of each token, -1 for padding


class TrainData:
    """The training blocks, one global step at a time, and the micro-batches each process reads."""

    def __init__(self, infos: list[StreamInfo], make_mixer: Callable[[], Mixer], block_size: int, pad_id: int,
                 micro: int, accum: int, world: int, fingerprint: str, datasets: list[dict[str, Any]]):
        self.infos, self.make_mixer, self.block_size, self.pad_id = infos, make_mixer, block_size, pad_id
        self.micro, self.accum, self.world = micro, accum, world
        self.global_batch = micro * accum * world
        self.mixer = make_mixer()
        self._fingerprint = fingerprint
        self.datasets = datasets  # per dataset: name, type, path, files with sha256, set-aside counts

    def _empty(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flags = np.full(self.block_size, PAD, dtype=np.uint8)
        flags[0] |= START
        return (np.full(self.block_size, self.pad_id, dtype=np.int32), flags,
                np.full(self.block_size, -1, dtype=np.int16))

    def next_step(self) -> StepBlocks:
        """The next G blocks (empty ones once a finite run's data are used up)."""
        rows = [self.mixer.block() or self._empty() for _ in range(self.global_batch)]
        return StepBlocks(*(np.stack(x) for x in zip(*rows)))

    def count_steps(self) -> int:
        """Steps of a finite (num_epochs) run: its blocks counted by a dry pass of the same sampler."""
        mixer, n = self.make_mixer(), 0
        while mixer.block() is not None:
            n += 1
        if n == 0:
            raise DataError("train data: no blocks")
        return -(-n // self.global_batch)

    def micro_batch(self, blocks: StepBlocks, i: int, rank: int, device: Any = "cpu",
                    attention: str = "mask") -> dict[str, Any]:
        at = (i * self.world + rank) * self.micro
        rows = slice(at, at + self.micro)
        batch = to_batch(blocks.ids[rows], blocks.flags[rows], device=device, attention=attention)
        batch["streams"] = torch.from_numpy(blocks.sid[rows].astype(np.int64)).to(device)
        return batch

    def step_stats(self, blocks: StepBlocks) -> dict[str, Any]:
        """Global counts of the step: loss targets (the loss denominator), real tokens, attention pairs, and
        the real tokens of each stream."""
        real = (blocks.flags & PAD) == 0
        per = np.bincount(blocks.sid[real].astype(np.int64), minlength=len(self.infos))
        return {"targets": int(targets_per_block(blocks.flags).sum()),
                "tokens": int(real_tokens_per_block(blocks.flags).sum()),
                "pairs": int(attention_pairs_per_block(blocks.flags).sum()), "by_stream": per}

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.mixer.state()

    def load_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.mixer.load(meta, arrays)

    def fingerprint(self) -> str:
        """What the data position means: the streams, their files and the tokenizer."""
        return self._fingerprint

    def describe(self) -> list[str]:
        return [f"{s.name} ({s.lang}): {len(st.order.rows):,} documents, {s.share:.2%} of the training tokens"
                for s, st in zip(self.infos, self.mixer.streams)]

    def summary(self, tokens_by_stream: Sequence[int]) -> dict[str, dict[str, int]]:
        """Tokens trained per dataset, per language and per stream."""
        out: dict[str, dict[str, int]] = {"by_dataset": {}, "by_lang": {}, "by_stream": {}}
        for info, n in zip(self.infos, tokens_by_stream):
            ds = self.datasets[info.dataset]["name"]
            out["by_dataset"][ds] = out["by_dataset"].get(ds, 0) + int(n)
            out["by_lang"][info.lang] = out["by_lang"].get(info.lang, 0) + int(n)
            out["by_stream"][info.name] = int(n)
        return out


def build_train_data(cfg: Any, tokenizer: Any, world: int) -> TrainData:
    t = cfg.train
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    weights = np.asarray([d.weight for d in t.datasets], dtype=float)
    weights /= weights.sum()
    parts: list[tuple[int, Part]] = []
    datasets: list[dict[str, Any]] = []
    fp = hashlib.sha256(json.dumps({"vocab": len(tokenizer), "block": t.block_size, "seed": cfg.seed}).encode())
    fp.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    for i, spec in enumerate(t.datasets):
        name = dataset_name(spec, i, [d["name"] for d in datasets])
        entry: dict[str, Any] = {"name": name, "type": spec.type, "path": spec.path, "weight": spec.weight}
        if spec.type == "chat":
            part, rejected = chat_part(spec, name, tokenizer, t.block_size)
            files = sorted(expand_glob(spec.path)) if spec.path else []
            # as configured (the publish stage reads {path, sha256} and makes paths public)
            entry |= {"files": [{"path": f, "bytes": Path(f).stat().st_size, "sha256": sha256_file(Path(f))}
                                for f in files],
                      "records": len(part.rows) + len(rejected), "set_aside": len(rejected),
                      "set_aside_reasons": dict(Counter(r["reason"].split(":")[0] for r in rejected))}
            if rejected:
                out = cfg.run_dir / "train_rejected" / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.jsonl"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejected), encoding="utf-8")
                entry["set_aside_file"] = str(out.relative_to(cfg.run_dir))
                log.info(f"train: {name}: {len(rejected):,} of {entry['records']:,} chat records set aside (reasons in "
                         f"{out})")
            ds_parts = [part]
            if spec.dataset:  # a hub set: its id, config, split and revision (which pins its rows)
                entry |= {"dataset": spec.dataset, "config": spec.config, "split": spec.split,
                          "revision": spec.revision, "license": spec.license, "origin": spec.origin}
                fp.update(spec.location.encode() + str(spec.revision).encode())
            for f in entry["files"]:
                fp.update(f["sha256"].encode())
        else:
            ds_parts = corpus_parts(spec, name, cfg.run_dir, tokenizer, spec.max_docs or t.max_train_docs)
        for p in ds_parts:
            parts.append((i, p))
            fp.update(f"{p.name}\0{len(p.rows)}\0{p.share}\0".encode())
            fp.update(p.rows[:: max(1, len(p.rows) // 1000)].tobytes())
        datasets.append(entry)
    if t.datasets and any(d.type == "corpus" for d in t.datasets):
        for f in _corpus_files(cfg):
            fp.update(f"{f.name}\0{f.stat().st_size}\0".encode())
    infos = [StreamInfo(p.name, i, p.lang, float(weights[i] * p.share)) for i, p in parts]
    epochs = t.num_epochs
    global_batch = t.micro_batch_size * t.gradient_accumulation_steps * world

    def make_mixer() -> Mixer:
        streams = [DocStream(info, DocOrder(p.rows, t.shuffle_chunk, t.shuffle_window, cfg.seed, (info.dataset, k)),
                             p.fetch, p.segment, epochs, t.block_size, p.split_long)
                   for k, (info, (_, p)) in enumerate(zip(infos, parts))]
        # At most a step's worth of open blocks: what is in flight between the mixer's draw and a closed
        # block stays small next to a step, so every step holds the drawn proportions.
        packer = StreamPacker(t.block_size, pad, None, min(t.packing_open_blocks, global_batch))  # docs end with EOS
        return Mixer(streams, packer)

    return TrainData(infos, make_mixer, t.block_size, pad, t.micro_batch_size, t.gradient_accumulation_steps, world,
                     fp.hexdigest()[:16], datasets)


def _corpus_files(cfg: Any) -> list[Path]:
    out: list[Path] = []
    for d in cfg.train.datasets:
        if d.type != "corpus":
            continue
        if not d.path:
            out += split_files(cfg.run_dir / "corpus", "train")
        elif Path(d.path).is_dir():
            out += split_files(Path(d.path), "train")
        else:
            out += [Path(f) for f in sorted(expand_glob(d.path))]
    return out


def build_validation(cfg: Any, tokenizer: Any) -> Packed | None:
    """The run corpus's validation documents (at most `train.eval_docs`), packed like training data."""
    t = cfg.train
    corpus = cfg.run_dir / "corpus"
    if not t.eval_every or not list(corpus.glob("validation-*-of-*.parquet")):
        return None
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    texts = iter_texts(corpus, "validation", limit=t.eval_docs)
    return pack_segments(document_segments(tokenizer, texts), t.block_size, pad,
                         open_blocks=t.packing_open_blocks)
