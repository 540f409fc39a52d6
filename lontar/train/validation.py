"""Validation during training: loss per token and bits per byte on packed validation documents.

Bits per byte counts the document tokens only (not the end-of-document predictions), over the
documents' UTF-8 bytes, like the eval stage; the eval stage's rolling windows remain the reference
(a document longer than a block loses the context of its cut here).
Every process scores an equal share of the blocks (padded with empty ones), so sharded models
(FSDP, ZeRO-3) run the same number of forward passes everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from lontar.train.packing import LOSS, PAD, START, Packed, to_batch


@torch.no_grad()
def evaluate(model: Any, val: Packed, accelerator: Any, batch_size: int, attention: str = "mask") -> dict[str, float]:
    world, rank = accelerator.num_processes, accelerator.process_index
    n = len(val)
    per_step = batch_size * world
    padded = -(-n // per_step) * per_step
    ids = np.concatenate([val.input_ids, np.zeros((padded - n, val.block_size), dtype=np.int32)])
    flags = np.concatenate([val.flags, np.full((padded - n, val.block_size), PAD | 0, dtype=np.uint8)])
    flags[n:, 0] |= START
    sums = torch.zeros(3, dtype=torch.float64, device=accelerator.device)  # nll all, nll documents, targets
    was_training = model.training
    model.eval()
    for start in range(rank * batch_size, padded, per_step):
        rows = slice(start, start + batch_size)
        batch = to_batch(ids[rows], flags[rows], device=accelerator.device, attention=attention)
        target = batch.pop("labels")[:, 1:]
        logits = model(**batch, use_cache=False).logits
        nll = torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), target, ignore_index=-100,
                                                reduction="none")
        doc = torch.from_numpy((flags[rows, 1:] & (LOSS | START)) == LOSS).to(nll.device)  # not an EOS target
        sums += torch.stack([nll.sum().double(), (nll * doc).sum().double(), (target != -100).sum().double()])
    if was_training:
        model.train()
    total = accelerator.reduce(sums, "sum").tolist()
    return {"val_loss": total[0] / max(total[2], 1), "val_bpb": total[1] / math.log(2) / max(val.nbytes, 1),
            "val_tokens": int(total[2]), "val_docs": val.docs}
