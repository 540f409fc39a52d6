"""The train stage: `python train/run.py` or `accelerate launch train/run.py`.

It holds the run's lock while it runs, refuses a run corpus built with other corpus settings than the
config's, and records in the manifest what it trained on: the tokens seen per dataset, language and
source (`summary.tokens_seen`), and every dataset with its files' sha256 and the records set aside
(`datasets`). A run in `train.phases` also records each phase (`summary.phases`: steps, schedule and the
tokens it trained per dataset and language) and tags each dataset with its phase.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lontar.config import RunConfig
from lontar.corpus.shards import split_files
from lontar.manifest import record_stage
from lontar.records import expand_glob
from lontar.rundir import StaleArtifact, corpus_hash, read_stamp, run_lock
from lontar.train.gguf import is_gguf, lineage
from lontar.train.model import base_model_dir, model_source, tokenizer_source


def check_corpus(cfg: RunConfig) -> None:
    """The run's corpus must come from this config's corpus section (a corpus without a stamp predates stamps)."""
    stamp = read_stamp(cfg.run_dir / "corpus")
    if stamp is not None and stamp.get("hash") != corpus_hash(cfg):
        raise StaleArtifact(f"{cfg.run_dir / 'corpus'} was built with other corpus settings than this config's "
                            "(corpus section changed): rerun the corpus stage (lontar corpus)")


def run_train(cfg: RunConfig, resume: bool | str = False) -> dict[str, Any]:
    """`resume`: True continues from the latest checkpoint in runs/<name>/checkpoints, a path from that one."""
    with run_lock(cfg.run_dir, "train"):
        return _run_train(cfg, resume)


def _run_train(cfg: RunConfig, resume: bool | str) -> dict[str, Any]:
    from lontar.train.loop import train

    started = time.time()
    every = cfg.train.all_datasets()  # over all phases
    uses_run_corpus = any(d.type == "corpus" and not d.path for d in every)
    if uses_run_corpus:
        check_corpus(cfg)
    train_files: list[Path | str] = list(split_files(cfg.run_dir / "corpus", "train")) if uses_run_corpus else []
    train_files += [Path(f) for d in every if d.path for f in sorted(expand_glob(d.path))]
    tokenizer_from = tokenizer_source(cfg)
    result = train(cfg, resume=resume)
    if result["is_main"]:
        inputs = [*train_files, cfg.run_dir / "tokenizer" if cfg.model.tokenizer == "run" else tokenizer_from]
        base = base_model_dir(cfg) if cfg.model.architecture else cfg.model.name_or_path or ""
        outputs = [result["adapter_dir"], cfg.run_dir / "logs" / "train_log.jsonl"]
        last = result["history"][-1] if result["history"] else {}
        gguf = {"gguf": lineage(model_source(cfg))} if is_gguf(cfg.model.name_or_path) else {}
        record_stage(cfg, "train", inputs=[base, *inputs], outputs=outputs, started=started,
                     extra={**gguf, "summary": {"steps": result["steps"], "final_loss": last.get("loss"),
                                        "trainable_params": result["trainable_params"],
                                        "total_params": result["total_params"], "blocks": result["blocks"],
                                        "skipped_steps": result["skipped_steps"],
                                        "tokens_seen": result["tokens_seen"],
                                        **({"phases": result["phases"]} if result["phases"] else {}),
                                        "final_eval": result["evals"][-1] if result["evals"] else None},
                            "datasets": result["datasets"]})
    return result
