"""The LoRA training loop under accelerate: one CPU to many GPUs with the same code.

Plain and readable on purpose (nanoGPT style). Per optimizer step: every process runs its
micro-batches of packed blocks (`lontar.train.data`), the loss of each is its summed token NLL
divided by the number of targets in the whole global step, so 1 process or N, and any split into
micro-batches, give the same gradients; then clipping, a NaN/inf guard, AdamW, warmup then cosine or
linear decay. Around it: validation loss and bits per byte every N steps, jsonl logs and the
experiment trackers (`lontar.train.trackers`), log lines from the main process only, a progress bar
with tokens/s and MFU, atomic checkpoints every N steps and exact resume.

`train.phases` (continued pre-training, then instruction tuning) run one after another through the
same loop on the same adapter: each phase brings its data, a fresh AdamW state and its own schedule;
the step counter runs on across phases, and a checkpoint says which phase it is in and how far.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from peft import get_peft_model
from tqdm import tqdm
from transformers import get_scheduler

from lontar.errors import ConfigError, StageError, TrainingDiverged
from lontar.config import RunConfig
from lontar.eval.during_training import benchmark_step, maybe_benchmarks
from lontar.train.attention import register as register_packed_attention
from lontar.train.checkpoint import (checkpoint_problem, checkpoints, latest_intact_checkpoint, load_checkpoint,
                                     load_data_arrays, restore_rng, save_checkpoint)
from lontar.train.data import build_train_data, build_validation
from lontar.train.distributed import describe, make_accelerator, trainable_state_dict
from lontar.train.lora import adapter_save_kwargs, run_lora_config
from lontar.train.mfu import FORMULA, FlopCounter, PeakFlops
from lontar.train.model import DTYPES, load_base_model, load_tokenizer
from lontar.train.phases import Phase, merge_summaries, phase_list, qualified
from lontar.train.sft import marker_ids
from lontar.train.trackers import finish, make_trackers, run_params, scalars
from lontar.train.validation import evaluate

# The lines below are guarded by the main process (and the CLI's handler drops other ranks' lines);
# accelerate.logging.get_logger would do the guarding but prefixes "[RANK 0]" to every line, even alone.
log = logging.getLogger(__name__)

# Keys that may change between a run and its resumption; anything else must match the checkpoint.
RESUMABLE_CHANGES = {"log_every", "eval_every", "eval_docs", "save_every", "keep_last", "max_bad_steps",
                     "trackers", "tracker_project", "peak_tflops", "eval_tasks", "eval_tasks_every"}


PREVIOUS = "checkpoints.previous"


def log_mixture(data: Any, window: dict[str, Any]) -> dict[str, Any]:
    """Tokens per dataset and per language, and the loss per dataset, over a log window."""
    seen = data.summary(window["by_stream"])
    nll: dict[str, float] = {}
    targets: dict[str, float] = {}
    for info, a, b in zip(data.infos, window["nll"], window["targets"]):
        name = data.datasets[info.dataset]["name"]
        nll[name] = nll.get(name, 0.0) + float(a)
        targets[name] = targets.get(name, 0.0) + float(b)
    return {"tokens_by_dataset": seen["by_dataset"], "tokens_by_lang": seen["by_lang"],
            "loss_by_dataset": {k: (nll[k] / targets[k] if targets[k] else None) for k in nll}}


class ResumeError(StageError):
    """The checkpoint cannot continue this run; the message says why (one line on the command line)."""


def _save_adapter(model: Any, tokenizer: Any, out_dir: Path, state_dict: dict[str, Any] | None = None) -> None:
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True, state_dict=state_dict, **adapter_save_kwargs(model))
    tokenizer.save_pretrained(tmp, save_jinja_files=False)  # template inside tokenizer_config.json, as trained
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)


def phase_steps(phase: Phase, data: Any) -> int:
    """The phase's length in optimizer steps: `max_steps`, or its epochs counted by a dry pass of the sampler."""
    return data.count_steps() if phase.cfg.train.num_epochs else phase.cfg.train.max_steps


