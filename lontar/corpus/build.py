"""The corpus stage runner.

sources -> chunks of `chunk_docs` documents -> steps (a `datasets.map` over each chunk, `num_proc`
workers) -> exact dedup across the corpus -> deterministic split -> parquet shards + data card.

Each processed chunk is kept in `corpus.work/` with a signature of everything that shaped it (the
source, the step settings, the code of the steps), so re-running after an interruption or a change to
a later source only processes what is not done yet.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lontar.config import BoilerplateConfig, RunConfig, SourceConfig
from lontar.corpus.boilerplate import count_lines, strip_boilerplate
from lontar.corpus.card import render_card_md, write_length_histogram
from lontar.corpus.executors import make_executor
from lontar.corpus.minhash import NearDedup
from lontar.corpus.mixing import plan_mixture, target_shares, write_mixture
from lontar.corpus.pipeline import Step, StepStats, stats_from_rows
from lontar.corpus.provenance import UNKNOWN, license_totals, source_provenance
from lontar.corpus.shards import RejectWriter, ShardWriter
from lontar.corpus.sources import iter_source, rdlab_path, source_files
from lontar.corpus.steps import build_steps, split_of, text_hash
from lontar.corpus.tokens import load_token_counter
from lontar.errors import ConfigError, DataError
from lontar.records import RAW_KEEP_BYTES, raw_fields
from lontar.manifest import atomic_write_json, atomic_write_text, record_stage
from lontar.rundir import corpus_hash, run_lock, write_stamp

log = logging.getLogger(__name__)



def _chunks(src: SourceConfig, chunk_docs: int, rejects: RejectWriter, counts: Counter,
            raw_limit: int = RAW_KEEP_BYTES) -> Iterator[list[dict[str, Any]]]:
    """Chunks of good records; malformed records go straight to the rejects, counted."""
    chunk: list[dict[str, Any]] = []
    for ok, item in iter_source(src, raw_limit):
        counts["read"] += 1
        if not ok:
            counts[item["reason"]] += 1
            rejects.add({**item, "step": "read"})
            continue
        chunk.append(item)
        if len(chunk) == chunk_docs:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _code_hash() -> str:
    """Hash of the code that processes text, so an upgraded step never reuses chunks made by the old one."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted([*root.glob("corpus/*.py"), *root.glob("text/*.py"), root / "langs.py", root / "config.py"]):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def _signature(cfg: RunConfig, src: SourceConfig, code: str) -> str:
    """What shapes a processed chunk: its source, every corpus setting but the output layout, the code."""
    shaping = cfg.corpus.model_dump(mode="json", exclude={"sources", "validation_fraction", "shard_docs", "num_proc", "executor", "ray_address", "mixing"})
    blob = json.dumps({"source": src.model_dump(mode="json"), "corpus": shaping, "code": code}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class Duplicates:
    """Which documents were kept, to name the kept twin of each duplicate in `duplicates/`."""

    def __init__(self, writer: RejectWriter) -> None:
        self.writer = writer
        self.kept: dict[str, str] = {}  # doc id -> where the kept one came from
        self.near_ids: list[str] = []  # doc ids in the order NearDedup saw them

    def add(self, r: dict[str, Any], doc_id: str, kind: str, twin: str) -> None:
        self.writer.add({"source": r["source"], "line": r["line"], "kind": kind, "id": doc_id,
                         "kept_id": twin, "kept_line": self.kept.get(twin)})


def _dedup_and_write(table_rows: list[dict[str, Any]], seen: Duplicates, dedup: StepStats,
                     writers: dict[str, ShardWriter], rejects: RejectWriter, validation_fraction: float,
                     summary: Counter, lengths: list[int], near: NearDedup | None,
                     raw_limit: int = RAW_KEEP_BYTES) -> None:
    kept = [r for r in table_rows if r["reason"] is None]
    for r in table_rows:
        if r["reason"] is not None:
            rejects.add({"source": r["source"], "line": r["line"], "step": r["step"], "reason": r["reason"],
                         **raw_fields(r["text"], raw_limit)})
    dedup.count_in([r["text"] for r in kept])
    survivors = []
    for r in kept:
        doc_id = text_hash(r["text"])
        if doc_id in seen.kept:
            dedup.counts["exact duplicates"] += 1
            seen.add(r, doc_id, "exact", doc_id)
            continue
        seen.kept[doc_id] = r["line"]
        if near is not None:
            twin = near.add(r["text"], r["lang"])
            seen.near_ids.append(doc_id)
            if twin is not None:
                dedup.counts["near duplicates"] += 1
                seen.add(r, doc_id, "near", seen.near_ids[twin])
                continue
        survivors.append(r["text"])
        split = split_of(doc_id, validation_fraction)
        writers[split].add({"id": doc_id, "text": r["text"], "source": r["source"], "lang": r["lang"]})
        size, nbytes = len(r["text"]), len(r["text"].encode("utf-8"))
        summary.update({f"{split}:docs": 1, f"{split}:chars": size, f"{split}:bytes": nbytes,
                        f"lang:{r['lang']}:docs": 1, f"lang:{r['lang']}:chars": size,
                        f"source:{r['source']}:{split}:chars": size})
        lengths.append(size)
    dedup.count_out(survivors)


def _kept_rows(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path, columns=["text", "reason"])
    return [r for r in table.to_pylist() if r["reason"] is None]


def _strip_rows(rows: list[dict[str, Any]], line_counts: Counter, bp: BoilerplateConfig, stats: StepStats) -> None:
    """Remove boilerplate lines from the kept rows in place; a row left empty is rejected."""
    kept = [r for r in rows if r["reason"] is None]
    stats.count_in([r["text"] for r in kept])
    for r in kept:
        text, removed = strip_boilerplate(r["text"], line_counts, bp.min_docs, bp.min_line_chars)
        stats.counts["lines removed"] += removed
        if not text.strip():  # the reject keeps the original text
            r["reason"], r["step"] = "only boilerplate lines", "boilerplate"
            stats.rejected[r["reason"]] += 1
        else:
            r["text"] = text
    stats.count_out([r["text"] for r in kept if r["reason"] is None])


def _mix(cfg: RunConfig, natural: list[Path], out_dir: Path, summary: Counter,
         counter: Any) -> tuple[dict[str, Any], list[Path]]:
    """Temperature-sample the train split into its final shards (rate 1 everywhere when only counting tokens)."""
    c, mix = cfg.corpus, cfg.corpus.mixing
    labels = [s.label for s in c.sources]
    lang_of = {s.label: s.lang for s in c.sources}
    sizes = {g: float(summary[f"source:{g}:train:chars"]) for g in labels}
    plans = None
    if mix.enabled:
        shares = target_shares(sizes, {s.label: s.weight for s in c.sources}, mix.alpha,
                               lang_of if mix.by == "lang" else None)
        plans = plan_mixture(sizes, shares, mix.cap, mix.total_chars)
        rates = {g: p.rate for g, p in plans.items()}
    else:
        rates = dict.fromkeys(labels, 1.0)
    writer = ShardWriter(out_dir, "train", c.shard_docs)
    result = write_mixture(natural, writer, rates, lang_of, mix.seed, counter)
    for g, src in zip(labels, c.sources):
        result["sources"][g] |= {"weight": src.weight, **({"target_share": round(plans[g].target_share, 4),
                                                           "capped": plans[g].capped} if plans else {})}
    settings = mix.model_dump(mode="json") if mix.enabled else {"enabled": False, "tokenizer": mix.tokenizer}
    if mix.enabled:
        log.info("corpus: mixing " + ", ".join(f"{g} x{r:.2f}" for g, r in rates.items()))
    return {"settings": settings, **result}, writer.close()


def _process_sources(cfg: RunConfig, steps: list[Step], work_dir: Path,
                     rejects: RejectWriter) -> tuple[list[list[Path]], list[Counter], int, int]:
    """Pass 1: every chunk of every source processed by the executor, or reused from an earlier run."""
    c = cfg.corpus
    code = _code_hash()
    chunk_paths: list[list[Path]] = []
    read_counts: list[Counter] = []
    processed = reused = 0
    executor = None
    try:
        for i, src in enumerate(c.sources):
            counts: Counter = Counter()
            signature = _signature(cfg, src, code)
            chunk_paths.append([])
            for j, chunk in enumerate(_chunks(src, c.chunk_docs, rejects, counts, c.reject_raw_bytes)):
                path = work_dir / f"{i:03d}-{j:05d}.parquet"
                marker = path.with_suffix(".done")
                if marker.exists() and marker.read_text() == signature and path.exists():
                    reused += 1
                else:
                    executor = executor or make_executor(c.executor, c.num_proc, c.ray_address)
                    executor.run(chunk, steps, path)
                    atomic_write_text(marker, signature)
                    processed += 1
                chunk_paths[i].append(path)
            read_counts.append(counts)
    finally:
        if executor is not None:
            executor.close()
    return chunk_paths, read_counts, processed, reused


def corpus_problem(card: dict[str, Any], max_reject_fraction: float) -> str | None:
    """Why a finished corpus must fail its stage, in one line, or None.

    A source that lost more than `max_reject_fraction` of its documents almost always has a wrong
    setting (its `lang`, its `text_field`) rather than bad data, so the run stops instead of training
    on what is left; its top reason says where to look.
    """
    for s in card["sources"]:
        rejected = sum(s["rejected"].values())
        if s["read"] and rejected / s["read"] > max_reject_fraction:
            reason, n = max(s["rejected"].items(), key=lambda kv: kv[1])
            return (f"corpus source '{s['source']}' (lang {s['lang']}): {rejected:,} of {s['read']:,} documents "
                    f"({rejected / s['read']:.0%}) set aside, more than corpus.max_reject_fraction "
                    f"{max_reject_fraction}; top reason: {reason} ({n:,})")
    train, validation = card["splits"]["train"]["docs"], card["splits"]["validation"]["docs"]
    if not train + validation:
        return f"corpus for run '{card['run']}' kept 0 documents of {sum(s['read'] for s in card['sources']):,} read"
    if not train or not validation:
        return (f"corpus for run '{card['run']}' has {train} train and {validation} validation documents: need "
                "both (check corpus.sources and corpus.validation_fraction)")
    return None


def build_corpus(cfg: RunConfig) -> dict[str, Any]:
    """Build `runs/<name>/corpus/` and its data card, holding the run's lock; returns the card."""
    with run_lock(cfg.run_dir, "corpus"):
        return _build_corpus(cfg)


def _build_corpus(cfg: RunConfig) -> dict[str, Any]:
    started = time.time()
    c = cfg.corpus
    final_dir, out_dir, work_dir = cfg.run_dir / "corpus", cfg.run_dir / "corpus.partial", cfg.run_dir / "corpus.work"
    shutil.rmtree(out_dir, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    mix = c.mixing
    counter = None
    if mix.tokenizer:
        try:
            counter = load_token_counter(mix.tokenizer, cfg.model.trust_remote_code)
        except Exception as e:  # noqa: BLE001 - any loader failure is a config problem, said in one line
            raise ConfigError(f"corpus.mixing.tokenizer: cannot load '{mix.tokenizer}': {e}") from e
    natural_dir = out_dir / ".natural"  # the deduplicated train split before mixing
    mixing_on = mix.enabled or counter is not None
    writers = {"train": ShardWriter(natural_dir if mixing_on else out_dir, "train", c.shard_docs),
               "validation": ShardWriter(out_dir, "validation", c.shard_docs)}
    rejects = RejectWriter(out_dir / "rejected" / "rejected-00000.jsonl")
    seen = Duplicates(RejectWriter(out_dir / "duplicates" / "duplicates-00000.jsonl"))
    steps = build_steps(c)
    names = [s.name for s in steps]
    per_source, summary, lengths = [], Counter(), []
    nd = c.near_dedup
    near = NearDedup.from_config(nd) if nd.enabled else None
    if near is not None:
        log.info(f"corpus: {near.describe()}")
    chunk_paths, read_counts, processed, reused = _process_sources(cfg, steps, work_dir, rejects)
    bp = c.boilerplate
    line_counts = None
    if bp.enabled:  # lines are counted over the whole corpus before any is removed
        kept_texts = (r["text"] for paths in chunk_paths for p in paths for r in _kept_rows(p))
        line_counts = count_lines(kept_texts, bp.min_line_chars)
    final_steps = [*names, *(["boilerplate"] if bp.enabled else []), "dedup"]
    all_stats = {n: StepStats() for n in final_steps}
    for i, src in enumerate(c.sources):  # pass 2: boilerplate, dedup, split, write
        counts = read_counts[i]
        src_stats = {n: StepStats() for n in final_steps}
        for path in chunk_paths[i]:
            rows = pq.read_table(path).to_pylist()
            for name, st in stats_from_rows(rows, names).items():
                src_stats[name].merge(st)
            if line_counts is not None:
                _strip_rows(rows, line_counts, bp, src_stats["boilerplate"])
            _dedup_and_write(rows, seen, src_stats["dedup"], writers, rejects, c.validation_fraction, summary, lengths,
                             near, c.reject_raw_bytes)
        read_rejects = {k: v for k, v in counts.items() if k != "read"}
        step_rejects: Counter = Counter()
        for st in src_stats.values():
            step_rejects.update(st.rejected)
        dedup = src_stats["dedup"]
        entry = {
            "source": src.label, "type": src.type, "lang": src.lang, "weight": src.weight, "read": counts["read"],
            "kept": dedup.docs_out, "kept_chars": dedup.chars_out, "provenance": source_provenance(src), "duplicates": dedup.counts["exact duplicates"] + dedup.counts["near duplicates"],
            "rejected": dict(Counter(read_rejects) + step_rejects),
            "steps": {name: st.to_dict() for name, st in src_stats.items()},
        }
        if entry["read"] != entry["kept"] + entry["duplicates"] + sum(entry["rejected"].values()):
            raise RuntimeError(f"corpus accounting broke for source {src.label}: documents were lost")
        per_source.append(entry)
        for name, st in src_stats.items():
            all_stats[name].merge(st)
    closed = {s: w.close() for s, w in writers.items()}
    rejects.close()
    seen.writer.close()
    splits = {s: {k: summary[f"{s}:{k}"] for k in ("docs", "chars", "bytes")} for s in writers}
    mixing = None
    if mixing_on and splits["train"]["docs"]:
        mixing, closed["train"] = _mix(cfg, closed["train"], out_dir, summary, counter)
        shutil.rmtree(natural_dir, ignore_errors=True)
        splits["train"] = {k: sum(m[f"mixed_{k}"] for m in mixing["sources"].values()) for k in ("docs", "chars", "bytes")}
    shards = {s: [p.name for p in paths] for s, paths in closed.items()}
    lang_codes = sorted({k.split(":")[1] for k in summary if k.startswith("lang:")})
    total_chars = sum(summary[f"lang:{lang}:chars"] for lang in lang_codes)
    card = {
        "run": cfg.name,
        "sources": per_source,
        "steps": {name: st.to_dict() for name, st in all_stats.items()},
        "step_descriptions": {s.name: s.description for s in steps}
        | ({"boilerplate": f"lines found in >= {bp.min_docs} multi-line documents removed"} if bp.enabled else {})
        | {"dedup": "exact dedup on the normalized text (blake2b-128)" + (
            f", then MinHash LSH {near.describe()}" if near is not None else "")
           + "; first occurrence kept"},
        "duplicates": sum(s["duplicates"] for s in per_source),
        "licenses": license_totals(per_source),
        "unknown_licenses": [s["source"] for s in per_source if s["provenance"]["license"] == UNKNOWN],
        "rejected": rejects.count,
        "rejected_examples": rejects.examples,  # per reason, where to find its first record in rejected/
        "languages": {lang: {"docs": summary[f"lang:{lang}:docs"], "chars": summary[f"lang:{lang}:chars"],
                             "char_share": round(summary[f"lang:{lang}:chars"] / (total_chars or 1), 4)} for lang in lang_codes},
        "splits": splits,
        "shards": shards,
        "validation_fraction": c.validation_fraction,
        "chunks": {"processed": processed, "reused": reused},
        **({"mixing": mixing} if mixing else {}),
    }
    write_length_histogram(lengths, out_dir / "length_histogram.png", title=f"{cfg.name}: document length")
    atomic_write_json(out_dir / "data_card.json", card)
    atomic_write_text(out_dir / "data_card.md", render_card_md(card))
    write_stamp(out_dir, "corpus", corpus_hash(cfg))  # the train stage refuses a corpus of other settings
    shutil.rmtree(final_dir, ignore_errors=True)
    out_dir.replace(final_dir)
    problem = corpus_problem(card, c.max_reject_fraction)
    if problem:  # the card is written first, so the user can see why
        raise DataError(f"{problem} (data card: {final_dir / 'data_card.md'})")
    inputs: list[Path | str] = []
    for src in c.sources:
        if src.type == "rdlab":
            inputs.append(rdlab_path())
        elif src.type == "hf":
            inputs.append(f"hf:{src.dataset}")
        else:
            inputs.extend(source_files(src.path or ""))
    log.info(f"corpus: {sum(s['kept'] for s in per_source):,} documents kept, {card['duplicates']:,} duplicates, "
             f"{card['rejected']:,} set aside; chunks processed {processed}, reused {reused}")
    record_stage(cfg, "corpus", inputs=inputs, outputs=[final_dir], started=started,
                 extra={"summary": {"kept": sum(s["kept"] for s in per_source), "duplicates": card["duplicates"],
                                    "rejected": card["rejected"], "chunks_reused": reused}})
    return card
