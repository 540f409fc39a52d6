"""Attention over packed blocks that costs what the documents cost, not what the block costs.

With flash-attention installed, transformers' `flash_attention_2` runs the variable-length kernel on
the `cu_seq_lens_*` that `lontar.train.packing.to_batch` passes (flattened over the micro-batch: its
own detection from position ids only works for a batch of one). Without it, sdpa over a block with
a block-diagonal mask computes every query-key pair of the block, which for short documents (Khmer
sentences of ~15 tokens in blocks of 2,048) is mostly thrown away. `lontar_sdpa_packed` instead
gathers the documents into buckets of similar length (powers of two), runs plain causal sdpa on each
bucket (flash / memory-efficient kernels, no mask) and scatters the result back: exact, and the cost
follows the documents. Training only; the model returned after training is set back to sdpa.

Sliding-window layers (Gemma 3 alternates five of them with one global layer; Mistral) keep their
window: a bucket wider than the window gets the causal band mask `q - window < k <= q`, as
transformers' own masks do, so packed training sees what the model saw in pre-training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward

NAME = "lontar_sdpa_packed"
MIN_BUCKET = 16


def bucket_plan(lengths: np.ndarray, block: int, device: Any = "cpu") -> list[tuple[torch.Tensor, ...]]:
    """For segments of `lengths` laid end to end (rows of `block` tokens, flattened): per bucket of width
    S, `gather` [n, S] token indices (a segment's slots past its end repeat its last token: causal
    attention never lets a real token see them), `dst` the real tokens' flat indices and `src` their
    slots in the bucket's output."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    width = np.minimum(np.maximum(MIN_BUCKET, 2 ** np.ceil(np.log2(np.maximum(lengths, 1)))), block).astype(np.int64)
    plan = []
    for s in np.unique(width):
        sel = np.flatnonzero(width == s)
        offs = np.arange(s)
        valid = offs[None, :] < lengths[sel, None]
        gather = starts[sel, None] + np.minimum(offs[None, :], lengths[sel, None] - 1)
        plan.append((torch.from_numpy(gather).to(device), torch.from_numpy(gather[valid]).to(device),
                     torch.from_numpy(np.flatnonzero(valid.ravel())).to(device)))
    return plan


def packed_sdpa_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                        packed_plan: list[tuple[torch.Tensor, ...]] | None = None, sliding_window: int | None = None,
                        **kwargs: Any) -> tuple[torch.Tensor, None]:
    """query [b, h, L, d], key/value [b, h_kv, L, d] -> [b, L, h, d], each document attending to itself only
    (and, in a sliding-window layer, to the last `sliding_window` positions of it)."""
    if packed_plan is None or query.shape[2] != key.shape[2]:
        if attention_mask is not None:
            raise ValueError(f"{NAME} is for packed training batches; use sdpa for padded inputs")
        return sdpa_attention_forward(module, query, key, value, None, dropout=dropout, scaling=scaling,
                                      sliding_window=sliding_window, **kwargs)
    b, h, L, d = query.shape
    q = query.transpose(1, 2).reshape(b * L, h, d)
    k = key.transpose(1, 2).reshape(b * L, key.shape[1], d)
    v = value.transpose(1, 2).reshape(b * L, value.shape[1], value.shape[-1])
    out = query.new_zeros(b * L, h, value.shape[-1])
    for gather, dst, src in packed_plan:
        n, s = gather.shape
        flat = gather.reshape(-1)
        qb, kb, vb = (t.index_select(0, flat).view(n, s, t.shape[1], t.shape[2]).transpose(1, 2) for t in (q, k, v))
        band = window_mask(s, sliding_window, query.device)
        ob = torch.nn.functional.scaled_dot_product_attention(
            qb, kb, vb, attn_mask=band, dropout_p=dropout if module.training else 0.0, scale=scaling,
            is_causal=band is None, enable_gqa=kb.shape[1] != qb.shape[1])
        out = out.index_copy(0, dst, ob.transpose(1, 2).reshape(n * s, h, -1).index_select(0, src))
    return out.view(b, L, h, -1), None


def window_mask(width: int, sliding_window: int | None, device: Any) -> torch.Tensor | None:
    """The causal band a sliding-window layer allows over `width` positions (True: attend), or None where
    plain causal attention is the same (no window, or a window covering the bucket)."""
    if not sliding_window or width <= sliding_window:
        return None
    q = torch.arange(width, device=device)[:, None]
    k = torch.arange(width, device=device)[None, :]
    return (k <= q) & (k > q - sliding_window)


def register() -> str:
    AttentionInterface.register(NAME, packed_sdpa_forward)
    return NAME
