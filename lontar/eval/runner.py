"""Run prepared tasks on one model: per-item records and metrics with bootstrap intervals, per subset."""

from __future__ import annotations

import math
import random
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal

from lontar.eval import metrics as M
from lontar.eval.bpb import document_nll
from lontar.eval.generate import greedy_generate
from lontar.eval.loglik import LoglikScorer, Strategy
from lontar.eval.prompts import Instance, Style, build_instances
from lontar.eval.sources import DataContext, task_docs
from lontar.eval.task import IFEVAL_METRICS, Task

ALL = "all"


@dataclass
class PreparedTask:
    """A task with its documents loaded once and reused for every checkpoint."""

    task: Task
    docs: list[dict[str, Any]]
    pool: list[dict[str, Any]] | None
    indices: list[int]  # the documents evaluated (all, or the first / a seeded sample when limited)
    provenance: dict[str, Any] = field(default_factory=dict)  # where the documents came from (files, hashes)
    limit_mode: str = "first"

    @property
    def n(self) -> int:
        return len(self.indices)


LimitMode = Literal["first", "sample"]


def prepare(task: Task, ctx: DataContext, *, limit: int | None, seed: int, mode: LimitMode = "first") -> PreparedTask:
    """Load a task's documents. A limit takes the first N items (`first`, lm-eval's `--limit`) or a
    seeded sample kept in stored order (`sample`: files are often sorted by subject or label)."""
    data = task_docs(task, ctx)
    docs = data.docs
    k = min(x for x in (limit, task.limit, len(docs)) if x)
    if k >= len(docs):
        indices = list(range(len(docs)))
    elif mode == "first":
        indices = list(range(k))
    else:
        rng = random.Random(seed ^ zlib.crc32(task.task.encode()))
        indices = sorted(rng.sample(range(len(docs)), k))
    return PreparedTask(task, docs, data.pool, indices, data.provenance, mode)


TOKENIZER_INFINITY = int(1e30)  # transformers' "no limit" model_max_length


def effective_max_length(model: Any, configured: int | None, tokenizer: Any = None) -> int:
    """The window prompts are cut to, resolved as lm-eval resolves it: the configured one, else the text
    model's positions (`text_config` first, for composite configs such as Gemma 3), else the
    tokenizer's `model_max_length`, else 2048."""
    if configured:
        return configured
    config = getattr(model, "config", None)
    cfg = getattr(config, "text_config", None) or config
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(cfg, attr, None)
        if value is not None:
            return int(value)
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if limit is not None and limit < TOKENIZER_INFINITY else 2048


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
    max_length: int | None = None  # the window prompts were cut to (bits per byte: its rolling window)
    truncated: int = 0  # items whose context lost tokens from the left to fit max_length
    chance: float | None = None  # multiple choice: the accuracy of guessing (mean of 1 / choices per item)


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
    window = effective_max_length(model, s.max_length, tokenizer)
    scorer = LoglikScorer(model, tokenizer, batch_size=s.batch_size, max_length=window, device=s.device,
                          strategy=s.strategy, progress=s.progress)
    scored = scorer.score([(x.context, x.continuations or []) for x in inst], desc=f"{label} {t.task}")
    per_item: dict[str, list[float]] = {m: [] for m in t.default_metrics}
    samples = []
    for x, sc in zip(inst, scored):
        lls = [c.loglik for c in sc]
        got = M.mc_scores(lls, x.choice_texts or [], x.gold or 0)
        for m in per_item:
            per_item[m].append(got[m])
        cut = any(c.truncated for c in sc)
        samples.append({"index": x.index, "group": x.group, "gold": x.gold, "logliks": [round(v, 5) for v in lls],
                        "pred": int(max(range(len(lls)), key=lls.__getitem__)), **got,
                        **({"truncated": True} if cut else {})})
    truncated = sum(1 for sc in scored if any(c.truncated for c in sc))
    chance = sum(1 / len(sc) for sc in scored) / len(scored) if scored else None
    return TaskResult(t.task, t.benchmark, t.output, _mean_metrics(per_item, [x.group for x in inst], s, 0), samples,
                      max_length=window, truncated=truncated, chance=chance)


