"""The corpus stage runner: plans the stages of `lontar.corpus.stages`, runs them on the executor,
merges their small statistics into the data card and names the outputs.

sources -> file-level read tasks (steps run where the file is read, one parquet per chunk of
`chunk_docs`) -> boilerplate line counts by hash partition -> exact dedup by hash partition -> MinHash
near-dedup (band buckets, verified pairs, clusters) -> deterministic split, rejects, duplicates ->
temperature mixing -> parquet shards + data card.

Each read chunk is kept in `corpus.work/` with a signature of everything that shaped it (the source,
the step settings, the code of the steps), so re-running after an interruption or a change to a later
source only reads and processes what is not done yet; the global stages run again (they are cheap
next to the steps). The driver holds settings and per-task figures only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lontar.config import RunConfig, SourceConfig
from lontar.corpus import stages
from lontar.corpus.card import render_card_md, write_length_histogram
from lontar.corpus.components import components
from lontar.corpus.executors import LocalExecutor, RayExecutor, make_executor
from lontar.corpus.minhash import NearDedup
from lontar.corpus.mixing import plan_mixture, summarize_mixture, target_shares
from lontar.corpus.pipeline import StepStats
from lontar.corpus.provenance import UNKNOWN, license_totals, source_provenance
from lontar.corpus.sources import Unit, rdlab_path, source_files, source_units
from lontar.corpus.stages import Chunk, Context, ReadTask
from lontar.corpus.steps import build_steps
from lontar.corpus.tokens import load_token_counter
from lontar.errors import ConfigError, DataError
from lontar.manifest import atomic_write_json, atomic_write_text, record_stage
from lontar.rundir import corpus_hash, run_lock, write_stamp

log = logging.getLogger(__name__)

# Below this much input the local executor runs the tasks in the driver: forking workers costs more.
INLINE_BYTES = 4 << 20
PROGRESS_SECONDS = 30.0  # at most one progress line per stage this often


def _code_hash() -> str:
    """Hash of the code that processes text, so an upgraded step never reuses chunks made by the old one."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted([*root.glob("corpus/*.py"), *root.glob("text/*.py"), root / "langs.py", root / "config.py"]):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:16]


def _signature(cfg: RunConfig, src: SourceConfig, code: str) -> str:
    """What shapes a read chunk: its source, every corpus setting but the output layout, the code."""
    shaping = cfg.corpus.model_dump(mode="json", exclude={"sources", "validation_fraction", "shard_docs", "num_proc",
                                                          "executor", "ray_address", "mixing", "partitions"})
    blob = json.dumps({"source": src.model_dump(mode="json"), "corpus": shaping, "code": code}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _input_bytes(units: list[list[Unit]], sources: Sequence[SourceConfig]) -> float:
    total = 0.0
    for src, paths in zip(sources, units):
        for p in paths:
            if isinstance(p, Path):
                total += p.stat().st_size
            elif src.type == "rdlab":
                total += rdlab_path().stat().st_size
            else:
                total += math.inf  # a hub dataset: size unknown, treat as large
    return total


def plan_reads(sources: Sequence[SourceConfig], units: list[list[Unit]], workers: int) -> list[ReadTask]:
    """One task per file (or hub dataset shard) of each source; when there are fewer units than workers,
    each file's chunks are dealt round-robin to several tasks (each reads the file, processes only its
    own chunks). A hub dataset's shard is streamed once, by one task."""
    total = sum(len(u) for u in units)
    stride = max(1, -(-workers // max(total, 1)))
    tasks = []
    for i, (src, paths) in enumerate(zip(sources, units)):
        k = 1 if src.type == "hf" else stride
        for u, path in enumerate(paths):
            if isinstance(path, tuple):
                tasks.append(ReadTask(i, u, None, 1, 0, shard=path))
            else:
                tasks.extend(ReadTask(i, u, str(path) if path is not None else None, k, p) for p in range(k))
    return tasks


class _Stages:
    """Runs named stages on the executor, logging each stage's start and end (benchmarks read them)."""

    def __init__(self, executor: LocalExecutor | RayExecutor, ctx: Context) -> None:
        self.executor, self.ctx = executor, ctx
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[Context, Any], Any], items: Sequence[Any]) -> list[Any]:
        log.info(f"corpus: stage {name} start ({len(items)} tasks)")
        t0 = last = time.perf_counter()

        def progress(done: int, total: int) -> None:  # a stage can take an hour: say how far it is
            nonlocal last
            now = time.perf_counter()
            if done < total and now - last >= PROGRESS_SECONDS:
                last = now
                log.info(f"corpus: stage {name} {done}/{total} tasks done ({now - t0:,.0f} s)")

        out = self.executor.map(fn, self.ctx, list(items), progress)
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - t0, 3)
        log.info(f"corpus: stage {name} done")
        return out


def _rename(paths: Sequence[str | Path], folder: Path, pattern: str) -> list[Path]:
    """Parts of every chunk, in corpus order, renamed to the output's names (`pattern` takes i and n)."""
    folder.mkdir(parents=True, exist_ok=True)
    final = []
    for i, p in enumerate(paths):
        dest = folder / pattern.format(i=i, n=len(paths))
        Path(p).replace(dest)
        final.append(dest)
    return final

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


def _mix_rates(cfg: RunConfig, summary: Counter) -> tuple[dict[str, float], dict[str, Any] | None]:
    c, mix = cfg.corpus, cfg.corpus.mixing
    labels = [s.label for s in c.sources]
    if not mix.enabled:
        return dict.fromkeys(labels, 1.0), None
    lang_of = {s.label: s.lang for s in c.sources}
    sizes = {g: float(summary[f"source:{g}:train:chars"]) for g in labels}
    shares = target_shares(sizes, {s.label: s.weight for s in c.sources}, mix.alpha,
                           lang_of if mix.by == "lang" else None)
    plans = plan_mixture(sizes, shares, mix.cap, mix.total_chars)
    log.info("corpus: mixing " + ", ".join(f"{g} x{p.rate:.2f}" for g, p in plans.items()))
    return {g: p.rate for g, p in plans.items()}, plans


def _build_corpus(cfg: RunConfig) -> dict[str, Any]:
    started = time.time()
    c = cfg.corpus
    final_dir, out_dir, work_dir = cfg.run_dir / "corpus", cfg.run_dir / "corpus.partial", cfg.run_dir / "corpus.work"
    stages_dir = work_dir / "stages"
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(stages_dir, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True)
    mix = c.mixing
    if mix.tokenizer:  # fail here, in one line, rather than in every worker
        try:
            load_token_counter(mix.tokenizer, cfg.model.trust_remote_code)
        except Exception as e:  # noqa: BLE001 - any loader failure is a config problem, said in one line
            raise ConfigError(f"corpus.mixing.tokenizer: cannot load '{mix.tokenizer}': {e}") from e
    nd, bp = c.near_dedup, c.boilerplate
    rehydrate = nd.enabled and nd.rehydrate
    mixing_on = mix.enabled or mix.tokenizer is not None or rehydrate
    steps = build_steps(c)
    names = [s.name for s in steps]
    near = NearDedup.from_config(nd) if nd.enabled else None
    if near is not None:
        log.info(f"corpus: {near.describe()}")
    code = _code_hash()
    units = [source_units(src) for src in c.sources]
    ctx = Context(chunks_dir=str(work_dir), stages_dir=str(stages_dir), sources=list(c.sources),
                  signatures=[_signature(cfg, src, code) for src in c.sources], steps=steps,
                  chunk_docs=c.chunk_docs, raw_limit=c.reject_raw_bytes, partitions=c.partitions,
                  validation_fraction=c.validation_fraction, shard_docs=c.shard_docs,
                  boilerplate=bp if bp.enabled else None, near=nd if nd.enabled else None, rehydrate=rehydrate,
                  natural=mixing_on, mix_seed=mix.seed,
                  tokenizer=(mix.tokenizer, cfg.model.trust_remote_code) if mix.tokenizer else None)
    inline = c.executor == "local" and _input_bytes(units, c.sources) < INLINE_BYTES
    executor = make_executor(c.executor, c.num_proc, c.ray_address, inline=inline)
    workers = executor.workers
    try:
        run = _Stages(executor, ctx)
        metas = [m for task in run.run("read", stages.read, plan_reads(c.sources, units, workers)) for m in task]
        metas.sort(key=lambda m: m["name"])
        chunks = [Chunk(i, m["name"], m["source"]) for i, m in enumerate(metas)]
        parts = range(c.partitions)
        bp_figures = None
        if bp.enabled:
            run.run("boilerplate_map", stages.bp_map, chunks)
            found = run.run("boilerplate_reduce", stages.bp_reduce, parts)
            bp_figures = {k: sum(f[k] for f in found) for k in ("lines", "boilerplate")}
        prepared = run.run("prepare", stages.prepare, chunks)
        exact = sum(run.run("exact_reduce", stages.exact_reduce, parts))
        near_figures = None
        if near is not None:
            run.run("near_map", stages.near_map, chunks)
            run.run("near_band_reduce", stages.near_band_reduce, parts)
            verified = run.run("near_verify", stages.near_verify, parts)
            near_figures = components(run.run, ctx)
            clustered = run.run("near_clusters", stages.near_clusters, parts)
            near_figures |= {k: sum(v[k] for v in clustered) for k in ("near_duplicates", "edges")}
            near_figures |= {k: sum(v[k] for v in verified) for k in ("candidates", "rejected")}
        done = run.run("finalize", stages.finalize, chunks)
        summary: Counter = Counter()
        for d in done:
            summary.update(d["summary"])
        mixing = None
        train_parts = [p for d in done for p in d["parts"]["train"]]
        if mixing_on and summary["train:docs"]:
            rates, plans = _mix_rates(cfg, summary)
            ctx.rates = rates
            mixed = run.run("mix", stages.mix, [(ch, d["parts"]["train"]) for ch, d in zip(chunks, done)])
            per: dict[str, Counter] = {g: Counter() for g in rates}
            for m in mixed:
                for g, cnt in m["per"].items():
                    per[g].update(cnt)
            lang_of = {s.label: s.lang for s in c.sources}
            mixing = summarize_mixture(per, rates, lang_of, mix.tokenizer is not None)
            for g, src in zip(rates, c.sources):
                mixing["sources"][g] |= {"weight": src.weight, **({"target_share": round(plans[g].target_share, 4),
                                                                   "capped": plans[g].capped} if plans else {})}
            mixing = {"settings": mix.model_dump(mode="json") if mix.enabled else
                      {"enabled": False, "tokenizer": mix.tokenizer}, **mixing}
            train_parts = sorted(p for m in mixed for p in m["parts"])  # pass, then corpus order
    finally:
        executor.close()
    closed = {"train": _rename(train_parts, out_dir, "train-{i:05d}-of-{n:05d}.parquet"),
              "validation": _rename([p for d in done for p in d["parts"]["validation"]], out_dir,
                                    "validation-{i:05d}-of-{n:05d}.parquet")}
    _rename([d["rejected_file"] for d in done if d["rejected_file"]], out_dir / "rejected", "rejected-{i:05d}.jsonl")
    _rename([d["duplicates_file"] for d in done if d["duplicates_file"]], out_dir / "duplicates",
            "duplicates-{i:05d}.jsonl")
    final_steps = [*names, *(["boilerplate"] if bp.enabled else []), "dedup"]
    all_stats = {n: StepStats() for n in final_steps}
    per_source = []
    for i, src in enumerate(c.sources):
        mine = [j for j, ch in enumerate(chunks) if ch.source == i]
        src_stats = {n: StepStats() for n in final_steps}
        read_rejects: Counter = Counter()
        for j in mine:
            for name, st in prepared[j].items():
                src_stats[name].merge(st)
            src_stats["dedup"].merge(done[j]["dedup"])
            read_rejects.update(metas[j]["read_rejects"])
        step_rejects: Counter = Counter()
        for st in src_stats.values():
            step_rejects.update(st.rejected)
        dedup = src_stats["dedup"]
        entry = {
            "source": src.label, "type": src.type, "lang": src.lang, "weight": src.weight,
            "read": sum(metas[j]["read"] for j in mine), "kept": dedup.docs_out, "kept_chars": dedup.chars_out,
            "provenance": source_provenance(src),
            "duplicates": dedup.counts["exact duplicates"] + dedup.counts["near duplicates"],
            "rejected": dict(read_rejects + step_rejects),
            "steps": {name: st.to_dict() for name, st in src_stats.items()},
        }
        if entry["read"] != entry["kept"] + entry["duplicates"] + sum(entry["rejected"].values()):
            raise RuntimeError(f"corpus accounting broke for source {src.label}: documents were lost")
        per_source.append(entry)
        for name, st in src_stats.items():
            all_stats[name].merge(st)
    splits = {s: {k: summary[f"{s}:{k}"] for k in ("docs", "chars", "bytes")} for s in ("train", "validation")}
    if mixing:
        splits["train"] = {k: sum(m[f"mixed_{k}"] for m in mixing["sources"].values()) for k in ("docs", "chars", "bytes")}
    examples: dict[str, str] = {}
    for d in done:
        for reason, where in d["examples"].items():
            examples.setdefault(reason, where)
    lang_codes = sorted({k.split(":")[1] for k in summary if k.startswith("lang:")})
    total_chars = sum(summary[f"lang:{lang}:chars"] for lang in lang_codes)
    near_line = ""
    if near is not None:
        near_line = (f", then MinHash LSH {near.describe()}; a document linked to an earlier one is a near duplicate, "
                     "named after the earliest document of its cluster")
    rehydrated: Counter = Counter()
    for d in done:
        rehydrated.update(d["rehydrated"])
    card = {
        "run": cfg.name,
        "sources": per_source,
        "steps": {name: st.to_dict() for name, st in all_stats.items()},
        "step_descriptions": {s.name: s.description for s in steps}
        | ({"boilerplate": f"lines found in >= {bp.min_docs} distinct multi-line documents removed"} if bp.enabled else {})
        | {"dedup": "exact dedup on the normalized text (blake2b-128)" + near_line + "; first occurrence kept"},
        "duplicates": sum(s["duplicates"] for s in per_source),
        "licenses": license_totals(per_source),
        "unknown_licenses": [s["source"] for s in per_source if s["provenance"]["license"] == UNKNOWN],
        "rejected": sum(d["rejects"] for d in done),
        "rejected_examples": examples,  # per reason, where to find its first record in rejected/
        "languages": {lang: {"docs": summary[f"lang:{lang}:docs"], "chars": summary[f"lang:{lang}:chars"],
                             "char_share": round(summary[f"lang:{lang}:chars"] / (total_chars or 1), 4)} for lang in lang_codes},
        "splits": splits,
        "shards": {s: [p.name for p in paths] for s, paths in closed.items()},
        "validation_fraction": c.validation_fraction,
        "chunks": {"processed": sum(not m["reused"] for m in metas), "reused": sum(m["reused"] for m in metas)},
        "execution": {"executor": c.executor, "workers": workers,
                      "read_tasks": sum(len(u) for u in units), "partitions": c.partitions,
                      "exact_duplicates": exact, "stage_seconds": run.seconds,
                      **({"boilerplate_lines": bp_figures} if bp_figures else {}),
                      **({"near_dedup": near_figures} if near_figures else {})},
        **({"rehydration": {"table": {str(k): v for k, v in stages.REHYDRATE.items()},
                            "train_docs_by_copies": dict(sorted(rehydrated.items(), key=lambda kv: int(kv[0])))}}
           if rehydrate else {}),
        **({"mixing": mixing} if mixing else {}),
    }
    lengths = sum((d["lengths"] for d in done), np.zeros(len(stages.LENGTH_BINS) - 1, dtype=np.int64))
    write_length_histogram(lengths, out_dir / "length_histogram.png", title=f"{cfg.name}: document length",
                           bins=stages.LENGTH_BINS)
    atomic_write_json(out_dir / "data_card.json", card)
    atomic_write_text(out_dir / "data_card.md", render_card_md(card))
    write_stamp(out_dir, "corpus", corpus_hash(cfg))  # the train stage refuses a corpus of other settings
    shutil.rmtree(stages_dir, ignore_errors=True)
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
             f"{card['rejected']:,} set aside; chunks processed {card['chunks']['processed']}, "
             f"reused {card['chunks']['reused']}")
    record_stage(cfg, "corpus", inputs=inputs, outputs=[final_dir], started=started,
                 extra={"summary": {"kept": sum(s["kept"] for s in per_source), "duplicates": card["duplicates"],
                                    "rejected": card["rejected"], "chunks_reused": card["chunks"]["reused"]}})
    return card
