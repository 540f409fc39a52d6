"""The card's model-index: one result per (task, language), on the dataset it was scored on (hub id,
config, split), with metric names that say what they measure.

huggingface_hub groups model-index entries by (task type, dataset id, config, split, revision) and
names each group after its first entry, so two languages or two subsets on the same dataset would
read back as one. Here a language is a result of its own (its dataset config, or the language code
for local files and the run's held-out split, with `args.language`), and a subset is part of the
metric's name: `acc_culturally_sensitive`, `acc_culturally_agnostic`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult

from lontar.hub.base import looks_like_hub_id

TASK_TYPE = "text-generation"
SUBSET_SUFFIX = {"CS": "culturally_sensitive", "CA": "culturally_agnostic"}
# lontar's chrF counts word bigrams: chrF++ (sacrebleu word_order=2); the syllable variants count syllables.
METRIC_TYPES = {"chrf": "chrf++", "chrf_syllables": "chrf++_syllables"}
METRIC_NAMES = {"acc": "accuracy", "acc_norm": "accuracy (length-normalised)", "exact_match": "exact match",
                "f1": "F1", "chrf": "chrF++", "chrf_syllables": "chrF++ over syllables", "bleu": "BLEU",
                "bleu_syllables": "BLEU over syllables", "bits_per_byte": "bits per byte (lower is better)",
                "bits_per_char": "bits per character (lower is better)", "refusal_rate": "refusal rate",
                "nll_per_token": "NLL per token"}
HELDOUT_TYPE = "lontar-heldout"
_LABEL = re.compile(r"^(?P<dataset>[^/\[\]]+/[^/\[\]]+)(?:/(?P<config>[^\[\]]+))?\[(?P<split>[^\]]+)\]$")


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def metric_type(metric: str, subset: str | None) -> str:
    base = METRIC_TYPES.get(metric, metric)
    return base if subset is None else f"{base}_{SUBSET_SUFFIX.get(subset, _slug(subset))}"


def metric_name(metric: str, subset: str | None) -> str:
    name = METRIC_NAMES.get(metric, metric)
    if subset is None:
        return name
    label = SUBSET_SUFFIX.get(subset, subset).replace("_", " ")
    return f"{name}, {label} ({subset})"


def parse_metric_type(mtype: str) -> tuple[str, str | None]:
    """(metric as results.json names it, subset) of a model-index metric type."""
    inverse = {v: k for k, v in METRIC_TYPES.items()}
    for subset, suffix in SUBSET_SUFFIX.items():
        if mtype.endswith("_" + suffix):
            base = mtype[: -len(suffix) - 1]
            return inverse.get(base, base), subset
    return inverse.get(mtype, mtype), None


def _spec_fields(spec: Any) -> dict[str, Any]:
    parallel = getattr(spec, "parallel", None)
    return {"dataset": spec.dataset, "config": "+".join(parallel.values()) if parallel else spec.config,
            "split": spec.split, "revision": spec.revision, "path": spec.path, "corpus": spec.corpus}


def _from_provenance(prov: Any) -> dict[str, Any] | None:
    """The eval stage's own record of where a task's rows came from (`provenance.source`), where it has one."""
    if not isinstance(prov, dict):
        return None
    kind = prov.get("kind")
    if kind == "parallel" and isinstance(prov.get("src"), dict) and isinstance(prov.get("tgt"), dict):
        src, tgt = prov["src"], prov["tgt"]
        found = _from_provenance(src)
        if found and found["dataset"]:
            configs = [c for c in (src.get("config"), tgt.get("config")) if c]
            return {**found, "config": "+".join(configs) or None}
        return found
    if isinstance(prov.get("dataset"), str):
        return {"dataset": prov["dataset"], "config": prov.get("config"), "split": prov.get("split"),
                "revision": prov.get("revision"), "path": None, "corpus": None}
    if kind == "corpus":
        return {"dataset": None, "config": None, "split": prov.get("split"), "revision": None, "path": None,
                "corpus": prov.get("split") or "validation"}
    if kind == "files":
        return {"dataset": None, "config": None, "split": None, "revision": None, "path": "files", "corpus": None}
    return None


def task_source(name: str, task: dict[str, Any], tasks_dir: Path | None) -> dict[str, Any]:
    """Where a task's items came from: dataset (hub id), config, split, revision, or a local path or the run's
    corpus. Read from the results' own record where it has one, else from the task file, else from its label."""
    recorded = _from_provenance((task.get("provenance") or {}).get("source"))
    if recorded:
        return recorded
    from lontar.eval.task import load_task, task_files

    candidates = [Path(task["file"])] if task.get("file") else []
    if tasks_dir is not None and tasks_dir.is_dir():
        found = task_files(tasks_dir).get(name)
        candidates += [found] if found else []
    for path in candidates:
        if path.is_file():
            try:
                return _spec_fields(load_task(path).source)
            except Exception:  # an edited or moved task file: fall back to the recorded label
                continue
    label = str(task.get("source", ""))
    m = _LABEL.match(label)
    if m:
        return {"dataset": m["dataset"], "config": m["config"], "split": m["split"], "revision": None,
                "path": None, "corpus": None}
    if label.startswith("corpus:"):
        return {"dataset": None, "config": None, "split": label.split(":", 1)[1], "revision": None, "path": None,
                "corpus": label.split(":", 1)[1]}
    return {"dataset": None, "config": None, "split": None, "revision": None, "path": label or None, "corpus": None}


