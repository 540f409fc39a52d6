"""The LoRA training loop under accelerate: one CPU to many GPUs with the same code.

Plain and readable on purpose (nanoGPT style): AdamW, warmup then decay, gradient accumulation,
clipping, loss and tokens/s logged, the adapter saved atomically as safetensors.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from peft import get_peft_model
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm
from transformers import get_scheduler

from lontar.config import RunConfig
from lontar.corpus.shards import iter_texts
from lontar.train.data import pack_blocks, tokenize_stream
from lontar.train.lora import lora_config
from lontar.train.model import load_base_model, load_tokenizer

MIXED_PRECISION = {"float32": "no", "bfloat16": "bf16", "float16": "fp16"}


def _blocks(cfg: RunConfig, tokenizer: Any, world: int) -> torch.Tensor:
    t = cfg.train
    needed = t.max_steps * t.micro_batch_size * t.gradient_accumulation_steps * world
    texts = iter_texts(cfg.run_dir / "corpus", "train", limit=t.max_train_docs)
    blocks = pack_blocks(tokenize_stream(tokenizer, texts), t.block_size, tokenizer.eos_token_id, max_blocks=needed)
    if len(blocks) < t.micro_batch_size * world:
        raise ValueError(f"the corpus gives {len(blocks)} blocks of {t.block_size} tokens: too few for one batch "
                         "(lower train.block_size or add data)")
    return torch.from_numpy(blocks)


def _save_adapter(model: Any, tokenizer: Any, out_dir: Path) -> None:
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp, save_jinja_files=False)  # template inside tokenizer_config.json, as trained
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)


def train(cfg: RunConfig) -> dict[str, Any]:
    t = cfg.train
    accelerator = Accelerator(gradient_accumulation_steps=t.gradient_accumulation_steps,
                              mixed_precision=MIXED_PRECISION[cfg.model.dtype] if torch.cuda.is_available() else "no")
    set_seed(cfg.seed)
    main = accelerator.is_main_process
    tokenizer = load_tokenizer(cfg)
    with accelerator.main_process_first():
        model = load_base_model(cfg, tokenizer)
    if cfg.model.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model = get_peft_model(model, lora_config(cfg.lora))
    trainable, total = model.get_nb_trainable_parameters()
    blocks = _blocks(cfg, tokenizer, accelerator.num_processes)
    loader = DataLoader(TensorDataset(blocks), batch_size=t.micro_batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(cfg.seed), drop_last=True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    # accelerate steps a prepared scheduler once per process: scale its horizon the same way.
    scheduler = get_scheduler(t.lr_scheduler, optimizer, num_warmup_steps=t.warmup_steps * accelerator.num_processes,
                              num_training_steps=t.max_steps * accelerator.num_processes)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    if main:
        print(f"train: {trainable:,} trainable of {total:,} parameters; {len(blocks):,} blocks of {t.block_size} "
              f"tokens; {t.max_steps} steps x {t.micro_batch_size * t.gradient_accumulation_steps * accelerator.num_processes} "
              f"sequences on {accelerator.num_processes} x {accelerator.device}")
    log_path = cfg.run_dir / "logs" / "train_log.jsonl"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    history: list[dict[str, Any]] = []
    # The loss is summed on the device and read (and averaged over processes) only when logged:
    # a .item() per micro-batch would stall the GPU pipeline.
    step, window_micro, window_tokens = 0, 0, 0
    window_loss = torch.zeros((), device=accelerator.device)
    window_start = started = time.time()
    bar = tqdm(total=t.max_steps, desc="train", disable=not main, mininterval=1.0)
    model.train()
    with (log_path.open("w", encoding="utf-8") if main else contextlib.nullcontext()) as log:
        while step < t.max_steps:
            for (batch,) in loader:
                with accelerator.accumulate(model):
                    loss = model(input_ids=batch, labels=batch).loss
                    accelerator.backward(loss)
                    if accelerator.sync_gradients:
                        accelerator.clip_grad_norm_(params, t.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                window_loss += loss.detach().float()
                window_micro += 1
                window_tokens += batch.numel() * accelerator.num_processes
                if not accelerator.sync_gradients:
                    continue
                step += 1
                bar.update(1)
                if step % t.log_every == 0 or step == t.max_steps:
                    now = time.time()
                    mean_loss = accelerator.reduce(window_loss, "mean").item() / window_micro
                    if not math.isfinite(mean_loss):
                        raise FloatingPointError(f"train: loss is {mean_loss} at step {step}: lower train.lr")
                    rec = {"step": step, "loss": round(mean_loss, 5),
                           "lr": scheduler.get_last_lr()[0], "tokens_per_s": round(window_tokens / (now - window_start), 1)}
                    history.append(rec)
                    if main:
                        log.write(json.dumps(rec) + "\n")
                        log.flush()
                        bar.set_postfix(loss=f"{rec['loss']:.3f}", tok_s=f"{rec['tokens_per_s']:.0f}")
                        tqdm.write(f"step {step:>6}  loss {rec['loss']:.4f}  lr {rec['lr']:.2e}  {rec['tokens_per_s']:.0f} tok/s")
                    window_loss.zero_()
                    window_micro, window_tokens, window_start = 0, 0, now
                if step >= t.max_steps:
                    break
    bar.close()
    accelerator.wait_for_everyone()
    adapter_dir = cfg.run_dir / "adapter"
    unwrapped = accelerator.unwrap_model(model)
    if main:
        _save_adapter(unwrapped, tokenizer, adapter_dir)
        print(f"train: adapter saved to {adapter_dir} ({time.time() - started:.0f}s)")
    accelerator.wait_for_everyone()
    return {"steps": step, "history": history, "trainable_params": trainable, "total_params": total,
            "blocks": len(blocks), "adapter_dir": adapter_dir, "is_main": main, "model": unwrapped.eval()}
