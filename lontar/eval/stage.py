"""The eval stage: bits per byte on the validation split for each checkpoint (base, adapters)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from lontar.config import RunConfig
from lontar.corpus.shards import iter_texts, split_files
from lontar.eval.bpb import bits_per_byte
from lontar.manifest import atomic_write_json, atomic_write_text, record_stage
from lontar.train.model import MissingStageOutput, load_base_model, load_tokenizer


def checkpoint_path(cfg: RunConfig, name: str) -> Path | None:
    """None for the base model; the adapter folder otherwise ('adapter' is this run's)."""
    if name == "base":
        return None
    path = cfg.run_dir / "adapter" if name == "adapter" else Path(name)
    if not (path / "adapter_config.json").exists():
        hint = ": run the train stage first (lontar train)" if name == "adapter" else ""
        raise MissingStageOutput(f"{path}: no adapter_config.json{hint}")
    return path


def load_checkpoint(cfg: RunConfig, tokenizer: Any, name: str) -> Any:
    model = load_base_model(cfg, tokenizer)
    path = checkpoint_path(cfg, name)
    return model if path is None else PeftModel.from_pretrained(model, str(path))


def render_results_md(results: dict[str, Any]) -> str:
    lines = [f"# Evaluation: {results['run']}", "", f"Validation split, {results['docs']:,} documents, "
             f"{results['bytes']:,} UTF-8 bytes. Lower is better.", "",
             "| checkpoint | bits/byte | bits/char | nll/token |", "|---|---:|---:|---:|"]
    for name, r in results["checkpoints"].items():
        lines.append(f"| {name} | {r['bits_per_byte']:.4f} | {r['bits_per_char']:.4f} | {r['nll_per_token']:.4f} |")
    return "\n".join(lines) + "\n"


def run_eval(cfg: RunConfig) -> dict[str, Any]:
    started = time.time()
    e = cfg.eval
    corpus_dir = cfg.run_dir / "corpus"
    val_files = split_files(corpus_dir, "validation")
    paths = {name: checkpoint_path(cfg, name) for name in e.checkpoints}  # fail before any work
    texts = list(iter_texts(corpus_dir, "validation", limit=e.max_docs))
    tokenizer = load_tokenizer(cfg)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    max_length = e.max_length or cfg.train.block_size
    scores = {}
    for name in e.checkpoints:
        model = load_checkpoint(cfg, tokenizer, name).to(device).eval()
        scores[name] = bits_per_byte(model, tokenizer, texts, max_length=max_length, batch_size=e.batch_size,
                                     device=device, desc=f"eval {name}")
        del model
    first = next(iter(scores.values()))
    results = {"run": cfg.name, "split": "validation", "docs": first["docs"], "bytes": first["bytes"],
               "max_length": max_length, "checkpoints": scores}
    out_dir = cfg.run_dir / "eval"
    atomic_write_json(out_dir / "results.json", results)
    atomic_write_text(out_dir / "results.md", render_results_md(results))
    print()
    for name, r in scores.items():
        print(f"eval: {name:<24} validation bits per byte {r['bits_per_byte']:.4f}")
    inputs: list[Path | str] = [*val_files, *[p if p else "base" for p in paths.values()]]
    record_stage(cfg, "eval", inputs=inputs, outputs=[out_dir], started=started,
                 extra={"summary": {n: round(r["bits_per_byte"], 5) for n, r in scores.items()}})
    return results
