"""`lontar plan`: will this config train on N GPUs of M GiB, and under which strategy?

The base is built from its config.json on the meta device (accelerate's `init_empty_weights`, the
primitive behind `accelerate estimate-memory`), so a 27B plan needs no weights and no GPU. The figures
are an estimate for choosing a strategy, not a measurement:

- frozen weights: parameter bytes in `model.dtype` (QLoRA: 4-bit NF4 with double quantization for the
  decoder's linear layers, about 0.53 bytes per weight; embeddings, head and norms stay 16-bit);
- trainable state: LoRA (and new-token rows) in float32 with its gradient and two AdamW moments,
  16 bytes per trainable parameter;
- activations per decoder layer and token, in `model.dtype` bytes b: b*(6h + 4i) + 4h (attention
  without a score matrix, as sdpa and flash-attention keep it); with gradient checkpointing only each
  layer's input (b*h) is kept, plus one layer recomputed in full;
- the loss: float32 logits and their gradient, 8*V bytes per token (large for 256k vocabularies);
- FSDP2 and ZeRO-3 divide weights and trainable state by the GPU count and add two gathered layers
  (the one computing and the one prefetched); DDP keeps a full copy on every GPU;
- 10% for allocator fragmentation and 1.5 GiB for the CUDA context and kernels' workspace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lontar.config import RunConfig
from lontar.errors import ConfigError

log = logging.getLogger(__name__)

GIB = 2**30
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
NF4_BYTES = 0.5 + 0.5 / 64 * 1.0 + 4 / (64 * 256)  # 4-bit weights, fp8 absmax per 64, fp32 per 256 absmax
CONTEXT_BYTES = 1.5 * GIB
FRAGMENTATION = 1.10


@dataclass(frozen=True)
class ModelShape:
    total_params: int
    linear_params: int  # in decoder layers: what QLoRA quantizes
    lora_params: int
    new_token_params: int
    largest_layer_params: int
    hidden: int
    intermediate: int
    layers: int
    vocab: int
    max_positions: int | None


def _base_config(cfg: RunConfig) -> Any:
    from transformers import AutoConfig

    source = cfg.model.name_or_path
    if cfg.model.architecture:
        return AutoConfig.for_model(**cfg.model.architecture)
    try:
        return AutoConfig.from_pretrained(source, trust_remote_code=cfg.model.trust_remote_code)
    except (OSError, ValueError) as e:
        raise ConfigError(f"model.name_or_path: cannot read the config.json of '{source}' ({str(e).splitlines()[0]}); "
                          "offline, point it at a local folder holding config.json") from None


def model_shape(cfg: RunConfig, new_tokens: int = 0) -> ModelShape:
    """Parameter counts of the base and of the LoRA the run would add, from config.json alone."""
    import torch
    from accelerate import init_empty_weights
    from accelerate.utils import calculate_maximum_sizes
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    from lontar.train.lora import lora_config

    config = _base_config(cfg)
    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    total = sum(p.numel() for p in model.parameters())
    _, (largest_bytes, _) = calculate_maximum_sizes(model)
    linear = sum(m.weight.numel() for name, m in model.named_modules()
                 if isinstance(m, torch.nn.Linear) and ".layers." in f".{name}")
    with init_empty_weights():
        peft = get_peft_model(model, lora_config(cfg.lora))
    lora = sum(p.numel() for n, p in peft.named_parameters() if "lora_" in n)
    hidden = config.get_text_config().hidden_size
    tied = bool(getattr(config.get_text_config(), "tie_word_embeddings", False))
    text = config.get_text_config()
    return ModelShape(
        total_params=total, linear_params=linear, lora_params=lora,
        new_token_params=new_tokens * hidden * (1 if tied else 2), largest_layer_params=largest_bytes // 4,
        hidden=hidden, intermediate=getattr(text, "intermediate_size", 4 * hidden),
        layers=text.num_hidden_layers, vocab=text.vocab_size + new_tokens,
        max_positions=getattr(text, "max_position_embeddings", None))


def estimate(cfg: RunConfig, shape: ModelShape, strategy: str, gpus: int, qlora: bool) -> dict[str, float]:
    """Bytes per GPU, by component, for one strategy ("ddp", "fsdp2", "zero3")."""
    b = DTYPE_BYTES[cfg.model.dtype]
    t = cfg.train
    tokens = t.micro_batch_size * t.block_size
    if qlora:
        weights = shape.linear_params * NF4_BYTES + (shape.total_params - shape.linear_params) * b
    else:
        weights = shape.total_params * b
    trainable = (shape.lora_params + shape.new_token_params) * 16
    per_layer_full = tokens * (b * (6 * shape.hidden + 4 * shape.intermediate) + 4 * shape.hidden)
    if cfg.model.gradient_checkpointing:
        activations = shape.layers * tokens * b * shape.hidden + per_layer_full
    else:
        activations = shape.layers * per_layer_full
    loss = tokens * shape.vocab * 8
    gathered = 0.0
    if strategy in ("fsdp2", "zero3"):
        weights /= gpus
        trainable /= gpus
        gathered = 2 * shape.largest_layer_params * b
    parts = {"weights": weights, "trainable_state": trainable, "activations": activations, "loss": loss,
             "gathered_layers": gathered}
    parts["total"] = sum(parts.values()) * FRAGMENTATION + CONTEXT_BYTES
    return parts


def plan(cfg: RunConfig, gpus: int = 1, gpu_memory_gib: float = 80.0) -> list[dict[str, Any]]:
    """One row per (strategy, LoRA or QLoRA) that lontar can run, with GiB per GPU and whether it fits."""
    if gpus < 1 or gpu_memory_gib <= 0:
        raise ConfigError("plan: --gpus must be >= 1 and --gpu-memory > 0")
    new_tokens = 0
    record = cfg.run_dir / "tokenizer" / "new_tokens.json"
    if record.is_file():
        import json

        new_tokens = len(json.loads(record.read_text(encoding="utf-8")).get("tokens", []))
    shape = model_shape(cfg, new_tokens)
    rows = []
    for strategy in ("ddp", "fsdp2", "zero3"):
        for qlora in (False, True):
            if qlora and strategy != "ddp":
                continue  # lontar refuses QLoRA under sharding (lontar.train.distributed.check_strategy)
            parts = estimate(cfg, shape, strategy, gpus, qlora)
            rows.append({"strategy": strategy, "method": "QLoRA" if qlora else "LoRA", "gpus": gpus,
                         **{k: round(v / GIB, 2) for k, v in parts.items()},
                         "fits": parts["total"] <= gpu_memory_gib * GIB})
    return rows


def data_lines(cfg: RunConfig) -> list[str]:
    """What the run trains on, phase by phase (memory is the same in every phase: one model, one batch shape)."""
    from lontar.train.phases import phase_list

    out = []
    for p in phase_list(cfg):
        t = p.cfg.train
        length = f"{t.num_epochs} epoch(s)" if t.num_epochs else f"{t.max_steps:,} steps"
        sets = ", ".join(f"{d.name or d.type} ({d.type}: {d.location}, weight {d.weight:g})" for d in t.datasets)
        head = f"plan: phase {p.index + 1} '{p.name}'" if p.name else "plan: training"
        out.append(f"{head}: {length}, lr {t.lr:g} ({t.warmup_steps} warmup, {t.lr_scheduler}); data {sets}")
    return out


def run_plan(cfg: RunConfig, gpus: int = 1, gpu_memory: float = 80.0) -> list[dict[str, Any]]:
    rows = plan(cfg, gpus, gpu_memory)
    shape_note = (f"plan: {cfg.model.name_or_path or 'architecture'}; micro-batch {cfg.train.micro_batch_size} x "
                  f"{cfg.train.block_size} tokens, {cfg.model.dtype}, gradient checkpointing "
                  f"{'on' if cfg.model.gradient_checkpointing else 'off'}; {gpus} GPU(s) of {gpu_memory:g} GiB")
    log.info(shape_note)
    for line in data_lines(cfg):
        log.info(line)
    header = f"{'strategy':<8} {'method':<6} {'weights':>8} {'trainable':>9} {'activ.':>8} {'loss':>7} {'gathered':>8} {'total GiB':>9}  fits"
    log.info(header)
    for r in rows:
        log.info(f"{r['strategy']:<8} {r['method']:<6} {r['weights']:>8.2f} {r['trainable_state']:>9.2f} "
                 f"{r['activations']:>8.2f} {r['loss']:>7.2f} {r['gathered_layers']:>8.2f} {r['total']:>9.2f}  "
                 f"{'yes' if r['fits'] else 'no'}")
    fitting = [r for r in rows if r["fits"]]
    if fitting:
        best = min(fitting, key=lambda r: (r["strategy"] != "ddp", r["method"] == "QLoRA", r["total"]))
        launch = {"ddp": "ddp.yaml", "fsdp2": "fsdp.yaml", "zero3": "deepspeed_zero3.yaml"}[best["strategy"]]
        log.info(f"plan: {best['method']} under {best['strategy']} fits "
                 f"(accelerate launch --config_file configs/accelerate/{launch} --num_processes {gpus} ...)")
    else:
        log.info("plan: nothing fits: lower train.micro_batch_size or train.block_size, turn on "
                 "model.gradient_checkpointing, or add GPUs")
    return rows
