"""Merge the adapter into the base weights: one full model that loads without peft.

The merged folder is sharded safetensors (`publish.max_shard_size`) with the run's tokenizer files as
trained, so the ids are those the adapter learned.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from peft import PeftModel
from transformers import AutoTokenizer

from lontar.config import RunConfig
from lontar.train.model import MissingStageOutput, load_base_model


def write_merged(cfg: RunConfig, dest: Path) -> None:
    """Write the merged model (sharded safetensors) and the run's tokenizer into `dest`."""
    adapter = cfg.run_dir / "adapter"
    if not (adapter / "adapter_config.json").exists():
        raise MissingStageOutput(f"{adapter}: no adapter to merge: run the train stage first (lontar train)")
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    base = load_base_model(cfg, tokenizer)  # resized to the run's vocabulary as in training
    merged = PeftModel.from_pretrained(base, adapter).merge_and_unload()
    merged.save_pretrained(dest, max_shard_size=cfg.publish.max_shard_size)
    for f in adapter.iterdir():  # the tokenizer files exactly as trained
        if f.is_file() and not f.name.startswith("adapter_") and f.name != "README.md":
            shutil.copy2(f, dest / f.name)
