"""The data card: what went in, what was set aside and why, what came out."""

from __future__ import annotations

from typing import Any


def render_card_md(card: dict[str, Any]) -> str:
    lines = [f"# Data card: {card['run']}", "", "## Sources", "",
             "| source | lang | read | kept | duplicates | rejected |", "|---|---|---:|---:|---:|---:|"]
    for s in card["sources"]:
        lines.append(f"| {s['source']} | {s['lang']} | {s['read']:,} | {s['kept']:,} | "
                     f"{s['duplicates']:,} | {sum(s['rejected'].values()):,} |")
    lines += ["", "## Splits", "", "| split | documents | characters | UTF-8 bytes |", "|---|---:|---:|---:|"]
    for name, split in card["splits"].items():
        lines.append(f"| {name} | {split['docs']:,} | {split['chars']:,} | {split['bytes']:,} |")
    reasons: dict[str, int] = {}
    for s in card["sources"]:
        for reason, n in s["rejected"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    lines += ["", "## Set aside", ""]
    lines += [f"- {reason}: {n:,}" for reason, n in sorted(reasons.items())] or ["- nothing"]
    lines += [f"- exact duplicates removed: {card['duplicates']:,}", "",
              "## Processing", ""] + [f"- {step}" for step in card["steps"]]
    return "\n".join(lines) + "\n"
