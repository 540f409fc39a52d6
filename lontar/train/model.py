"""Loading the tokenizer and the base model the way every stage must see them.

A pretrained base is loaded by hub id or local folder, safetensors only, remote code off unless the
config turns it on. A base described by an `architecture` block is initialised at random once, from
the run seed, and saved to `runs/<name>/base_model/` so train, eval and publish share its weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from lontar.config import RunConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class MissingStageOutput(FileNotFoundError):
    """An earlier stage's output is missing; the message says which stage to run."""


def tokenizer_source(cfg: RunConfig) -> str:
    tok = cfg.model.tokenizer
    if tok == "run":
        path = cfg.run_dir / "tokenizer"
        if not (path / "tokenizer_config.json").exists():
            raise MissingStageOutput(f"{path}: no tokenizer: run the tokenizer stage first (lontar tokenizer)")
        return str(path)
    if tok == "base":
        return cfg.model.name_or_path or ""
    return tok


def load_tokenizer(cfg: RunConfig) -> Any:
    m = cfg.model
    revision = m.revision if m.tokenizer == "base" else None
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source(cfg), revision=revision,
                                              trust_remote_code=m.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def base_model_dir(cfg: RunConfig) -> Path:
    return cfg.run_dir / "base_model"


def _init_random_base(cfg: RunConfig, tokenizer: Any) -> Path:
    path = base_model_dir(cfg)
    if (path / "config.json").exists():
        return path
    arch = dict(cfg.model.architecture or {})
    model_type = arch.pop("model_type")
    config = AutoConfig.for_model(
        model_type, vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **arch)
    torch.manual_seed(cfg.seed)
    model = AutoModelForCausalLM.from_config(config, dtype=DTYPES[cfg.model.dtype])
    tmp = path.with_name(path.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)  # safetensors
    tmp.replace(path)
    return path


def load_base_model(cfg: RunConfig, tokenizer: Any) -> PreTrainedModel:
    m = cfg.model
    source = m.name_or_path if m.name_or_path else str(_init_random_base(cfg, tokenizer))
    model = AutoModelForCausalLM.from_pretrained(
        source, revision=m.revision if m.name_or_path else None, dtype=DTYPES[m.dtype],
        attn_implementation=m.attn_implementation, trust_remote_code=m.trust_remote_code,
        use_safetensors=True)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    return model
