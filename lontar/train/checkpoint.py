"""Checkpoints that survive kill -9: written to a hidden temp folder, then renamed; keep the last K.

`runs/<name>/checkpoints/step-N/` holds
  adapter/                  the adapter (peft, safetensors) and tokenizer: evaluable on its own
  trainable.safetensors     every trainable tensor under its exact name (what resume loads)
  optimizer.pt, scheduler.pt, scaler.pt (fp16)
  rng_state_<rank>.pt       python, numpy, torch CPU and CUDA generators of each process
  trainer_state.json        step, data position, loss history, counters, config and data fingerprints;
                            written last: a folder without it is not a checkpoint
Under FSDP or DeepSpeed the optimizer (and model shards) go through `accelerator.save_state` instead.
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

from lontar.train.lora import adapter_save_kwargs

STATE_FILE = "trainer_state.json"
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


def _sharded(accelerator: Any) -> bool:
    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


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
                    step: int, state: dict[str, Any], keep_last: int) -> Path:
    """Write `root/step-<step>` atomically (every process must call this); prune to the last `keep_last`."""
    final = root / f"step-{step}"
    tmp = root / f".step-{step}.partial"
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    full = accelerator.get_state_dict(model)  # gathers shards under FSDP / ZeRO-3 (collective)
    unwrapped = accelerator.unwrap_model(model)
    if _sharded(accelerator):
        accelerator.save_state(str(tmp / "sharded"))
    if main:
        unwrapped.save_pretrained(tmp / "adapter", state_dict=full, safe_serialization=True,
                                  **adapter_save_kwargs(unwrapped))
        tokenizer.save_pretrained(tmp / "adapter", save_jinja_files=False)
        names = [n for n, p in unwrapped.named_parameters() if p.requires_grad]
        save_file({n: full[n].detach().to("cpu").contiguous().clone() for n in names}, tmp / "trainable.safetensors")
        if not _sharded(accelerator):
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if accelerator.scaler is not None:
            torch.save(accelerator.scaler.state_dict(), tmp / "scaler.pt")
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
    if _sharded(accelerator):
        accelerator.load_state(str(path / "sharded"))
    else:
        tensors = load_file(path / "trainable.safetensors")
        expected = {n for n, p in unwrapped.named_parameters() if p.requires_grad}
        missing, unknown = expected - tensors.keys(), tensors.keys() - expected
        if missing or unknown:
            raise ValueError(f"{path}: its trainable tensors do not match this model's (missing {sorted(missing)[:3]}, "
                             f"unexpected {sorted(unknown)[:3]}): was the model or lora section changed?")
        result = unwrapped.load_state_dict(tensors, strict=False)
        assert not result.unexpected_keys, result.unexpected_keys
        optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=True))
    if accelerator.scaler is not None and (path / "scaler.pt").exists():
        accelerator.scaler.load_state_dict(torch.load(path / "scaler.pt", weights_only=True))
    return state


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
