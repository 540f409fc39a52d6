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
        path = _lang_file(path_pattern, lang, "tokenizer.report.parallel")
        normalize = normalizer_for(lang)
        texts: list[str | None] = []
        with path.open(encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    parts = [get_field(json.loads(line), name) for name in text_fields]
                    ok = all(isinstance(part, str) for part in parts)
                    texts.append(normalize("\n".join(parts)) if ok else None)
        raw[lang] = texts
    return _aligned(raw, "tokenizer.report.parallel", f"all of text_fields {text_fields}")


def _lang_file(path_pattern: str, lang: str, what: str) -> Path:
    path = Path(path_pattern.format(lang=lang))
    if not path.is_file():
        raise MissingInput(f"{what}.path: no file for lang '{lang}': {path}")
    return path


def _aligned(raw: dict[str, list[str | None]], what: str, needed: str = "text") -> dict[str, list[str]]:
    """Texts kept where every language has one, so each language is measured on the same content."""
    sizes = {lang: len(t) for lang, t in raw.items()}
    if len(set(sizes.values())) > 1:
        raise InvalidInput(f"{what}: files are not parallel (records per lang: {sizes})")
    n = next(iter(sizes.values()), 0)
    keep = [i for i in range(n) if all(raw[lang][i] is not None for lang in raw)]
    if not keep:
        raise InvalidInput(f"{what}: no record has {needed} in every language")
    return {lang: [texts[i] for i in keep] for lang, texts in raw.items()}  # type: ignore[misc]


def read_parallel_lines(path_pattern: str, langs: Iterable[str], what: str = "tokenizer.report.parallel",
                        limit: int | None = None) -> dict[str, list[str]]:
    """Plain text files aligned line by line (line i of every file is the same paragraph), normalized."""
    raw: dict[str, list[str | None]] = {}
    for lang in langs:
        path = _lang_file(path_pattern, lang, what)
        normalize = normalizer_for(lang)
        lines = path.read_text(encoding="utf-8").splitlines()[:limit]
        raw[lang] = [normalize(x.strip()) if x.strip() else None for x in lines]
    return _aligned(raw, what)


def read_parallel_hf(dataset: str, config: str, langs: Iterable[str], split: str, text_fields: list[str],
                     revision: str | None = None, what: str = "tokenizer.report.parallel",
                     limit: int | None = None) -> dict[str, list[str]]:
    """One config per language of a Hugging Face dataset (FLORES+: `khm_Khmr`, `eng_Latn`), rows aligned by
    their `id` where they have one, else by order."""
    import datasets

    rows: dict[str, dict[Any, str | None]] = {}
    for lang in langs:
        info = get_lang(lang)
        name = config.format(lang=lang, flores=info.flores, iso3=info.iso639_3)
        try:
            ds = datasets.load_dataset(dataset, name=name, split=split, revision=revision)
        except (OSError, ValueError, ConnectionError) as e:  # offline, gated, no such config or split
            raise MissingInput(f"{what}: cannot load {dataset}/{name}[{split}] for lang '{lang}': "
                               f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
        normalize = normalizer_for(lang)
        out: dict[Any, str | None] = {}
        for i, row in enumerate(ds):
            if limit is not None and i >= limit:
                break
            parts = [get_field(row, f) for f in text_fields]
            out[row.get("id", i)] = normalize("\n".join(parts)) if all(isinstance(x, str) for x in parts) else None
        rows[lang] = out
    first = next(iter(rows.values()), {})
    keys = [k for k in first if all(k in r for r in rows.values())]
    return _aligned({lang: [r[k] for k in keys] for lang, r in rows.items()}, what)


def read_parallel_set(pset: Any, where: str = "tokenizer.report.parallel") -> dict[str, list[str]]:
    """The texts of one `tokenizer.report.parallel` set, per language, aligned."""
    if pset.kind == "hf":
        return read_parallel_hf(pset.dataset, pset.config, pset.langs, pset.split, pset.text_fields, pset.revision,
                                where, pset.max_records)
    if pset.kind == "text":
        return read_parallel_lines(pset.path, pset.langs, where, pset.max_records)
    texts = read_parallel(pset.path, pset.langs, pset.text_fields)
    return {lang: t[: pset.max_records] for lang, t in texts.items()}


def parity(tokenizers: Mapping[str, Any], texts: Mapping[str, list[str]], reference: str,
           ids: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per language and tokenizer on one parallel set: fertility, parity against `reference` and, where the
    set has English, tokens per English-word equivalent (the language's tokens over the English side's
    whitespace words: what the same content costs, in a unit every language shares)."""
    backends = {name: backend_of(tok) for name, tok in tokenizers.items()}
    ids = ids or {name: _byte_and_unk_ids(tok) for name, tok in backends.items()}
    stats = {lang: {name: fertility(tok, t, lang, special_ids=ids[name]) for name, tok in backends.items()}
             for lang, t in texts.items()}
    en_words = sum(len(x.split()) for x in texts["en"]) if "en" in texts else 0
    for by_tok in stats.values():
        for name, st in by_tok.items():
            st["parity"] = round(st["tokens"] / stats[reference][name]["tokens"], 4)
            if en_words:
                st["tokens_per_en_word"] = round(st["tokens"] / en_words, 4)
    return stats


def compare_sets(tokenizers: Mapping[str, Any], sets: list[tuple[str, str, Mapping[str, list[str]]]]
                 ) -> dict[str, Any]:
    """Every parallel set (name, reference, texts): {name: {reference, records, langs: {lang: {tokenizer: stats}}}}."""
    ids = {name: _byte_and_unk_ids(backend_of(tok)) for name, tok in tokenizers.items()}
    return {name: {"reference": ref, "records": len(next(iter(texts.values()))),
                   "langs": parity(tokenizers, texts, ref, ids)} for name, ref, texts in sets}


def merged_parallel(sets: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """One row per language over the sets that share the first set's reference (each language from the
    first such set that has it, its set named): the parity-against-English view of a multi-set report."""
    if not sets:
        return {}, None
    ref = next(iter(sets.values()))["reference"]
    out: dict[str, Any] = {}
    for name, s in sets.items():
        if s["reference"] != ref:
            continue
        for lang, by_tok in s["langs"].items():
            if lang not in out:
                out[lang] = {tok: {**st, "set": name} for tok, st in by_tok.items()}
    return out, ref


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
            if parity and "tokens_per_en_word" in next(iter(by_tok.values())):
                metrics.insert(1, "tokens_per_en_word")
            for metric in (["parity"] if parity else []) + metrics:
                cells = [f"{by_tok[n][metric]:.4g}" if n in by_tok else "" for n in names]
                lines.append(f"| {lang} | {metric.replace('_', ' ')} | " + " | ".join(cells) + " |")
        lines.append("")

    table("Validation split (this run's corpus)", report["validation"], parity=False)
    ref = report.get("reference", "en")
    sets = report.get("parallel_sets") or {}
    if len(sets) > 1:  # one view of every language first, then each set in full
        lines.extend(["## Parity against " + str(ref) + ", every language", "", "| lang | set | "
                      + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)])
        for lang, by_tok in report["parallel"].items():
            cells = [f"{by_tok[n]['parity']:.4g}" if n in by_tok else "" for n in names]
            lines.append(f"| {lang} | {next(iter(by_tok.values()))['set']} | " + " | ".join(cells) + " |")
        lines.append("")
        for name, s in sets.items():
            table(f"Parallel text '{name}' ({s['records']} records), parity = tokens / {s['reference']} tokens",
                  s["langs"], parity=True)
    else:
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
