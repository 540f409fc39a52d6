"""LoRA training throughput: lontar's loop (padding-free packing) against transformers Trainer + peft.

    python benchmarks/train_throughput.py [--shapes tiny small] [--reps 3] [--steps 12]
    python benchmarks/train_throughput.py --gpu-shapes        # qwen2.5-0.5b, qwen2.5-1.5b, llama-3.1-8b

The same random-init model (a published architecture's shape: exact for throughput and memory),
dtype, attention implementation, LoRA targets and rank, learning-rate schedule, gradient
checkpointing setting and tokens per optimizer step on both sides; the data are the same real
Khmer documents (rdlab-dataset sentences, a Khmer SentencePiece tokenizer trained here). Only the
data path differs: lontar packs documents padding-free into blocks; the baseline pads one document
per row to the longest in its batch (`DataCollatorForSeq2Seq`), in random order and, as the
Trainer documentation suggests to cut padding, with `group_by_length=True`.

Counted: useful (non-pad) tokens per second over the timed steps (after a warm-up), MFU as
BENCHMARKS.md defines it (lontar.train.mfu.FORMULA) against the matmul rate measured in this run,
peak memory (each run in a fresh process: GPU max allocated, CPU peak resident set), and the training loss.
Runs alternate A B C A B C ...; medians and ratios. Writes benchmarks/results/train_throughput.json.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import command, git_state, machine, median, versions, write_result  # noqa: E402

# Published shapes (config.json of each model); random init is exact for speed and memory.
SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {"arch": {"model_type": "llama", "hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4,
                      "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
                      "tie_word_embeddings": False},
             "block": 256, "micro": 8, "gc": False, "note": "configs/km-tiny.yaml's model"},
    "small": {"arch": {"model_type": "llama", "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 6,
                       "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 1024,
                       "tie_word_embeddings": False},
              "block": 512, "micro": 2, "gc": False, "note": "a 6-layer 256-wide llama (~6M matmul parameters)"},
    "qwen2.5-0.5b": {"arch": {"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
                              "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
                              "vocab_size": 151936, "max_position_embeddings": 32768, "rope_theta": 1000000.0,
                              "tie_word_embeddings": True},
                     "block": 2048, "micro": 8, "gc": True, "gpu": True},
    "qwen2.5-1.5b": {"arch": {"model_type": "qwen2", "hidden_size": 1536, "intermediate_size": 8960,
                              "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
                              "vocab_size": 151936, "max_position_embeddings": 32768, "rope_theta": 1000000.0,
                              "tie_word_embeddings": True},
                     "block": 2048, "micro": 4, "gc": True, "gpu": True},
    "llama-3.1-8b": {"arch": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
                              "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                              "vocab_size": 128256, "max_position_embeddings": 131072, "rope_theta": 500000.0,
                              "tie_word_embeddings": False},
                     "block": 2048, "micro": 2, "gc": True, "gpu": True},
}
GPU_SHAPES = ["qwen2.5-0.5b", "qwen2.5-1.5b", "llama-3.1-8b"]
LORA = {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}
LR, WARMUP_LR_STEPS = 2e-4, 2


def peak_memory_gb(cuda: bool) -> float:
    """GPU: max allocated in this process; CPU: this process's peak resident set (it ran one variant only)."""
    if cuda:
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def prepare_run_dir(root: Path, docs: list[str], tokenizer_dir: Path) -> None:
    from lontar.corpus.shards import ShardWriter

    writer = ShardWriter(root / "corpus", "train", shard_docs=1_000_000)
    for i, text in enumerate(docs):
        writer.add({"id": str(i), "text": text, "source": "rdlab", "lang": "km"})
    writer.close()
    shutil.copytree(tokenizer_dir, root / "tokenizer")


def build_base(path: Path, arch: dict[str, Any], vocab: int, dtype: str) -> None:
    """A random-init base in the published shape (its own vocabulary size when it has one), saved once."""
    from transformers import AutoConfig, AutoModelForCausalLM

    from lontar.train.model import DTYPES

    arch = {"vocab_size": vocab, **arch}
    config = AutoConfig.for_model(arch.pop("model_type"), **arch)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config, dtype=DTYPES[dtype]).save_pretrained(path)


