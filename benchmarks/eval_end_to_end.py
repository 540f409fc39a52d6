"""End to end against lm-evaluation-harness on held-out Belebele / XCOPA / XNLI copies, lm-eval's
`--model lontar` against its `hf`, and generation: one run, alternating, median of 3.

    python benchmarks/eval_end_to_end.py [--items 300] [--gen-items 96] [--reps 3] [--threads 1]

The copies are built from real text by `benchmarks/heldout_copies.py` in the datasets' own schema and
hub layout (Belebele vie_Latn: passages of five sentences of a Vietnamese novel, answers A-D; XCOPA vi
and XNLI vi: clauses of the same novel), so both tools read the same files through their own loaders.
Model: benchmarks/eval_throughput.py's 9M-parameter Llama with Mistral's 32k SentencePiece vocabulary,
float32, sdpa, random init (speed does not depend on the weights; accuracy is chance).

- `heldout`: lontar from its shipped task file to metrics (`prepare` + `run_task`: dataset loading,
  prompts, scoring, 1000-resample bootstrap intervals) against lm-eval's `simple_evaluate` on its own
  task file pointed at the same folder (`lontar.eval.lm_eval_local`): task loading, dataset loading,
  requests, scoring, metrics. Belebele scored on letters, XCOPA on answer texts. Per-item accuracy
  must be identical.
- `backend`: `simple_evaluate` with `LontarLM` (`--model lontar`) against `HFLM` (`--model hf`) on
  belebele_vie_Latn, xcopa_vi and xnli_vi: same task code, only the model differs.
- `generate`: greedy continuation of novel passages, stop strings ["\\n", "."], max 32 new tokens:
  lontar's `greedy_generate` (transformers' stop_strings) against HFLM.generate_until (its stop
  criterion). Outputs must be identical; chrF++ of lontar's metric equals sacrebleu's on them.

Model objects are built once and handed to both tools (model loading is not timed). Each tool's batch
size is its fastest of --batch-sizes on --warmup-items; lm-eval's among those whose float32 logits
fit in --max-logits-gb (it materialises batch x length x vocab logits and their log-softmax; on CPU
its batch_size=auto would take 64); lontar keeps logits only where a token is scored. The results are written into benchmarks/results/eval_throughput.json
under `end_to_end`, beside the scorer-only workloads of benchmarks/eval_throughput.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks.common import RESULTS, SHARED_DATA, command, git_state, machine, median, versions  # noqa: E402
from benchmarks.eval_throughput import ARCH, mistral_tokenizer, tiny_model  # noqa: E402
from benchmarks.heldout_copies import build, vietnamese_sentences  # noqa: E402

HELDOUT = {"belebele_vi_letters": ("belebele_vi.yaml", "belebele_vie_Latn"),
           "xcopa_vi_texts": ("xcopa_vi.yaml", "xcopa_vi"),
           # 5 examples from validation, the first five for every item (lm-eval's first_n sampler): one preamble
           "xcopa_vi_texts_5shot": ("xcopa_vi.yaml:5", "xcopa_vi_5shot")}
SUITES = ("heldout", "backend", "generate")
NOTES = ("Each entry names the run that measured it (run.command, run.commit). Held-out copies: "
         "benchmarks/heldout_copies.py. heldout: lontar from its shipped task file to metrics (prepare + run_task, "
         "1000 bootstrap resamples) against lm-eval's simple_evaluate on its own task file pointed at the same folder "
         "(task loading, dataset loading, requests, scoring, metrics). backend: simple_evaluate with LontarLM against "
         "HFLM, same task. lm-eval's xnli_vi evaluates its validation split (50 items here). generate: lontar's "
         "greedy_generate (transformers stop_strings) against HFLM.generate_until. seconds: wall time, which items_per_s "
         "and ratio use; cpu_seconds: this process's CPU time in the same runs, and load_1min_before: the machine's "
         "1-minute load average before each (the 2 cores are shared with other jobs, which stretch wall time); "
         "cpu_ratio: the other tool's median CPU seconds over lontar's.")
BACKEND_TASKS = ["belebele_vie_Latn", "xcopa_vi", "xnli_vi"]
STOPS = ["\n", "."]


def _task(spec: str) -> Any:
    """A shipped task file, `name.yaml:K` with K first examples as few-shot."""
    from lontar.eval.task import REPO_TASKS, load_task

    name, _, k = spec.partition(":")
    task = load_task(REPO_TASKS / name)
    if k:
        task = task.model_copy(update={"fewshot": task.fewshot.model_copy(update={"k": int(k), "sampler": "first_n"})})
    return task


def lontar_e2e(task_file: str, dirs: dict[str, str], model: Any, tok: Any, bs: int, limit: int | None):
    from lontar.eval.runner import Settings, prepare, run_task
    from lontar.eval.sources import DataContext

    start = time.perf_counter()
    ctx = DataContext(dataset_dirs=dirs)
    p = prepare(_task(task_file), ctx, limit=limit, seed=0)
    r = run_task(p, model, tok, Settings(batch_size=bs, progress=False), ctx, "base")
    return time.perf_counter() - start, r


def harness_e2e(lm: Any, tasks: list[str], include: Path, limit: int | None):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    start = time.perf_counter()
    out = simple_evaluate(model=lm, tasks=tasks, task_manager=TaskManager(include_path=str(include), include_defaults=False),
                          log_samples=True, verbosity="ERROR", limit=limit)
    return time.perf_counter() - start, out


def hf(model: Any, tok: Any, bs: int, lontar: bool = False) -> Any:
    from lm_eval.models.huggingface import HFLM

    from lontar.eval.lm_eval_backend import LontarLM

    cls = LontarLM if lontar else HFLM
    return cls(pretrained=model, tokenizer=tok, batch_size=bs, device="cpu", max_length=ARCH["max_position_embeddings"])


def max_tokens(task_file: str, dirs: dict[str, str], tok: Any) -> int:
    from lontar.eval.loglik import encode_pair
    from lontar.eval.prompts import build_instances
    from lontar.eval.runner import prepare
    from lontar.eval.sources import DataContext

    ctx = DataContext(dataset_dirs=dirs)
    p = prepare(_task(task_file), ctx, limit=None, seed=0)
    inst = build_instances(p.task, p.docs, p.pool, style="base", tokenizer=tok, ctx=ctx, indices=p.indices)
    return max(sum(map(len, encode_pair(tok, x.context, c))) for x in inst for c in x.continuations or [])


CPU: dict[str, dict[str, list[float]]] = {}  # per timed run, beside its wall seconds: process CPU seconds, load


def alternate(runs: dict[str, Any], reps: int) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Wall seconds per run (the figure the ratios use); CPU seconds of this process and the 1-minute load
    average before each run go to CPU, since on a shared machine other jobs stretch wall time."""
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    CPU.clear()
    CPU.update({k: {"cpu_seconds": [], "load_1min_before": []} for k in runs})
    last: dict[str, Any] = {}
    names = list(runs)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            load = os.getloadavg()[0]
            cpu = time.process_time()
            elapsed, out = runs[name]()
            cpu = time.process_time() - cpu
            seconds[name].append(round(elapsed, 4))
            CPU[name]["cpu_seconds"].append(round(cpu, 4))
            CPU[name]["load_1min_before"].append(round(load, 2))
            last[name] = out
            print(f"    rep {rep + 1} {name:<10} {elapsed:7.2f} s (cpu {cpu:.2f} s, load {load:.2f})", flush=True)
    return seconds, last


