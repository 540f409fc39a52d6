"""The train stage: `python train/run.py` or `accelerate launch train/run.py`."""

from __future__ import annotations

import time
from typing import Any

from lontar.config import RunConfig
from lontar.corpus.shards import split_files
from lontar.manifest import record_stage
from lontar.train.loop import train
from lontar.train.model import base_model_dir, tokenizer_source


def run_train(cfg: RunConfig, resume: bool | str = False) -> dict[str, Any]:
    """`resume`: True continues from the latest checkpoint in runs/<name>/checkpoints, a path from that one."""
    started = time.time()
    uses_run_corpus = any(d.type == "corpus" and not d.path for d in cfg.train.datasets)
    train_files = split_files(cfg.run_dir / "corpus", "train") if uses_run_corpus else []
    train_files += [d.path for d in cfg.train.datasets if d.path]
    tokenizer_from = tokenizer_source(cfg)
    result = train(cfg, resume=resume)
    if result["is_main"]:
        inputs = [*train_files, cfg.run_dir / "tokenizer" if cfg.model.tokenizer == "run" else tokenizer_from]
        base = base_model_dir(cfg) if cfg.model.architecture else cfg.model.name_or_path or ""
        outputs = [result["adapter_dir"], cfg.run_dir / "logs" / "train_log.jsonl"]
        last = result["history"][-1] if result["history"] else {}
        record_stage(cfg, "train", inputs=[base, *inputs], outputs=outputs, started=started,
                     extra={"summary": {"steps": result["steps"], "final_loss": last.get("loss"),
                                        "trainable_params": result["trainable_params"],
                                        "total_params": result["total_params"], "blocks": result["blocks"],
                                        "skipped_steps": result["skipped_steps"],
                                        "final_eval": result["evals"][-1] if result["evals"] else None}})
    return result