def _dataset(run: str, name: str, task: dict[str, Any], lang: str | None, src: dict[str, Any]) -> dict[str, Any]:
    bench = task.get("benchmark", name)
    where = f" ({lang})" if lang else ""
    if src["corpus"]:
        return {"dataset_type": HELDOUT_TYPE, "dataset_name": f"{run} held-out {src['corpus']} split{where}",
                "dataset_config": lang or "all", "dataset_split": src["corpus"]}
    if src["dataset"] and looks_like_hub_id(src["dataset"]):
        return {"dataset_type": src["dataset"], "dataset_name": f"{src['dataset'].split('/')[-1]}{where}",
                "dataset_config": src["config"], "dataset_split": src["split"],
                "dataset_revision": src["revision"]}
    # Local files (SEA-HELM's jsonl, a local copy): no hub id to give; the benchmark names the data.
    return {"dataset_type": bench, "dataset_name": f"{bench}{where} (local files)", "dataset_config": lang,
            "dataset_split": src["split"]}


def eval_results(results: dict[str, Any], run: str, checkpoint: str = "adapter",
                 tasks_dir: Path | None = None) -> tuple[list[EvalResult], list[str]]:
    """EvalResults for one checkpoint's rows of results.json, and what was left out (with why)."""
    grouped: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for row in results.get("rows", []):
        if row.get("checkpoint") == checkpoint:
            grouped.setdefault((row["task"], row.get("lang")), []).append(row)
    out: list[EvalResult] = []
    left_out: list[str] = []
    taken: dict[tuple, tuple[str, str | None]] = {}
    sources: dict[str, dict[str, Any]] = {}
    for (name, lang), rows in grouped.items():
        task = results.get("tasks", {}).get(name, {"benchmark": rows[0].get("benchmark", name)})
        src = sources.setdefault(name, task_source(name, task, tasks_dir))
        ds = _dataset(results.get("run", run), name, task, lang, src)
        args = {"language": lang} if lang else None
        group = []
        for row in rows:
            value = row.get("value")
            if not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
                left_out.append(f"{name} {lang or ''} {row.get('subset') or ''} {row['metric']}: no finite value")
                continue
            group.append(EvalResult(task_type=TASK_TYPE, task_name=name, **ds, dataset_args=args,
                                    metric_type=metric_type(row["metric"], row.get("subset")),
                                    metric_name=metric_name(row["metric"], row.get("subset")),
                                    metric_value=round(float(value), 6)))
        if not group:
            continue
        key = group[0].unique_identifier
        if key in taken:  # the hub would fold it into the other task's entry under that task's name
            left_out.append(f"{name} {lang or ''}: same dataset, config and split as {taken[key][0]} "
                            f"{taken[key][1] or ''} (see results.json)")
            continue
        taken[key] = (name, lang)
        out += group
    return out, left_out


def read_back(model_index: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The model-index as rows again (task, lang, subset, metric, value), through huggingface_hub's parser."""
    from huggingface_hub.repocard_data import model_index_to_eval_results

    _, parsed = model_index_to_eval_results(model_index)
    rows = []
    for r in parsed:
        metric, subset = parse_metric_type(r.metric_type)
        rows.append({"task": r.task_name, "lang": (r.dataset_args or {}).get("language"), "subset": subset,
                     "metric": metric, "value": r.metric_value, "dataset": r.dataset_type,
                     "config": r.dataset_config, "split": r.dataset_split})
    return rows
