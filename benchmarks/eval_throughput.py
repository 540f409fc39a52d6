"""Multiple-choice scoring speed: lontar against lm-evaluation-harness, same model, items and prompts, one run.

    python benchmarks/eval_throughput.py [--reps 3] [--items 200] [--fewshot-items 60] [--threads 1]

The model is a small Llama built from a config (random init, float32, sdpa) with a real 32k vocabulary
(Mistral's SentencePiece tokenizer from the PyPI package mistral-common): speed does not depend on the
weights, and the vocabulary size matters (lm-evaluation-harness computes the full-vocabulary
log-softmax at every position). Both tools get the same model object and tokenizer, and the same
(context, continuation) pairs, built by lontar from SEA-HELM's files (../shared/data/seahelm):

- `letters`: Global-MMLU-Lite (Indonesian), lm-evaluation-harness's prompt, answers A/B/C/D
  (single tokens: the harness already runs each question once);
- `texts`: the same questions scored on the answer texts (several tokens: the harness runs the
  question once per choice);
- `fewshot_letters`: SEA-HELM paraphrase identification (Tagalog), SEA-HELM's 5-shot prompt: long
  contexts that share their few-shot block.

lm-evaluation-harness runs through its `hf` model (HFLM.loglikelihood: its tokenization, request
reordering, one-token grouping and batching), so its task-building overhead is not counted. Each
tool's batch size is the fastest of --batch-sizes on a warm-up subset, among those whose logits fit in
--max-logits-gb. Then lontar (kv_cache and flat strategies) and the harness alternate, --reps times.
Accuracy and length-normalised accuracy are computed from each tool's log-likelihoods by the same
rule; they must be identical. Writes benchmarks/results/eval_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.common import RESULTS, SHARED_DATA, command, git_state, machine, median, versions, write_result  # noqa: E402
from lontar.eval import metrics as M  # noqa: E402
from lontar.eval.loglik import LoglikScorer, encode_pair  # noqa: E402
from lontar.eval.prompts import build_instances  # noqa: E402
from lontar.eval.sources import DataContext, task_docs  # noqa: E402
from lontar.eval.task import REPO_TASKS, Task, load_task  # noqa: E402

ARCH = {"hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 4096}  # configs/km-tiny.yaml's shape, longer window


def mistral_tokenizer(tmp: Path) -> Any:
    import mistral_common
    from transformers import AutoTokenizer

    src = Path(mistral_common.__file__).parent / "data" / "tokenizer.model.v1"
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, tmp / "tokenizer.model")
    (tmp / "tokenizer_config.json").write_text('{"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", '
                                               '"eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": true}')
    tok = AutoTokenizer.from_pretrained(tmp)
    tok.pad_token = tok.eos_token
    return tok


def tiny_model(vocab: int) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, bos_token_id=1, eos_token_id=2, pad_token_id=2, tie_word_embeddings=False,
                      attn_implementation="sdpa", **ARCH)
    return LlamaForCausalLM(cfg).to(torch.float32).eval()


def workloads(tok: Any, n_items: int, n_fewshot: int) -> dict[str, dict[str, Any]]:
    ctx = DataContext(data_dirs={"seahelm": str(SHARED_DATA / "seahelm")})
    letters = load_task(REPO_TASKS / "seahelm_global_mmlu_lite_id.yaml")
    texts = Task.model_validate({**letters.model_dump(exclude={"file"}), "task": "seahelm_global_mmlu_lite_id_texts",
                                 "prompt": "{{ prompts[0].question.strip() }}\nAnswer:",
                                 "choices": "[prompts[0].option_a, prompts[0].option_b, prompts[0].option_c, "
                                            "prompts[0].option_d]",
                                 "target": "['A', 'B', 'C', 'D'].index(label)", "file": "inline"})
    fewshot = load_task(REPO_TASKS / "seahelm_paraphrase_tl.yaml")
    out = {}
    for kind, task, n in (("letters", letters, n_items), ("texts", texts, n_items), ("fewshot_letters", fewshot, n_fewshot)):
        docs, pool = task_docs(task, ctx)
        inst = build_instances(task, docs, pool, style="base", tokenizer=tok, ctx=ctx, indices=list(range(min(n, len(docs)))))
        pairs = [encode_pair(tok, x.context, c) for x in inst for c in x.continuations or []]
        out[kind] = {"task": task.task, "items": [(x.context, x.continuations) for x in inst],
                     "gold": [x.gold for x in inst], "choice_texts": [x.choice_texts for x in inst],
                     "choices_per_item": len(inst[0].continuations or []),
                     "mean_context_tokens": sum(len(c) for c, _ in pairs) / len(pairs),
                     "mean_continuation_tokens": sum(len(k) for _, k in pairs) / len(pairs),
                     "max_tokens": max(len(c) + len(k) for c, k in pairs)}
    return out


def accuracy(logliks: list[list[float]], w: dict[str, Any]) -> dict[str, float]:
    scores = [M.mc_scores(ll, ct, g) for ll, ct, g in zip(logliks, w["choice_texts"], w["gold"])]
    return {m: sum(s[m] for s in scores) / len(scores) for m in ("acc", "acc_norm")}


def run_lontar(model: Any, tok: Any, items: list, batch_size: int, strategy: str) -> tuple[float, list[list[float]]]:
    start = time.perf_counter()
    scored = LoglikScorer(model, tok, batch_size=batch_size, strategy=strategy, progress=False).score(items)  # type: ignore[arg-type]
    return time.perf_counter() - start, [[s.loglik for s in row] for row in scored]


def run_harness(model: Any, tok: Any, items: list, batch_size: int) -> tuple[float, list[list[float]]]:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=batch_size, device="cpu", max_length=ARCH["max_position_embeddings"])
    requests = [Instance("loglikelihood", {}, (ctx, cont), i) for ctx, conts in items for i, cont in enumerate(conts)]
    start = time.perf_counter()
    out = lm.loglikelihood(requests, disable_tqdm=True)
    elapsed = time.perf_counter() - start
    lls, k = [], 0
    for _, conts in items:
        lls.append([float(out[k + j][0]) for j in range(len(conts))])
        k += len(conts)
    return elapsed, lls


def fits(batch_size: int, w: dict[str, Any], vocab: int, max_gb: float) -> bool:
    """lm-eval's logits and their log-softmax for one batch, float32: batch x length x vocab x 4 bytes x 2."""
    return batch_size * w["max_tokens"] * vocab * 8 / 1e9 <= max_gb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--items", type=int, default=200, help="Global-MMLU-Lite questions (letters and texts)")
    parser.add_argument("--fewshot-items", type=int, default=60, help="paraphrase items (5-shot)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the same for both tools)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--warmup-items", type=int, default=24)
    parser.add_argument("--max-logits-gb", type=float, default=4.0)
    args = parser.parse_args()
    if not (SHARED_DATA / "seahelm" / "config.yaml").exists():
        sys.exit(f"needs SEA-HELM's files in {SHARED_DATA / 'seahelm'}")
    torch.set_num_threads(args.threads)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)  # one warning per HFLM about the model object
    tmp = Path(tempfile.mkdtemp(prefix="lontar-bench-"))
    try:
        tok = mistral_tokenizer(tmp / "tok")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    model = tiny_model(len(tok))
    vocab = len(tok)
    work = workloads(tok, args.items, args.fewshot_items)
    report: dict[str, Any] = {"benchmark": "eval_throughput", "command": command(),
                              **git_state(["lontar/eval", "benchmarks"]), "machine": machine(),
                              "versions": versions(["torch", "transformers", "lm_eval", "datasets"]),
                              "torch_threads": args.threads,
                              "model": {"architecture": "llama", **ARCH, "vocab_size": vocab, "dtype": "float32",
                                        "attn_implementation": "sdpa", "weights": "random init (seed 0)",
                                        "parameters": sum(p.numel() for p in model.parameters())},
                              "tokenizer": "mistral-common tokenizer.model.v1 (Mistral 7B v0.1 SentencePiece, 32k)",
                              "batch_sizes_considered": args.batch_sizes, "max_logits_gb": args.max_logits_gb,
                              "notes": ("Same model object, tokenizer and (context, continuation) pairs for both tools. "
                                        "lm-eval: HFLM.loglikelihood (its tokenization, reordering, one-token grouping, "
                                        "batching); its task building is not timed. Each tool's batch size is its fastest "
                                        "on the warm-up items among --batch-sizes whose float32 logits + log-softmax "
                                        "(batch x longest sequence x vocab x 8 bytes) fit in --max-logits-gb (lm-eval "
                                        "materialises them; batch_size=auto on CPU would take 64). Items/s = items / "
                                        "median seconds over the repetitions, run alternately. Accuracy from each "
                                        "tool's log-likelihoods by the same rule (argmax; argmax per character)."),
                              "workloads": {}}
    print(f"{model.num_parameters():,} parameters, vocab {vocab}, {args.threads} thread(s)", flush=True)
    for kind, w in work.items():
        sizes = [b for b in args.batch_sizes if fits(b, w, vocab, args.max_logits_gb)] or [min(args.batch_sizes)]
        warm = w["items"][: args.warmup_items]
        run_lontar(model, tok, warm[:4], sizes[0], "kv_cache")  # first-call costs, once
        run_harness(model, tok, warm[:4], sizes[0])
        sweep: dict[str, dict[int, float]] = {"lontar_kv_cache": {}, "lontar_flat": {}, "lm_eval": {}}
        for b in sizes:
            sweep["lm_eval"][b] = round(run_harness(model, tok, warm, b)[0], 4)
            sweep["lontar_kv_cache"][b] = round(run_lontar(model, tok, warm, b, "kv_cache")[0], 4)
            sweep["lontar_flat"][b] = round(run_lontar(model, tok, warm, b, "flat")[0], 4)
        best = {name: min(times, key=times.get) for name, times in sweep.items()}
        print(f"{kind}: {len(w['items'])} items x {w['choices_per_item']} choices, context {w['mean_context_tokens']:.0f} "
              f"tokens, continuation {w['mean_continuation_tokens']:.1f}; batch sizes {best}", flush=True)
        seconds: dict[str, list[float]] = {name: [] for name in sweep}
        logliks: dict[str, list[list[float]]] = {}
        for rep in range(args.reps):
            for name in ("lm_eval", "lontar_kv_cache", "lontar_flat") if rep % 2 == 0 else \
                        ("lontar_flat", "lontar_kv_cache", "lm_eval"):
                if name == "lm_eval":
                    elapsed, lls = run_harness(model, tok, w["items"], best[name])
                else:
                    elapsed, lls = run_lontar(model, tok, w["items"], best[name], name.removeprefix("lontar_"))
                seconds[name].append(round(elapsed, 4))
                logliks[name] = lls
                print(f"  rep {rep + 1} {name:<16} {elapsed:7.2f} s", flush=True)
        n = len(w["items"])
        res = {name: {"batch_size": best[name], "seconds": s, "median_seconds": median(s),
                      "items_per_s": n / median(s), "accuracy": accuracy(logliks[name], w)}
               for name, s in seconds.items()}
        ref = logliks["lm_eval"]
        max_diff = {name: max(abs(a - b) for x, y in zip(logliks[name], ref) for a, b in zip(x, y))
                    for name in ("lontar_kv_cache", "lontar_flat")}
        report["workloads"][kind] = {
            "task": w["task"], "items": n, "choices_per_item": w["choices_per_item"],
            "mean_context_tokens": round(w["mean_context_tokens"], 1),
            "mean_continuation_tokens": round(w["mean_continuation_tokens"], 2), "max_tokens": w["max_tokens"],
            "batch_size_sweep_seconds": {k: {str(b): t for b, t in v.items()} for k, v in sweep.items()},
            "warmup_items": len(warm), "results": res,
            "ratio_lontar_kv_cache_vs_lm_eval": res["lontar_kv_cache"]["items_per_s"] / res["lm_eval"]["items_per_s"],
            "ratio_lontar_flat_vs_lm_eval": res["lontar_flat"]["items_per_s"] / res["lm_eval"]["items_per_s"],
            "ratio_kv_cache_vs_flat": res["lontar_kv_cache"]["items_per_s"] / res["lontar_flat"]["items_per_s"],
            "accuracy_identical": all(res[x]["accuracy"] == res["lm_eval"]["accuracy"]
                                      for x in ("lontar_kv_cache", "lontar_flat")),
            "max_abs_loglik_difference_vs_lm_eval": max_diff,
        }
    previous = RESULTS / "eval_throughput.json"
    if previous.exists():  # benchmarks/eval_end_to_end.py's section is its own run: keep it
        kept = json.loads(previous.read_text(encoding="utf-8")).get("end_to_end")
        if kept is not None:
            report["end_to_end"] = kept
    path = write_result("eval_throughput", report)
    print("\n| workload | items | lm-eval items/s | lontar kv_cache items/s | lontar flat items/s | kv/lm-eval | "
          "kv/flat | accuracy (lontar = lm-eval) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for kind, r in report["workloads"].items():
        res = r["results"]
        print(f"| {kind} | {r['items']} | {res['lm_eval']['items_per_s']:.1f} | {res['lontar_kv_cache']['items_per_s']:.1f} | "
              f"{res['lontar_flat']['items_per_s']:.1f} | {r['ratio_lontar_kv_cache_vs_lm_eval']:.2f}x | "
              f"{r['ratio_kv_cache_vs_flat']:.2f}x | {res['lm_eval']['accuracy']['acc']:.3f} "
              f"({'identical' if r['accuracy_identical'] else 'DIFFERENT'}) |")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
