"""Results of several checkpoints on the same tasks: results.json rows, a markdown leaderboard, PNG plots.

`rows` is the flat form every consumer reads (model card, governance record): one row per checkpoint,
task, language, subset and metric, with its value, 95% bootstrap interval and item count, the window
prompts were cut to (`max_length`) and how many of the task's items were cut to fit it (`truncated`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

LOWER_IS_BETTER = {"bits_per_byte", "bits_per_char", "nll_per_token"}
METRIC_LABELS = {"acc": "accuracy", "acc_norm": "accuracy (length-normalised)", "exact_match": "exact match",
                 "f1": "F1", "chrf": "chrF++", "chrf_syllables": "chrF++ (syllables)", "bleu": "BLEU",
                 "bleu_syllables": "BLEU (syllables)", "bits_per_byte": "bits/byte", "bits_per_char": "bits/char"}
SCALE_100 = {"acc", "acc_norm", "exact_match", "f1", "ifeval_prompt", "ifeval_instruction", "ifeval_prompt_loose",
             "ifeval_instruction_loose"}  # shown in percent
CHANCE_METRICS = {"acc", "acc_norm"}
SAMPLE_PROMPT_CHARS = 300


def _inline(text: Any) -> str:
    return str(text if text is not None else "").replace("`", "'").replace("\n", "⏎")


def primary_metric(task: dict[str, Any]) -> str:
    metrics = task["metrics_list"]
    for m in ("acc", "chrf", "bits_per_byte", "f1", "exact_match"):
        if m in metrics:
            return m
    return metrics[0]


def build_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, task in results["tasks"].items():
        for ckpt, subsets in task["metrics"].items():
            for subset, metrics in subsets.items():
                for metric, r in metrics.items():
                    if not isinstance(r, dict) or "value" not in r:
                        continue
                    if task["lang"] == "*":  # a multilingual corpus: the subsets are languages
                        lang, sub = (None if subset == "all" else subset), None
                    else:
                        lang, sub = task["lang"], None if subset == "all" else subset
                    rows.append({"checkpoint": ckpt, "step": results["checkpoints"][ckpt].get("step"),
                                 "task": name, "benchmark": task["benchmark"], "lang": lang, "subset": sub,
                                 "metric": metric, "value": r["value"], "ci": r.get("ci"), "n": r.get("n"),
                                 "max_length": task.get("max_length", {}).get(ckpt),
                                 "truncated": task.get("truncated", {}).get(ckpt, 0),
                                 "fingerprint": task.get("fingerprint", {}).get(ckpt),
                                 **({"type": "safety"} if task.get("kind") == "safety" else {})})
    return rows


def _subsets(task: dict[str, Any], ckpts: list[str]) -> list[str]:
    found = {sub for c in ckpts for sub in task["metrics"].get(c, {})}
    return (["all"] if "all" in found else []) + sorted(found - {"all"})


def _fmt(metric: str, r: dict[str, Any] | None) -> str:
    if not r or r.get("value") is None or (isinstance(r["value"], float) and math.isnan(r["value"])):
        return "-"
    k = 100.0 if metric in SCALE_100 else 1.0
    digits = 1 if metric in SCALE_100 or metric.startswith(("chrf", "bleu")) else 3
    text = f"{r['value'] * k:.{digits}f}"
    if r.get("ci"):
        lo, hi = r["ci"]
        text += f" [{lo * k:.{digits}f}, {hi * k:.{digits}f}]"
    return text


def _best(metric: str, values: dict[str, float]) -> set[str]:
    finite = {c: v for c, v in values.items() if v is not None and not math.isnan(v)}
    if len(finite) < 2 or len(set(finite.values())) == 1:
        return set()
    target = (min if metric in LOWER_IS_BETTER else max)(finite.values())
    return {c for c, v in finite.items() if v == target}


def render_markdown(results: dict[str, Any]) -> str:
    ckpts = list(results["checkpoints"])
    s = results["settings"]
    lines = [f"# Evaluation: {results['run']}", ""]
    desc = ", ".join(f"{c}" + (f" (step {results['checkpoints'][c]['step']})"
                               if results["checkpoints"][c].get("step") is not None else "") for c in ckpts)
    lines += [f"Checkpoints: {desc}. Prompt style: {s['prompt_style']}. Values with a 95% bootstrap interval "
              f"over items ({s['bootstrap']} resamples, seed {s['seed']}); accuracy, exact match and F1 in %. "
              "Bits per byte: lower is better; everything else: higher is better. Best per row in **bold**.", ""]
    # Summary: per benchmark, the mean of its tasks' primary metric (subset 'all').
    by_bench: dict[str, list[str]] = {}
    for name, task in results["tasks"].items():
        by_bench.setdefault(task["benchmark"], []).append(name)
    head = []
    for bench, names in by_bench.items():
        metric = primary_metric(results["tasks"][names[0]])
        head.append((bench, metric, names))
    lines += ["## Summary", "", "Mean of each benchmark's main metric over its tasks (languages).", "",
              "| checkpoint | " + " | ".join(f"{b} ({METRIC_LABELS.get(m, m)}{' ↓' if m in LOWER_IS_BETTER else ''})"
                                            for b, m, _ in head) + " |",
              "|---|" + "---:|" * len(head)]
    means: dict[tuple[str, str], float] = {}
    for c in ckpts:
        for bench, metric, names in head:
            vals = [results["tasks"][n]["metrics"].get(c, {}).get("all", {}).get(metric, {}).get("value")
                    for n in names]
            vals = [v for v in vals if v is not None and not math.isnan(v)]
            means[(c, bench)] = sum(vals) / len(vals) if vals else math.nan
    best = {bench: _best(metric, {c: means[(c, bench)] for c in ckpts}) for bench, metric, _ in head}
    for c in ckpts:
        cells = []
        for bench, metric, _ in head:
            cell = _fmt(metric, {"value": means[(c, bench)]})
            cells.append(f"**{cell}**" if c in best[bench] else cell)
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += [""]
    # Leaderboard: the primary metric of every task, subset 'all'.
    lines += ["## Leaderboard", "", "| benchmark | task | lang | n | metric | " + " | ".join(ckpts) + " |",
              "|---|---|---|---:|---|" + "---:|" * len(ckpts)]
    detail = ["## All metrics and subsets", "",
              "| task | subset | metric | n | " + " | ".join(ckpts) + " |", "|---|---|---|---:|" + "---:|" * len(ckpts)]
    for name, task in results["tasks"].items():
        metric = primary_metric(task)
        per = {c: task["metrics"].get(c, {}).get("all", {}).get(metric) for c in ckpts}
        best = _best(metric, {c: (r or {}).get("value") for c, r in per.items()})
        n = next((r.get("n") for r in per.values() if r), "")
        cells = [f"**{_fmt(metric, per[c])}**" if c in best else _fmt(metric, per[c]) for c in ckpts]
        label = METRIC_LABELS.get(metric, metric) + (" ↓" if metric in LOWER_IS_BETTER else "")
        lines.append(f"| {task['benchmark']} | {name} | {task['lang']} | {n} | {label} | " + " | ".join(cells) + " |")
        for sub in _subsets(task, ckpts):
            for m in task["metrics_list"]:
                per = {c: task["metrics"].get(c, {}).get(sub, {}).get(m) for c in ckpts}
                if not any(per.values()):
                    continue
                best = _best(m, {c: (r or {}).get("value") for c, r in per.items()})
                n = next((r.get("n") for r in per.values() if r), "")
                cells = [f"**{_fmt(m, per[c])}**" if c in best else _fmt(m, per[c]) for c in ckpts]
                detail.append(f"| {name} | {sub} | {METRIC_LABELS.get(m, m)} | {n} | " + " | ".join(cells) + " |")
    lines += ["", *detail, ""]
    cut = [(name, c, n, task.get("max_length", {}).get(c)) for name, task in results["tasks"].items()
           for c, n in task.get("truncated", {}).items() if n]
    if cut:
        lines += ["## Truncated prompts", "", "Items whose context lost tokens from the left to fit the window "
                  "(as lm-evaluation-harness cuts them): their scores did not see the whole prompt.", "",
                  "| task | checkpoint | items cut | of | max_length |", "|---|---|---:|---:|---:|"]
        lines += [f"| {name} | {c} | {n} | {results['tasks'][name]['n']} | {w} |" for name, c, n, w in cut] + [""]
    if results.get("skipped"):
        lines += ["## Skipped", ""] + [f"- {t}: {why}" for t, why in results["skipped"].items()] + [""]
    if results.get("samples"):
        lines += ["## Samples", "", f"The first generations of each generation task, per checkpoint (every item is in "
                  "`samples/<checkpoint>/<task>.jsonl`). Prompts are shown by their last lines.", ""]
        for name, per in results["samples"].items():
            lines += [f"### {name}", ""]
            for c, items in per.items():
                for x in items:
                    prompt = (x.get("prompt") or "").rstrip()
                    tail = prompt if len(prompt) <= SAMPLE_PROMPT_CHARS else "…" + prompt[-SAMPLE_PROMPT_CHARS:]
                    lines += [f"**{c}**, item {x.get('index')}:", "", "```text", tail, "```",
                              f"- generated: `{_inline(x.get('prediction'))}`",
                              f"- reference: `{_inline(x.get('reference'))}`", ""]
    if results.get("plots"):
        lines += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in results["plots"]] + [""]
    return "\n".join(lines)


# ---------------------------------------------------------------------- plots


def _bars(ax: Any, results: dict[str, Any], tasks: list[str]) -> None:
    import numpy as np

    ckpts = list(results["checkpoints"])
    labels, series = [], {c: ([], []) for c in ckpts}
    metric = primary_metric(results["tasks"][tasks[0]])
    for name in tasks:
        task = results["tasks"][name]
        subsets = _subsets(task, ckpts)
        if task["lang"] == "*" and len(subsets) == 2:  # one language: its bar is the overall one
            subsets = subsets[1:]
        for sub in subsets:
            if task["lang"] == "*":
                labels.append("all languages" if sub == "all" else sub)
            else:
                labels.append(task["lang"] if sub == "all" else f"{task['lang']} {sub}")
            for c in ckpts:
                r = task["metrics"].get(c, {}).get(sub, {}).get(metric) or {}
                k = 100.0 if metric in SCALE_100 else 1.0
                v = r.get("value", float("nan")) * k
                ci = r.get("ci") or [v / k, v / k]
                series[c][0].append(v)
                series[c][1].append([v - ci[0] * k, ci[1] * k - v])
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(ckpts))
    if metric in CHANCE_METRICS:  # the accuracy of guessing, over each task's own bars
        at, drawn = 0, False
        for name in tasks:
            task = results["tasks"][name]
            n = len(_subsets(task, ckpts)) - (1 if task["lang"] == "*" and len(_subsets(task, ckpts)) == 2 else 0)
            if task.get("chance") is not None:
                ax.hlines(task["chance"] * 100.0, at - 0.45, at + n - 0.55, colors="gray", linestyles="--",
                          linewidth=1, label=None if drawn else "chance", zorder=3)
                drawn = True
            at += n
    for i, c in enumerate(ckpts):
        vals, errs = series[c]
        bars = ax.bar(x + (i - (len(ckpts) - 1) / 2) * width, vals, width, label=c)
        if errs:  # drawn apart from bar(): matplotlib warns on a 2-row yerr of one bar
            err = np.clip(np.asarray(errs, dtype=float).T, 0, None)
            ax.errorbar([b.get_x() + b.get_width() / 2 for b in bars], vals, yerr=err, fmt="none",
                        ecolor="black", capsize=2, linewidth=1)
    ax.set_xticks(x, labels, rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    unit = " (%)" if metric in SCALE_100 else ""
    ax.set_ylabel(METRIC_LABELS.get(metric, metric) + unit + (" ↓" if metric in LOWER_IS_BETTER else ""))
    _legend_outside(ax)


def _legend_outside(ax: Any) -> None:
    """The legend right of the axes, so it never covers a bar or a line."""
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)


def plot_steps(ax: Any, series: dict[str, list[tuple[int, float, list[float] | None]]], metric: str,
               chance: dict[str, float] | None = None) -> None:
    """Score against training step, one line per task with its 95% interval as a band, chance dashed."""
    k = 100.0 if metric in SCALE_100 else 1.0
    for name, pts in series.items():
        pts = sorted(pts)
        xs = [p[0] for p in pts]
        line = ax.plot(xs, [p[1] * k for p in pts], marker="o", label=name)[0]
        if all(p[2] for p in pts):
            ax.fill_between(xs, [p[2][0] * k for p in pts], [p[2][1] * k for p in pts], color=line.get_color(),
                            alpha=0.2, linewidth=0)
        if chance and chance.get(name) is not None and metric in CHANCE_METRICS:
            ax.axhline(chance[name] * k, color=line.get_color(), linestyle="--", linewidth=1,
                       label=f"{name} chance")
    unit = " (%)" if metric in SCALE_100 else ""
    ax.set_ylabel(METRIC_LABELS.get(metric, metric) + unit + (" ↓" if metric in LOWER_IS_BETTER else ""))
    ax.set_xlabel("training step")
    _legend_outside(ax)


def write_plots(results: dict[str, Any], out_dir: Path) -> list[str]:
    """One bar chart per benchmark, an overview of all, and score against training step. Paths relative to out_dir."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_bench: dict[str, list[str]] = {}
    for name, task in results["tasks"].items():
        by_bench.setdefault(task["benchmark"], []).append(name)
    if not by_bench:
        return []
    written = []
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    n_ckpt = max(1, len(results["checkpoints"]))

    def width(tasks: list[str]) -> float:
        groups = sum(len(_subsets(results["tasks"][t], list(results["checkpoints"]))) for t in tasks)
        return min(18.0, max(5.0, 1.5 + 0.22 * groups * (n_ckpt + 1)))

    for bench, tasks in by_bench.items():
        fig, ax = plt.subplots(figsize=(width(tasks), 3.4))
        _bars(ax, results, tasks)
        ax.set_title(bench)
        fig.tight_layout()
        path = out_dir / "plots" / f"{bench}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(str(path.relative_to(out_dir)))
    # The overview: one benchmark per row, as wide as the widest.
    fig, axes = plt.subplots(len(by_bench), 1, figsize=(max(width(t) for t in by_bench.values()),
                                                         3.4 * len(by_bench)), squeeze=False)
    for ax, (bench, tasks) in zip(axes.flat, by_bench.items()):
        _bars(ax, results, tasks)
        ax.set_title(bench)
    fig.suptitle(f"{results['run']}: " + " vs ".join(results["checkpoints"]))
    fig.tight_layout()
    fig.savefig(out_dir / "results.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.insert(0, "results.png")
    steps = {c: r["step"] for c, r in results["checkpoints"].items() if r.get("step") is not None}
    if len(set(steps.values())) >= 2:
        fig, axes = plt.subplots(1, len(by_bench), figsize=(6.0 * len(by_bench), 3.2), squeeze=False)
        for ax, (bench, tasks) in zip(axes.flat, by_bench.items()):
            metric = primary_metric(results["tasks"][tasks[0]])
            series = {}
            for name in tasks:
                task = results["tasks"][name]
                series[name] = [(steps[c], r["value"], r.get("ci")) for c in steps
                                if (r := task["metrics"].get(c, {}).get("all", {}).get(metric))]
            plot_steps(ax, series, metric, {n: results["tasks"][n].get("chance") for n in tasks})
            ax.set_title(bench)
        fig.tight_layout()
        fig.savefig(out_dir / "plots" / "steps.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append("plots/steps.png")
    return written