def run_config(root: Path, name: str, shape: dict[str, Any], steps: int, dtype: str, attn: str, peak: float,
               max_docs: int) -> Any:
    from lontar.config import RunConfig

    return RunConfig.model_validate({
        "name": name, "output_dir": str(root), "seed": 0,
        "model": {"name_or_path": str(root / "base"), "tokenizer": "run", "dtype": dtype, "attn_implementation": attn,
                  "gradient_checkpointing": shape["gc"]},
        "lora": LORA,
        "train": {"block_size": shape["block"], "micro_batch_size": shape["micro"], "max_steps": steps,
                  "lr": LR, "warmup_steps": WARMUP_LR_STEPS, "log_every": 1, "tensorboard": False,
                  "peak_tflops": peak / 1e12, "max_train_docs": max_docs},
    })


def timed(history: list[dict[str, Any]], warmup: int) -> tuple[int, float, list[float]]:
    rest = [h for h in history if h["step"] > warmup]
    return sum(h["tokens"] for h in rest), sum(h["seconds"] for h in rest), [h["loss"] for h in rest]


def run_lontar(cfg: Any, warmup: int, cuda: bool) -> dict[str, Any]:
    from lontar.train.loop import train

    result = train(cfg)
    tokens, seconds, losses = timed(result["history"], warmup)
    flops = sum(h["model_flops"] for h in result["history"] if h["step"] > warmup)
    out = {"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds, "model_flops": flops,
           "mean_loss": float(np.mean(losses)), "peak_memory_gb": peak_memory_gb(cuda)}
    return out


