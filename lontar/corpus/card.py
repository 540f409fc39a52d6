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
    if card.get("licenses"):
        lines += ["", "## Provenance and licences", "", "| source | licence | origin | collected | notes |",
                  "|---|---|---|---|---|"]
        for s in card["sources"]:
            p = s["provenance"]
            lic = p["license"] + ("" if p["license_declared"] else " (not declared in the config)" if p["license"] == "unknown"
                                  else " (as its package declares)")
            lines.append(f"| {s['source']} | {lic} | {p['origin'] or '-'} | {p['collected'] or '-'} | {p['notes'] or '-'} |")
        lines += ["", "| licence | sources | documents kept | characters kept |", "|---|---:|---:|---:|"]
        lines += [f"| {lic} | {v['sources']} | {v['docs']:,} | {v['chars']:,} |" for lic, v in card["licenses"].items()]
        if card.get("unknown_licenses"):
            lines += ["", f"**Unknown licence:** {', '.join(card['unknown_licenses'])}. Declare `license` for these "
                      "sources before release."]
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
    if card.get("rehydration"):
        r = card["rehydration"]
        table = ", ".join(f"cluster size >= {k}: x{v}" for k, v in r["table"].items())
        lines += ["", "## Rehydration (train split)", "",
                  "Kept documents repeated by the size of the duplicate cluster they stand for (FineWeb-2's "
                  f"table: {table}); validation is not rehydrated. Mixing rates below apply on top.", "",
                  "| copies | train documents |", "|---:|---:|"]
        lines += [f"| {k} | {v:,} |" for k, v in r["train_docs_by_copies"].items()]
    if card.get("mixing"):
        lines += _mixing_md(card["mixing"])
    lines += ["", "## Splits", "", "| split | documents | characters | UTF-8 bytes |", "|---|---:|---:|---:|"]
    for name, split in card["splits"].items():
        lines.append(f"| {name} | {split['docs']:,} | {split['chars']:,} | {split['bytes']:,} |")
    reasons: dict[str, int] = {}
    for s in card["sources"]:
        for reason, n in s["rejected"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    lines += ["", "## Set aside (in `rejected/`, with the reason)", ""]
    examples = card.get("rejected_examples", {})
    lines += [f"- {reason}: {n:,}" + (f" (e.g. `{examples[reason]}`)" if reason in examples else "")
              for reason, n in sorted(reasons.items())] or ["- nothing"]
    lines += [f"- duplicates removed (exact and near): {card['duplicates']:,}", "", "![document length](length_histogram.png)", ""]
    if card.get("execution"):
        lines += _execution_md(card["execution"])
    return "\n".join(lines)


def _execution_md(ex: dict[str, Any]) -> list[str]:
    """How the build ran: the figures that differ between a laptop and a cluster, and none of the output."""
    lines = ["## How it ran", "",
             f"{ex['executor']} executor, {ex['workers']} worker(s), {ex['read_tasks']} file(s) or hub shard(s) "
             f"read by tasks of their own, {ex['partitions']} hash partition(s) for the global steps; the corpus is "
             "the same for any of these.", ""]
    nd = ex.get("near_dedup")
    if nd:
        lines += [f"Near-dedup: {nd['candidates']:,} candidate pairs, {nd['rejected']:,} below the threshold, "
                  f"{nd['near_duplicates']:,} documents removed in {nd['clusters']:,} clusters "
                  f"(connected components in {nd['rounds']} large-star/small-star rounds).", ""]
    lines += ["| stage | seconds |", "|---|---:|"] + [f"| {k} | {v:,.1f} |" for k, v in ex["stage_seconds"].items()]
    return lines + [""]


def _mixing_md(mixing: dict[str, Any]) -> list[str]:
    st = mixing["settings"]
    if st.get("enabled"):
        how = (f"Temperature sampling of the train split by {st['by']}: p proportional to n^{st['alpha']} "
               f"(n = characters after dedup), source weights applied, upsampling capped at {st['cap']}x, "
               + (f"mixture of {st['total_chars']:,} characters." if st["total_chars"] else "no document left out."))
    else:
        how = "No resampling: the natural mix, with token counts."
    tok = f" Tokens counted with `{st['tokenizer']}`." if st.get("tokenizer") else " Tokens not counted (set corpus.mixing.tokenizer)."
    lines = ["", "## Mixture (train split)", "", how + tok, "",
             "| source | lang | weight | target share | rate | docs | left out | mixed docs |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for g, s in mixing["sources"].items():
        target = f"{s['target_share']:.2%}" if "target_share" in s else "-"
        rate = f"{s['rate']:.3f}" + (" (capped)" if s.get("capped") else "")
        lines.append(f"| {g} | {s['lang']} | {s['weight']} | {target} | {rate} | {s['natural_docs']:,} | "
                     f"{s['left_out_docs']:,} | {s['mixed_docs']:,} |")
    lines += ["", "| lang | chars before | chars after | char share before | char share after | "
              "tokens after | token share before | token share after |", "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.2%}"

    for lang, v in mixing["languages"].items():
        lines.append(f"| {lang} | {v['natural_chars']:,} | {v['mixed_chars']:,} | {pct(v['natural_char_share'])} | "
                     f"{pct(v['mixed_char_share'])} | {v['mixed_tokens']:,} | {pct(v['natural_token_share'])} | "
                     f"{pct(v['mixed_token_share'])} |")
    return lines


def write_length_histogram(counts: Sequence[int], path: Path, title: str, bins: Sequence[float]) -> None:
    """Characters per kept document from a histogram over fixed log-spaced `bins` (merged from every
    chunk, so no list of lengths is held): short fragments and very long pages both show."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    counts, edges = np.asarray(counts, dtype=np.int64), np.asarray(bins, dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if counts.sum():
        used = np.flatnonzero(counts)
        lo, hi = max(int(used[0]), 1), int(used[-1]) + 1
        step = max(1, (hi - lo) // 40)  # about 40 bars whatever the range
        idx = np.unique(np.r_[np.arange(lo, hi, step), hi])
        ax.stairs(np.add.reduceat(counts[:hi], idx[:-1]), edges[idx], fill=True, color="#3a6ea5")
        ax.set_xscale("log")
        cum = np.cumsum(counts)
        m = int(np.searchsorted(cum, cum[-1] / 2))
        median = float(np.sqrt(max(edges[m], 1.0) * edges[m + 1]))
        ax.axvline(median, color="#c0392b", linestyle="--", label=f"median ~{int(median)}")
        ax.legend()
    ax.set_xlabel("characters per document")
    ax.set_ylabel("documents")
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
