"""Run prepared tasks on one model: per-item records and metrics with bootstrap intervals, per subset."""

from __future__ import annotations

import math
import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from lontar.eval import metrics as M
from lontar.eval.bpb import document_nll
from lontar.eval.generate import greedy_generate
from lontar.eval.loglik import LoglikScorer, Strategy
from lontar.eval.prompts import Instance, Style, build_instances
from lontar.eval.sources import DataContext, task_docs
from lontar.eval.task import Task

ALL = "all"


@dataclass
class PreparedTask:
    """A task with its documents loaded once and reused for every checkpoint."""

    task: Task
    docs: list[dict[str, Any]]
    pool: list[dict[str, Any]] | None
    indices: list[int]  # the documents evaluated (all, or a seeded sample when limited)

    @property
    def n(self) -> int:
        return len(self.indices)


def prepare(task: Task, ctx: DataContext, *, limit: int | None, seed: int) -> PreparedTask:
    docs, pool = task_docs(task, ctx)
    k = min(x for x in (limit, task.limit, len(docs)) if x)
    # A seeded sample in stored order: files are often sorted by subject or label.
    rng = random.Random(seed ^ zlib.crc32(task.task.encode()))
    indices = list(range(len(docs))) if k >= len(docs) else sorted(rng.sample(range(len(docs)), k))
    return PreparedTask(task, docs, pool, indices)


@dataclass
class Settings:
    style: Style = "base"
    batch_size: int = 16
    max_length: int | None = None  # multiple choice, generation: default the model's max positions
    bpb_max_length: int | None = None  # bits per byte window: default the same
    strategy: Strategy = "kv_cache"
    bootstrap: int = 1000
    seed: int = 1234
    device: str = "cpu"
    progress: bool = True


