"""The corpus stage runner: sources -> steps (normalize, filters) -> exact dedup -> split -> shards + card."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lontar.config import RunConfig, SourceConfig
from lontar.corpus.card import render_card_md, write_length_histogram
from lontar.corpus.pipeline import StepStats, run_steps
from lontar.corpus.shards import RejectWriter, ShardWriter
from lontar.corpus.sources import iter_source, rdlab_path, source_files
from lontar.corpus.steps import default_steps, split_of, text_hash
from lontar.manifest import atomic_write_json, atomic_write_text, record_stage

BATCH = 4096


def _batches(src: SourceConfig, rejects: RejectWriter, counts: Counter):
    """Batches of good records as columns; malformed records go straight to the rejects."""
    batch: list[dict[str, Any]] = []
    for ok, item in iter_source(src):
        counts["read"] += 1
        if not ok:
            counts[f"rejected:{item['reason']}"] += 1
            rejects.add({**item, "step": "read"})
            continue
        batch.append(item)
        if len(batch) == BATCH:
            yield {k: [r[k] for r in batch] for k in batch[0]}
            batch = []
    if batch:
        yield {k: [r[k] for r in batch] for k in batch[0]}


def _dedup(batch: dict[str, list], seen: set[str], stats: StepStats) -> dict[str, list]:
    """Exact dedup across the whole corpus (first occurrence wins); adds the `id` column."""
    stats.count_in(batch["text"])
    keep, ids = [], []
    for i, text in enumerate(batch["text"]):
        doc_id = text_hash(text)
        if doc_id in seen:
            stats.counts["exact duplicates"] += 1
            continue
        seen.add(doc_id)
        keep.append(i)
        ids.append(doc_id)
    out = {k: [v[i] for i in keep] for k, v in batch.items()}
    out["id"] = ids
    stats.count_out(out["text"])
    return out


def build_corpus(cfg: RunConfig) -> dict[str, Any]:
    """Build `runs/<name>/corpus/` and its data card; returns the card."""
    started = time.time()
    c = cfg.corpus
    final_dir = cfg.run_dir / "corpus"
    work_dir = cfg.run_dir / "corpus.partial"
    shutil.rmtree(work_dir, ignore_errors=True)
    writers = {s: ShardWriter(work_dir, s, c.shard_docs) for s in ("train", "validation")}
    rejects = RejectWriter(work_dir / "rejected" / "rejected-00000.jsonl")
    steps = default_steps(c.min_chars)
    stats: dict[str, StepStats] = {}
    seen: set[str] = set()
    per_source, splits, langs = [], {s: Counter() for s in writers}, Counter()
    lengths: list[int] = []
    progress = tqdm(desc="corpus", unit=" docs", mininterval=1.0)
    for src in c.sources:
        counts: Counter = Counter()
        src_stats: dict[str, StepStats] = {}
        for batch in _batches(src, rejects, counts):
            progress.update(len(batch["text"]))
            batch, rejected = run_steps(batch, steps, src_stats)
            for row in rejected:
                rejects.add(row)
            batch = _dedup(batch, seen, src_stats.setdefault("dedup", StepStats()))
            for doc_id, text, lang in zip(batch["id"], batch["text"], batch["lang"]):
                split = split_of(doc_id, c.validation_fraction)
                writers[split].add({"id": doc_id, "text": text, "source": src.label, "lang": lang})
                size = len(text)
                splits[split].update(docs=1, chars=size, bytes=len(text.encode("utf-8")))
                langs.update({f"{lang}:docs": 1, f"{lang}:chars": size})
                lengths.append(size)
        step_rejects = sum(sum(s.rejected.values()) for s in src_stats.values())
        read_rejects = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("rejected:")}
        duplicates = src_stats["dedup"].counts["exact duplicates"] if "dedup" in src_stats else 0
        kept = src_stats["dedup"].docs_out if "dedup" in src_stats else 0
        per_source.append({
            "source": src.label, "type": src.type, "lang": src.lang, "weight": src.weight, "read": counts["read"],
            "kept": kept, "duplicates": duplicates, "rejected": {**read_rejects, **_step_reasons(src_stats)},
            "steps": {name: s.to_dict() for name, s in src_stats.items()},
        })
        if counts["read"] != kept + duplicates + sum(read_rejects.values()) + step_rejects:
            raise RuntimeError(f"corpus accounting broke for source {src.label}: documents were lost")
        for name, s in src_stats.items():
            stats.setdefault(name, StepStats()).merge(s)
    progress.close()
    shards = {s: [p.name for p in w.close()] for s, w in writers.items()}
    rejects.close()
    if not splits["train"]["docs"] or not splits["validation"]["docs"]:
        raise ValueError(f"corpus for run '{cfg.name}' has {splits['train']['docs']} train and "
                         f"{splits['validation']['docs']} validation documents: need both (check corpus.sources "
                         "and corpus.validation_fraction)")
    total_chars = sum(v for k, v in langs.items() if k.endswith(":chars"))
    card = {
        "run": cfg.name,
        "sources": per_source,
        "steps": {name: s.to_dict() for name, s in stats.items()},
        "step_descriptions": {s.name: s.description for s in steps} | {"dedup": "exact dedup on the normalized text (blake2b-128)"},
        "duplicates": sum(s["duplicates"] for s in per_source),
        "rejected": rejects.count,
        "languages": {lang: {"docs": langs[f"{lang}:docs"], "chars": langs[f"{lang}:chars"],
                             "char_share": round(langs[f"{lang}:chars"] / total_chars, 4)}
                      for lang in sorted({k.split(":")[0] for k in langs})},
        "splits": {s: dict(v) for s, v in splits.items()},
        "shards": shards,
        "validation_fraction": c.validation_fraction,
    }
    write_length_histogram(lengths, work_dir / "length_histogram.png", title=f"{cfg.name}: document length")
    atomic_write_json(work_dir / "data_card.json", card)
    atomic_write_text(work_dir / "data_card.md", render_card_md(card))
    shutil.rmtree(final_dir, ignore_errors=True)
    work_dir.replace(final_dir)
    inputs: list[Path | str] = []
    for src in c.sources:
        if src.type == "rdlab":
            inputs.append(rdlab_path())
        elif src.type == "hf":
            inputs.append(f"hf:{src.dataset}")
        else:
            inputs.extend(source_files(src.path or ""))
    record_stage(cfg, "corpus", inputs=inputs, outputs=[final_dir], started=started,
                 extra={"summary": {"kept": sum(s["kept"] for s in per_source), "duplicates": card["duplicates"],
                                    "rejected": card["rejected"]}})
    return card


def _step_reasons(stats: dict[str, StepStats]) -> dict[str, int]:
    out: Counter = Counter()
    for s in stats.values():
        out.update(s.rejected)
    return dict(out)
