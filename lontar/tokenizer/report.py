"""Fertility and parity: how many tokens a tokenizer spends on each language's text.

Tokens per character, per syllable (Khmer, Lao, Thai, Burmese, Chinese) or per word, and bytes per
token show the cost a tokenizer imposes; byte-fallback and unknown rates show how much text it cannot
represent (for byte-level BPE, "byte fallback" counts tokens that are not whole characters). Parity
is a language's token count over English's on the same content (parallel text): 1.0 means the
language costs what English costs. Base, extended and from-scratch tokenizers sit side by side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from lontar.errors import InvalidInput, MissingInput
from lontar.fields import get_field
from lontar.langs import get_lang, normalizer_for
from lontar.text.syllables import units
from lontar.tokenizer.extend_bpe import is_byte_level, token_bytes

_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


def backend_of(tokenizer: Any) -> Tokenizer:
    """The `tokenizers.Tokenizer` behind an HF tokenizer (or the argument itself)."""
    return tokenizer if isinstance(tokenizer, Tokenizer) else tokenizer.backend_tokenizer


def _byte_and_unk_ids(tok: Tokenizer) -> tuple[set[int], int | None]:
    data = json.loads(tok.to_str())
    vocab = tok.get_vocab(with_added_tokens=False)
    byte_ids = {i for t, i in vocab.items() if _BYTE_PIECE.match(t)}
    if is_byte_level(data):
        for t, i in vocab.items():
            try:
                token_bytes(t).decode("utf-8")
            except (UnicodeDecodeError, KeyError):
                byte_ids.add(i)
    model = data["model"]
    unk = model.get("unk_id")
    if unk is None and model.get("unk_token"):
        unk = tok.token_to_id(model["unk_token"])
    return byte_ids, unk


def fertility(tokenizer: Any, texts: Iterable[str], lang: str | None = None, batch_size: int = 1000,
              special_ids: tuple[set[int], int | None] | None = None) -> dict[str, float | int | str]:
    """Token statistics of `texts` (no special tokens added; special-token names in text count as text).

    `special_ids` (byte-token ids, unk id) saves re-deriving them when one tokenizer measures many texts.
    """
    tok = backend_of(tokenizer)
    byte_ids, unk = special_ids or _byte_and_unk_ids(tok)
    unit = "word" if lang is None or get_lang(lang).segmenter is None else "syllable"
    docs = chars = nbytes = tokens = byte_tokens = unk_tokens = n_units = 0
    batch: list[str] = []
    split = tok.encode_special_tokens
    tok.encode_special_tokens = True

    def flush() -> None:
        nonlocal tokens, byte_tokens, unk_tokens
        for enc in tok.encode_batch(batch, add_special_tokens=False):
            tokens += len(enc.ids)
            byte_tokens += sum(i in byte_ids for i in enc.ids)
            unk_tokens += sum(i == unk for i in enc.ids)
        batch.clear()

    try:
        for text in texts:
            docs += 1
            chars += len(text)
            nbytes += len(text.encode("utf-8"))
            n_units += len(units(text, lang)) if lang else len(text.split())
            batch.append(text)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    finally:
        tok.encode_special_tokens = split
    if not tokens:
        raise InvalidInput("fertility needs at least one non-empty text")
    return {
        "docs": docs, "chars": chars, "bytes": nbytes, "tokens": tokens, "units": n_units, "unit": unit,
        "tokens_per_char": round(tokens / chars, 4),
        f"tokens_per_{unit}": round(tokens / max(n_units, 1), 4),
        "bytes_per_token": round(nbytes / tokens, 4),
        "byte_fallback_rate": round(byte_tokens / tokens, 6),
        "unk_rate": round(unk_tokens / tokens, 6),
    }


def read_parallel(path_pattern: str, langs: Iterable[str], text_fields: list[str]) -> dict[str, list[str]]:
    """One normalized text per record and language, the files aligned record by record.

    A record whose fields are missing or null in any language is left out in every language, so
    each language is measured on exactly the same content.
    """
    raw: dict[str, list[str | None]] = {}
    for lang in langs:
        path = Path(path_pattern.format(lang=lang))
        if not path.is_file():
            raise MissingInput(f"tokenizer.report.parallel.path: no file for lang '{lang}': {path}")
        normalize = normalizer_for(lang)
        texts: list[str | None] = []
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    parts = [get_field(json.loads(line), name) for name in text_fields]
                    ok = all(isinstance(part, str) for part in parts)
                    texts.append(normalize("\n".join(parts)) if ok else None)
        raw[lang] = texts
    sizes = {lang: len(t) for lang, t in raw.items()}
    if len(set(sizes.values())) > 1:
        raise InvalidInput(f"tokenizer.report.parallel: files are not parallel (records per lang: {sizes})")
    n = next(iter(sizes.values()), 0)
    keep = [i for i in range(n) if all(raw[lang][i] is not None for lang in raw)]
    if not keep:
        raise InvalidInput(f"tokenizer.report.parallel: no record has all of text_fields {text_fields} in every language")
    return {lang: [texts[i] for i in keep] for lang, texts in raw.items()}  # type: ignore[misc]


def compare(tokenizers: Mapping[str, Any], validation: Mapping[str, list[str]],
            parallel: Mapping[str, list[str]] | None = None, reference: str = "en") -> dict[str, Any]:
    """Fertility per language and tokenizer on validation text, and on parallel text with parity."""
    backends = {name: backend_of(tok) for name, tok in tokenizers.items()}
    ids = {name: _byte_and_unk_ids(tok) for name, tok in backends.items()}
    report: dict[str, Any] = {"validation": {}, "parallel": {}}
    for lang, texts in validation.items():
        if texts:
            report["validation"][lang] = {name: fertility(tok, texts, lang, special_ids=ids[name])
                                          for name, tok in backends.items()}
    if parallel:
        stats = {lang: {name: fertility(tok, texts, lang, special_ids=ids[name]) for name, tok in backends.items()}
                 for lang, texts in parallel.items()}
        for lang, by_tok in stats.items():
            for name, s in by_tok.items():
                s["parity"] = round(s["tokens"] / stats[reference][name]["tokens"], 4)
        report["parallel"] = stats
        report["reference"] = reference
    return report


def render_md(report: dict[str, Any]) -> str:
    names = list(report["tokenizers"])
    lines = ["# Tokenizer report", ""]
    for name, info in report["tokenizers"].items():
        lines.append(f"- **{name}**: " + ", ".join(f"{k} {v}" for k, v in info.items() if not isinstance(v, dict)))
    lines.append("")

    def table(title: str, section: dict[str, Any], parity: bool) -> None:
        if not section:
            return
        lines.extend([f"## {title}", "", "| lang | metric | " + " | ".join(names) + " |",
                      "|---|---|" + "---:|" * len(names)])
        for lang, by_tok in section.items():
            unit = next(iter(by_tok.values()))["unit"]
            metrics = ["tokens_per_char", f"tokens_per_{unit}", "bytes_per_token", "byte_fallback_rate", "unk_rate"]
            for metric in (["parity"] if parity else []) + metrics:
                cells = [f"{by_tok[n][metric]:.4g}" if n in by_tok else "" for n in names]
                lines.append(f"| {lang} | {metric.replace('_', ' ')} | " + " | ".join(cells) + " |")
        lines.append("")

    table("Validation split (this run's corpus)", report["validation"], parity=False)
    ref = report.get("reference", "en")
    table(f"Parallel text, parity = tokens / {ref} tokens", report["parallel"], parity=True)
    return "\n".join(lines)


def render_png(report: dict[str, Any], path: Path) -> None:
    """Tokens per character per language (validation and parallel), and parity, one bar per tokenizer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["tokenizers"])
    panels = [("tokens per character", {**{f"{k} (val)": v for k, v in report["validation"].items()},
                                        **report["parallel"]}, "tokens_per_char")]
    if report["parallel"]:
        panels.append((f"parity vs {report.get('reference', 'en')} (parallel text)", report["parallel"], "parity"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    width = 0.8 / max(len(names), 1)
    for ax, (title, section, metric) in zip(axes[0], panels):
        labels = list(section)
        for j, name in enumerate(names):
            values = [section[lang].get(name, {}).get(metric, 0) for lang in labels]
            ax.bar([i + j * width for i in range(len(labels))], values, width, label=name)
        ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(labels))], labels, rotation=30)
        ax.set_title(title)
        if metric == "parity":
            ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
