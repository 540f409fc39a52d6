"""The peft LoRA config from the run config's `lora` section."""

from __future__ import annotations

from peft import LoraConfig

from lontar.config import LoraSectionConfig


def lora_config(section: LoraSectionConfig) -> LoraConfig:
    return LoraConfig(
        task_type="CAUSAL_LM",
        r=section.r,
        lora_alpha=section.alpha,
        lora_dropout=section.dropout,
        target_modules=section.target_modules,
        modules_to_save=list(section.modules_to_save) or None,
        use_rslora=section.use_rslora,
        use_dora=section.use_dora,
    )
