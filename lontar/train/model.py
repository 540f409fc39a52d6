"""Loading the tokenizer and the base model the way every stage must see them.

A pretrained base is loaded by hub id, local folder or GGUF file (converted once: `lontar.train.gguf`),
safetensors only, remote code off unless the
config turns it on. A base described by an `architecture` block is initialised at random once, from
the run seed, and saved to `runs/<name>/base_model/` so train, eval and publish share its weights.

When the run's tokenizer extends the base model's (`tokenizer/new_tokens.json`), the embeddings are
resized to it and each new row (input and output) is set from the base rows the tokenizer stage
recorded: the same deterministic start for train, eval and anyone reloading the adapter.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from lontar.errors import InvalidInput, MissingInput, StageError
from lontar.config import RunConfig
from lontar.train.gguf import converted_dir, is_gguf
from lontar.tokenizer.embed_init import NEW_TOKENS_FILE, init_new_embeddings, read_new_tokens

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class MissingStageOutput(MissingInput):
    """An earlier stage's output is missing; the message says which stage to run."""


def tokenizer_source(cfg: RunConfig) -> str:
    tok = cfg.model.tokenizer
    if tok == "run":
        path = cfg.run_dir / "tokenizer"
        if not (path / "tokenizer_config.json").exists():
            raise MissingStageOutput(f"{path}: no tokenizer: run the tokenizer stage first (lontar tokenizer)")
        return str(path)
    if tok == "base":
        return model_source(cfg)
    if is_gguf(tok):
        return str(converted_dir(tok, cfg.model.dtype, key="model.tokenizer"))
    return tok


def model_source(cfg: RunConfig) -> str:
    """`model.name_or_path` as transformers loads it: a GGUF file becomes its converted cache folder."""
    m = cfg.model
    if is_gguf(m.name_or_path):
        return str(converted_dir(m.name_or_path, m.dtype, m.revision))
    return m.name_or_path or ""


def load_tokenizer(cfg: RunConfig) -> Any:
    m = cfg.model
    revision = m.revision if m.tokenizer == "base" and not is_gguf(m.name_or_path) else None
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source(cfg), revision=revision,
                                              trust_remote_code=m.trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    from lontar.train.sft import chat_setup

    chat_setup(tokenizer, cfg)  # chat runs: the named template and its role markers as special tokens
    return tokenizer


def base_model_dir(cfg: RunConfig) -> Path:
    return cfg.run_dir / "base_model"


def base_model_hash(cfg: RunConfig, tokenizer: Any) -> str:
    """What a random-init base is a function of: the architecture, dtype, seed and vocabulary shape."""
    from lontar.rundir import section_hash

    return section_hash({"architecture": cfg.model.architecture, "dtype": cfg.model.dtype, "seed": cfg.seed,
                         "vocab": len(tokenizer), "bos": tokenizer.bos_token_id, "eos": tokenizer.eos_token_id,
                         "pad": tokenizer.pad_token_id})


def _init_random_base(cfg: RunConfig, tokenizer: Any) -> Path:
    """Built once and reused while its stamp matches the config; rebuilt (said so) when the settings changed."""
    from lontar.rundir import stamp_matches, write_stamp

    path = base_model_dir(cfg)
    digest = base_model_hash(cfg, tokenizer)
    if (path / "config.json").exists():
        if stamp_matches(path, digest):
            return path
        log.info(f"model: {path} was built from other settings (model.architecture, dtype, seed or the tokenizer's "
                 "vocabulary) than this config's: rebuilding it")
    arch = dict(cfg.model.architecture or {})
    model_type = arch.pop("model_type")
    config = AutoConfig.for_model(
        model_type, vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **arch)
    with torch.random.fork_rng(devices=[]):  # building the base must not move the run's random state
        torch.manual_seed(cfg.seed)
        model = AutoModelForCausalLM.from_config(config, dtype=DTYPES[cfg.model.dtype])
    tmp = path.with_name(path.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)  # safetensors
    write_stamp(tmp, "model", digest)
    shutil.rmtree(path, ignore_errors=True)
    tmp.replace(path)
    return path


def recorded_new_tokens(cfg: RunConfig) -> dict[str, Any] | None:
    """The tokens the tokenizer stage added to a base tokenizer, when this run uses that tokenizer."""
    if cfg.model.tokenizer != "run":
        return None
    path = cfg.run_dir / "tokenizer" / NEW_TOKENS_FILE
    return read_new_tokens(path) if path.is_file() else None


def attention_implementation(m: Any) -> str:
    """`auto`: flash_attention_2 where flash-attn is installed and a GPU runs bf16/fp16 (padding-free packing
    then uses its variable-length kernel), else sdpa (packed documents get a block-diagonal mask)."""
    if m.attn_implementation != "auto":
        return m.attn_implementation
    import importlib.util

    flash = importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available()
    return "flash_attention_2" if flash and m.dtype != "float32" else "sdpa"


def quantization_kwargs(m: Any) -> dict[str, Any]:
    """QLoRA: the frozen base in 4-bit NF4 with double quantization, computing in the run dtype."""
    if not getattr(m, "load_in_4bit", False):
        return {}
    if not torch.cuda.is_available():
        raise StageError("model.load_in_4bit (QLoRA) needs a CUDA GPU: bitsandbytes 4-bit kernels do not run "
                           "here; set model.load_in_4bit: false to train in " + m.dtype)
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise StageError("model.load_in_4bit (QLoRA) needs bitsandbytes: pip install bitsandbytes")
    from transformers import BitsAndBytesConfig

    return {"quantization_config": BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=DTYPES[m.dtype])}


def load_base_model(cfg: RunConfig, tokenizer: Any) -> PreTrainedModel:
    m = cfg.model
    source = model_source(cfg) if m.name_or_path else str(_init_random_base(cfg, tokenizer))
    revision = m.revision if m.name_or_path and not is_gguf(m.name_or_path) else None
    model = AutoModelForCausalLM.from_pretrained(
        source, revision=revision, dtype=DTYPES[m.dtype],
        attn_implementation=attention_implementation(m), trust_remote_code=m.trust_remote_code,
        use_safetensors=True, **quantization_kwargs(m))
    # A random-init base was built at the tokenizer's size: its rows carry nothing to average.
    record = recorded_new_tokens(cfg) if m.name_or_path else None
    rows = model.get_input_embeddings().weight.shape[0]
    if record is not None:
        check_extension(record, rows, len(tokenizer), cfg)
    if len(tokenizer) > rows:
        # New rows are set from the recorded base rows below; mean_resizing would only cost time.
        model.resize_token_embeddings(len(tokenizer), mean_resizing=record is None)
    if record is not None:
        init_new_embeddings(model, record["tokens"])
    return model


def check_extension(record: dict[str, Any], rows: int, vocab: int, cfg: RunConfig) -> None:
    """The recorded extension must fit this model: its base ids inside the model's own rows."""
    where = cfg.run_dir / "tokenizer" / NEW_TOKENS_FILE
    if record["vocab_size"] != vocab:
        raise InvalidInput(f"{where}: records a vocabulary of {record['vocab_size']:,} but the run's tokenizer has "
                         f"{vocab:,}: rerun the tokenizer stage")
    if record["base_vocab_size"] > rows:
        raise InvalidInput(f"{where}: tokenizer.base {record.get('base')!r} has {record['base_vocab_size']:,} ids but "
                         f"model.name_or_path {cfg.model.name_or_path!r} has {rows:,} embedding rows: the tokenizer "
                         "must extend the model's own tokenizer")
