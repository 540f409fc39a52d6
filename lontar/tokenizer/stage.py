"""The tokenizer stage: train a tokenizer on the run's corpus, or extend a base one; then report.

Writes `runs/<name>/tokenizer/` (what AutoTokenizer and the train stage load; in extend mode with
`new_tokens.json`: the new ids and the base rows that initialise them), `tokenizer_scratch/` (extend
mode: the from-scratch tokenizer it is compared with) and `tokenizer_report.json`, `.md`, `.png`.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer

from lontar.config import RunConfig
from lontar.corpus.shards import split_files
from lontar.manifest import atomic_write_json, atomic_write_text, record_stage
from lontar.tokenizer.base import BaseTokenizer, resolve_base
from lontar.train.gguf import lineage
from lontar.tokenizer.embed_init import NEW_TOKENS_FILE, focus_sources, mean_sources, text_sources, write_new_tokens
from lontar.tokenizer.extend import Extended, extend_base
from lontar.tokenizer.report import compare, compare_sets, merged_parallel, read_parallel_set, render_md, render_png
from lontar.tokenizer.sampling import balanced_lines, iter_docs
from lontar.tokenizer.spm import reservoir_sample, train_sentencepiece

log = logging.getLogger(__name__)

FOCUS_LINES = 20_000  # training lines (a uniform sample) whose contexts feed the FOCUS-like initialisation


def _scratch(cfg: RunConfig, lines: Any, out_dir: Path) -> Any:
    t = cfg.tokenizer
    work = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    log.info(f"tokenizer: training SentencePiece {t.model_type}, vocab {t.vocab_size}")
    train_sentencepiece(
        lines(), work, vocab_size=t.vocab_size, model_type=t.model_type, character_coverage=t.character_coverage,
        byte_fallback=t.byte_fallback, split_digits=t.split_digits, user_defined_symbols=t.user_defined_symbols,
        special_tokens=t.special_tokens, script_coverage=t.script_coverage, chat_template=t.chat_template,
        model_max_length=t.model_max_length, seed=cfg.seed)
    shutil.rmtree(out_dir, ignore_errors=True)
    work.replace(out_dir)
    return AutoTokenizer.from_pretrained(out_dir)


def _extend(cfg: RunConfig, base: BaseTokenizer, lines: Any, out_dir: Path) -> tuple[Any, dict[str, Any]]:
    """Extend `base`, write it and `new_tokens.json` to `out_dir`; return the tokenizer and its summary."""
    t = cfg.tokenizer
    work = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    log.info(f"tokenizer: extending {base.kind} base {t.base} ({base.path.name}) with up to {t.max_new_pieces:,} tokens")
    ext = extend_base(base, lines, work, max_new=t.max_new_pieces, allow_ascii=t.allow_ascii_pieces,
                      special_tokens=t.special_tokens, character_coverage=t.character_coverage,
                      script_coverage=t.script_coverage, chat_template=t.chat_template,
                      explicit_template="chat_template" in t.model_fields_set, model_max_length=t.model_max_length)
    log.info(f"tokenizer: {len(ext.new_tokens):,} new tokens, ids {ext.base_vocab_size:,}.."
             f"{ext.base_vocab_size + len(ext.new_tokens) - 1:,} ({ext.stats})")
    write_new_tokens(work / NEW_TOKENS_FILE, _new_tokens_record(cfg, base.kind, ext, lines))
    shutil.rmtree(out_dir, ignore_errors=True)
    work.replace(out_dir)
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    return tokenizer, {"kind": base.kind, "vocab_size": len(tokenizer), "new_tokens": len(ext.new_tokens),
                       "embedding_init": t.embedding_init, "stats": ext.stats}


def _new_tokens_record(cfg: RunConfig, kind: str, ext: Extended, lines: Any) -> dict[str, Any]:
    t = cfg.tokenizer
    # Special tokens the extension added (config special_tokens) start from their spelling, and train too.
    sources = mean_sources(ext.base, ext.new_tokens) + text_sources(ext.base, ext.specials)
    weighted = 0
    if t.embedding_init == "focus" and sources:
        backend = ext.tokenizer.backend_tokenizer
        sample = reservoir_sample(lines(), FOCUS_LINES, random.Random(cfg.seed))
        sequences = [e.ids for e in backend.encode_batch(sample, add_special_tokens=False)]
        specials = [i for i in ext.tokenizer.all_special_ids if i is not None]
        sources, weighted = focus_sources(sources, sequences, len(ext.tokenizer), ext.base_vocab_size,
                                          exclude=specials)
    return {"base": t.base, "kind": kind, "base_vocab_size": ext.base_vocab_size, "vocab_size": len(ext.tokenizer),
            "init": t.embedding_init, "focus_weighted": weighted, "count": len(sources), "stats": ext.stats,
            "tokens": sources}


def _validation_by_lang(corpus_dir: Path, max_docs: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for lang, text in iter_docs(split_files(corpus_dir, "validation")):
        texts = out.setdefault(lang, [])
        if len(texts) < max_docs and text:
            texts.append(text)
    return out


def run_tokenizer(cfg: RunConfig) -> dict[str, Any]:
    started = time.time()
    t = cfg.tokenizer
    corpus_dir = cfg.run_dir / "corpus"
    train_files = split_files(corpus_dir, "train")
    validation = _validation_by_lang(corpus_dir, t.report.max_docs)
    sets = [(pset.name, pset.reference, read_parallel_set(pset, f"tokenizer.report.parallel[{pset.name}]"))
            for pset in t.report.parallel_sets()]  # read (and fail) before any training
    base = resolve_base(t.base, t.base_revision, cfg.model.dtype) if t.base else None
    lines, plans = balanced_lines(train_files, t.lang_alpha, t.input_sentence_size, cfg.seed)
    for lang, plan in plans.items():
        log.info(f"tokenizer: {lang}: {plan.lines:,} lines, {plan.share:.1%} of characters -> "
                 f"{plan.target_share:.1%} (rate {plan.rate:.3g})")

    out_dir = cfg.run_dir / "tokenizer"
    tokenizers: dict[str, Any] = {}
    info: dict[str, dict[str, Any]] = {}
    outputs: list[Path] = [out_dir]
    if base is not None:
        tokenizers["base"] = base.backend()
        info["base"] = {"source": t.base, "kind": base.kind, "vocab_size": tokenizers["base"].get_vocab_size()}
        if base.folder is not None and lineage(base.folder):
            info["base"]["gguf"] = lineage(base.folder)  # the GGUF's name and sha256
    scratch_dir = cfg.run_dir / "tokenizer_scratch"
    shutil.rmtree(scratch_dir, ignore_errors=True)  # extend mode's comparison, from an earlier run
    if t.mode == "scratch":
        run_tok = tokenizers["scratch"] = _scratch(cfg, lines, out_dir)
        info["scratch"] = {"kind": f"sentencepiece {t.model_type}", "vocab_size": len(run_tok)}
        run_info = {"type": "sentencepiece", "model_type": t.model_type, "vocab_size": len(run_tok)}
    else:
        assert base is not None
        run_tok, info["extended"] = _extend(cfg, base, lines, out_dir)
        tokenizers["extended"] = run_tok
        run_info = {"type": f"{base.kind} extended", "model_type": base.kind, "vocab_size": len(run_tok),
                    "base": t.base, "new_tokens": info["extended"]["new_tokens"]}
        if t.report.scratch:
            tokenizers["scratch"] = _scratch(cfg, lines, scratch_dir)
            info["scratch"] = {"kind": f"sentencepiece {t.model_type}", "vocab_size": len(tokenizers["scratch"])}
            outputs.append(scratch_dir)

    log.info("tokenizer: measuring fertility" + (f" and parity on {len(sets)} parallel set(s)" if sets else ""))
    compared = compare(tokenizers, validation)
    if sets:  # every set in full, and one parity row per language (`parallel`, as a single set gave before)
        compared["parallel_sets"] = compare_sets(tokenizers, sets)
        compared["parallel"], compared["reference"] = merged_parallel(compared["parallel_sets"])
    run_name = "scratch" if t.mode == "scratch" else "extended"
    report = {
        "tokenizer": run_info,  # the tokenizer this run trains with
        "validation": {lang: by_tok[run_name] for lang, by_tok in compared["validation"].items()},
        "tokenizers": info,
        "compare": compared,
        "languages": {lang: {"lines": pl.lines, "share": round(pl.share, 4), "target_share": round(pl.target_share, 4),
                             "rate": round(pl.rate, 4)} for lang, pl in plans.items()},
    }
    json_path, md_path, png_path = (cfg.run_dir / f"tokenizer_report.{ext_}" for ext_ in ("json", "md", "png"))
    atomic_write_json(json_path, report)
    atomic_write_text(md_path, render_md({"tokenizers": info, **compared}))
    render_png({"tokenizers": info, **compared}, png_path)
    for lang, by_tok in compared["validation"].items():
        cells = ", ".join(f"{name} {s['tokens_per_char']}" for name, s in by_tok.items())
        log.info(f"tokenizer: {lang} validation tokens/char: {cells}")
    for lang, by_tok in compared["parallel"].items():
        cells = ", ".join(f"{name} {s['parity']}" for name, s in by_tok.items())
        log.info(f"tokenizer: {lang} parity vs {compared['reference']} ({next(iter(by_tok.values()))['set']}): {cells}")
    record_stage(cfg, "tokenizer", inputs=[*train_files] + ([base.path] if base else []),
                 outputs=[*outputs, json_path, md_path, png_path], started=started,
                 extra={"summary": report["validation"]})
    return report