def cpu_ratio(res: dict[str, Any], other: str) -> float:
    """The other tool's median CPU seconds over lontar's: the speed ratio with other jobs' share of the
    machine taken out (both run in this process, one torch thread)."""
    return median(res[other]["cpu_seconds"]) / median(res["lontar"]["cpu_seconds"])


def pick(sizes: list[int], timer) -> tuple[int, dict[str, float]]:
    sweep = {str(b): round(timer(b), 4) for b in sizes}
    return int(min(sweep, key=sweep.get)), sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300, help="items per held-out task")
    parser.add_argument("--gen-items", type=int, default=96)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--warmup-items", type=int, default=64)
    parser.add_argument("--max-logits-gb", type=float, default=4.0)
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=SUITES)
    parser.add_argument("--workloads", nargs="+", choices=list(HELDOUT), help="held-out workloads to run (default all)")
    parser.add_argument("--backend-tasks", nargs="+", choices=BACKEND_TASKS, default=BACKEND_TASKS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    for name in ("lm_eval", "datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="lontar-e2e-"))
    try:
        tok = mistral_tokenizer(tmp / "tok")
        model = tiny_model(len(tok))
        vocab = len(tok)
        dirs = {k: str(v) for k, v in build(tmp / "hub", SHARED_DATA, belebele=args.items, xcopa=args.items,
                                            xnli=args.items, khmer=False).items()}
        from lontar.eval.lm_eval_local import write_local_tasks

        write_local_tasks(sorted({*BACKEND_TASKS, "belebele_vie_Latn", "xcopa_vi"}), dirs, tmp / "tasks")
        (tmp / "tasks" / "xcopa_vi_5shot.yaml").write_text(  # lm-eval's xcopa_vi, 5-shot from the first examples
            "include: xcopa_vi.yaml\ntask: xcopa_vi_5shot\nnum_fewshot: 5\nfewshot_split: validation\n"
            "fewshot_config: {sampler: first_n}\n", encoding="utf-8")
        report: dict[str, Any] = {"command": command(), **git_state(["lontar/eval", "benchmarks"]), "machine": machine(),
                                  "versions": versions(["torch", "transformers", "lm_eval", "datasets", "sacrebleu"]),
                                  "torch_threads": args.threads, "reps": args.reps,
                                  "model": {"architecture": "llama", **ARCH, "vocab_size": vocab, "dtype": "float32",
                                            "attn_implementation": "sdpa", "weights": "random init (seed 0)"},
                                  "data": "benchmarks/heldout_copies.py over the Vietnamese novel in ../shared/data/seahelm",
                                  "batch_sizes_considered": args.batch_sizes, "max_logits_gb": args.max_logits_gb,
                                  "notes": NOTES}
        fits = lambda n_tok: [b for b in args.batch_sizes if b * n_tok * vocab * 8 / 1e9 <= args.max_logits_gb] \
            or [min(args.batch_sizes)]  # noqa: E731
        if "heldout" in args.suites:
            report["heldout"] = {}
            for kind, (lfile, htask) in HELDOUT.items():
                if args.workloads and kind not in args.workloads:
                    continue
                n_tok = max_tokens(lfile, dirs, tok)
                sizes = fits(n_tok)
                w = args.warmup_items
                lontar_e2e(lfile, dirs, model, tok, sizes[0], 4)
                harness_e2e(hf(model, tok, sizes[0]), [htask], tmp / "tasks", 4)
                bl, lsweep = pick(args.batch_sizes, lambda b: lontar_e2e(lfile, dirs, model, tok, b, w)[0])
                bh, hsweep = pick(sizes, lambda b: harness_e2e(hf(model, tok, b), [htask], tmp / "tasks", w)[0])
                print(f"{kind}: max {n_tok} tokens; batch sizes lontar {bl}, lm-eval {bh}", flush=True)
                lm = hf(model, tok, bh)
                seconds, last = alternate({"lm_eval": lambda: harness_e2e(lm, [htask], tmp / "tasks", None),
                                           "lontar": lambda: lontar_e2e(lfile, dirs, model, tok, bl, None)}, args.reps)
                mine = last["lontar"]
                theirs = sorted(last["lm_eval"]["samples"][htask], key=lambda s: s["doc_id"])
                n = len(theirs)
                assert n == len(mine.samples), (n, len(mine.samples))
                differing = [s["index"] for s, t in zip(mine.samples, theirs) if s["acc"] != t["acc"]]
                diff = max(abs(a - float(r[0][0])) for s, t in zip(mine.samples, theirs)
                           for a, r in zip(s["logliks"], t["resps"]))
                res = {"lm_eval": {"batch_size": bh, "seconds": seconds["lm_eval"],
                                   "items_per_s": n / median(seconds["lm_eval"]),
                                   "acc": last["lm_eval"]["results"][htask]["acc,none"], **CPU["lm_eval"]},
                       "lontar": {"batch_size": bl, "seconds": seconds["lontar"],
                                  "items_per_s": n / median(seconds["lontar"]),
                                  "acc": mine.metrics["all"]["acc"]["value"], **CPU["lontar"]}}
                report["heldout"][kind] = {
                    "lontar_task": lfile, "lm_eval_task": htask, "items": n, "max_tokens": n_tok,
                    "batch_size_sweep_seconds": {"lontar": lsweep, "lm_eval": hsweep, "warmup_items": w},
                    "results": res, "ratio": res["lontar"]["items_per_s"] / res["lm_eval"]["items_per_s"],
                    "cpu_ratio": cpu_ratio(res, "lm_eval"),
                    "items_with_different_accuracy": len(differing), "max_abs_loglik_difference": diff}
                print(f"  {kind}: {res['lm_eval']['items_per_s']:.1f} vs {res['lontar']['items_per_s']:.1f} items/s, "
                      f"{report['heldout'][kind]['ratio']:.2f}x, {len(differing)} items differ", flush=True)
        if "backend" in args.suites:
            report["backend"] = {}
            for htask in args.backend_tasks:
                lfile = {"belebele_vie_Latn": "belebele_vi.yaml", "xcopa_vi": "xcopa_vi.yaml", "xnli_vi": "xnli_vi.yaml"}[htask]
                sizes = fits(max_tokens(lfile, dirs, tok))
                w = args.warmup_items
                harness_e2e(hf(model, tok, sizes[0], True), [htask], tmp / "tasks", 4)
                bl, lsweep = pick(args.batch_sizes, lambda b: harness_e2e(hf(model, tok, b, True), [htask], tmp / "tasks", w)[0])
                bh, hsweep = pick(sizes, lambda b: harness_e2e(hf(model, tok, b), [htask], tmp / "tasks", w)[0])
                print(f"backend {htask}: batch sizes lontar {bl}, hf {bh}", flush=True)
                lms = {"hf": hf(model, tok, bh), "lontar": hf(model, tok, bl, True)}
                seconds, last = alternate({k: (lambda lm=lm: harness_e2e(lm, [htask], tmp / "tasks", None))
                                           for k, lm in lms.items()}, args.reps)
                ref = sorted(last["hf"]["samples"][htask], key=lambda s: s["doc_id"])
                got = sorted(last["lontar"]["samples"][htask], key=lambda s: s["doc_id"])
                n = len(ref)
                res = {k: {"batch_size": lms[k].batch_size, "seconds": s, "items_per_s": n / median(s),
                           "acc": last[k]["results"][htask]["acc,none"], **CPU[k]} for k, s in seconds.items()}
                report["backend"][htask] = {
                    "items": n, "results": res, "batch_size_sweep_seconds": {"lontar": lsweep, "hf": hsweep},
                    "ratio": res["lontar"]["items_per_s"] / res["hf"]["items_per_s"], "cpu_ratio": cpu_ratio(res, "hf"),
                    "items_with_different_accuracy": sum(a["acc"] != b["acc"] for a, b in zip(got, ref)),
                    "max_abs_loglik_difference": max(abs(float(x[0][0]) - float(y[0][0])) for a, b in zip(got, ref)
                                                     for x, y in zip(a["resps"], b["resps"]))}
                print(f"  {htask}: hf {res['hf']['items_per_s']:.1f}, lontar {res['lontar']['items_per_s']:.1f} items/s, "
                      f"{report['backend'][htask]['ratio']:.2f}x", flush=True)
        if "generate" in args.suites:
            report["generate"] = generation(model, tok, args, fits)
        prev = json.loads((RESULTS / "eval_throughput.json").read_text(encoding="utf-8"))
        # A run of some suites or workloads updates those entries and keeps the others; every entry names the
        # run (command, commit) that measured it, the top level the machine, versions and model.
        run = {k: report[k] for k in ("command", "commit", "dirty")}
        merged = prev.get("end_to_end", {})
        for key, value in report.items():
            if key == "generate":
                merged[key] = {**value, "run": run}
            elif key in SUITES:
                merged.setdefault(key, {}).update({name: {**entry, "run": run} for name, entry in value.items()})
            elif key not in run:
                merged[key] = value
        for key in run:
            merged.pop(key, None)
        prev["end_to_end"] = merged
        (RESULTS / "eval_throughput.json").write_text(json.dumps(prev, indent=2, ensure_ascii=False) + "\n",
                                                      encoding="utf-8")
        print(json.dumps({k: {t: [round(v.get("ratio", 0), 2), round(v.get("cpu_ratio", 0), 2)]
                              for t, v in ({"all": report[k]} if k == "generate" else report[k]).items()
                              if isinstance(v, dict)} for k in args.suites}, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def generation(model: Any, tok: Any, args: argparse.Namespace, fits) -> dict[str, Any]:
    from lm_eval.api.instance import Instance

    from lontar.eval import metrics as M
    from lontar.eval.generate import greedy_generate

    sents = vietnamese_sentences(SHARED_DATA)
    prompts = [" ".join(sents[i: i + 2]) + " " for i in range(0, 2 * args.gen_items, 2)]
    refs = [sents[i + 2] for i in range(0, 2 * args.gen_items, 2)]
    max_new = 32

    def ours(bs: int, n: int | None = None):
        start = time.perf_counter()
        out = greedy_generate(model, tok, prompts[:n], max_new_tokens=max_new, stop=STOPS, batch_size=bs,
                              max_length=ARCH["max_position_embeddings"], progress=False)
        return time.perf_counter() - start, out

    def theirs(lm: Any, n: int | None = None):
        reqs = [Instance("generate_until", {}, (p, {"until": STOPS, "max_gen_toks": max_new, "do_sample": False}), i)
                for i, p in enumerate(prompts[:n])]
        start = time.perf_counter()
        out = lm.generate_until(reqs, disable_tqdm=True)
        return time.perf_counter() - start, out

    sizes = [b for b in args.batch_sizes if b <= 32]
    ours(sizes[0], 4)
    theirs(hf(model, tok, sizes[0]), 4)
    bl, lsweep = pick(sizes, lambda b: ours(b, args.warmup_items)[0])
    bh, hsweep = pick(sizes, lambda b: theirs(hf(model, tok, b), args.warmup_items)[0])
    lm = hf(model, tok, bh)
    seconds, last = alternate({"lm_eval": lambda: theirs(lm), "lontar": lambda: ours(bl)}, args.reps)
    n = len(prompts)
    preds = last["lontar"]
    stats = M.corpus_stats("chrf", preds, [[r] for r in refs], "vi")
    ours_chrf = M.bootstrap_corpus("chrf", stats, "vi", n=0, seed=0)["value"]
    from sacrebleu.metrics import CHRF

    sacre = CHRF(word_order=2).corpus_score(preds, [refs]).score
    res = {"lm_eval": {"batch_size": bh, "seconds": seconds["lm_eval"], "items_per_s": n / median(seconds["lm_eval"]),
                       **CPU["lm_eval"]},
           "lontar": {"batch_size": bl, "seconds": seconds["lontar"], "items_per_s": n / median(seconds["lontar"]),
                      **CPU["lontar"]}}
    out = {"items": n, "max_new_tokens": max_new, "stop": STOPS, "results": res,
           "batch_size_sweep_seconds": {"lontar": lsweep, "lm_eval": hsweep},
           "ratio": res["lontar"]["items_per_s"] / res["lm_eval"]["items_per_s"], "cpu_ratio": cpu_ratio(res, "lm_eval"),
           "outputs_identical": preds == last["lm_eval"],
           "items_with_different_output": sum(a != b for a, b in zip(preds, last["lm_eval"])),
           "chrf_lontar": ours_chrf, "chrf_sacrebleu": sacre, "chrf_identical": ours_chrf == sacre}
    print(f"generate: lm-eval {res['lm_eval']['items_per_s']:.2f}, lontar {res['lontar']['items_per_s']:.2f} items/s, "
          f"{out['ratio']:.2f}x; outputs identical {out['outputs_identical']}; chrF++ {ours_chrf} vs sacrebleu {sacre}",
          flush=True)
    return out


if __name__ == "__main__":
    main()
