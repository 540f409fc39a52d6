"""The corpus stage at scale: memory, throughput, near-duplicate F1 and local-vs-Ray identity on a
synthetic corpus of millions of documents (issue 18's acceptance benchmark).

    python benchmarks/corpus_scale.py [--docs 5000000] [--executors local ray] [--num-proc 1 2] [--reps 1]
    python benchmarks/corpus_scale.py --sizes 1000000,2000000,5000000     # + the memory-vs-size series
    python benchmarks/corpus_scale.py --docs 50000 --label smoke           # a quick check

The corpus (made once per size and seed, cached in `--cache-dir`, outside the repository):
- half Khmer, half Vietnamese documents, one language per file (`km-00000.jsonl.gz`, ...; one source
  per language, so the build can split work by file), `--docs-per-file` documents each;
- real sentences recombined from a seed: Khmer from rdlab-dataset (read with the safe unpickler),
  Vietnamese from the 1925 novel in ../shared/data (`heldout_copies.vietnamese_sentences`) and the
  Global-MMLU-Lite Vietnamese questions and options. A line is 2 Khmer or 3 Vietnamese sentences (so
  lines rarely repeat by chance, which boilerplate removal would otherwise count), a document 1-4 lines;
  a share of the multi-line documents carries a site header and footer line (boilerplate to find);
- exact copies: a share of the one-line documents is repeated later in its file (never a multi-line
  one, see the note in the JSON: boilerplate counting runs before exact dedup);
- planted near-duplicates (`benchmarks/planted.py`): a pool of one-line documents made of sentences
  that no other sentence of the language comes within character 5-gram Jaccard 0.3 of, each pool
  sentence used once and nowhere else, goes through `plant(...)`; its documents (originals, variants
  and the rest of the pool) take random places in the stream. The truth (file, line, family, role)
  is the sidecar `truth.jsonl`.

Each build runs as a subprocess (`python -m lontar.cli corpus --config <yaml>`) with every step on:
normalize, junk, min_length, LID, quality, PII, exact dedup, near-dedup, boilerplate and mixing by
language. The Ray executor runs on a cluster this script starts with `benchmarks/ray_cluster.py`
(`num_proc` nodes of one CPU each: a head, then worker raylets), as a user's existing cluster would be.
RSS is sampled every `--interval` seconds: the driver's, and the sum over the driver's process tree
plus, for Ray, every process of the cluster (found by the marker variable each cluster process
inherits, the cluster's temp dir in the command line, and their descendants). Stage lines
`corpus: stage <name> start|done` in the build's log, when the build prints them, give per-stage peaks.

Writes benchmarks/results/<--out>.json (default corpus_scale).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, RESULTS, SHARED_DATA, command, git_state, machine, median, versions, write_result  # noqa: E402
from benchmarks.heldout_copies import vietnamese_sentences  # noqa: E402
from benchmarks.planted import JaccardIndex, Planted, plant, score  # noqa: E402
from lontar.manifest import sha256_file  # noqa: E402

GENERATOR_VERSION = 1  # bump when the corpus a seed makes changes: the cache key holds it
LANGS = ("km", "vi")
SENTENCES_PER_LINE = {"km": 2, "vi": 3}
LINES_P = (0.4, 0.3, 0.2, 0.1)  # 1, 2, 3, 4 lines
FRAMED_SHARE = 0.15  # multi-line documents with a site header and footer
SITES = 40
EXACT_COPY_SHARE = 0.03  # one-line documents repeated later in their file
POOL_SHARE_MAX = {"km": 0.2, "vi": 0.3}  # at most this share of a language's sentences goes to the planted pool
STAGE_LINE = re.compile(r"corpus: stage (\S+) (start|done)")
TIMING_KEYS = ("seconds", "time", "started", "elapsed", "duration")
HOW_IT_RAN = ("execution", "run")  # the card's executor/worker figures and the run's name differ by design
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------- corpus

def sentences_by_lang() -> dict[str, list[str]]:
    from lontar.corpus.sources import rdlab_path, read_rdlab

    km = [s.strip() for s in read_rdlab(rdlab_path()) if isinstance(s, str) and len(s.strip()) >= 10]
    vi = vietnamese_sentences(SHARED_DATA)
    for split in ("dev", "test"):
        path = SHARED_DATA / "seahelm" / f"global_mmlu_lite_vi_{split}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            prompt = json.loads(line)["prompts"][0]
            for key in ("question", "option_a", "option_b", "option_c", "option_d"):
                text = " ".join(str(prompt.get(key) or "").split())
                if 20 <= len(text) <= 400:
                    vi.append(text)
    out = {}
    for lang, items in (("km", km), ("vi", vi)):
        seen: set[str] = set()
        out[lang] = [s for s in items if "\n" not in s and not (s in seen or seen.add(s))]
    return out


def _reserve(sentences: list[str], n_pool: int, n_boiler: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    """Pool sentences (isolated: no other sentence within 5-gram Jaccard 0.3), boilerplate lines, filler."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sentences))
    index = JaccardIndex(sentences, n=5, t=0.3)
    pool, used = [], set()
    for i in order:
        if len(pool) == n_pool:
            break
        if len(sentences[i]) >= 20 and index.max_similarity(int(i)) < 0.3:
            pool.append(int(i))
            used.add(int(i))
    boiler = [int(i) for i in order if int(i) not in used][:n_boiler]
    used.update(boiler)
    filler = [sentences[i] for i in range(len(sentences)) if i not in used]
    return [sentences[i] for i in pool], [sentences[i] for i in boiler], filler