def run_generate(p: PreparedTask, model: Any, tokenizer: Any, s: Settings, ctx: DataContext, label: str) -> TaskResult:
    t = p.task
    inst = build_instances(t, p.docs, p.pool, style=s.style, tokenizer=tokenizer, ctx=ctx, indices=p.indices)
    window = effective_max_length(model, s.max_length, tokenizer)
    cut: list[bool] = []
    preds = greedy_generate(model, tokenizer, [x.context for x in inst], max_new_tokens=t.generation.max_new_tokens,
                            stop=t.generation.stop, batch_size=s.batch_size, max_length=window,
                            device=s.device, desc=f"{label} {t.task}", progress=s.progress, truncated=cut)
    refs = [x.references or [x.reference or ""] for x in inst]
    groups = [x.group for x in inst]
    lang = t.lang
    item_metrics = {"exact_match": M.exact_match, "f1": M.f1,
                    "refusal_rate": lambda pr, rf, lang: M.refusal(pr, t.refusal_markers)}
    per_item = {m: [item_metrics[m](pr, rf, lang) for pr, rf in zip(preds, refs)]
                for m in t.default_metrics if m in item_metrics}
    checks = _ifeval(p, inst, preds) if IFEVAL_METRICS & set(t.default_metrics) else None
    if checks is not None:
        for m in ("ifeval_prompt", "ifeval_prompt_loose"):
            if m in t.default_metrics:
                kind = "loose" if m.endswith("loose") else "strict"
                per_item[m] = [float(all(c[kind])) for c in checks]
    out = _mean_metrics(per_item, groups, s, 1)
    if checks is not None:  # instruction level: followed instructions over all instructions, items resampled
        for m in ("ifeval_instruction", "ifeval_instruction_loose"):
            if m in t.default_metrics:
                kind = "loose" if m.endswith("loose") else "strict"
                for name, idx in _group_indices(groups).items():
                    out[name][m] = M.bootstrap_ratio([sum(checks[i][kind]) for i in idx],
                                                     [len(checks[i][kind]) for i in idx], n=s.bootstrap, seed=s.seed + 4)
    for m in corpus_metrics(t):
        stats = M.corpus_stats(m, preds, refs, lang)
        for name, idx in _group_indices(groups).items():
            out[name][m] = M.bootstrap_corpus(m, stats[idx], lang, n=s.bootstrap, seed=s.seed + 2)
    samples = [{"index": x.index, "group": x.group, "prompt": x.context, "prediction": pr, "reference": rf[0],
                **({"references": rf} if len(rf) > 1 else {}), **({"truncated": True} if c else {})}
               for x, pr, rf, c in zip(inst, preds, refs, cut)]
    for sample, c in zip(samples, checks or []):
        sample["followed"] = c["strict"]
    return TaskResult(t.task, t.benchmark, t.output, out, samples, max_length=window, truncated=sum(cut))


def _ifeval(p: PreparedTask, inst: list[Instance], preds: list[str]) -> list[dict[str, list[bool]]]:
    from lontar.eval.ifeval import check_item

    out = []
    for x, pred in zip(inst, preds):
        ids, kwargs = p.task.instructions(p.docs[x.index])
        out.append(check_item(pred, ids, kwargs, p.task.lang, x.context))
    return out


def corpus_metrics(t: Task) -> list[str]:
    """chrF++ / BLEU as asked, each followed by its syllable variant where the language has no spaces."""
    out: list[str] = []
    for m in t.default_metrics:
        if m in M.CORPUS_METRICS:
            out.append(m)
            extra = M.syllable_variant(m, t.lang)
            if extra and extra not in t.default_metrics:
                out.append(extra)
    return list(dict.fromkeys(out))


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
    return TaskResult(t.task, t.benchmark, t.output, out, max_length=max_length)


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
