"""The tokenizer stage: a SentencePiece model trained on the run's corpus, saved for AutoTokenizer."""

from __future__ import annotations

import shutil
import time
from typing import Any

from lontar.config import RunConfig
from lontar.corpus.shards import iter_texts, split_files
from lontar.manifest import atomic_write_json, record_stage
from lontar.tokenizer.report import fertility
from lontar.tokenizer.spm import train_sentencepiece


def run_tokenizer(cfg: RunConfig) -> dict[str, Any]:
    started = time.time()
    t = cfg.tokenizer
    corpus_dir = cfg.run_dir / "corpus"
    train_files = split_files(corpus_dir, "train")
    out_dir = cfg.run_dir / "tokenizer"
    work_dir = cfg.run_dir / "tokenizer.partial"
    shutil.rmtree(work_dir, ignore_errors=True)
    print(f"tokenizer: training SentencePiece {t.model_type}, vocab {t.vocab_size}, on {corpus_dir}")
    tokenizer = train_sentencepiece(
        iter_texts(corpus_dir, "train"), work_dir,
        vocab_size=t.vocab_size, model_type=t.model_type, character_coverage=t.character_coverage,
        byte_fallback=t.byte_fallback, split_digits=t.split_digits, input_sentence_size=t.input_sentence_size,
        user_defined_symbols=t.user_defined_symbols, chat_template=t.chat_template,
        model_max_length=t.model_max_length, seed=cfg.seed,
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    work_dir.replace(out_dir)
    langs = sorted({s.lang for s in cfg.corpus.sources})
    report = {
        "tokenizer": {"type": "sentencepiece", "model_type": t.model_type, "vocab_size": len(tokenizer)},
        "validation": {"+".join(langs): fertility(tokenizer, iter_texts(corpus_dir, "validation"))},
    }
    atomic_write_json(cfg.run_dir / "tokenizer_report.json", report)
    v = next(iter(report["validation"].values()))
    print(f"tokenizer: {len(tokenizer)} tokens; validation {v['tokens_per_char']} tokens/char, "
          f"{v['bytes_per_token']} bytes/token, byte fallback {v['byte_fallback_rate']:.4%}")
    record_stage(cfg, "tokenizer", inputs=[*train_files], outputs=[out_dir, cfg.run_dir / "tokenizer_report.json"],
                 started=started, extra={"summary": v})
    return report
