"""The eval stage: every checkpoint (base, adapters, full models) on the same tasks, one report.

    python evaluate/run.py --config configs/km.yaml --checkpoints base adapter runs/km/checkpoints/step-500

Tasks are read and their data loaded before any model (a bad task file or a missing file fails at
once); each checkpoint then runs every task. Writes `runs/<name>/eval/results.json` (per task,
language and subset, with bootstrap intervals; `rows` is the flat form), `results.md` (the
leaderboard), `results.png` and `plots/*.png` (a bar chart per benchmark; score against training
step when checkpoints carry steps), and per-item `samples/`. Results are cached per checkpoint and task
(`cache/`), so an interrupted evaluation resumes and a new checkpoint costs only its own runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from lontar.config import ConfigError, RunConfig
from lontar.eval.report import build_rows, render_markdown, write_plots
from lontar.eval.merge import merge_results, read_previous
from lontar.eval.prompts import prompt_sha256
from lontar.eval.runner import PreparedTask, Settings, TaskResult, prepare, run_task
from lontar.eval.sources import DataContext, MissingData, shown_path
from lontar.eval.task import Task, resolve_tasks, tasks_dir
from lontar.manifest import atomic_write_json, atomic_write_text, read_manifest, record_stage, sha256_file
from lontar.corpus.shards import split_files
from lontar.train.model import (DTYPES, MissingStageOutput, attention_implementation, base_model_dir, load_base_model,
                                load_tokenizer, tokenizer_source)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    label: str
    kind: str  # base | adapter | model
    path: Path | None
    step: int | None


def _trained_steps(cfg: RunConfig) -> int | None:
    for stage in reversed(read_manifest(cfg.run_dir).get("stages", [])):
        if stage.get("stage") == "train":
            return (stage.get("summary") or {}).get("steps")
    return None


def resolve_checkpoint(cfg: RunConfig, name: str) -> Checkpoint:
    """'base', 'adapter' (this run's), an adapter folder, a folder holding `adapter/`, or a full model folder."""
    if name == "base":
        return Checkpoint("base", "base", None, 0)
    if name == "adapter":
        path = cfg.run_dir / "adapter"
        if not (path / "adapter_config.json").exists():
            raise MissingStageOutput(f"{path}: no adapter_config.json: run the train stage first (lontar train)")
        return Checkpoint("adapter", "adapter", path, _trained_steps(cfg))
    path = Path(name)
    match = re.search(r"(?:step|checkpoint)[-_]?(\d+)", path.name)
    step = int(match.group(1)) if match else None
    label = path.name or name
    if (path / "adapter_config.json").exists():
        return Checkpoint(label, "adapter", path, step)
    if (path / "adapter" / "adapter_config.json").exists():
        return Checkpoint(label, "adapter", path / "adapter", step)
    if (path / "config.json").exists():
        return Checkpoint(label, "model", path, step)
    raise MissingStageOutput(f"eval.checkpoints: {name}: neither an adapter (adapter_config.json) nor a model "
                             "folder (config.json); use 'base', 'adapter' or such a folder")


def load_checkpoint(cfg: RunConfig, tokenizer: Any, ckpt: Checkpoint) -> Any:
    if ckpt.kind == "model":
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(ckpt.path, dtype=DTYPES[cfg.model.dtype],
                                                    attn_implementation=attention_implementation(cfg.model))
    model = load_base_model(cfg, tokenizer)
    if ckpt.kind == "base":
        return model
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(ckpt.path))


CONTENT_HASH_MAX_BYTES = 64 << 20  # adapters, configs, tokenizers: hashed whole; larger weights by name, size, time
SAMPLES_SHOWN = 3  # generations per generation task and checkpoint in results.json / results.md
SCORER_VERSION = 2  # bump when scoring changes what a cached result would be (2: per-pair truncation)


