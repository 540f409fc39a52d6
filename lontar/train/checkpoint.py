"""Checkpoints that survive kill -9: written to a hidden temp folder, then renamed; keep the last K.

`runs/<name>/checkpoints/step-N/` holds
  adapter/                  the adapter (peft, safetensors) and tokenizer: evaluable on its own
  trainable.safetensors     every trainable tensor under its exact name (what resume loads)
  optimizer.pt              the optimizer state, whole and keyed by parameter name (torch's
                            distributed-checkpoint "full" state dict), so one process, DDP and FSDP2
                            runs write the same files and a checkpoint resumes under any of them
  scheduler.pt, scaler.pt (fp16)
  rng_state_<rank>.pt       python, numpy, torch CPU and CUDA generators of each process
  data_state.npz            the sampler's open blocks (its stream positions are in trainer_state.json)
  trainer_state.json        step, data position, loss history, counters, config and data fingerprints;
                            written last: a folder without it is not a checkpoint
Only DeepSpeed keeps its engine's own partitioned format (`sharded/`, via `accelerator.save_state`):
its optimizer lives inside the engine.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate.utils import DistributedType
from safetensors.torch import load_file, save_file
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_optimizer_state_dict,
                                                     set_optimizer_state_dict)

from lontar.errors import StageError
from lontar.train.distributed import trainable_state_dict
from lontar.train.lora import adapter_save_kwargs

STATE_FILE = "trainer_state.json"
DATA_FILE = "data_state.npz"
_STEP = re.compile(r"^step-(\d+)$")


def checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _STEP.match(p.name)) and (p / STATE_FILE).is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(root: Path) -> Path | None:
    found = checkpoints(root)
    return found[-1] if found else None


def checkpoint_problem(path: Path) -> str | None:
    """Why a checkpoint cannot be resumed from (a file cut by a full disk or a crash), from headers and
    sizes alone; None when every file looks whole."""
    from lontar.weights import safetensors_header, torch_file_problem

    try:
        json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return f"{STATE_FILE}: {type(e).__name__}"
    for f in [path / "trainable.safetensors", *sorted((path / "adapter").glob("*.safetensors"))]:
        if f.exists():
            try:
                safetensors_header(f)
            except (StageError, OSError) as e:
                return str(e).replace(str(path) + "/", "")
    for f in sorted([*path.glob("*.pt"), *path.glob("*.npz")]):
        problem = torch_file_problem(f)
        if problem:
            return problem
    return None


def latest_intact_checkpoint(root: Path) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The newest checkpoint whose files are whole, and the newer ones passed over with the reason."""
    damaged: list[tuple[Path, str]] = []
    for path in reversed(checkpoints(root)):
        problem = checkpoint_problem(path)
        if problem is None:
            return path, damaged
        damaged.append((path, problem))
    return None, damaged


def _engine_owned(accelerator: Any) -> bool:
    """DeepSpeed keeps the optimizer inside its engine; everything else uses lontar's one format."""
    return accelerator.distributed_type == DistributedType.DEEPSPEED


def _torch_optimizer(optimizer: Any) -> Any:
    return getattr(optimizer, "optimizer", optimizer)  # accelerate's wrapper around the torch optimizer


def _distributed(accelerator: Any) -> bool:
    return accelerator.num_processes > 1 and torch.distributed.is_initialized()


def rng_state() -> dict[str, Any]:
    """Generator states in types `torch.load(weights_only=True)` accepts (no pickled numpy objects)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    numpy_state = (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss))
    state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(accelerator: Any, model: Any, optimizer: Any, scheduler: Any, tokenizer: Any, root: Path,
                    step: int, state: dict[str, Any], keep_last: int,
                    arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Write `root/step-<step>` atomically (every process must call this); prune to the last `keep_last`."""
    final = root / f"step-{step}"
    tmp = root / f".step-{step}.partial"
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    trainable = trainable_state_dict(accelerator, model)  # collective: gathers FSDP2 shards
    unwrapped = accelerator.unwrap_model(model)
    if _engine_owned(accelerator):
        accelerator.save_state(str(tmp / "sharded"))
        optim_state = None
    else:  # collective too; whole tensors on CPU, keyed by parameter name
        optim_state = get_optimizer_state_dict(unwrapped, _torch_optimizer(optimizer),
                                               options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if main:
        unwrapped.save_pretrained(tmp / "adapter", state_dict=trainable, safe_serialization=True,
                                  **adapter_save_kwargs(unwrapped))
        tokenizer.save_pretrained(tmp / "adapter", save_jinja_files=False)
        save_file(trainable, tmp / "trainable.safetensors")
        if optim_state is not None:
            torch.save(optim_state, tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if accelerator.scaler is not None:
            torch.save(accelerator.scaler.state_dict(), tmp / "scaler.pt")
        if arrays is not None:
            np.savez(tmp / DATA_FILE, **arrays)
    torch.save(rng_state(), tmp / f"rng_state_{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()
    if main:
        _write_json(tmp / STATE_FILE, state)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in checkpoints(root)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator: Any, model: Any, optimizer: Any, scheduler: Any, path: Path) -> dict[str, Any]:
    """Restore model, optimizer, scheduler (and scaler) from `path`; returns its trainer state.

    RNG states are restored separately (`restore_rng`), last, just before training resumes.
    """
    state = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    unwrapped = accelerator.unwrap_model(model)
    if _engine_owned(accelerator):
        if not (path / "sharded").is_dir():
            raise StageError(f"--resume: {path} was not written under DeepSpeed (no sharded/ engine state); "
                             "resume it with the strategy that wrote it")
        accelerator.load_state(str(path / "sharded"))
    else:
        if (path / "sharded").is_dir() and not (path / "optimizer.pt").is_file():
            raise StageError(f"--resume: {path} holds a DeepSpeed engine state; resume it under DeepSpeed")
        tensors = load_file(path / "trainable.safetensors")
        expected = {n for n, p in unwrapped.named_parameters() if p.requires_grad}
        missing, unknown = expected - tensors.keys(), tensors.keys() - expected
        if missing or unknown:
            raise StageError(f"--resume: {path}: its trainable tensors do not match this model's (missing "
                             f"{sorted(missing)[:3]}, unexpected {sorted(unknown)[:3]}): was the model or lora "
                             "section changed?")
        _load_trainable(unwrapped, tensors)
        full_optim = torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True)
        set_optimizer_state_dict(unwrapped, _torch_optimizer(optimizer), optim_state_dict=full_optim,
                                 options=StateDictOptions(full_state_dict=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    if accelerator.scaler is not None and (path / "scaler.pt").exists():
        accelerator.scaler.load_state_dict(torch.load(path / "scaler.pt", weights_only=True))
    return state


def _load_trainable(model: Any, tensors: dict[str, torch.Tensor]) -> None:
    """Copy whole tensors into the (possibly FSDP2-sharded) trainable parameters, in place."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in tensors.items():
            p = params[name]
            if isinstance(p, DTensor):
                value = distribute_tensor(value.to(p.dtype), p.device_mesh, p.placements)
                p.to_local().copy_(value.to_local())
            else:
                p.copy_(value.to(p.device, p.dtype))


def load_data_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path / DATA_FILE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def restore_rng(accelerator: Any, path: Path) -> bool:
    """This process's generators as saved; False (and rank 0's state) when the process count changed."""
    own = path / f"rng_state_{accelerator.process_index}.pt"
    file = own if own.exists() else path / "rng_state_0.pt"
    set_rng_state(torch.load(file, weights_only=True))
    return file == own


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