def start_schedule(optimizer: torch.optim.Optimizer, t: Any, max_steps: int) -> Any:
    """The phase's learning rate and weight decay on every group, and its own warmup then decay.

    A scheduler keeps the rate it found at construction (`initial_lr`) as its peak: it is set here
    explicitly, or a second phase would inherit the first phase's peak."""
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = t.lr
        group["weight_decay"] = t.weight_decay
    return get_scheduler(t.lr_scheduler, optimizer, num_warmup_steps=t.warmup_steps, num_training_steps=max_steps)


def phase_record(phase: Phase, data: Any, state: dict[str, Any], max_steps: int) -> dict[str, Any]:
    """What a finished phase leaves in the checkpoint and the manifest: its steps, schedule, data and tokens."""
    t = phase.cfg.train
    return {"name": phase.name, "index": phase.index, "steps": max_steps, "first_step": state["step"] - max_steps + 1,
            "last_step": state["step"], "lr": t.lr, "warmup_steps": t.warmup_steps, "lr_scheduler": t.lr_scheduler,
            "datasets": data.datasets, "tokens_seen": data.summary(state["tokens_by_stream"])}


def resume_key(cfg: RunConfig) -> dict[str, Any]:
    """What a checkpoint must share with the run that resumes it."""
    train = {k: v for k, v in cfg.train.model_dump(mode="json").items() if k not in RESUMABLE_CHANGES}
    return {"seed": cfg.seed, "model": cfg.model.model_dump(mode="json"), "lora": cfg.lora.model_dump(mode="json"),
            "train": train}


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _diff(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


def prepare_model(cfg: RunConfig, tokenizer: Any, accelerator: Accelerator) -> tuple[Any, FlopCounter, str]:
    """The peft model to train, its FLOP counter, and how packed batches reach attention ("flash": varlen
    kernel; "packed": lontar's per-document sdpa buckets, for `auto` without flash-attn; "mask": a
    block-diagonal mask, for an explicitly chosen sdpa or eager)."""
    with accelerator.main_process_first():
        model = load_base_model(cfg, tokenizer)
    positions = getattr(model.config, "max_position_embeddings", None)
    if isinstance(positions, int) and cfg.train.block_size > positions:
        raise ConfigError(f"train.block_size ({cfg.train.block_size}) exceeds the model's max_position_embeddings "
                          f"({positions}, {cfg.model.name_or_path or 'model.architecture'})")
    flops = FlopCounter.for_model(model)
    impl = model.config._attn_implementation
    attention = "flash" if impl.startswith("flash_attention") else "mask"
    if impl == "sdpa" and cfg.model.attn_implementation == "auto":
        model.set_attn_implementation(register_packed_attention())
        attention = "packed"
    if cfg.model.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.model.gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    elif cfg.model.gradient_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.config.use_cache = False
    # The adapter's initial weights must not depend on whether this call built base_model/ or found it.
    set_seed(cfg.seed)
    return get_peft_model(model, run_lora_config(cfg, model, marker_ids(tokenizer, cfg))), flops, attention


class Logger:
    """train_log.jsonl (and eval_log.jsonl) plus the accelerator's trackers, main process only."""

    def __init__(self, cfg: RunConfig, accelerator: Accelerator, init_kwargs: dict[str, Any], history: list[dict],
                 evals: list[dict]):
        self.main = accelerator.is_main_process
        self.accelerator = accelerator
        logs = cfg.run_dir / "logs"
        self.paths = {"train": logs / "train_log.jsonl", "eval": logs / "eval_log.jsonl"}
        if self.main:
            logs.mkdir(parents=True, exist_ok=True)
            for kind, records in (("train", history), ("eval", evals)):  # what the checkpoint knew, nothing after
                self.paths[kind].write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        if accelerator.log_with:  # the resolved config and the data card's summary as the run's parameters
            accelerator.init_trackers(cfg.train.tracker_project, config=run_params(cfg), init_kwargs=init_kwargs)

    def write(self, kind: str, rec: dict[str, Any], values: dict[str, float | None]) -> None:
        if not self.main:
            return
        with self.paths[kind].open("a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
        if self.accelerator.trackers:
            self.accelerator.log(scalars(values), step=rec["step"])

    def close(self) -> None:
        finish(self.accelerator.trackers)


def train(cfg: RunConfig, resume: bool | str | Path = False) -> dict[str, Any]:
    """Train the run's adapter. `resume`: True for the latest checkpoint, or a checkpoint folder."""
    t = cfg.train
    ckpt_root = cfg.run_dir / "checkpoints"
    resume_from = None
    if resume:
        if resume is True:
            resume_from, damaged = latest_intact_checkpoint(ckpt_root)
            for path, problem in damaged:  # said, never silent: the run goes back further than asked
                log.info(f"train: --resume: {path.name} is damaged ({problem}); falling back to an earlier checkpoint")
            if resume_from is None:
                raise ResumeError(f"--resume: no {'intact ' if damaged else ''}checkpoint in {ckpt_root}"
                                  + (f" ({len(damaged)} damaged)" if damaged else "")
                                  + " (train.save_every sets how often they are written)")
            if damaged:
                log.info(f"train: --resume: resuming from {resume_from.name}, the newest intact checkpoint")
        else:
            resume_from = Path(resume)
        if not (resume_from / "trainer_state.json").is_file():
            raise ResumeError(f"--resume: {resume_from} is not a complete checkpoint")
        problem = checkpoint_problem(resume_from)
        if problem:
            raise ResumeError(f"--resume: {resume_from} is damaged ({problem}); give an earlier checkpoint or "
                              "--resume alone to take the newest intact one")
        saved = json.loads((resume_from / "trainer_state.json").read_text(encoding="utf-8"))
        changed = _diff(saved["resume_key"], resume_key(cfg))
        if changed:
            raise ResumeError(f"--resume: {resume_from} was trained with different settings ({', '.join(changed)}); "
                              "resume with the same config, or start a new run")
    log_with, init_kwargs = make_trackers(cfg, saved["step"] if resume_from is not None else 0)
    accelerator, strategy = make_accelerator(cfg, log_with)
    set_seed(cfg.seed)
    main, world, rank = accelerator.is_main_process, accelerator.num_processes, accelerator.process_index

    tokenizer = load_tokenizer(cfg)
    model, flops, attention = prepare_model(cfg, tokenizer, accelerator)
    trainable, total = model.get_nb_trainable_parameters()
    phases = phase_list(cfg)
    phased = bool(cfg.train.phases)
    pi = int(saved.get("phase_index", 0)) if resume_from is not None else 0
    if pi >= len(phases):
        raise ResumeError(f"--resume: {resume_from} is in phase {pi + 1}, this config has {len(phases)}")
    # Every phase's data read now, so a bad chat file of a later phase fails before the first step.
    built = {i: build_train_data(phases[i].cfg, tokenizer, world) for i in range(pi, len(phases))}
    data = built[pi]
    max_steps = phase_steps(phases[pi], data)
    val = build_validation(cfg, tokenizer)
    params = [p for p in model.parameters() if p.requires_grad]
    raw_optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    model, optimizer = accelerator.prepare(model, raw_optimizer)
    unwrapped = accelerator.unwrap_model(model)
    params = [p for p in model.parameters() if p.requires_grad]  # FSDP2 replaced them with sharded ones
    # Stepped by hand once per optimizer step (a prepared scheduler would step once per process).
    scheduler = start_schedule(raw_optimizer, phases[pi].cfg.train, max_steps)

    state: dict[str, Any] = {"step": 0, "history": [], "evals": [], "skipped_steps": 0, "bad_in_a_row": 0,
                             "tokens_seen": 0, "tokens_by_stream": [0] * len(data.infos), "phase_index": pi,
                             "phase_step": 0, "phases": []}
    ckpt_dir = ckpt_root
    fresh_phase = False  # the next phase starts from its own beginning (optimizer state and schedule anew)
    if resume_from is not None:
        if saved["global_batch"] != data.global_batch:
            raise ResumeError(f"--resume: {resume_from} used a global batch of {saved['global_batch']} blocks, this run "
                              f"{data.global_batch} (micro batch x accumulation x processes must stay the same)")
        closed = len(saved.get("phases", [])) > pi  # saved at the end of its phase: the next one starts afresh
        if not closed and saved["data_fingerprint"] != data.fingerprint():
            raise ResumeError(f"--resume: the training data differ from {resume_from}'s (corpus, tokenizer or "
                              "datasets changed): its data position would not mean the same blocks")
        state = load_checkpoint(accelerator, model, optimizer, scheduler, resume_from)
        data_state = state.pop("data_state")
        state.setdefault("phases", [])
        state.setdefault("phase_index", pi)
        state.setdefault("phase_step", state["step"])  # a checkpoint from before phases: one phase, its step
        if closed:
            pi, fresh_phase = pi + 1, True
        else:
            data.load_state(data_state, load_data_arrays(resume_from))
    elif checkpoints(ckpt_root):
        # A new run keeps the old checkpoints resumable until it has saved one of its own (or finished).
        ckpt_dir = cfg.run_dir / "checkpoints.next"
        if main:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
            log.info(f"train: starting from scratch; the old checkpoints in {ckpt_root} stay until this run saves its "
                     f"first one, then move to {PREVIOUS} (--resume continues them)")
    accelerator.wait_for_everyone()

    def retire_old_checkpoints() -> None:
        nonlocal ckpt_dir
        if ckpt_dir == ckpt_root:
            return
        if main:
            previous = cfg.run_dir / PREVIOUS
            shutil.rmtree(previous, ignore_errors=True)
            if ckpt_root.exists():
                ckpt_root.replace(previous)
            if ckpt_dir.exists():
                ckpt_dir.replace(ckpt_root)
            log.info(f"train: the previous run's checkpoints moved to {previous}")
        accelerator.wait_for_everyone()
        ckpt_dir = ckpt_root

    start_step = state["step"]
    peak = PeakFlops(accelerator.device, DTYPES[cfg.model.dtype], t.peak_tflops * 1e12 if t.peak_tflops else None)
    if main:
        log.info(f"train: {trainable:,} trainable of {total:,} parameters; "
                 + (f"{len(phases)} phases ({', '.join(p.label for p in phases)})" if phased else f"{max_steps} steps")
                 + f" x {data.global_batch} blocks of {t.block_size} tokens on {world} x {accelerator.device}; attention "
                 f"{unwrapped.get_base_model().config._attn_implementation} ({attention})")
        log.info(f"train: distributed: {describe(accelerator, strategy)}")
        if resume_from is not None:
            where = f" (phase '{phases[state['phase_index']].label}', step {state['phase_step']} of it)" if phased else ""
            log.info(f"train: resumed from {resume_from} at step {start_step}{where}")
    logger = Logger(cfg, accelerator, init_kwargs, state["history"], state["evals"])
    bench = maybe_benchmarks(cfg, tokenizer, accelerator)  # train.eval_tasks: loaded now, run every N steps
    if resume_from is not None and not restore_rng(accelerator, resume_from) and main:
        log.info("train: the process count changed: every process continues from process 0's random state")

    def run_eval(step: int) -> None:
        r = evaluate(model, val, accelerator, t.micro_batch_size, attention)
        rec = {"step": step, **tag, **r}
        state["evals"].append(rec)
        logger.write("eval", rec, {"eval/loss": r["val_loss"], "eval/bits_per_byte": r["val_bpb"]})
        if main:
            log.info(f"step {step:>6}  validation loss {r['val_loss']:.4f}  bits/byte {r['val_bpb']:.4f}")

    def checkpoint(step: int) -> None:
        meta, arrays = data.state()
        save_checkpoint(accelerator, model, optimizer, scheduler, tokenizer, ckpt_dir, step,
                        {**state, "resume_key": resume_key(cfg), "data_fingerprint": data.fingerprint(),
                         "global_batch": data.global_batch, "world": world, "blocks_consumed": step * data.global_batch,
                         "data_state": meta}, t.keep_last, arrays=arrays)
        retire_old_checkpoints()

    started = time.time()
    model.train()
    while pi < len(phases):
        phase = phases[pi]
        pt = phase.cfg.train
        if fresh_phase:  # a new phase: its data, a fresh optimizer state, its own warmup and decay
            data = built[pi]
            max_steps = phase_steps(phase, data)
            raw_optimizer.state.clear()  # the torch AdamW under accelerate's (or DeepSpeed's) wrapper
            scheduler = start_schedule(raw_optimizer, pt, max_steps)
            state.update(phase_index=pi, phase_step=0, tokens_by_stream=[0] * len(data.infos))
        fresh_phase = True
        tag = {"phase": phase.name, "phase_step": 0} if phased else {}
        phase_end = state["step"] - state["phase_step"] + max_steps  # the global step this phase ends at
        if bench is not None:
            bench.max_steps = phase_end  # benchmarks at the end of every phase
        if main:
            if phased:
                log.info(f"train: phase {pi + 1}/{len(phases)} '{phase.name}': {max_steps} steps (steps "
                         f"{phase_end - max_steps + 1}-{phase_end}), lr {pt.lr:g}, {pt.warmup_steps} warmup, "
                         f"{pt.lr_scheduler}")
            for line in data.describe():
                log.info(f"train: data {line}")
        n_streams = len(data.infos)

        def new_window() -> dict[str, Any]:
            return {"loss": 0.0, "steps": 0, "tokens": 0, "loss_tokens": 0, "flops": 0.0, "start": time.time(),
                    "by_stream": np.zeros(n_streams, dtype=np.int64), "nll": np.zeros(n_streams),
                    "targets": np.zeros(n_streams)}

        bar = tqdm(total=max_steps, initial=state["phase_step"], desc=f"train {phase.name}" if phased else "train",
                   disable=not main, mininterval=1.0)
        window = new_window()
        for pstep in range(state["phase_step"], max_steps):
            step = state["step"]
            blocks = data.next_step()
            stats = data.step_stats(blocks)
            n_items = torch.tensor(float(max(stats["targets"], 1)), device=accelerator.device)
            # accelerate divides by the accumulation steps and DDP/FSDP average over processes: undo both.
            scale = t.gradient_accumulation_steps * world
            local = torch.zeros(1 + 2 * n_streams, device=accelerator.device, dtype=torch.float64)
            for i in range(t.gradient_accumulation_steps):
                batch = data.micro_batch(blocks, i, rank, accelerator.device, attention)
                labels, streams = batch.pop("labels")[:, 1:], batch.pop("streams")[:, 1:]
                with accelerator.accumulate(model):
                    logits = model(**batch, use_cache=False).logits[:, :-1]
                    nll = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                                                            labels.reshape(-1), ignore_index=-100, reduction="none")
                    loss = nll.sum() / n_items
                    accelerator.backward(loss * scale)
                    with torch.no_grad():  # the loss of each stream, for the per-dataset log
                        target = (labels.reshape(-1) != -100).double()
                        at = streams.reshape(-1).clamp(min=0)
                        local[0] += loss.detach().double()
                        local[1:1 + n_streams].index_add_(0, at, nll.detach().double() * target)
                        local[1 + n_streams:].index_add_(0, at, target)
                    if not accelerator.sync_gradients:
                        continue
                    grad_norm = accelerator.clip_grad_norm_(params, t.max_grad_norm)
                    reduced = accelerator.reduce(local, "sum").cpu().numpy()
                    step_loss = float(reduced[0])
                    norm = float(grad_norm) if grad_norm is not None else 0.0
                    finite = math.isfinite(step_loss) and math.isfinite(norm)
                    if finite:
                        optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                    scheduler.step()
            state["step"] = step + 1
            state["phase_step"] = pstep + 1
            state["tokens_seen"] += stats["tokens"]
            state["tokens_by_stream"] = [a + int(b) for a, b in zip(state["tokens_by_stream"], stats["by_stream"])]
            window["by_stream"] += stats["by_stream"]
            if finite:
                state["bad_in_a_row"] = 0
                window["loss"] += step_loss
                window["steps"] += 1
                window["nll"] += reduced[1:1 + n_streams]
                window["targets"] += reduced[1 + n_streams:]
            else:
                state["skipped_steps"] += 1
                state["bad_in_a_row"] += 1
                if main:
                    log.warning(f"step {step + 1:>6}  non-finite loss ({step_loss}) or gradient norm ({norm}): step "
                                f"skipped ({state['bad_in_a_row']} in a row)")
                if state["bad_in_a_row"] >= t.max_bad_steps:
                    raise TrainingDiverged(
                        f"train: {state['bad_in_a_row']} steps in a row with a non-finite loss or gradient (last at "
                        f"step {step + 1}); stopping. Lower train.lr, raise train.warmup_steps, use bfloat16 rather "
                        "than float16, or resume from an earlier checkpoint (--resume)")
            window["tokens"] += stats["tokens"]
            window["loss_tokens"] += stats["targets"]
            window["flops"] += flops.flops(stats["tokens"], stats["pairs"])
            bar.update(1)
            done = step + 1
            last = pstep + 1 == max_steps
            if phased:
                tag["phase_step"] = pstep + 1
            if done % t.log_every == 0 or last:
                now = time.time()
                elapsed = max(now - window["start"], 1e-9)
                tok_s = window["tokens"] / elapsed
                mfu = peak.utilisation(window["flops"] / elapsed / world)
                rec = {"step": done, **tag, "loss": window["loss"] / window["steps"] if window["steps"] else None,
                       "lr": scheduler.get_last_lr()[0], "grad_norm": norm, "tokens": window["tokens"],
                       "loss_tokens": window["loss_tokens"], "model_flops": window["flops"], "seconds": round(elapsed, 4), "tokens_per_s": round(tok_s, 1),
                       "mfu": round(mfu, 5), "skipped_steps": state["skipped_steps"],
                       **log_mixture(data, window)}
                if torch.cuda.is_available():
                    rec["max_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
                state["history"].append(rec)
                values = {"train/loss": rec["loss"], "train/lr": rec["lr"], "train/grad_norm": norm,
                          "perf/tokens_per_s": tok_s, "perf/mfu": mfu}
                if phased:  # which phase a point belongs to, and each phase's loss as a curve of its own
                    values |= {"train/phase": pi + 1, f"phase/{phase.name}/loss": rec["loss"]}
                logger.write("train", rec, values)
                if main:
                    shown = f"{rec['loss']:.4f}" if rec["loss"] is not None else "skipped"
                    bar.set_postfix(loss=shown, tok_s=f"{tok_s:.0f}", mfu=f"{mfu:.1%}")
                    where = f"  [{phase.name} {pstep + 1}/{max_steps}]" if phased else ""
                    log.info(f"step {done:>6}{where}  loss {shown}  lr {rec['lr']:.2e}  {tok_s:.0f} tok/s  MFU {mfu:.1%}")
                window = new_window()
            paused = time.time()  # evaluation and checkpoints are not training time
            if last:  # the phase's record, in the checkpoint that closes it
                state["phases"].append(phase_record(phase, data, state, max_steps))
            if val is not None and (done % t.eval_every == 0 or last):
                run_eval(done)
            if t.save_every and (done % t.save_every == 0 or last):
                checkpoint(done)
            benchmark_step(bench, unwrapped, done, accelerator, logger.write, state["evals"])
            window["start"] += time.time() - paused
        bar.close()
        pi += 1
    logger.close()
    accelerator.wait_for_everyone()
    adapter_dir = cfg.run_dir / "adapter"
    trained = trainable_state_dict(accelerator, model)  # collective
    if main:
        _save_adapter(unwrapped, tokenizer, adapter_dir, state_dict=trained)
        log.info(f"train: adapter saved to {adapter_dir} ({time.time() - started:.0f}s; "
                 f"{state['skipped_steps']} steps skipped)")
    accelerator.wait_for_everyone()
    retire_old_checkpoints()
    if attention == "packed":  # the packed kernel needs lontar's batches; hand back a plain sdpa model
        unwrapped.get_base_model().set_attn_implementation("sdpa")
    if phased:  # every phase's data and tokens, not only the last one's
        seen = merge_summaries([qualified(r["tokens_seen"], r["name"]) for r in state["phases"]])
        datasets = [{**d, "phase": r["name"]} for r in state["phases"] for d in r["datasets"]]
        total_steps = sum(r["steps"] for r in state["phases"])
    else:
        seen, datasets, total_steps = data.summary(state["tokens_by_stream"]), data.datasets, max_steps
    return {"steps": state["step"], "history": state["history"], "evals": state["evals"],
            "trainable_params": trainable, "total_params": total, "blocks": state["step"] * data.global_batch,
            "tokens_seen": seen, "datasets": datasets, "max_steps": total_steps,
            "phases": [{k: v for k, v in r.items() if k != "datasets"} for r in state["phases"]] if phased else [],
            "skipped_steps": state["skipped_steps"], "adapter_dir": adapter_dir, "is_main": main,
            "peak_flops_per_s": peak.value, "mfu_formula": FORMULA, "model": unwrapped.eval()}

