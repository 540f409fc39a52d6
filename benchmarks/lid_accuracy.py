"""Language identification accuracy on Global-MMLU-Lite (the same questions in en, id, ms, my, tl, vi, zh).

Two settings: the question text alone (short, often a fragment), and the question with its four
options appended (one per line). Methods, run alternately in the same process (A B A B ...):

- lontar (high): `LanguageIdentifier` with lingua's high accuracy mode (the default);
- lontar (low): the same with lingua's low accuracy mode;
- py3langid: the peer, langid.py's model restricted to the same seven languages (`set_languages`),
  with normalised probabilities, as its README recommends for a known language set.

Reports per-language accuracy, the confusion matrix (rows: truth, columns: predicted), the share kept
by `lid_reasons` at thresholds 0.5 and 0.8, items per second (median of the repetitions; batch API
for lontar, which uses lingua's multi-threaded call, and one call per item for every method), and
cold build times of the lingua detector, each in a fresh process.

    python benchmarks/lid_accuracy.py [--data ../shared/data/seahelm] [--reps 3]

Writes benchmarks/results/lid_accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import git_state, machine, versions  # noqa: E402
from lontar.corpus.lid import LanguageIdentifier, lid_reasons  # noqa: E402

LANGS = ("en", "id", "ms", "my", "tl", "vi", "zh")
DEFAULT_DATA = REPO.parent / "shared" / "data" / "seahelm"


def load_items(data: Path, skipped: dict[str, int] | None = None) -> dict[str, dict[str, list[str]]]:
    """{setting: {lang: [text, ...]}} from the dev and test files, in file order. Items without a
    question string (one Burmese test item has `null`) are skipped and counted in `skipped`."""
    out: dict[str, dict[str, list[str]]] = {"question": {}, "question+options": {}}
    for lang in LANGS:
        qs, qo = [], []
        for split in ("dev", "test"):
            path = data / f"global_mmlu_lite_{lang}_{split}.jsonl"
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                p = json.loads(line)["prompts"][0]
                if not isinstance(p.get("question"), str):
                    if skipped is not None:
                        skipped[f"{lang}_{split}"] = skipped.get(f"{lang}_{split}", 0) + 1
                    continue
                qs.append(p["question"])
                qo.append("\n".join([p["question"], *(str(p[k]) for k in ("option_a", "option_b", "option_c", "option_d"))]))
        out["question"][lang] = qs
        out["question+options"][lang] = qo
    return out


_BUILD_SNIPPET = """
import sys, time, json
sys.path.insert(0, {repo!r})
t0 = time.perf_counter()
from lontar.corpus.lid import LanguageIdentifier
t1 = time.perf_counter()
lid = LanguageIdentifier({langs!r}, low_accuracy={low}, preload={preload})
d = lid.detector
t2 = time.perf_counter()
lid.identify("Ketika bepergian ke utara dari Amerika Serikat ke Kanada, Anda akan melihat Bintang Utara.")
t3 = time.perf_counter()
# VmHWM: peak resident memory of this process (ru_maxrss would carry the parent's over fork+exec).
hwm = [int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM")][0]
print(json.dumps({{"import_s": t1 - t0, "build_s": t2 - t1, "first_call_s": t3 - t2, "max_rss_mb": hwm / 1024}}))
"""


def cold_build_times(reps: int) -> dict:
    """Detector build and first call, each in a fresh interpreter (lingua caches models per process)."""
    out = {}
    for low in (False, True):
        for preload in (False, True):
            key = f"{'low' if low else 'high'}_accuracy{'_preloaded' if preload else ''}"
            runs = []
            for _ in range(reps):
                code = _BUILD_SNIPPET.format(repo=str(REPO), langs=list(LANGS), low=low, preload=preload)
                res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
            out[key] = {"runs": runs, **{f"median_{k}": statistics.median(r[k] for r in runs)
                                         for k in ("build_s", "first_call_s", "max_rss_mb")}}
    return out


class Py3Langid:
    """The peer: langid.py's model restricted to the benchmark languages."""

    def __init__(self, langs):
        from py3langid.langid import MODEL_FILE
        from py3langid.langid import LanguageIdentifier as LangidIdentifier

        self.model = LangidIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self.model.set_languages(list(langs))

    def identify_batch(self, texts):
        return [self.identify(t) for t in texts]

    def identify(self, text):
        lang, prob = self.model.classify(text)
        return lang, float(prob)


def score(preds: dict[str, list[tuple[str | None, float]]]) -> dict:
    labels = sorted({str(p[0]) for ps in preds.values() for p in ps} | set(LANGS))
    per_lang, confusion, kept = {}, {}, {}
    total_ok = total = 0
    for lang, ps in preds.items():
        counts = Counter(str(p[0]) for p in ps)
        ok = counts.get(lang, 0)
        per_lang[lang] = round(ok / len(ps), 4)
        confusion[lang] = {lab: counts.get(lab, 0) for lab in labels}
        kept[lang] = {str(th): round(sum(p[0] == lang and p[1] >= th for p in ps) / len(ps), 4) for th in (0.5, 0.8)}
        total_ok += ok
        total += len(ps)
    return {"accuracy": per_lang, "macro_accuracy": round(statistics.mean(per_lang.values()), 4),
            "micro_accuracy": round(total_ok / total, 4), "kept_at_threshold": kept,
            "confusion_labels": labels, "confusion": confusion}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "lid_accuracy.json")
    ap.add_argument("--no-peer", action="store_true", help="skip py3langid")
    args = ap.parse_args()
    if not args.data.is_dir():
        sys.exit(f"no data at {args.data}: pass --data DIR with the SEA-HELM Global-MMLU-Lite jsonl files")

    skipped: dict[str, int] = {}
    items = load_items(args.data, skipped)
    t0 = time.perf_counter()
    methods = {"lontar_high": LanguageIdentifier(LANGS), "lontar_low": LanguageIdentifier(LANGS, low_accuracy=True)}
    if not args.no_peer:
        methods["py3langid"] = Py3Langid(LANGS)
    build_s = time.perf_counter() - t0

    # Warm-up: load every lazily loaded model once.
    for m in methods.values():
        m.identify_batch([texts[0] for texts in items["question"].values()])

    results: dict = {}
    for setting, by_lang in items.items():
        flat = [t for lang in LANGS for t in by_lang[lang]]
        n_chars = sum(len(t) for t in flat)
        timings: dict[str, dict[str, list[float]]] = {name: {"batch": [], "single": []} for name in methods}
        preds: dict[str, list] = {}
        for _ in range(args.reps):  # A B A B ...: every method in each repetition
            for name, m in methods.items():
                t = time.perf_counter()
                out = m.identify_batch(flat)
                timings[name]["batch"].append(len(flat) / (time.perf_counter() - t))
                t = time.perf_counter()
                single = [m.identify(x) for x in flat]
                timings[name]["single"].append(len(flat) / (time.perf_counter() - t))
                if out != single:
                    raise AssertionError(f"{name}: batch and single predictions differ")
                preds[name] = out
        results[setting] = {"items": len(flat), "chars": n_chars}
        for name in methods:
            i = 0
            by = {}
            for lang in LANGS:
                by[lang] = preds[name][i:i + len(by_lang[lang])]
                i += len(by_lang[lang])
            res = score(by)
            res["items_per_s"] = {mode: {"runs": [round(x, 1) for x in v], "median": round(statistics.median(v), 1)}
                                  for mode, v in timings[name].items()}
            results[setting][name] = res
        # lid_reasons on the same predictions, as the corpus step sees them (id corpus, threshold 0.8).
        ident = methods["lontar_high"]
        reasons = lid_reasons({"text": by_lang["id"]}, "id", 0.8, ident)
        results[setting]["lid_reasons_id_0.8"] = {
            "kept": sum(r is None for r in reasons), "total": len(reasons),
            "kept_also_accept_ms": sum(r is None for r in lid_reasons({"text": by_lang["id"]}, "id", 0.8, ident,
                                                                        also_accept=("ms",))),
            "example_rejects": [r for r in reasons if r][:5]}
        for name in methods:
            base = results[setting][name]["items_per_s"]["single"]["median"]
            results[setting][name]["speed_vs_py3langid_single"] = (
                round(base / results[setting]["py3langid"]["items_per_s"]["single"]["median"], 3)
                if "py3langid" in methods else None)

    git = git_state(["lontar/corpus/lid.py", "benchmarks/lid_accuracy.py"])
    report = {
        "benchmark": "lid_accuracy",
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "git_commit": git["commit"],
        "uncommitted_changes_in_lid": git["dirty"],
        "machine": machine(),
        "versions": versions(["lingua-language-detector", "py3langid", "numpy"]),
        "env": {"RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS")},
        "data": {"source": "SEA-HELM Global-MMLU-Lite dev+test, prompts[0].question (and option_a..d)",
                 "languages": list(LANGS), "per_language": {lang: len(items["question"][lang]) for lang in LANGS},
                 "skipped_items_without_question": skipped},
        "identifier_languages": list(LANGS),
        "lingua_languages": list(methods["lontar_high"].lingua_languages),
        "reps": args.reps,
        "in_process_build_s_all_methods": round(build_s, 3),
        "cold_build": cold_build_times(args.reps),
        "results": results,
        "targets": {"accuracy_at_least": 0.95, "languages": ["my", "zh", "vi", "en"]},
    }
    report["targets"]["met"] = {
        setting: {lang: results[setting]["lontar_high"]["accuracy"][lang] >= 0.95 for lang in ("my", "zh", "vi", "en")}
        for setting in results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(report)
    print(f"\nwrote {args.out}")


def print_table(report: dict) -> None:
    for setting, res in report["results"].items():
        names = [k for k in res if isinstance(res[k], dict) and "accuracy" in res[k]]
        print(f"\n{setting} ({res['items']} items, {res['chars']} chars): accuracy per language")
        print(f"{'method':<13}" + "".join(f"{lang:>7}" for lang in LANGS) + f"{'macro':>8}{'items/s':>10}{'batch/s':>10}")
        for name in names:
            r = res[name]
            print(f"{name:<13}" + "".join(f"{r['accuracy'][lang]:>7.3f}" for lang in LANGS)
                  + f"{r['macro_accuracy']:>8.3f}{r['items_per_s']['single']['median']:>10.0f}"
                  + f"{r['items_per_s']['batch']['median']:>10.0f}")
        r = res["lontar_high"]
        labels = r["confusion_labels"]
        print(f"confusion, lontar_high (rows truth, columns predicted):\n{'':<6}" + "".join(f"{lab:>6}" for lab in labels))
        for lang in LANGS:
            print(f"{lang:<6}" + "".join(f"{r['confusion'][lang][lab]:>6}" for lab in labels))
        k = res["lid_reasons_id_0.8"]
        print(f"lid_reasons(expected id, 0.8): kept {k['kept']}/{k['total']}, "
              f"with also_accept=('ms',): {k['kept_also_accept_ms']}/{k['total']}")
    print("\ncold build + first call (fresh process, median):")
    for key, v in report["cold_build"].items():
        print(f"  {key:<26} build {v['median_build_s']:.3f} s, first call {v['median_first_call_s']:.3f} s, "
              f"max RSS {v['median_max_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
