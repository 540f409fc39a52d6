"""The peft LoRA config from the run config's `lora` section.

When the run's tokenizer added tokens to the base model's, only those embedding rows (input and, if
untied, output) are trained, through peft's `trainable_token_indices`: the adapter then holds a few
thousand rows, not two full vocabulary matrices. Embeddings listed in `lora.modules_to_save` are
trained in full instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from peft import LoraConfig

from lontar.config import LoraSectionConfig

TrainableTokens = list[int] | dict[str, list[int]]


def _module_name(model: Any, module: Any) -> str:
    return next(name for name, m in model.named_modules() if m is module).rsplit(".", 1)[-1]


def trainable_token_indices(model: Any, ids: Sequence[int], modules_to_save: Sequence[str] = ()) -> TrainableTokens | None:
    """peft `trainable_token_indices` for `ids`: the input embedding, plus the output one when untied.

    With tied weights peft ties the output rows to the input adapter by itself. Layers already in
    `modules_to_save` are left out (peft refuses both on one layer).
    """
    if not ids:
        return None
    ids = sorted(int(i) for i in ids)
    inp, out = model.get_input_embeddings(), model.get_output_embeddings()
    targets = {_module_name(model, inp): ids}
    if out is not None and out.weight.data_ptr() != inp.weight.data_ptr():
        targets[_module_name(model, out)] = ids
    targets = {name: v for name, v in targets.items() if name not in set(modules_to_save)}
    return targets or None


def lora_config(section: LoraSectionConfig, trainable_tokens: TrainableTokens | None = None) -> LoraConfig:
    return LoraConfig(
        task_type="CAUSAL_LM",
        r=section.r,
        lora_alpha=section.alpha,
        lora_dropout=section.dropout,
        target_modules=section.target_modules,
        modules_to_save=list(section.modules_to_save) or None,
        use_rslora=section.use_rslora,
        use_dora=section.use_dora,
        trainable_token_indices=trainable_tokens,
    )


def run_lora_config(cfg: Any, model: Any, extra_ids: Sequence[int] = ()) -> LoraConfig:
    """`lora_config` for a run: the rows of the tokens its tokenizer stage added are trained too (only for a
    pretrained base: a random-init base has no rows worth keeping), and `extra_ids` (chat role markers)."""
    from lontar.train.model import recorded_new_tokens

    record = recorded_new_tokens(cfg) if cfg.model.name_or_path else None
    ids = sorted({*(t["id"] for t in record["tokens"]), *extra_ids} if record else set(extra_ids))
    section = cfg.lora
    if section.train_embeddings:  # the whole input and output embeddings, trained in full
        embeddings = [_module_name(model, m) for m in (model.get_input_embeddings(), model.get_output_embeddings())
                      if m is not None]
        section = section.model_copy(update={"modules_to_save": list(dict.fromkeys([*section.modules_to_save,
                                                                                    *embeddings]))})
    return lora_config(section, trainable_token_indices(model, ids, section.modules_to_save))


def adapter_save_kwargs(model: Any) -> dict[str, Any]:
    """Extra `save_pretrained` arguments for a peft model: no whole embedding matrices beside token rows.

    With a resized vocabulary peft's default (`save_embedding_layers="auto"`) also writes the full
    input and output embeddings, gigabytes for a 150k vocabulary, although the trained rows are in
    the adapter already; reloading needs the base resized to the tokenizer either way.
    """
    config = model.peft_config[model.active_adapter]
    return {"save_embedding_layers": False} if getattr(config, "trainable_token_indices", None) else {}