def _folder_print(h: Any, folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else [folder] if folder.is_file() else []
    for f in files:
        st = f.stat()
        name = f.relative_to(folder) if folder.is_dir() else f.name
        if st.st_size <= CONTENT_HASH_MAX_BYTES:
            h.update(f"{name}\0{sha256_file(f)}\n".encode())
        else:
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def fingerprint(cfg: RunConfig, ckpt: Checkpoint) -> str:
    """What identifies a checkpoint and its tokenizer: the content of its small files (an adapter, a
    config, a tokenizer), names, sizes and times of large weight files (no reading of gigabytes), or
    the hub id and revision of a pretrained base."""
    h = hashlib.sha256()
    folders = [ckpt.path] if ckpt.path else []
    if ckpt.kind != "model":  # a base and adapters on it: the base matters too
        if cfg.model.name_or_path and not Path(cfg.model.name_or_path).exists():
            h.update(f"{cfg.model.name_or_path}@{cfg.model.revision}".encode())
        else:
            folders.append(Path(cfg.model.name_or_path) if cfg.model.name_or_path else base_model_dir(cfg))
        h.update(json.dumps(cfg.model.model_dump(mode="json"), sort_keys=True).encode())
    tok = tokenizer_source(cfg)
    if tok and Path(tok).exists():
        folders.append(Path(tok))
    else:
        h.update(f"tokenizer:{tok}@{cfg.model.revision}".encode())
    for folder in folders:
        h.update(f"[{folder.name}]".encode())
        _folder_print(h, Path(folder))
    return h.hexdigest()


def docs_sha256(p: PreparedTask) -> str:
    """The content of every document and few-shot example the task can show the model."""
    h = hashlib.sha256()
    for rows in (p.docs, p.pool if p.pool is not None and p.pool is not p.docs else []):
        for row in rows:
            h.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode())
            h.update(b"\n")
        h.update(b"\x00")
    return h.hexdigest()


