"""Train-stage startup on a large corpus: seconds and memory until the first optimizer step is done.

    python benchmarks/train_startup.py [--docs 10000000] [--small-docs 100000] [--reps 3]

A synthetic run corpus laid out as the corpus stage writes it (train shards of 100,000 documents, one
source after another, a data card with the mixture) from real sentences: Khmer (rdlab-dataset),
Vietnamese (a novel, /work/shared/data) and Burmese (SEA-HELM myparaphrase); each document is one
sentence, drawn with a seed. The train stage runs as a user starts it (`python train/run.py`, a
fresh process, configs/km-tiny.yaml's model with its own tokenizer) for 2 steps. Timed from the
process start to the first line of train_log.jsonl (step 1 trained); memory is the process's peak
resident set (wait4). The same on a small corpus shows what the corpus size itself costs. Writes
benchmarks/results/train_startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import yaml  # noqa: E402

from benchmarks.common import REPO, SHARED_DATA, command, git_state, machine, median, versions, write_result  # noqa: E402

SHARD_DOCS = 100_000
ARCH = {"model_type": "llama", "hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
        "tie_word_embeddings": False}


def sentences() -> dict[str, list[str]]:
    from lontar.corpus.sources import rdlab_path, read_rdlab

    seahelm = SHARED_DATA / "seahelm"
    if not seahelm.exists():
        seahelm = Path("/work/shared/data/seahelm")
    vi = [s.strip() + "." for line in (seahelm / "pure_heart_ngoc_phachHoang_vi.txt").read_text(encoding="utf-8")
          .splitlines() for s in line.split(".") if len(s.strip()) > 20]
    my = [s for line in (seahelm / "my_myparaphrase.jsonl").read_text(encoding="utf-8").splitlines()
          for s in json.loads(line)["prompts"][0].values() if isinstance(s, str)]
    return {"km": read_rdlab(rdlab_path())[:50_000], "vi": vi, "my": my}


def write_corpus(run_dir: Path, n_docs: int, texts: dict[str, list[str]], seed: int = 0) -> dict[str, Any]:
    """Shards of one source after another (km 50%, vi 30%, my 20% of the documents) and a data card."""
    corpus = run_dir / "corpus"
    corpus.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    counts = {"km": n_docs * 5 // 10, "vi": n_docs * 3 // 10}
    counts["my"] = n_docs - sum(counts.values())
    n_shards = sum(-(-c // SHARD_DOCS) for c in counts.values())
    shard, card_sources = 0, {}
    for lang, count in counts.items():
        pool = pa.array(texts[lang])
        lengths = np.asarray([len(t) for t in texts[lang]])
        chars = 0
        for start in range(0, count, SHARD_DOCS):
            n = min(SHARD_DOCS, count - start)
            pick = rng.integers(0, len(pool), size=n)
            chars += int(lengths[pick].sum())
            table = pa.table({"id": pa.array([f"{lang}-{start + i}" for i in range(n)]), "text": pool.take(pick),
                              "source": pa.array([f"synthetic-{lang}"] * n), "lang": pa.array([lang] * n)})
            pq.write_table(table, corpus / f"train-{shard:05d}-of-{n_shards:05d}.parquet")
            shard += 1
        card_sources[f"synthetic-{lang}"] = {"lang": lang, "mixed_docs": count, "mixed_chars": chars, "mixed_tokens": 0}
    card = {"run": run_dir.name, "sources": [], "mixing": {"settings": {"enabled": False}, "sources": card_sources}}
    (corpus / "data_card.json").write_text(json.dumps(card), encoding="utf-8")
    return {"docs": n_docs, "shards": n_shards, "bytes": sum(p.stat().st_size for p in corpus.glob("*.parquet"))}


def write_config(root: Path, name: str) -> Path:
    cfg = {"name": name, "output_dir": str(root), "seed": 0,
           "model": {"architecture": ARCH, "tokenizer": "run", "dtype": "float32"},
           "lora": {"r": 16, "alpha": 32, "dropout": 0.0, "modules_to_save": ["embed_tokens", "lm_head"]},
           "train": {"block_size": 256, "micro_batch_size": 8, "max_steps": 2, "log_every": 1, "tensorboard": False,
                     "peak_tflops": 1.0}}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def run_once(config: Path, run_dir: Path) -> dict[str, Any]:
    """A fresh `python train/run.py` process: seconds to the first logged step, peak RSS, exit status."""
    for leftover in ("adapter", "checkpoints", "logs", "base_model", "manifest.json", "config.yaml"):
        p = run_dir / leftover
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    log = run_dir / "logs" / "train_log.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(REPO / "train" / "run.py"), "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    first = None
    while first is None:
        if log.exists() and log.read_text(encoding="utf-8").strip():
            first = time.perf_counter() - start
        elif proc.poll() is not None:
            break
        time.sleep(0.05)
    _, status, usage = os.wait4(proc.pid, 0)
    total = time.perf_counter() - start
    out = proc.stdout.read().decode(errors="replace")
    proc.stdout.close()
    if first is None or os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"train failed (status {status}):\n{out[-3000:]}")
    return {"seconds_to_first_step": round(first, 3), "seconds_total": round(total, 3),
            "peak_rss_gb": round(usage.ru_maxrss / 2**20, 3),
            "data_lines": [line for line in out.splitlines() if line.startswith("train: data")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000_000)
    parser.add_argument("--small-docs", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    from lontar.tokenizer.spm import train_sentencepiece

    texts = sentences()
    tmp = Path(tempfile.mkdtemp(prefix="lontar-startup-"))
    try:
        tok = tmp / "tokenizer"
        sample = texts["km"][:20_000] + texts["vi"][:3_000] + texts["my"][:800]
        train_sentencepiece(sample, tok, vocab_size=4000)
        corpora, configs = {}, {}
        for label, n in (("large", args.docs), ("small", args.small_docs)):
            run_dir = tmp / label
            t0 = time.perf_counter()
            corpora[label] = write_corpus(run_dir, n, texts)
            corpora[label]["seconds_to_write"] = round(time.perf_counter() - t0, 1)
            shutil.copytree(tok, run_dir / "tokenizer")
            configs[label] = write_config(tmp, label)
            print(f"{label}: {n:,} documents in {corpora[label]['shards']} shards, "
                  f"{corpora[label]['bytes'] / 2**20:.0f} MiB", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {"large": [], "small": []}
        for rep in range(args.reps):
            for label in ("large", "small"):
                r = run_once(configs[label], tmp / label)
                runs[label].append(r)
                print(f"rep {rep + 1} {label:<6} first step after {r['seconds_to_first_step']:6.2f} s, "
                      f"peak RSS {r['peak_rss_gb']:.2f} GB", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {label: {k: median([r[k] for r in rs]) for k in ("seconds_to_first_step", "peak_rss_gb", "seconds_total")}
           for label, rs in runs.items()}
    report = {
        "benchmark": "train_startup", "command": command(), **git_state(["lontar", "benchmarks"]),
        "machine": machine(), "versions": versions(["torch", "transformers", "peft", "accelerate", "pyarrow"]),
        "what": "a fresh `python train/run.py` process on a synthetic run corpus: seconds from process start to the "
                "first train_log.jsonl line (step 1 trained), and the process's peak resident set (wait4)",
        "model": ARCH, "train": {"block_size": 256, "micro_batch_size": 8, "max_steps": 2},
        "corpus": {"documents": "one real sentence each, drawn with seed 0: km rdlab-dataset 50%, vi novel 30%, "
                                "my SEA-HELM myparaphrase 20%; shards of 100,000 documents, one source after another",
                   **corpora},
        "runs": runs, "medians": med,
        "targets": {"seconds_to_first_step": 30, "peak_rss_gb": 2},
        "meets_targets": med["large"]["seconds_to_first_step"] < 30 and med["large"]["peak_rss_gb"] < 2,
    }
    path = write_result("train_startup", report)
    print(f"\n{'corpus':<8} {'documents':>12} {'first step s':>13} {'peak RSS GB':>12}")
    for label in ("large", "small"):
        print(f"{label:<8} {corpora[label]['docs']:>12,} {med[label]['seconds_to_first_step']:>13.2f} "
              f"{med[label]['peak_rss_gb']:>12.2f}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
