"""lontar's scorer as an lm-evaluation-harness model: `--model lontar`, so any lm-eval task runs on it.

    python -m lontar.eval.lm_eval_backend --model lontar --model_args pretrained=DIR[,adapter=ADAPTER] \\
        --tasks belebele_tha_Thai,xcopa_th [--include_path DIR] [any other lm_eval option]

lm-eval 0.4 discovers models only through its own table (no entry points), so this module registers
`lontar` and then hands the command line to lm-eval's own CLI; from Python, importing this module is
enough (`simple_evaluate(model="lontar", ...)`).

The model is lm-eval's `hf` model in everything but the scoring: loading (`pretrained`, `peft`/`adapter`,
`dtype`, `device`), tokenization, the window (`max_length`), request encoding, chat templates and the
cache hooks are the harness's own, so scores are the harness's. Three methods differ:

- `loglikelihood` (and `loglikelihood_rolling`, which lm-eval builds from it): the encoded
  (context, continuation) pairs go to `LoglikScorer.score_tokens`: each distinct context runs once
  (its KV cache serves every continuation), contexts of a batch that share a prefix run it once, and
  logits are computed only where a token is scored. Cut to the window per pair, as the harness cuts.
- `generate_until`: the harness's batching and truncation, with transformers' `stop_strings` stopping
  rows in place of a criterion that decodes the output at every step.

`model_args`: `adapter=` (a peft adapter folder, an alias of lm-eval's `peft=`), `strategy=kv_cache|flat`,
and every `hf` argument. `batch_size=auto` means 64 contexts per pass (lontar's passes hold only the
scored positions' logits, so lm-eval's memory probe does not apply).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import torch
from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils_hf import stop_sequences_criteria

from lontar.errors import ConfigError
from lontar.eval.generate import stop_may_span
from lontar.eval.loglik import LoglikScorer

AUTO_BATCH = 64


@register_model("lontar")
class LontarLM(HFLM):
    """lm-eval's `hf` model with lontar's log-likelihood scorer and stop-string generation."""

    def __init__(self, pretrained: Any = None, adapter: str | None = None, strategy: str = "kv_cache",
                 **kwargs: Any) -> None:
        if strategy not in ("kv_cache", "flat"):
            raise ConfigError(f"--model_args strategy={strategy}: use kv_cache or flat")
        if adapter:
            if kwargs.get("peft") and kwargs["peft"] != adapter:
                raise ConfigError("--model_args: give the adapter once (adapter= or peft=)")
            kwargs["peft"] = adapter
        super().__init__(pretrained=pretrained, **kwargs)
        if self.backend != "causal":
            raise ConfigError("--model lontar scores decoder-only (causal) models; use --model hf for seq2seq")
        self.strategy = strategy

    def _lontar_batch(self, override_bs: int | None = None) -> int:
        bs = override_bs or self.batch_size
        return bs if isinstance(bs, int) and bs > 0 else AUTO_BATCH

    def _loglikelihood_tokens(self, requests: Sequence[tuple[Any, list[int], list[int]]],
                              disable_tqdm: bool = False, override_bs: int | None = None
                              ) -> list[tuple[float, bool]]:  # type: ignore[override]
        # Requests that share a context are one item, so its pass (and KV cache) serves them all.
        by_ctx: dict[tuple[int, ...], list[int]] = {}
        for k, (_, ctx, _) in enumerate(requests):
            by_ctx.setdefault(tuple(ctx), []).append(k)
        items = [[(list(ctx), requests[k][2]) for k in ks] for ctx, ks in by_ctx.items()]
        scorer = LoglikScorer(self.model, self.tokenizer, batch_size=self._lontar_batch(override_bs),
                              max_length=self.max_length, device=self.device, strategy=self.strategy,  # type: ignore[arg-type]
                              progress=not disable_tqdm and self.rank == 0)
        scored = scorer.score_tokens(items, desc="lontar loglikelihood")
        out: list[tuple[float, bool] | None] = [None] * len(requests)
        for ks, row in zip(by_ctx.values(), scored):
            for k, s in zip(ks, row):
                out[k] = (s.loglik, s.greedy)
                key = requests[k][0]
                if key is not None:  # rolling windows carry no key: lm-eval caches their sum instead
                    self.cache_hook.add_partial("loglikelihood", key, out[k])
        return out  # type: ignore[return-value]

    def _model_generate(self, context: torch.Tensor, max_length: int, stop: list[str],
                        **generation_kwargs: Any) -> torch.Tensor:
        generation_kwargs["temperature"] = generation_kwargs.get("temperature", 0.0)
        do_sample = generation_kwargs.get("do_sample")
        if (temp := generation_kwargs.get("temperature")) == 0.0 and do_sample is None:
            generation_kwargs["do_sample"] = do_sample = False
        if do_sample is False and temp == 0.0:
            generation_kwargs.pop("temperature", None)
        stops = [s for s in stop if s]
        if stops and not stop_may_span(self.tokenizer, context.tolist(), stops):
            # transformers matches stop strings on token ids (precomputed per vocabulary), no decoding.
            generation_kwargs.update(stop_strings=stops, tokenizer=self.tokenizer)
        else:  # a stop string could begin in the prompt: only the harness's criterion ignores the prompt
            generation_kwargs["stopping_criteria"] = stop_sequences_criteria(
                self.tokenizer, stop, context.shape[1], context.shape[0])
        with torch.autocast(device_type=self.device.type, dtype=self.mixed_precision_dtype,
                            enabled=self.mixed_precision_dtype is not None):
            return self.model.generate(input_ids=context, max_length=max_length,
                                       pad_token_id=self.tokenizer.pad_token_id, use_cache=True,
                                       **generation_kwargs)


def main(argv: Sequence[str] | None = None) -> None:
    """lm-eval's own command line, with `--model lontar` registered."""
    from lm_eval.__main__ import cli_evaluate

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    cli_evaluate()


if __name__ == "__main__":
    main()