def _cache_key(p: PreparedTask, settings: Settings, ckpt_print: str, prompt_hash: str = "", data_hash: str = "") -> str:
    """Everything a result depends on: the task as resolved after `include:`, the prompt (with any
    SEA-HELM template file), the data's content and files, the items chosen, the scorer's settings and
    version, and the checkpoint with its tokenizer."""
    blob = {"task": p.task.model_dump(mode="json", exclude={"file", "includes"}), "indices": p.indices,
            "prompt": prompt_hash, "data": data_hash or docs_sha256(p), "provenance": p.provenance,
            "settings": {k: v for k, v in asdict(settings).items() if k not in ("progress", "device")},
            "scorer": SCORER_VERSION, "checkpoint": ckpt_print}
    return hashlib.sha256(json.dumps(blob, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def data_context(cfg: RunConfig) -> DataContext:
    e = cfg.eval
    return DataContext(data_dirs=dict(e.data_dirs), dataset_dirs=dict(e.dataset_dirs), hub_mirror=e.hub_mirror,
                       run_dir=cfg.run_dir)


def prepare_tasks(cfg: RunConfig, tasks: list[Task], ctx: DataContext) -> tuple[list[PreparedTask], dict[str, str]]:
    e = cfg.eval
    prepared, skipped = [], {}
    for task in tasks:
        if e.num_fewshot is not None and task.output != "bpb":
            task = task.model_copy(update={"fewshot": task.fewshot.model_copy(update={"k": e.num_fewshot})})
        limit = e.max_docs if task.source.corpus else e.limit
        try:
            prepared.append(prepare(task, ctx, limit=limit, seed=e.seed,
                                    mode="sample" if task.source.corpus else e.limit_mode))
        except MissingData as err:
            if e.missing_data == "error":
                raise
            skipped[task.task] = str(err)
            log.info(f"eval: skipping {task.task}: {err}")
    return prepared, skipped


def _task_summary(p: PreparedTask, prompt_hash: str, data_hash: str) -> dict[str, Any]:
    t = p.task
    from lontar.eval.runner import corpus_metrics

    metrics = list(dict.fromkeys([*t.default_metrics, *(corpus_metrics(t) if t.output == "generate" else [])]))
    return {"benchmark": t.benchmark, "kind": t.kind, "lang": t.lang, "output": t.output, "file": t.file,
            "includes": t.includes, "source": _source_label(p), "provenance": p.provenance,
            "data_sha256": data_hash, "prompt_sha256": prompt_hash,
            "n": p.n, "of": len(p.docs), "limit": {"mode": p.limit_mode, "n": p.n} if p.n < len(p.docs) else None,
            "fewshot": t.fewshot.k if t.output != "bpb" else None,
            "metrics_list": metrics, "metrics": {}, "seconds": {}, "max_length": {}, "truncated": {}}


def _source_label(p: PreparedTask) -> str:
    """The source as named, saying when a local copy stood in for the hub dataset."""
    prov = p.provenance.get("source", {})
    folders = [x["folder"] for x in ([prov["src"], prov["tgt"]] if prov.get("kind") == "parallel" else [prov])
               if x.get("kind") == "local_dataset"]
    return p.task.source.label + (f" (local copy: {', '.join(dict.fromkeys(folders))})" if folders else "")


def _data_inputs(provenance: dict[str, Any], run_dir: Path) -> list[Path | str]:
    """The data files a task read (for the manifest), or the hub id and revision it loaded."""
    out: list[Path | str] = []
    for part in provenance.values():
        for prov in ([part["src"], part["tgt"]] if part.get("kind") == "parallel" else [part]):
            if prov.get("kind") == "hub":
                out.append(f"hub:{prov['dataset']}/{prov.get('config') or 'default'}[{prov['split']}]"
                           f"@{prov.get('resolved_revision') or prov.get('revision') or 'main'}")
            elif prov.get("kind") != "corpus":  # the corpus is the corpus stage's output, recorded there
                out.extend((run_dir / f["path"]).resolve() for f in prov.get("files", []))
    return out


def _held_out(results: dict[str, Any], prepared: list[PreparedTask], label: str) -> dict[str, Any]:
    """The checkpoint's bits per byte on the run's held-out corpus (the first corpus bpb task)."""
    for p in prepared:
        if p.task.output == "bpb" and p.task.source.corpus:
            all_ = results["tasks"][p.task.task]["metrics"][label]["all"]
            out = {m: all_[m]["value"] for m in ("bits_per_byte", "bits_per_char", "nll_per_token") if m in all_}
            return {**out, **all_.get("totals", {}), "task": p.task.task}
    return {}


def run_eval(cfg: RunConfig) -> dict[str, Any]:
    started = time.time()
    e = cfg.eval
    # Fail before any work, naming the earliest missing stage: corpus, then tokenizer, then train.
    tasks = resolve_tasks(list(e.tasks), tasks_dir(e.tasks_dir))
    for split in dict.fromkeys(t.source.corpus for t in tasks if t.source.corpus):
        split_files(cfg.run_dir / "corpus", split)
    tokenizer_source(cfg)
    ckpts = [resolve_checkpoint(cfg, name) for name in e.checkpoints]
    labels = [c.label for c in ckpts]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"eval.checkpoints: two checkpoints share the name {labels} (rename a folder)")
    ctx = data_context(cfg)
    prepared, skipped = prepare_tasks(cfg, tasks, ctx)
    tokenizer = load_tokenizer(cfg)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    # Bits per byte in the window the model was trained on; prompts may use the model's full window.
    settings = Settings(style=e.prompt_style, batch_size=e.batch_size, max_length=e.max_length,
                        bpb_max_length=e.max_length or cfg.train.block_size, strategy=e.mc_strategy,
                        bootstrap=e.bootstrap, seed=e.seed, device=device)
    results: dict[str, Any] = {
        "run": cfg.name, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {"prompt_style": e.prompt_style, "mc_strategy": e.mc_strategy, "bootstrap": e.bootstrap,
                     "ci_level": 0.95, "seed": e.seed, "max_length": settings.max_length,
                     "limit": e.limit, "limit_mode": e.limit_mode,
                     "bpb_max_length": settings.bpb_max_length, "batch_size": e.batch_size,
                     "device": device},
        "checkpoints": {c.label: {"kind": c.kind, "path": shown_path(c.path, cfg.run_dir) if c.path else None,
                                  "step": c.step}
                        for c in ckpts},
        "tasks": {},
        "skipped": skipped,
    }
    hashes = {}
    for p in prepared:
        hashes[p.task.task] = (prompt_sha256(p.task, ctx), docs_sha256(p))
        results["tasks"][p.task.task] = _task_summary(p, *hashes[p.task.task])
    out_dir = cfg.run_dir / "eval"
    previous = read_previous(out_dir / "results.json")  # merged in below: earlier rows are never erased
    # Each (checkpoint, task) result is kept in eval/cache/ under a key of the task, its items, the
    # settings and the checkpoint's files: an interrupted run resumes where it stopped.
    cache_dir = out_dir / "cache"
    for ckpt in ckpts:
        model = None
        if ckpt.kind != "model" and not cfg.model.name_or_path and not (base_model_dir(cfg) / "config.json").exists():
            # A random-init base is written on first load: load it now, so the fingerprint (and the
            # cache key) is the same on this run and the next.
            model = load_checkpoint(cfg, tokenizer, ckpt).to(device).eval()
        ckpt_print = fingerprint(cfg, ckpt)
        for p in prepared:
            key = _cache_key(p, settings, ckpt_print, *hashes[p.task.task])
            cached = cache_dir / ckpt.label / f"{p.task.task}.json"
            saved = json.loads(cached.read_text(encoding="utf-8")) if cached.exists() else {}
            if saved.get("key") == key:
                r = TaskResult(**saved["result"])
                log.info(f"eval: {ckpt.label} {p.task.task}: reusing the result in {cached}")
            else:
                if model is None:
                    model = load_checkpoint(cfg, tokenizer, ckpt).to(device).eval()
                r = run_task(p, model, tokenizer, settings, ctx, ckpt.label)
                atomic_write_json(cached, {"key": key, "result": asdict(r)})
            summary = results["tasks"][p.task.task]
            summary.setdefault("fingerprint", {})[ckpt.label] = ckpt_print
            summary["metrics"][ckpt.label] = r.metrics
            summary["seconds"][ckpt.label] = r.seconds
            summary["max_length"][ckpt.label] = r.max_length
            summary["truncated"][ckpt.label] = r.truncated
            if r.chance is not None:
                summary["chance"] = r.chance
            if p.task.output == "generate" and r.samples:  # a few generations to read, per checkpoint
                results.setdefault("samples", {}).setdefault(p.task.task, {})[ckpt.label] = [
                    {k: x.get(k) for k in ("index", "prompt", "prediction", "reference")} for x in r.samples[:SAMPLES_SHOWN]]
            if r.truncated:
                log.warning(f"eval: warning: {ckpt.label} {p.task.task}: {r.truncated} of {p.n} items cut to fit "
                            f"max_length {r.max_length} (context tokens dropped from the left, as lm-eval does)")
            if e.log_samples and r.samples:
                path = out_dir / "samples" / ckpt.label / f"{p.task.task}.jsonl"
                atomic_write_text(path, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in r.samples))
        results["checkpoints"][ckpt.label].update(_held_out(results, prepared, ckpt.label))
        del model
    windows = {w for t in results["tasks"].values() if t["output"] != "bpb" for w in t["max_length"].values()}
    if e.max_length is None and len(windows) == 1:  # the model's own window, as lm-eval defaults
        results["settings"]["max_length"] = windows.pop()
    results["settings"]["max_length_from"] = "config" if e.max_length is not None else "model"
    held = next((r for r in results["checkpoints"].values() if "bits_per_byte" in r), None)
    if held:  # the held-out summary at the top level, as the model card reads it
        results.update({"split": "validation", "docs": held["docs"], "bytes": held["bytes"],
                        "max_length": settings.bpb_max_length})
    results, carried = merge_results(previous, results)
    if carried:
        log.info(f"eval: kept {len(carried)} earlier result(s) this run did not measure again "
                 f"({', '.join(carried[:5])}{', ...' if len(carried) > 5 else ''})")
    results["rows"] = build_rows(results)
    shutil.rmtree(out_dir / "plots", ignore_errors=True)  # rebuilt from the merged table
    results["plots"] = write_plots(results, out_dir)
    atomic_write_json(out_dir / "results.json", results)
    atomic_write_text(out_dir / "results.md", render_markdown(results))
    langs_of = {t: {r["lang"] for r in results["rows"] if r["task"] == t and r["lang"]} for t in results["tasks"]}
    for row in results["rows"]:
        if row["lang"] is None and len(langs_of[row["task"]]) == 1:
            continue  # a one-language corpus: its overall figure is its language's
        if row["subset"] is None and row["metric"] in ("acc", "chrf", "bits_per_byte"):
            ci = f" [{row['ci'][0]:.4f}, {row['ci'][1]:.4f}]" if row.get("ci") else ""
            log.info(f"eval: {row['checkpoint']:<16} {row['task']:<28} {row['lang'] or '*':<3} "
                     f"{row['metric']:<14} {row['value']:.4f}{ci}")
    log.info(f"eval: report {out_dir / 'results.md'}")
    inputs: list[Path | str] = [*[c.path if c.path else "base" for c in ckpts]]
    for t in tasks:  # each task file with every file it includes (the prompt often lives in an include)
        inputs.extend(Path(f) for f in [t.file, *t.includes])
    for p in prepared:
        inputs.extend(_data_inputs(p.provenance, cfg.run_dir))
    inputs = list(dict.fromkeys(inputs))
    record_stage(cfg, "eval", inputs=inputs, outputs=[out_dir], started=started,
                 extra={"summary": {c: round(r["bits_per_byte"], 5) for c, r in results["checkpoints"].items()
                                    if "bits_per_byte" in r},
                        "tasks": {name: {k: t.get(k) for k in ("file", "includes", "provenance", "data_sha256",
                                                           "prompt_sha256", "limit", "truncated", "max_length")}
                                  for name, t in results["tasks"].items()}})
    return results
