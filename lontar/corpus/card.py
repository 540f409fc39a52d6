"""The data card: what went in, what each step did and why, what came out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def render_card_md(card: dict[str, Any]) -> str:
    lines = [f"# Data card: {card['run']}", "", "## Sources", "",
             "| source | lang | weight | read | kept | duplicates | rejected |", "|---|---|---:|---:|---:|---:|---:|"]
    for s in card["sources"]:
        lines.append(f"| {s['source']} | {s['lang']} | {s['weight']} | {s['read']:,} | {s['kept']:,} | "
                     f"{s['duplicates']:,} | {sum(s['rejected'].values()):,} |")
    lines += ["", "## Steps", "", "| step | what | docs in | docs out | chars in | chars out | bytes in | bytes out |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, st in card["steps"].items():
        what = card["step_descriptions"].get(name, "")
        lines.append(f"| {name} | {what} | {st['docs_in']:,} | {st['docs_out']:,} | {st['chars_in']:,} | "
                     f"{st['chars_out']:,} | {st['bytes_in']:,} | {st['bytes_out']:,} |")
    counted = [(name, k, v) for name, st in card["steps"].items() for k, v in sorted(st.get("counts", {}).items())]
    if counted:
        lines += ["", "## Counted by the steps", "", "| step | what | count |", "|---|---|---:|"]
        lines += [f"| {name} | {k} | {v:,} |" for name, k, v in counted]
    lines += ["", "## Languages", "", "| lang | documents | characters | share of characters |", "|---|---:|---:|---:|"]
    for lang, v in card["languages"].items():
        lines.append(f"| {lang} | {v['docs']:,} | {v['chars']:,} | {v['char_share']:.2%} |")
    lines += ["", "## Splits", "", "| split | documents | characters | UTF-8 bytes |", "|---|---:|---:|---:|"]
    for name, split in card["splits"].items():
        lines.append(f"| {name} | {split['docs']:,} | {split['chars']:,} | {split['bytes']:,} |")
    reasons: dict[str, int] = {}
    for s in card["sources"]:
        for reason, n in s["rejected"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    lines += ["", "## Set aside (in `rejected/`, with the reason)", ""]
    lines += [f"- {reason}: {n:,}" for reason, n in sorted(reasons.items())] or ["- nothing"]
    lines += [f"- duplicates removed (exact and near): {card['duplicates']:,}", "", "![document length](length_histogram.png)", ""]
    return "\n".join(lines)


def write_length_histogram(lengths: Sequence[int], path: Path, title: str) -> None:
    """Characters per kept document, log-spaced bins: short fragments and very long pages both show."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    values = np.asarray(lengths, dtype=np.int64)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if len(values):
        bins = np.logspace(0, np.log10(max(int(values.max()), 2)) + 0.01, 40)
        ax.hist(values, bins=bins, color="#3a6ea5")
        ax.set_xscale("log")
        ax.axvline(float(np.median(values)), color="#c0392b", linestyle="--", label=f"median {int(np.median(values))}")
        ax.legend()
    ax.set_xlabel("characters per document")
    ax.set_ylabel("documents")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