def run_trainer(cfg: Any, docs: list[list[int]], batch_docs: int, warmup: int, grouped: bool, cuda: bool,
                flop_counter: Any, out_dir: Path) -> dict[str, Any]:
    """transformers Trainer + peft, one document per row padded to the longest in its batch."""
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import (AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer, TrainerCallback,
                              TrainingArguments)

    from lontar.train.lora import lora_config
    from lontar.train.model import DTYPES, attention_implementation, load_tokenizer

    tokenizer = load_tokenizer(cfg)
    model = AutoModelForCausalLM.from_pretrained(cfg.model.name_or_path, dtype=DTYPES[cfg.model.dtype],
                                                 attn_implementation=attention_implementation(cfg.model))
    if cfg.model.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.config.use_cache = False
    model = get_peft_model(model, lora_config(cfg.lora))
    ds = Dataset.from_dict({"input_ids": docs, "labels": docs})
    seq2seq = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
    counts: list[tuple[int, int]] = []

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        lengths = [len(f["input_ids"]) for f in features]
        counts.append((sum(lengths), sum(n * (n + 1) // 2 for n in lengths)))
        return seq2seq(features)

    times: list[float] = []
    losses: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter())

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if logs and "loss" in logs:
                losses.append(logs["loss"])

    bf16 = cuda and cfg.model.dtype == "bfloat16"
    args = TrainingArguments(
        output_dir=str(out_dir), per_device_train_batch_size=batch_docs, gradient_accumulation_steps=1,
        max_steps=cfg.train.max_steps, learning_rate=LR, lr_scheduler_type="cosine", warmup_steps=WARMUP_LR_STEPS,
        max_grad_norm=1.0, weight_decay=0.0, optim="adamw_torch", logging_steps=1, save_strategy="no",
        report_to="none", bf16=bf16, use_cpu=not cuda, dataloader_num_workers=0, train_sampling_strategy="group_by_length" if grouped else "random",
        seed=0, remove_unused_columns=False, disable_tqdm=True)
    Trainer(model=model, args=args, train_dataset=ds, data_collator=collate, callbacks=[Clock()]).train()
    steps = cfg.train.max_steps
    seconds = times[steps - 1] - times[warmup - 1]
    tokens = sum(c[0] for c in counts[warmup:steps])
    pairs = sum(c[1] for c in counts[warmup:steps])
    out = {"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
           "model_flops": flop_counter.flops(tokens, pairs), "mean_loss": float(np.mean(losses[warmup:steps])),
           "peak_memory_gb": peak_memory_gb(cuda)}
    return out


def _child(queue: Any, variant: str, cfg_dict: dict[str, Any], payload: dict[str, Any]) -> None:
    """One run in a fresh process, so that its peak memory is its own."""
    from lontar.config import RunConfig
    from lontar.train.mfu import FlopCounter

    torch.set_num_threads(payload["threads"])
    cfg = RunConfig.model_validate(cfg_dict)
    cuda = torch.cuda.is_available()
    try:
        if variant == "lontar_packed":
            queue.put(run_lontar(cfg, payload["warmup"], cuda))
        else:
            queue.put(run_trainer(cfg, payload["docs"], payload["batch_docs"], payload["warmup"],
                                  variant.endswith("grouped"), cuda, FlopCounter(*payload["flops"]),
                                  Path(payload["out_dir"])))
    except BaseException as e:  # reported by the parent
        queue.put({"error": f"{type(e).__name__}: {e}"})
        raise


def run_variant(variant: str, cfg: Any, payload: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(queue, variant, cfg.model_dump(mode="json"), payload))
    proc.start()
    result = queue.get()
    proc.join()
    if "error" in result:
        raise RuntimeError(f"{variant}: {result['error']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["tiny", "small"], choices=list(SHAPES))
    parser.add_argument("--gpu-shapes", action="store_true", help=f"benchmark {', '.join(GPU_SHAPES)} (needs CUDA)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=12, help="timed optimizer steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed optimizer steps first")
    parser.add_argument("--docs", type=int, default=4000, help="Khmer documents available to both")
    parser.add_argument("--no-grouped", action="store_true", help="skip the group_by_length baseline")
    parser.add_argument("--out", default="train_throughput", help="results/<out>.json")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a machine shared with other jobs, more threads "
                             "spin against each other and the timings scatter several-fold)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        torch.set_num_threads(args.threads)

    from lontar.corpus.sources import rdlab_path, read_rdlab
    from lontar.train.data import document_segments
    from lontar.train.mfu import FORMULA, FlopCounter, measure_peak_flops
    from lontar.train.model import load_tokenizer
    from lontar.tokenizer.spm import train_sentencepiece

    cuda = torch.cuda.is_available()
    shapes = GPU_SHAPES if args.gpu_shapes else args.shapes
    if args.gpu_shapes and not cuda:
        sys.exit("--gpu-shapes needs a CUDA GPU")
    dtype = "bfloat16" if cuda else "float32"
    attn = "auto"
    peak = measure_peak_flops("cuda" if cuda else "cpu", n=8192 if cuda else 2048)
    print(f"peak matmul: {peak['flops_per_s'] / 1e12:.3f} TFLOP/s ({peak['matmul']}, {peak['device']})", flush=True)

    sentences = read_rdlab(rdlab_path())
    tmp = Path(tempfile.mkdtemp(prefix="lontar-train-bench-"))
    report_shapes: dict[str, Any] = {}
    try:
        tok_dir = tmp / "tokenizer"
        train_sentencepiece(sentences[:60000], tok_dir, vocab_size=4000)
        docs_text = sentences[: args.docs]
        variants = ["lontar_packed", "trainer_padded"] + ([] if args.no_grouped else ["trainer_padded_grouped"])
        for shape_name in shapes:
            shape = SHAPES[shape_name]
            steps = args.warmup + args.steps
            root = tmp / shape_name
            prepare_run_dir(root / "bench", docs_text, tok_dir)
            cfg = run_config(root, "bench", shape, steps, dtype, attn, peak["flops_per_s"], args.docs)
            tokenizer = load_tokenizer(cfg)
            build_base(root / "base", shape["arch"], len(tokenizer), dtype)
            docs = [np.append(s.ids[1:], s.ids[0]).tolist() for s in document_segments(tokenizer, docs_text)]
            mean_len = float(np.mean([len(d) for d in docs]))
            tokens_per_step = shape["block"] * shape["micro"]
            batch_docs = max(1, round(tokens_per_step / mean_len))
            from transformers import AutoConfig, AutoModelForCausalLM

            run_variant("lontar_packed", run_config(root, "bench", shape, 2, dtype, attn, peak["flops_per_s"], args.docs),
                        {"threads": args.threads, "warmup": 1})  # warm-up: files cached, kernels loaded
            with torch.device("meta"):
                flop_counter = FlopCounter.for_model(AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(root / "base")))
            payload = {"threads": args.threads, "warmup": args.warmup, "docs": docs, "batch_docs": batch_docs,
                       "flops": (flop_counter.n, flop_counter.layers, flop_counter.d_q), "out_dir": str(tmp / "out")}
            runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
            for rep in range(args.reps):
                for v in variants:
                    r = run_variant(v, cfg, payload)
                    r["mfu"] = r["model_flops"] / r["seconds"] / peak["flops_per_s"]
                    runs[v].append(r)
                    print(f"{shape_name} rep {rep + 1} {v:<24} {r['tokens_per_s']:>10.0f} tok/s  MFU {r['mfu']:.2%}  "
                          f"loss {r['mean_loss']:.3f}  peak mem {r['peak_memory_gb']:.2f} GB", flush=True)
            med = {v: {k: median([r[k] for r in rs]) for k in ("tokens_per_s", "mfu", "peak_memory_gb", "mean_loss")}
                   for v, rs in runs.items()}
            report_shapes[shape_name] = {
                "architecture": shape["arch"], "note": shape.get("note"), "block_size": shape["block"],
                "micro_batch_blocks": shape["micro"], "gradient_checkpointing": shape["gc"],
                "tokens_per_step": tokens_per_step, "baseline_docs_per_step": batch_docs,
                "mean_doc_tokens": round(mean_len, 2), "matmul_params_N": flop_counter.n,
                "runs": runs, "medians": med,
                "ratio_tokens_per_s": {v: med["lontar_packed"]["tokens_per_s"] / med[v]["tokens_per_s"]
                                       for v in variants if v != "lontar_packed"},
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    report = {
        "benchmark": "train_throughput", "command": command(), **git_state(["lontar", "benchmarks"]),
        "machine": machine(), "device": "cuda" if cuda else "cpu (no GPU lent to this run: CPU figures only)",
        "versions": versions(["torch", "transformers", "peft", "accelerate", "datasets"]),
        "threads": torch.get_num_threads(), "dtype": dtype,
        "attention": {"lontar": "auto: flash_attention_2 varlen where flash-attn is installed, else lontar_sdpa_packed "
                                "(per-document sdpa buckets)",
                      "trainer": "auto: flash_attention_2 where installed, else sdpa (padding mask)"},
        "lora": LORA, "lr": LR, "warmup_steps": args.warmup, "timed_steps": args.steps, "reps": args.reps,
        "data": {"source": "rdlab-dataset Khmer sentences, one document each", "docs": args.docs,
                 "tokenizer": "Khmer SentencePiece unigram, 4000 pieces, trained on 60k sentences in this run"},
        "peak": peak, "mfu_formula": FORMULA,
        "metric": "useful (non-pad) tokens per second over the timed steps; medians of the repetitions",
        "shapes": report_shapes,
    }
    path = write_result(args.out, report)
    print(f"\n{'shape':<14} {'variant':<24} {'tok/s':>10} {'MFU':>8} {'peak GB':>8} {'loss':>7}")
    for shape_name, s in report_shapes.items():
        for v, m in s["medians"].items():
            print(f"{shape_name:<14} {v:<24} {m['tokens_per_s']:>10.0f} {m['mfu']:>8.2%} {m['peak_memory_gb']:>8.2f} "
                  f"{m['mean_loss']:>7.3f}")
        print("  lontar / baseline tokens/s: " + ", ".join(f"{v} {r:.2f}x" for v, r in s["ratio_tokens_per_s"].items()))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