def _families(n_docs: int, families: int | None, sentences: dict[str, list[str]]) -> dict[str, int]:
    total = families if families is not None else max(100, n_docs // 1000)
    vi_cap = int(len(sentences["vi"]) * POOL_SHARE_MAX["vi"] / 2 / 1.25)
    vi = min(total // 2, vi_cap)
    return {"km": total - vi, "vi": vi}


# Set in the parent before the worker processes fork: read-only there.
_GEN: dict[str, Any] = {}


def _filler_docs(lang: str, n: int, rng: np.random.Generator) -> Iterator[str]:
    filler, boiler = _GEN["filler"][lang], _GEN["boiler"][lang]
    per_line = SENTENCES_PER_LINE[lang]
    lines = rng.choice(4, size=n, p=LINES_P) + 1
    picks = rng.integers(0, len(filler), size=int(lines.sum()) * per_line)
    framed = (lines > 1) & (rng.random(n) < FRAMED_SHARE)
    sites = rng.integers(0, SITES, size=n)
    p = 0
    for k, frame, site in zip(lines.tolist(), framed.tolist(), sites.tolist()):
        body = []
        for _ in range(k):
            body.append(" ".join(filler[j] for j in picks[p: p + per_line].tolist()))
            p += per_line
        if frame:
            body = [boiler[2 * site], *body, boiler[2 * site + 1]]
        yield "\n".join(body)


def _write_file(task: tuple[str, int, int, int]) -> dict[str, Any]:
    """One jsonl.gz file: its filler drawn from (seed, language, file), planted documents at their slots."""
    lang, index, start, count = task
    seed, out_dir = _GEN["seed"], Path(_GEN["out_dir"])
    planted_at: dict[int, int] = _GEN["slots"][lang]  # slot -> index into the planted texts
    texts = _GEN["planted"][lang].texts
    rng = np.random.default_rng([seed, LANGS.index(lang), index])
    fill = _filler_docs(lang, count, rng)
    copy_draws = rng.random(count)
    name = f"{lang}-{index:05d}.jsonl.gz"
    path = out_dir / name
    tmp = path.with_name(path.name + ".tmp")
    singles: list[str] = []
    copies = 0
    # No name or time in the gzip header: the same seed gives the same bytes (and sha256).
    with tmp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8") as f:
        for i in range(count):
            slot = start + i
            if slot in planted_at:
                text = texts[planted_at[slot]]
            elif singles and copy_draws[i] < EXACT_COPY_SHARE:
                text = singles[int(rng.integers(0, len(singles)))]
                copies += 1
            else:
                text = next(fill)
                if "\n" not in text and len(singles) < 10_000:
                    singles.append(text)
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return {"file": name, "docs": count, "exact_copies": copies, "bytes": path.stat().st_size,
            "sha256": _sha256(path)}


def _sha256(path: Path) -> str:
    return sha256_file(path)


def generate(cache: Path, n_docs: int, docs_per_file: int, families: int | None, seed: int, procs: int) -> dict[str, Any]:
    """The corpus for these settings, made once and reused (its manifest is written last)."""
    key = hashlib.sha256(json.dumps([GENERATOR_VERSION, n_docs, docs_per_file, families, seed]).encode()).hexdigest()[:12]
    out_dir = cache / f"corpus-{n_docs}-{key}"
    manifest = out_dir / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        data["reused"] = True
        return data
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    started = time.perf_counter()
    sentences = sentences_by_lang()
    fams = _families(n_docs, families, sentences)
    n_lang = {"km": n_docs - n_docs // 2, "vi": n_docs // 2}
    pool, boiler, filler, planted = {}, {}, {}, {}
    for lang in LANGS:
        n_pool = math.ceil(fams[lang] * 1.25) * 2
        n_pool = min(n_pool, int(len(sentences[lang]) * POOL_SHARE_MAX[lang]))
        pool[lang], boiler[lang], filler[lang] = _reserve(sentences[lang], n_pool, 2 * SITES, seed + LANGS.index(lang))
        docs = [" ".join(pool[lang][i: i + 2]) for i in range(0, len(pool[lang]) - 1, 2)]
        planted[lang] = plant(docs, seed=seed + LANGS.index(lang), families=fams[lang]) if fams[lang] else \
            Planted(docs, [-1] * len(docs), [None] * len(docs), seed)
        if len(planted[lang].texts) > n_lang[lang]:
            raise SystemExit(f"--docs {n_docs} is too small for {len(planted[lang].texts)} planted {lang} documents")
    slots: dict[str, dict[int, int]] = {}
    truth_rows = []
    offset = 0
    for lang in LANGS:
        rng = np.random.default_rng([seed, 99, LANGS.index(lang)])
        where = np.sort(rng.choice(n_lang[lang], size=len(planted[lang].texts), replace=False)).tolist()
        slots[lang] = {s: k for k, s in enumerate(where)}
        p = planted[lang]
        for k, s in enumerate(where):
            if p.family[k] >= 0:
                truth_rows.append({"file": f"{lang}-{s // docs_per_file:05d}.jsonl.gz", "line": s % docs_per_file + 1,
                                   "lang": lang, "family": offset + p.family[k], "role": p.role[k]})
        offset += len(p.families())
    tasks = []
    for lang in LANGS:
        for index, start in enumerate(range(0, n_lang[lang], docs_per_file)):
            tasks.append((lang, index, start, min(docs_per_file, n_lang[lang] - start)))
    _GEN.update(seed=seed, out_dir=str(out_dir), slots=slots, planted=planted, filler=filler, boiler=boiler)
    with ProcessPoolExecutor(max_workers=max(1, procs), mp_context=get_context("fork")) as pool_exec:
        files = list(pool_exec.map(_write_file, tasks))
    _GEN.clear()
    with (out_dir / "truth.jsonl").open("w", encoding="utf-8") as f:
        for row in truth_rows:
            f.write(json.dumps(row) + "\n")
    data = {
        "dir": out_dir.name, "docs": n_docs, "docs_per_file": docs_per_file, "seed": seed, "generator_version": GENERATOR_VERSION,
        "languages": {lang: {"docs": n_lang[lang], "sentences": len(sentences[lang]), "filler_sentences": len(filler[lang]),
                             "pool_sentences": len(pool[lang]), "boilerplate_lines": len(boiler[lang]),
                             "planted": planted[lang].summary()} for lang in LANGS},
        "exact_copies": sum(f["exact_copies"] for f in files),
        "files": files, "bytes": sum(f["bytes"] for f in files),
        "sha256": hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest(),  # over the files' sha256 in order
        "truth_sha256": _sha256(out_dir / "truth.jsonl"),
        "generation_seconds": round(time.perf_counter() - started, 1), "generation_procs": procs,
    }
    (out_dir / "manifest.json.tmp").write_text(json.dumps(data, indent=1), encoding="utf-8")
    (out_dir / "manifest.json.tmp").replace(manifest)
    data["reused"] = False
    return data


# ----------------------------------------------------------------------------------------------- build

def build_config(corpus_dir: Path, out: Path, executor: str, num_proc: int, address: str | None) -> dict[str, Any]:
    corpus: dict[str, Any] = {
        "sources": [{"type": "jsonl", "path": str(corpus_dir / f"{lang}-*.jsonl.gz"), "lang": lang, "name": lang}
                    for lang in LANGS],
        "executor": executor, "num_proc": num_proc, "min_chars": 20, "validation_fraction": 0.01,
        "max_reject_fraction": 0.9,
        "normalize": True, "junk": {"enabled": True}, "lid": {"enabled": True}, "quality": {"enabled": True},
        "pii": {"enabled": True}, "near_dedup": {"enabled": True}, "boilerplate": {"enabled": True},
        "mixing": {"enabled": True, "by": "lang", "alpha": 0.3},
    }
    if address:
        corpus["ray_address"] = address
    return {"name": "scale", "output_dir": str(out), "model": {"architecture": {"model_type": "llama"}}, "corpus": corpus}


class Sampler(threading.Thread):
    """RSS of the driver and the sum over its process tree (plus the Ray cluster's processes), every `interval` s."""

    def __init__(self, driver: psutil.Process, cluster: Any, interval: float) -> None:
        super().__init__(daemon=True)
        self.driver, self.cluster, self.interval = driver, cluster, interval
        self.samples: list[tuple[float, int, int, int]] = []  # (t, driver rss, total rss, processes)
        self.stop_event = threading.Event()
        self._cluster_procs: list[psutil.Process] = []
        self._cluster_at = 0.0

    def _tree(self) -> dict[int, psutil.Process]:
        procs = {self.driver.pid: self.driver}
        try:
            procs.update({c.pid: c for c in self.driver.children(recursive=True)})
        except psutil.Error:
            pass
        if self.cluster is not None:
            now = time.monotonic()
            if now - self._cluster_at > 2.0:  # a full process scan is dearer than a sample
                self._cluster_procs, self._cluster_at = self.cluster.processes(), now
            for p in self._cluster_procs:
                procs.setdefault(p.pid, p)
                try:
                    procs.update({c.pid: c for c in p.children(recursive=True)})
                except psutil.Error:
                    pass
        return procs

    def run(self) -> None:
        while not self.stop_event.is_set():
            t = time.monotonic()
            try:
                driver = self.driver.memory_info().rss
            except psutil.Error:
                break
            total = 0
            procs = self._tree()
            for p in procs.values():
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.samples.append((t, driver, total, len(procs)))
            self.stop_event.wait(self.interval)


def run_build(cfg_path: Path, log_path: Path, env: dict[str, str], cluster: Any, interval: float) -> dict[str, Any]:
    events: list[tuple[float, str, str]] = []
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "lontar.cli", "corpus", "--config", str(cfg_path)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    sampler = Sampler(psutil.Process(proc.pid), cluster, interval)
    sampler.start()
    tail: list[str] = []
    with log_path.open("w", encoding="utf-8") as log:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            m = STAGE_LINE.search(line)
            if m:
                events.append((time.monotonic(), m.group(1), m.group(2)))
            tail = (tail + [line.rstrip()])[-15:]
    rc = proc.wait()
    wall = time.monotonic() - start
    sampler.stop_event.set()
    sampler.join()
    s = sampler.samples
    result: dict[str, Any] = {
        "rc": rc, "wall_s": round(wall, 2), "samples": len(s),
        "driver_peak_rss_mb": round(max((x[1] for x in s), default=0) / MB, 1),
        "total_peak_rss_mb": round(max((x[2] for x in s), default=0) / MB, 1),
        "max_processes": max((x[3] for x in s), default=0),
    }
    if rc != 0:
        result["log_tail"] = tail
    result["stages"] = _stage_peaks(events, s) if events else None
    return result


def _stage_peaks(events: list[tuple[float, str, str]], samples: list[tuple[float, int, int, int]]) -> dict[str, Any]:
    opened: dict[str, float] = {}
    stages: dict[str, Any] = {}
    for t, name, kind in events:
        if kind == "start":
            opened[name] = t
        elif name in opened:
            t0 = opened.pop(name)
            inside = [x for x in samples if t0 <= x[0] <= t] or [min(samples, key=lambda x: abs(x[0] - t))] if samples else []
            seen = stages.setdefault(name, {"seconds": 0.0, "driver_peak_rss_mb": 0.0, "total_peak_rss_mb": 0.0})
            seen["seconds"] = round(seen["seconds"] + t - t0, 2)  # a stage run more than once: summed, peaks of all
            seen["driver_peak_rss_mb"] = max(seen["driver_peak_rss_mb"], round(max((x[1] for x in inside), default=0) / MB, 1))
            seen["total_peak_rss_mb"] = max(seen["total_peak_rss_mb"], round(max((x[2] for x in inside), default=0) / MB, 1))
    return stages


# -------------------------------------------------------------------------------------------- outputs

def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not any(t in k for t in TIMING_KEYS)}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def output_digest(corpus: Path) -> dict[str, Any]:
    """sha256 over the rows (id, text) of each split in shard order, the duplicates and rejected records, and
    the card minus timings and how it ran."""
    out: dict[str, Any] = {}
    for split in ("train", "validation"):
        h, rows = hashlib.sha256(), 0
        for path in sorted(corpus.glob(f"{split}-*.parquet")):
            for batch in pq.ParquetFile(path).iter_batches(columns=["id", "text"], batch_size=65536):
                for doc_id, text in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
                    h.update(doc_id.encode() + b"\0" + text.encode("utf-8") + b"\0")
                    rows += 1
        out[split] = {"rows": rows, "sha256": h.hexdigest()}
    h = hashlib.sha256()
    for path in sorted((corpus / "duplicates").glob("*.jsonl")):
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    out["duplicates_sha256"] = h.hexdigest()
    h = hashlib.sha256()
    for path in sorted((corpus / "rejected").glob("*.jsonl")):
        h.update(path.read_bytes())
    out["rejected_sha256"] = h.hexdigest()
    card = _without_timings(json.loads((corpus / "data_card.json").read_text(encoding="utf-8")))
    for key in HOW_IT_RAN:
        card.pop(key, None)
    out["card_sha256"] = hashlib.sha256(json.dumps(card, sort_keys=True).encode()).hexdigest()
    return out


def _key(where: str | None) -> str | None:
    """`/path/km-00003.jsonl.gz:17` -> `km-00003.jsonl.gz:17` (the truth's file and line)."""
    if not where:
        return None
    path, _, line = where.rpartition(":")
    return f"{Path(path).name}:{line}"


def _jsonl(paths: list[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        with path.open(encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


def near_dup_score(corpus: Path, truth_path: Path) -> dict[str, Any]:
    """All planted families, then each language's alone (Vietnamese is shingled by words, Khmer by characters)."""
    result = _near_dup_score(corpus, truth_path, None)
    result["by_lang"] = {lang: _near_dup_score(corpus, truth_path, lang) for lang in LANGS}
    return result


def _near_dup_score(corpus: Path, truth_path: Path, lang: str | None) -> dict[str, Any]:
    """Pairwise precision/recall/F1 (`planted.score`) of the build's clusters against the planted families.

    A document's cluster is named by the kept document it was folded into (`kept_line` of its record in
    duplicates/, exact or near), else by itself; a planted document set aside in rejected/ leaves the
    truth. Only clusters holding a planted document are scored, with every member they have.
    """
    truth = {f"{r['file']}:{r['line']}": r for r in _jsonl([truth_path]) if lang is None or r["lang"] == lang}
    dup_files = sorted((corpus / "duplicates").glob("*.jsonl"))
    root_of: dict[str, str] = {}
    for r in _jsonl(dup_files):
        if "line" not in r or "kept_line" not in r:
            raise ValueError("duplicates records lack 'line'/'kept_line': the F1 needs to know where each came from")
        k = _key(r["line"])
        if k in truth:
            root_of[k] = _key(r["kept_line"]) or f"id:{r['kept_id']}"
    rejected = {k for r in _jsonl(sorted((corpus / "rejected").glob("*.jsonl"))) if (k := _key(r.get("line"))) in truth}
    roots = {root_of.get(k, k) for k in truth if k not in rejected}
    members: dict[str, set[str]] = {r: {r} for r in roots}
    for r in _jsonl(dup_files):
        root = _key(r["kept_line"]) or f"id:{r['kept_id']}"
        if root in members:
            members[root].add(_key(r["line"]))
    docs: list[str] = sorted({m for ms in members.values() for m in ms} | set(truth))
    label_of = {m: root for root, ms in members.items() for m in ms}
    labels = [None if d in rejected else label_of.get(d, d) for d in docs]
    fam_ids = {f: i for i, f in enumerate(sorted({r["family"] for r in truth.values()}))}
    planted = Planted(texts=[""] * len(docs), family=[fam_ids[truth[d]["family"]] if d in truth else -1 for d in docs],
                      role=[truth[d]["role"] if d in truth else None for d in docs], seed=0)
    result = score(planted, labels)
    result["planted_docs"] = len(truth)
    result["planted_docs_rejected"] = len(rejected)
    return result


def card_counts(corpus: Path) -> dict[str, Any]:
    card = json.loads((corpus / "data_card.json").read_text(encoding="utf-8"))
    dedup = card["steps"].get("dedup", {}).get("counts", {})
    return {"read": sum(s["read"] for s in card["sources"]), "kept": sum(s["kept"] for s in card["sources"]),
            "rejected": card["rejected"], "exact_duplicates": dedup.get("exact duplicates"),
            "near_duplicates": dedup.get("near duplicates"),
            "boilerplate_lines_removed": card["steps"].get("boilerplate", {}).get("counts", {}).get("lines removed"),
            "train_docs": card["splits"]["train"]["docs"], "validation_docs": card["splits"]["validation"]["docs"]}


# ----------------------------------------------------------------------------------------------- main

def one_run(gen: dict[str, Any], corpus_dir: Path, work: Path, executor: str, num_proc: int, rep: int,
            interval: float, keep: bool) -> dict[str, Any]:
    name = f"{executor}-np{num_proc}-r{rep}"
    out = work / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cluster = None
    entry: dict[str, Any] = {"executor": executor, "num_proc": num_proc, "rep": rep, "docs": gen["docs"]}
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        if executor == "ray":
            from benchmarks.ray_cluster import LocalRayCluster

            t = time.monotonic()
            cluster = LocalRayCluster(workers=num_proc - 1, cpus_per_node=1).start()
            entry["ray_nodes"] = 1 + cluster.workers
            entry["ray_cluster_start_s"] = round(time.monotonic() - t, 1)
            env = {**cluster.env(), "PYTHONPATH": env["PYTHONPATH"]}
        cfg = build_config(corpus_dir, out / "runs", executor, num_proc, cluster.address if cluster else None)
        cfg_path = out / "config.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
        entry.update(run_build(cfg_path, out / "build.log", env, cluster, interval))
    finally:
        if cluster is not None:
            cluster.stop()
    entry["docs_per_s"] = round(gen["docs"] / entry["wall_s"], 1)
    entry["docs_per_s_per_core"] = round(entry["docs_per_s"] / num_proc, 1)
    corpus = out / "runs" / "scale" / "corpus"
    if entry["rc"] == 0:  # a build's layout may change: a reader that fails says why, the measurements stay
        for key, read in (("counts", card_counts), ("outputs", output_digest),
                          ("near_dup", lambda c: near_dup_score(c, corpus_dir / "truth.jsonl"))):
            try:
                entry[key] = read(corpus)
            except Exception as e:  # noqa: BLE001
                entry[key] = {"error": f"{type(e).__name__}: {e}"}
    if not keep:
        shutil.rmtree(out / "runs", ignore_errors=True)
    return entry


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(f"{r['executor']}-np{r['num_proc']}", []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r["rc"] == 0]
        out[key] = {"runs": len(rs), "failed": len(rs) - len(ok)}
        if ok:
            out[key] |= {"median_wall_s": median([r["wall_s"] for r in ok]),
                         "median_docs_per_s": median([r["docs_per_s"] for r in ok]),
                         "median_docs_per_s_per_core": median([r["docs_per_s_per_core"] for r in ok]),
                         "driver_peak_rss_mb": max(r["driver_peak_rss_mb"] for r in ok),
                         "total_peak_rss_mb": max(r["total_peak_rss_mb"] for r in ok)}
    return out


def _identity(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r["rc"] == 0 and "error" not in r["outputs"]]
    if not ok:
        return {"identical": None}
    ref = ok[0]
    per = {f"{r['executor']}-np{r['num_proc']}-r{r['rep']}": r["outputs"] == ref["outputs"] for r in ok}
    have = {r["executor"] for r in ok}
    return {"reference": f"{ref['executor']}-np{ref['num_proc']}-r{ref['rep']}", "per_run": per,
            "identical": all(per.values()) if len(have) > 1 else None,
            "compared": "train/validation rows (id, text) in shard order, duplicates and rejected records, data card "
                        "minus timing keys and its how-it-ran section"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5_000_000)
    parser.add_argument("--docs-per-file", type=int, default=100_000)
    parser.add_argument("--families", type=int, default=None, help="planted families (default docs/1000, at least 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "lontar-bench" / "corpus_scale")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the builds write (default <cache-dir>/runs)")
    parser.add_argument("--executors", nargs="+", default=["local", "ray"], choices=["local", "ray"])
    parser.add_argument("--num-proc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--sizes", default=None, help="comma-separated sizes for the memory series (local executor)")
    parser.add_argument("--series-num-proc", type=int, default=2)
    parser.add_argument("--gen-procs", type=int, default=2, help="processes writing the corpus files")
    parser.add_argument("--interval", type=float, default=0.5, help="RSS sampling interval, seconds")
    parser.add_argument("--keep-runs", action="store_true", help="keep each build's output (large)")
    parser.add_argument("--generate-only", action="store_true", help="make (or check) the corpora of --docs and --sizes, no build")
    parser.add_argument("--collect", nargs="+", default=None, metavar="RESULT",
                        help="no build: the memory series by corpus size from committed results (names under "
                             "benchmarks/results, e.g. corpus_scale corpus_scale_2m corpus_scale_5m), written to --out")
    parser.add_argument("--label", default=None, help="e.g. 'smoke': said in the JSON")
    parser.add_argument("--out", default="corpus_scale", help="results file name (benchmarks/results/<out>.json)")
    args = parser.parse_args()
    if args.collect:
        collect(args.collect, args.out)
        return
    if args.executors and "ray" in args.executors:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise SystemExit("the ray executor needs Ray: pip install 'lontar[ray]'")
    work = args.work_dir or args.cache_dir / "runs"
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    gen = generate(args.cache_dir, args.docs, args.docs_per_file, args.families, args.seed, args.gen_procs)
    how = "reused" if gen["reused"] else f"made in {gen['generation_seconds']} s"
    print(f"corpus: {gen['docs']:,} documents, {len(gen['files'])} files, {gen['bytes'] / MB:,.0f} MiB ({how})", flush=True)
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else []
    if args.generate_only:
        for size in sizes:
            g = generate(args.cache_dir, size, args.docs_per_file, args.families, args.seed, args.gen_procs)
            print(f"corpus: {size:,} documents, {g['bytes'] / MB:,.0f} MiB "
                  f"({'reused' if g['reused'] else 'made in %s s' % g['generation_seconds']})", flush=True)
        return
    corpus_dir = args.cache_dir / gen["dir"]
    runs: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    path = _write_report(args, gen, runs, series, complete=False)
    for rep in range(args.reps):  # A B A B ...
        for executor in args.executors:
            for n in args.num_proc:
                r = one_run(gen, corpus_dir, work, executor, n, rep, args.interval, args.keep_runs)
                runs.append(r)
                print(f"{executor} num_proc={n} rep {rep}: rc {r['rc']}, {r['wall_s']} s, driver {r['driver_peak_rss_mb']} MiB, "
                      f"total {r['total_peak_rss_mb']} MiB, F1 {r.get('near_dup', {}).get('f1')}", flush=True)
                _write_report(args, gen, runs, series, complete=False)  # a long series keeps what it has measured
    for size in sizes:
        g = generate(args.cache_dir, size, args.docs_per_file, args.families, args.seed, args.gen_procs)
        r = one_run(g, args.cache_dir / g["dir"], work, "local", args.series_num_proc, 0, args.interval, args.keep_runs)
        series.append({"docs": size, "corpus_sha256": g["sha256"], **{k: r.get(k) for k in (
            "rc", "wall_s", "driver_peak_rss_mb", "total_peak_rss_mb", "stages", "docs_per_s", "near_dup", "counts")}})
        print(f"series {size:,}: {r['wall_s']} s, driver {r['driver_peak_rss_mb']} MiB, total {r['total_peak_rss_mb']} MiB",
              flush=True)
        _write_report(args, gen, runs, series, complete=False)
    report = _write_report(args, gen, runs, series, complete=True, return_report=True)
    _print_tables(args, gen, runs, series, report)
    print(f"written to {path}")


def _write_report(args: argparse.Namespace, gen: dict[str, Any], runs: list[dict[str, Any]],
                  series: list[dict[str, Any]], complete: bool, return_report: bool = False) -> Any:
    summary, identity = _summary(runs), _identity(runs)
    ok = [r for r in runs if r["rc"] == 0]
    f1s = [r["near_dup"]["f1"] for r in ok if "f1" in r.get("near_dup", {})]
    targets = {
        "driver_rss_le_1_5_GB": all(r["driver_peak_rss_mb"] <= 1.5 * 1024 for r in ok) if ok else None,
        "total_rss_le_16_GB": all(r["total_peak_rss_mb"] <= 16 * 1024 for r in ok) if ok else None,
        "near_dup_f1_ge_0_99": all(f >= 0.99 for f in f1s) if f1s else None,
        "identical_local_vs_ray": identity["identical"],
        "at_docs": args.docs, "target_docs": 5_000_000,
    }
    report = {
        "benchmark": "corpus_scale", "label": args.label, "complete": complete, "command": command(), **git_state(["lontar", "benchmarks", ":(exclude)benchmarks/results"]),
        "machine": machine(), "versions": versions(["datasets", "pyarrow", "numpy", "ray", "psutil"]),
        "input": {k: v for k, v in gen.items() if k != "files"} | {"files": len(gen["files"])},
        "build": {"config": build_config(Path("<corpus>"), Path("<work>"), "<executor>", 0, None)["corpus"] | {
                      "sources": [{"type": "jsonl", "path": f"<corpus>/{lang}-*.jsonl.gz", "lang": lang} for lang in LANGS]},
                  "how": "python -m lontar.cli corpus --config <yaml>, one subprocess per build"},
        "measurement": {
            "interval_s": args.interval,
            "driver_rss": "RSS of the build process (the CLI)",
            "total_rss": "sum of RSS over the driver, its descendants and (Ray) every process of the cluster; "
                         "pages shared between processes (Ray's object store, forked workers) count once per "
                         "process, so this is an upper bound",
            "ray_processes": "the cluster is started by benchmarks/ray_cluster.py; its processes are those whose "
                             "environment holds LONTAR_RAY_CLUSTER=<cluster id> or whose command line names its temp "
                             "dir, and their descendants (the raylets' workers)",
            "ray_cluster": "num_proc nodes on this machine, one CPU each: a head, then num_proc-1 worker raylets",
            "docs_per_s_per_core": "documents read / wall seconds / num_proc (the driver's own CPU not counted)",
            "stages": "per-stage peaks from the build's `corpus: stage <name> start|done` lines; null when it prints none",
            "near_dup": "benchmarks/planted.py score(): pairwise precision/recall over clusters holding a planted "
                        "document; a document's cluster is the kept document its duplicates record names (kept_line)",
            "identity": "train/validation rows (id, text) in shard order, duplicates and rejected records and the data "
                        "card minus timing keys and its how-it-ran section, as sha256, against the first successful run",
        },
        "notes": [
            "Exact copies are made of one-line documents only: boilerplate lines are counted over every "
            "multi-line document before exact dedup, so a multi-line page copied 3 or more times has all its "
            "lines counted as boilerplate and is set aside as 'only boilerplate lines' rather than counted "
            "as a duplicate.",
            "Planted documents are one line each, so that the lines a family shares are not counted as boilerplate.",
        ],
        "runs": runs, "summary": summary, "identity": identity, "memory_series": series, "targets": targets,
    }
    path = write_result(args.out, report)
    return report if return_report else path


def collect(names: list[str], out: str) -> None:
    """Memory by corpus size from committed results: per size, the first successful local run on 2
    workers (else the first successful run), with each stage's driver and whole-build peaks."""
    series = []
    for name in names:
        data = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
        ok = [r for r in data["runs"] if r["rc"] == 0]
        if not ok:
            raise SystemExit(f"{name}.json: no successful run")
        r = next((r for r in ok if r["executor"] == "local" and r["num_proc"] == 2), ok[0])
        series.append({"result": f"benchmarks/results/{name}.json", "label": data.get("label"),
                       "commit": data.get("commit"), "docs": r["docs"], "executor": r["executor"],
                       "num_proc": r["num_proc"], **{k: r.get(k) for k in (
                           "wall_s", "docs_per_s_per_core", "driver_peak_rss_mb", "total_peak_rss_mb", "stages")}})
    series.sort(key=lambda s: s["docs"])
    path = write_result(out, {"benchmark": "corpus_scale_series", "command": command(), **git_state(),
                              "machine": machine(), "from": [s["result"] for s in series],
                              "measurement": "peak RSS, MiB, of the build's driver process and of every process of "
                                             "the build, over the whole build and per stage (see each result's "
                                             "'measurement')", "series": series})
    print("| stage | " + " | ".join(f"{s['docs']:,} docs: driver / total MiB" for s in series) + " |")
    print("|---|" + "---:|" * len(series))
    print("| whole build | " + " | ".join(f"{s['driver_peak_rss_mb']:,.0f} / {s['total_peak_rss_mb']:,.0f}"
                                           for s in series) + " |")
    names_ = list(dict.fromkeys(n for s in series for n in (s.get("stages") or {})))
    for n in names_:
        cells = []
        for s in series:
            st = (s.get("stages") or {}).get(n)
            cells.append(f"{st['driver_peak_rss_mb']:,.0f} / {st['total_peak_rss_mb']:,.0f}" if st else "")
        print(f"| {n} | " + " | ".join(cells) + " |")
    print(f"written to {path}")


def _print_tables(args: argparse.Namespace, gen: dict[str, Any], runs: list[dict[str, Any]],
                  series: list[dict[str, Any]], report: dict[str, Any]) -> None:
    print(f"\n{gen['docs']:,} documents ({args.label or 'full'}); every step on")
    print("| executor | num_proc | wall s | docs/s | docs/s/core | driver MiB | total MiB | F1 |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['executor']} | {r['num_proc']} | {r['wall_s']} | {r['docs_per_s']:,.0f} | {r['docs_per_s_per_core']:,.0f} | "
              f"{r['driver_peak_rss_mb']:,.0f} | {r['total_peak_rss_mb']:,.0f} | {r.get('near_dup', {}).get('f1')} |")
    if series:
        print("\n| docs | wall s | driver MiB | total MiB |\n|---:|---:|---:|---:|")
        for s in series:
            print(f"| {s['docs']:,} | {s['wall_s']} | {s['driver_peak_rss_mb']:,.0f} | {s['total_peak_rss_mb']:,.0f} |")
        names = list(dict.fromkeys(n for s in series for n in (s.get("stages") or {})))
        if names:  # per-stage peak of the whole build's RSS, MiB, per corpus size
            print("\n| stage | " + " | ".join(f"{s['docs']:,}" for s in series) + " |\n|---|" + "---:|" * len(series))
            for n in names:
                cells = [str((s.get("stages") or {}).get(n, {}).get("total_peak_rss_mb", "")) for s in series]
                print(f"| {n} | " + " | ".join(cells) + " |")
    print(f"identical local vs ray: {report['identity']['identical']}; targets: {report['targets']}")


if __name__ == "__main__":
    main()
