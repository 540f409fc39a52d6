"""`lontar generate --config C [--checkpoint X] "prompt"`: read what a checkpoint writes.

The checkpoint is resolved as the eval stage resolves `eval.checkpoints` ('base', 'adapter', a
`step-N` checkpoint or adapter folder, a full model folder); the default is this run's adapter when
it exists, else the base. Decoding is the eval stage's own (`greedy_generate`: greedy, stop strings,
the window), so what this prints is what a generation task would score. `--chat` wraps the prompt
in the tokenizer's chat template, as `eval.prompt_style: chat`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lontar.config import RunConfig
from lontar.errors import ConfigError


def generate_texts(cfg: RunConfig, prompts: Sequence[str], *, checkpoint: str | None = None,
                   max_new_tokens: int = 128, stop: Sequence[str] = (), chat: bool = False) -> list[str]:
    from lontar.eval.generate import greedy_generate
    from lontar.eval.stage import load_checkpoint, resolve_checkpoint
    from lontar.train.model import load_tokenizer

    if not prompts:
        raise ConfigError("lontar generate: give a prompt")
    name = checkpoint or ("adapter" if (cfg.run_dir / "adapter" / "adapter_config.json").exists() else "base")
    ckpt = resolve_checkpoint(cfg, name)
    tokenizer = load_tokenizer(cfg)
    if chat:
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError("lontar generate --chat: the tokenizer has no chat template")
        prompts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                 add_generation_prompt=True) for p in prompts]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_checkpoint(cfg, tokenizer, ckpt).to(device).eval()
    return greedy_generate(model, tokenizer, list(prompts), max_new_tokens=max_new_tokens, stop=list(stop),
                           batch_size=cfg.eval.batch_size, max_length=cfg.eval.max_length, device=device,
                           progress=False)


def run_generate(cfg: RunConfig, prompts: Sequence[str], checkpoint: str | None = None, max_new_tokens: int = 128,
                 stop: Sequence[str] = (), chat: bool = False) -> list[str]:
    texts = generate_texts(cfg, prompts, checkpoint=checkpoint, max_new_tokens=max_new_tokens, stop=stop, chat=chat)
    for i, text in enumerate(texts):
        if len(texts) > 1:
            print(f"--- {i + 1}")
        print(text)
    return texts