@dataclass
class TaskResult:
    task: str
    benchmark: str
    output: str
    metrics: dict[str, dict[str, dict[str, Any]]]  # subset ("all", "CS", "km", ...) -> metric -> {value, ci, n}
    samples: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def _group_indices(groups: list[str | None]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {ALL: list(range(len(groups)))}
    for i, g in enumerate(groups):
        if g is not None:
            out.setdefault(g, []).append(i)
    return out


def _mean_metrics(per_item: dict[str, list[float]], groups: list[str | None], s: Settings, salt: int) -> dict:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, idx in _group_indices(groups).items():
        out[name] = {m: M.bootstrap_mean([v[i] for i in idx], n=s.bootstrap, seed=s.seed + salt)
                     for m, v in per_item.items()}
    return out


def run_multiple_choice(p: PreparedTask, model: Any, tokenizer: Any, s: Settings, ctx: DataContext,
                        label: str) -> TaskResult:
    t = p.task
    inst: list[Instance] = build_instances(t, p.docs, p.pool, style=s.style, tokenizer=tokenizer, ctx=ctx,
                                          indices=p.indices)
    scorer = LoglikScorer(model, tokenizer, batch_size=s.batch_size, max_length=s.max_length, device=s.device,
                          strategy=s.strategy, progress=s.progress)
    scored = scorer.score([(x.context, x.continuations or []) for x in inst], desc=f"{label} {t.task}")
    per_item: dict[str, list[float]] = {m: [] for m in t.default_metrics}
    samples = []
    for x, sc in zip(inst, scored):
        lls = [c.loglik for c in sc]
        got = M.mc_scores(lls, x.choice_texts or [], x.gold or 0)
        for m in per_item:
            per_item[m].append(got[m])
        samples.append({"index": x.index, "group": x.group, "gold": x.gold, "logliks": [round(v, 5) for v in lls],
                        "pred": int(max(range(len(lls)), key=lls.__getitem__)), **got})
    return TaskResult(t.task, t.benchmark, t.output, _mean_metrics(per_item, [x.group for x in inst], s, 0), samples)


def run_generate(p: PreparedTask, model: Any, tokenizer: Any, s: Settings, ctx: DataContext, label: str) -> TaskResult:
    t = p.task
    inst = build_instances(t, p.docs, p.pool, style=s.style, tokenizer=tokenizer, ctx=ctx, indices=p.indices)
    preds = greedy_generate(model, tokenizer, [x.context for x in inst], max_new_tokens=t.generation.max_new_tokens,
                            stop=t.generation.stop, batch_size=s.batch_size, max_length=s.max_length,
                            device=s.device, desc=f"{label} {t.task}", progress=s.progress)
    refs = [x.reference or "" for x in inst]
    groups = [x.group for x in inst]
    lang = t.lang
    item_metrics = {"exact_match": M.exact_match, "f1": M.f1,
                    "refusal_rate": lambda pr, rf, lang: M.refusal(pr, t.refusal_markers)}
    per_item = {m: [item_metrics[m](pr, rf, lang) for pr, rf in zip(preds, refs)]
                for m in t.default_metrics if m in item_metrics}
    out = _mean_metrics(per_item, groups, s, 1)
    for m in (m for m in t.default_metrics if m in ("chrf", "bleu")):
        stats = M.corpus_stats(m, preds, refs, lang)
        for name, idx in _group_indices(groups).items():
            out[name][m] = M.bootstrap_corpus(m, stats[idx], lang, n=s.bootstrap, seed=s.seed + 2)
    samples = [{"index": x.index, "group": x.group, "prediction": pr, "reference": rf}
               for x, pr, rf in zip(inst, preds, refs)]
    return TaskResult(t.task, t.benchmark, t.output, out, samples)


def run_bpb(p: PreparedTask, model: Any, tokenizer: Any, s: Settings, label: str) -> TaskResult:
    t = p.task
    docs = [p.docs[i] for i in p.indices]
    texts = [t.render_text(d) for d in docs]
    max_length = s.bpb_max_length or s.max_length or getattr(model.config, "max_position_embeddings", None) or 2048
    nll, tokens = document_nll(model, tokenizer, texts, max_length=max_length, batch_size=s.batch_size,
                               device=s.device, desc=f"{label} {t.task}", progress=s.progress)
    nbytes = [len(x.encode("utf-8")) for x in texts]
    chars = [len(x) for x in texts]
    # A multilingual corpus ('*') is also reported per document language; other tasks by group_by.
    groups = [d.get("lang") if t.lang == "*" else t.group(d) for d in docs]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, idx in _group_indices(groups).items():
        sub_nll = [nll[i] for i in idx]
        metrics = {"bits_per_byte": M.bootstrap_ratio(sub_nll, [nbytes[i] for i in idx], n=s.bootstrap,
                                                      seed=s.seed + 3, scale=1 / math.log(2)),
                   "bits_per_char": M.bootstrap_ratio(sub_nll, [chars[i] for i in idx], n=s.bootstrap,
                                                      seed=s.seed + 3, scale=1 / math.log(2))}
        out[name] = {m: v for m, v in metrics.items() if m in t.default_metrics}
        tok = sum(tokens[i] for i in idx)
        out[name]["nll_per_token"] = {"value": sum(sub_nll) / tok if tok else math.nan, "n": len(idx)}
        out[name]["totals"] = {"docs": len(idx), "tokens": tok, "bytes": sum(nbytes[i] for i in idx),
                               "chars": sum(chars[i] for i in idx)}
    return TaskResult(t.task, t.benchmark, t.output, out)


def run_task(p: PreparedTask, model: Any, tokenizer: Any, s: Settings, ctx: DataContext, label: str) -> TaskResult:
    started = time.perf_counter()
    if p.task.output == "multiple_choice":
        r = run_multiple_choice(p, model, tokenizer, s, ctx, label)
    elif p.task.output == "generate":
        r = run_generate(p, model, tokenizer, s, ctx, label)
    else:
        r = run_bpb(p, model, tokenizer, s, label)
    r.seconds = round(time.perf_counter() - started, 3)
    return r
