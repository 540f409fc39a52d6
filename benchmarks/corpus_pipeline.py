"""The corpus stage on the ~212k real Khmer sentences of rdlab-dataset: documents per second.

    python benchmarks/corpus_pipeline.py [--reps 3] [--num-proc 1 2]

Each repetition is a cold run (no reused chunks) of the full stage: read, steps, dedup, split, shards
and card. Settings alternate within one run (A B A B ...) as BENCHMARKS.md asks. Writes
benchmarks/results/corpus_pipeline.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import command, git_state, machine, median, versions, write_result  # noqa: E402
from lontar.config import RunConfig  # noqa: E402
from lontar.corpus.build import build_corpus  # noqa: E402


def run_once(out: Path, num_proc: int, max_docs: int | None) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    cfg = RunConfig.model_validate({
        "name": "bench", "output_dir": str(out), "model": {"architecture": {"model_type": "llama"}},
        "corpus": {"sources": [{"type": "rdlab", "lang": "km", "max_docs": max_docs}], "num_proc": num_proc},
    })
    start = time.perf_counter()
    card = build_corpus(cfg)
    return time.perf_counter() - start, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--num-proc", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-docs", type=int, default=None, help="limit for a quick check")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lontar-bench-"))
    try:
        run_once(tmp / "warmup", args.num_proc[0], 20_000)
        seconds: dict[int, list[float]] = {n: [] for n in args.num_proc}
        card: dict = {}
        for _ in range(args.reps):
            for n in args.num_proc:
                elapsed, card = run_once(tmp / f"np{n}", n, args.max_docs)
                seconds[n].append(elapsed)
                print(f"num_proc={n}: {elapsed:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    docs = card["sources"][0]["read"]
    results = {n: {"seconds": s, "median_seconds": median(s), "docs_per_s": docs / median(s)} for n, s in seconds.items()}
    report = {
        "benchmark": "corpus_pipeline", "command": command(), **git_state(["lontar", "benchmarks"]),
        "machine": machine(), "versions": versions(["datasets", "pyarrow", "numpy"]),
        "input": {"source": "rdlab-dataset wild_khmer_sentences", "docs": docs},
        "steps": list(card["steps"]), "kept": card["sources"][0]["kept"], "results": results,
    }
    path = write_result("corpus_pipeline", report)
    print(f"\n{docs:,} Khmer documents, steps: {', '.join(report['steps'])}")
    print("| num_proc | median s | docs/s |\n|---:|---:|---:|")
    for n, r in results.items():
        print(f"| {n} | {r['median_seconds']:.1f} | {r['docs_per_s']:,.0f} |")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
