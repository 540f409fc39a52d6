"""How a training run is spread over processes: one place that turns the launch (accelerate, torchrun,
srun) and lontar's config into an `Accelerator`.

lontar's config is the one source of truth for precision, micro-batch, accumulation and clipping;
accelerate's config file only says *where* processes run and *which* strategy (DDP, FSDP2, DeepSpeed)
shards them. A conflicting value in the launch is an error, not a silent override, and a strategy the
launch asked for is either honoured or refused: accelerate alone quietly falls back to plain DDP for
FSDP on CPU, which would make every FSDP test here a DDP test.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import torch
from accelerate import Accelerator
from accelerate.utils import DeepSpeedPlugin, DistributedType, FullyShardedDataParallelPlugin

from lontar.config import RunConfig
from lontar.errors import ConfigError

MIXED_PRECISION = {"float32": "no", "bfloat16": "bf16", "float16": "fp16"}
Strategy = Literal["single", "ddp", "fsdp", "deepspeed"]


def _flag(name: str) -> bool:
    return os.environ.get(name, "false").lower() in ("1", "true", "yes")


def launch_strategy() -> Strategy:
    """What the launcher asked for, read from the environment accelerate/torchrun/srun set."""
    if _flag("ACCELERATE_USE_DEEPSPEED"):
        return "deepspeed"
    if _flag("ACCELERATE_USE_FSDP"):
        return "fsdp"
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return "ddp"
    return "single"


def mixed_precision(cfg: RunConfig, cpu: bool) -> str:
    """accelerate's mixed-precision mode for this run, refusing a launch that says otherwise.

    On CPU the model runs in its own dtype (autocast on CPU gains nothing on these machines), as before.
    """
    wanted = "no" if cpu else MIXED_PRECISION[cfg.model.dtype]
    launched = os.environ.get("ACCELERATE_MIXED_PRECISION", "no").lower()
    if launched not in ("no", wanted) and not cpu:
        raise ConfigError(f"accelerate was launched with mixed_precision '{launched}' but model.dtype "
                          f"'{cfg.model.dtype}' means '{wanted}': lontar's config sets precision; drop "
                          "mixed_precision from the accelerate config (or pass --mixed_precision no)")
    return wanted


def deepspeed_config(cfg: RunConfig, zero_stage: int | None = None) -> dict[str, Any]:
    """The DeepSpeed JSON lontar's config implies; the accelerate config adds only stage and offload.

    Every batch and precision number comes from `train` and `model`, so a ZeRO run trains the same
    global batch and precision as a DDP run of the same config.
    """
    t = cfg.train
    stage = zero_stage if zero_stage is not None else int(os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3"))
    offload_opt = os.environ.get("ACCELERATE_DEEPSPEED_OFFLOAD_OPTIMIZER_DEVICE", "none")
    offload_param = os.environ.get("ACCELERATE_DEEPSPEED_OFFLOAD_PARAM_DEVICE", "none")
    zero: dict[str, Any] = {"stage": stage, "overlap_comm": True, "contiguous_gradients": True}
    if offload_opt != "none":
        zero["offload_optimizer"] = {"device": offload_opt}
    if stage == 3:
        zero["stage3_gather_16bit_weights_on_model_save"] = True
        if offload_param != "none":
            zero["offload_param"] = {"device": offload_param}
    return {
        "train_micro_batch_size_per_gpu": t.micro_batch_size,
        "gradient_accumulation_steps": t.gradient_accumulation_steps,
        "gradient_clipping": t.max_grad_norm,
        "bf16": {"enabled": cfg.model.dtype == "bfloat16"},
        "fp16": {"enabled": cfg.model.dtype == "float16"},
        "zero_optimization": zero,
        "steps_per_print": 10**9,
    }


def deepspeed_plugin(cfg: RunConfig) -> DeepSpeedPlugin:
    """accelerate's plugin around `deepspeed_config(cfg)`.

    accelerate refuses a JSON config when its launch carried DeepSpeed fields from the config file
    (ACCELERATE_CONFIG_DS_FIELDS); lontar has already read stage and offload from them, and owns the
    rest, so that guard is lifted for this process.
    """
    config = deepspeed_config(cfg)
    os.environ.pop("ACCELERATE_CONFIG_DS_FIELDS", None)
    return DeepSpeedPlugin(hf_ds_config=config)


def check_strategy(cfg: RunConfig, strategy: Strategy) -> None:
    """Refuse, in one line, a feature the strategy cannot honour rather than let it be a no-op."""
    launched = os.environ.get("ACCELERATE_GRADIENT_ACCUMULATION_STEPS")
    if launched and int(launched) != cfg.train.gradient_accumulation_steps:
        raise ConfigError(f"accelerate was launched with gradient_accumulation_steps {launched} but "
                          f"train.gradient_accumulation_steps is {cfg.train.gradient_accumulation_steps}: lontar's "
                          "config sets it; drop it from the launch")
    if strategy == "deepspeed" and cfg.train.max_bad_steps != 1:
        raise ConfigError("train.max_bad_steps: under DeepSpeed the engine applies each optimizer step inside "
                          "backward, so a step with a non-finite loss cannot be skipped; set train.max_bad_steps: 1 "
                          "(stop at the first one and resume from the last checkpoint) or train with DDP/FSDP")
    if strategy in ("fsdp", "deepspeed") and cfg.model.load_in_4bit:
        raise ConfigError(f"model.load_in_4bit: QLoRA is not supported under {strategy} by lontar yet; "
                          "use DDP (one full 4-bit copy per GPU) or train in bfloat16")


def make_accelerator(cfg: RunConfig, log_with: list[Any] | None = None) -> tuple[Accelerator, Strategy]:
    """The accelerator for this process, with the strategy the launch asked for actually in force
    (and the experiment trackers of `lontar.train.trackers`, if given)."""
    strategy = launch_strategy()
    check_strategy(cfg, strategy)
    cpu = not torch.cuda.is_available()
    kwargs: dict[str, Any] = {"gradient_accumulation_steps": cfg.train.gradient_accumulation_steps,
                              "mixed_precision": mixed_precision(cfg, cpu)}
    if strategy == "deepspeed":
        if cpu:
            raise ConfigError("DeepSpeed needs a GPU (its CPU backend is not supported by lontar): launch with "
                              "configs/accelerate/fsdp.yaml or ddp.yaml on CPU")
        kwargs["deepspeed_plugin"] = deepspeed_plugin(cfg)
    if log_with:
        kwargs.update(log_with=log_with, project_dir=str(cfg.run_dir / "logs"))
    accelerator = Accelerator(cpu=cpu, **kwargs)
    if strategy == "fsdp" and accelerator.distributed_type != DistributedType.FSDP:
        if accelerator.distributed_type != DistributedType.MULTI_CPU:
            raise ConfigError(f"FSDP was asked for but accelerate set up {accelerator.distributed_type.value}")
        # accelerate enables FSDP only for GPU process groups; FSDP2 itself runs on gloo, so turn it on.
        accelerator.state.fsdp_plugin = FullyShardedDataParallelPlugin()
        accelerator.state.distributed_type = DistributedType.FSDP
    if strategy == "fsdp" and not accelerator.is_fsdp2:
        raise ConfigError("lontar trains with FSDP2 only: set fsdp_version: 2 in the accelerate config")
    return accelerator, strategy


def describe(accelerator: Accelerator, strategy: Strategy) -> str:
    """One log line saying how the run is actually spread, so a silent fallback cannot hide."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", accelerator.num_processes) or 1)
    nodes = max(accelerator.num_processes // max(local, 1), 1)
    backend = getattr(accelerator.state, "backend", None) or "none"
    name = {"single": "one process", "ddp": "DDP", "fsdp": "FSDP2", "deepspeed": "DeepSpeed ZeRO-"
            + os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "3")}[strategy]
    return (f"{name}, {accelerator.num_processes} process(es) on {nodes} node(s), backend {backend}, "
            f"mixed precision {accelerator.mixed_precision}")


def trainable_state_dict(accelerator: Accelerator, model: Any) -> dict[str, torch.Tensor]:
    """Every trainable tensor, whole, on CPU, under its plain name (a collective: all processes call it).

    A LoRA checkpoint needs only these: gathering them one by one avoids materialising the frozen
    base on one process, which `get_state_dict` does under FSDP.
    """
    if accelerator.distributed_type == DistributedType.DEEPSPEED:  # ZeRO-3 partitions need its own gather
        full = accelerator.get_state_dict(model)
        names = [n for n, p in accelerator.unwrap_model(model).named_parameters() if p.requires_grad]
        return {n: full[n].detach().to("cpu").contiguous().clone() for n in names} if full else {}
    from torch.distributed.tensor import DTensor

    out = {}
    for name, p in accelerator.unwrap_model(model).named_parameters():
        if p.requires_grad:
            t = p.full_tensor() if isinstance(p, DTensor) else p
            out[name] = t.detach().to("cpu").contiguous().clone()
    return out
