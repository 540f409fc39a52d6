"""Model FLOPs utilisation, as BENCHMARKS.md defines it.

LoRA: per trained token, forward 2N + input-gradient backward 2N, N = the frozen model's matmul
weights (every nn.Linear, the output projection included; the embedding lookup excluded); plus
attention: the score (QK^T) and value (PV) products, 2*d_q FLOPs each per query-key pair per layer
forward and twice that backward (input gradients only), i.e. 12 * layers * d_q * pairs, where
pairs = sum over documents of L(L+1)/2 (causal, within a document: what padding-free packing
computes). Full fine-tuning: 6N. LoRA adapter FLOPs and activation recomputation are not counted.
Peak: the dense matmul rate measured on the device in the same run (bf16 8192^3 on a GPU).
"""

from __future__ import annotations

import time
from typing import Any

import torch

FORMULA = ("flops = 4*N*tokens + 12*layers*d_q*pairs (LoRA; 6*N for full fine-tuning); N = in*out summed over "
           "the frozen model's nn.Linear layers (lm_head included, embedding lookup excluded); pairs = sum over "
           "documents of L(L+1)/2; LoRA adapter FLOPs and recomputation excluded")
DATASHEET_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def matmul_params(model: torch.nn.Module) -> int:
    """in*out over the nn.Linear layers of the frozen model (LoRA factors and peft's trainable copies left out;
    4-bit layers keep their shapes)."""
    return sum(m.in_features * m.out_features for name, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and "lora_" not in name and "modules_to_save" not in name)


def attention_dims(config: Any) -> tuple[int, int]:
    """(layers, query width) from a transformers config."""
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    heads = text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // heads
    return text.num_hidden_layers, heads * head_dim


class FlopCounter:
    def __init__(self, n_matmul: int, layers: int, d_q: int, full_finetune: bool = False):
        self.n, self.layers, self.d_q = n_matmul, layers, d_q
        self.per_token = (6 if full_finetune else 4) * n_matmul

    @classmethod
    def for_model(cls, model: torch.nn.Module, full_finetune: bool = False) -> "FlopCounter":
        return cls(matmul_params(model), *attention_dims(model.config), full_finetune=full_finetune)

    def flops(self, tokens: int, pairs: int) -> float:
        return float(self.per_token) * tokens + 12.0 * self.layers * self.d_q * pairs


def measure_peak_flops(device: torch.device | str, dtype: torch.dtype | None = None, n: int | None = None,
                       reps: int = 5) -> dict[str, Any]:
    """Dense matmul FLOP/s on `device`: bf16 8192^3 on a GPU, the given dtype and 1024^3 on a CPU."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    dtype = dtype or (torch.bfloat16 if cuda else torch.float32)
    n = n or (8192 if cuda else 1024)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    times = []
    for i in range(reps + 1):
        if cuda:
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        torch.matmul(a, b)
        if cuda:
            torch.cuda.synchronize(device)
        if i:  # the first one warms up
            times.append(time.perf_counter() - t0)
    best = min(times)
    out: dict[str, Any] = {"flops_per_s": 2 * n**3 / best, "matmul": f"{n}^3 {str(dtype).removeprefix('torch.')}",
                           "device": torch.cuda.get_device_name(device) if cuda else "cpu"}
    if cuda:
        sheet = next((v for k, v in DATASHEET_TFLOPS.items() if k in out["device"]), None)
        if sheet:
            out["datasheet_flops_per_s"] = sheet * 1e12
    return out
