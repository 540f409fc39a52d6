"""The corpus stage runner: sources -> normalize -> filter -> exact dedup -> split -> shards + card."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lontar.config import RunConfig
from lontar.corpus.card import render_card_md
from lontar.corpus.shards import RejectWriter, ShardWriter
from lontar.corpus.sources import iter_source, rdlab_path, source_files
from lontar.corpus.steps import length_reasons, normalize_batch, split_of
from lontar.manifest import atomic_write_json, atomic_write_text, record_stage

BATCH = 4096


def _batches(src, rejects: RejectWriter, counts: Counter):
    batch: list[dict[str, Any]] = []
    for ok, item in iter_source(src):
        counts["read"] += 1
        if not ok:
            counts[f"rejected:{item['reason']}"] += 1
            rejects.add(item)
            continue
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build_corpus(cfg: RunConfig) -> dict[str, Any]:
    """Build `runs/<name>/corpus/` and its data card; returns the card."""
    started = time.time()
    c = cfg.corpus
    final_dir = cfg.run_dir / "corpus"
    work_dir = cfg.run_dir / "corpus.partial"
    shutil.rmtree(work_dir, ignore_errors=True)
    writers = {s: ShardWriter(work_dir, s, c.shard_docs) for s in ("train", "validation")}
    rejects = RejectWriter(work_dir / "rejected" / "rejected-00000.jsonl")
    seen: set[str] = set()
    per_source, splits = [], {s: Counter() for s in writers}
    progress = tqdm(desc="corpus", unit=" docs", mininterval=1.0)
    for src in c.sources:
        counts: Counter = Counter()
        for records in _batches(src, rejects, counts):
            batch = normalize_batch({k: [r[k] for r in records] for k in records[0]})
            for i, reason in enumerate(length_reasons(batch, c.min_chars)):
                if reason:
                    counts[f"rejected:{reason}"] += 1
                    rejects.add({"source": src.label, "line": batch["line"][i], "reason": reason, "raw": batch["text"][i]})
                    continue
                doc_id = batch["id"][i]
                if doc_id in seen:
                    counts["duplicates"] += 1
                    continue
                seen.add(doc_id)
                text = batch["text"][i]
                split = split_of(doc_id, c.validation_fraction)
                writers[split].add({"id": doc_id, "text": text, "source": src.label, "lang": src.lang})
                splits[split].update(docs=1, chars=len(text), bytes=len(text.encode("utf-8")))
                counts["kept"] += 1
            progress.update(len(records))
        per_source.append({
            "source": src.label, "type": src.type, "lang": src.lang, "read": counts["read"],
            "kept": counts["kept"], "duplicates": counts["duplicates"],
            "rejected": {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("rejected:")},
        })
    progress.close()
    shards = {s: [p.name for p in w.close()] for s, w in writers.items()}
    rejects.close()
    if not splits["train"]["docs"] or not splits["validation"]["docs"]:
        raise ValueError(f"corpus for run '{cfg.name}' has {splits['train']['docs']} train and "
                         f"{splits['validation']['docs']} validation documents: need both (check corpus.sources "
                         "and corpus.validation_fraction)")
    card = {
        "run": cfg.name,
        "sources": per_source,
        "duplicates": sum(s["duplicates"] for s in per_source),
        "rejected": rejects.count,
        "splits": {s: dict(v) for s, v in splits.items()},
        "shards": shards,
        "validation_fraction": c.validation_fraction,
        "steps": ["Unicode NFC", "control characters removed, whitespace collapsed",
                  f"documents shorter than {c.min_chars} characters set aside",
                  "exact dedup on the normalized text (blake2b-128)",
                  "deterministic train/validation split from the content hash"],
    }
    atomic_write_json(work_dir / "data_card.json", card)
    atomic_write_text(work_dir / "data_card.md", render_card_md(card))
    shutil.rmtree(final_dir, ignore_errors=True)
    work_dir.replace(final_dir)
    inputs: list[Path | str] = []
    for src in c.sources:
        inputs.extend([rdlab_path()] if src.type == "rdlab" else source_files(src.path or ""))
    record_stage(cfg, "corpus", inputs=inputs, outputs=[final_dir], started=started,
                 extra={"summary": {"kept": sum(s["kept"] for s in per_source), "duplicates": card["duplicates"],
                                    "rejected": card["rejected"]}})
    return card
