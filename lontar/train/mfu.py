"""Model FLOPs utilisation, as BENCHMARKS.md defines it.

LoRA: per trained token, forward 2N + input-gradient backward 2N, N = the frozen model's matmul
weights (every nn.Linear, the output projection included; the embedding lookup excluded); plus
attention: the score (QK^T) and value (PV) products, 2*d_q FLOPs each per query-key pair per layer
forward and twice that backward (input gradients only), i.e. 12 * layers * d_q * pairs, where
pairs = sum over documents of L(L+1)/2 (causal, within a document: what padding-free packing
computes). Full fine-tuning: 6N. LoRA adapter FLOPs and activation recomputation are not counted.
Peak: the dense matmul rate measured on the device in the same run (bf16 8192^3 on a GPU), in the
dtype the model computes in: a CPU with bf16 instructions runs a bf16 model several times faster than
a float32 matmul, so a float32 peak made a bf16 run look like 119% MFU. Utilisation above 100% still
means the peak was measured low (a shared CPU measured while busy): `PeakFlops` then measures again,
and where training has sustained more than any measurement, takes that rate as the peak and says so.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import torch

log = logging.getLogger(__name__)

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
    """Dense matmul FLOP/s on `device` (best of `reps`, the current thread count): bf16 8192^3 on a GPU,
    the given dtype and 2048^3 on a CPU (1024^3 reaches well under a CPU's rate)."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    dtype = dtype or (torch.bfloat16 if cuda else torch.float32)
    n = n or (8192 if cuda else 2048)
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


class PeakFlops:
    """The peak FLOP/s that MFU divides by, such that MFU never exceeds 1.

    `fixed` (train.peak_tflops) replaces the first measurement. When a window's achieved rate is above
    the peak, the peak is measured again (keeping the higher); if training still beats it, the achieved
    rate becomes the peak (`source` says "observed") and a warning is printed once.
    """

    def __init__(self, device: torch.device | str, dtype: torch.dtype | None = None, fixed: float | None = None):
        self.device, self.dtype = device, dtype
        self.value = fixed if fixed else measure_peak_flops(device, dtype)["flops_per_s"]
        self.source = "configured" if fixed else "measured"
        self.warned = False

    def utilisation(self, flops_per_s: float) -> float:
        if flops_per_s > self.value:
            again = measure_peak_flops(self.device, self.dtype)["flops_per_s"]
            if again > self.value:
                self.value, self.source = again, "measured"
            if flops_per_s > self.value:
                if not self.warned:
                    log.info(f"train: achieved {flops_per_s / 1e12:.3g} TFLOP/s, above the {self.source} peak "
                             f"{self.value / 1e12:.3g}: the peak is taken as achieved (MFU 100%)")
                    self.warned = True
                self.value, self.source = flops_per_s, "observed"
        return flops_per_s / self.value
