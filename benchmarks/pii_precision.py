"""PII precision and recall per type and language on the labelled set of `benchmarks/pii_labelled.py`.

For each language (km, lo, my, th, vi, id, ms, tl, en) the generator writes positives (sentences
holding phone numbers, e-mails, URLs, public IPs, national ids) and hard negatives (prices, versions,
dotted software names, private IPs, dates, counts, ids with a wrong check or date), from a seed.
Every find of `find_pii(text, lang)` is matched to a labelled value of the same type (one overlaps
the other, neither shorter than half the other); an unmatched find is a false positive of its type,
an unmatched value a false negative. Precision = TP / (TP + FP), recall = TP / (TP + FN), per type
and language and over all; also the share of hard-negative sentences with any find.

`--baseline REV` scores lontar/corpus/pii.py as it was at git revision REV (e.g. main) the same way.
Real text, where no labels exist: every find on the 212k rdlab Khmer sentences is counted per type
and listed (with `--rdlab`), so that a reader can judge each one.

The rules were tuned while looking at seed 0's misses; seeds 1-4 were not looked at before they were
scored, and are reported apart ("held_out").

    python benchmarks/pii_precision.py [--seeds 0 1 2 3 4] [--baseline main] [--rdlab]

Writes benchmarks/results/pii_precision.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import command, git_state, machine, versions, write_result  # noqa: E402
from benchmarks.pii_labelled import LANGS, Item, generate  # noqa: E402
from lontar.corpus.pii import TYPES, find_pii  # noqa: E402

Finder = Callable[[str, str], list[tuple[str, int, int, str]]]


def _matches(found: str, value: str) -> bool:
    short, long_ = sorted((found, value), key=len)
    return short in long_ and 2 * len(short) >= len(long_)


def score(items: list[Item], finder: Finder) -> dict[str, Any]:
    """Counts per type (tp, fp, fn), the negatives with any find, and a few misses of each kind."""
    counts: dict[str, dict[str, int]] = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TYPES}
    neg_hit = negs = 0
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        finds = [(kind, text) for kind, _, _, text in finder(item.text, item.lang)]
        truth = list(item.truth)
        for kind, text in finds:
            hit = next((k for k, (t, v) in enumerate(truth) if t == kind and _matches(text, v)), None)
            if hit is None:
                counts[kind]["fp"] += 1
                if len(examples[f"fp_{kind}"]) < 4:
                    examples[f"fp_{kind}"].append({"text": item.text, "found": text, "label": item.label})
            else:
                counts[kind]["tp"] += 1
                truth.pop(hit)
        for t, v in truth:
            counts[t]["fn"] += 1
            if len(examples[f"fn_{t}"]) < 4:
                examples[f"fn_{t}"].append({"text": item.text, "value": v, "finds": finds})
        if not item.positive:
            negs += 1
            neg_hit += bool(finds)
    return {"counts": counts, "negatives": negs, "negatives_with_a_find": neg_hit, "examples": dict(examples)}


def pr(c: dict[str, int]) -> tuple[float | None, float | None]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else None
    return (round(p, 4) if p is not None else None, round(r, 4) if r is not None else None)


def baseline_finder(rev: str) -> Finder:
    """`find_pii` of lontar/corpus/pii.py at `rev`, loaded from git as its own module."""
    src = subprocess.run(["git", "show", f"{rev}:lontar/corpus/pii.py"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "pii_baseline.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("pii_baseline", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    try:
        module.find_pii("x", "km")
        return module.find_pii
    except TypeError:
        return lambda text, lang: module.find_pii(text)


def table(results: dict[str, Any]) -> dict[str, Any]:
    """Per language and type: tp, fp, fn, precision, recall; and the totals over languages."""
    out: dict[str, Any] = {}
    total = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TYPES}
    for lang, res in results.items():
        row = {}
        for t, c in res["counts"].items():
            p, r = pr(c)
            row[t] = {**c, "precision": p, "recall": r}
            for k in c:
                total[t][k] += c[k]
        all_c = {k: sum(c[k] for c in res["counts"].values()) for k in ("tp", "fp", "fn")}
        p, r = pr(all_c)
        row["all"] = {**all_c, "precision": p, "recall": r}
        row["negatives_with_a_find"] = f"{res['negatives_with_a_find']}/{res['negatives']}"
        out[lang] = row
    all_c = {k: sum(c[k] for c in total.values()) for k in ("tp", "fp", "fn")}
    out["all"] = {t: {**c, "precision": pr(c)[0], "recall": pr(c)[1]} for t, c in total.items()}
    out["all"]["all"] = {**all_c, "precision": pr(all_c)[0], "recall": pr(all_c)[1]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--baseline", default=None, help="a git revision whose pii.py is scored too (e.g. main)")
    ap.add_argument("--rdlab", action="store_true", help="also list every find on the rdlab Khmer sentences")
    args = ap.parse_args()
    sets = {lang: [item for seed in args.seeds for item in generate(lang, seed)] for lang in LANGS}
    held_out = {lang: [item for seed in args.seeds if seed != 0 for item in generate(lang, seed)] for lang in LANGS}
    finders: dict[str, Finder] = {"lontar": find_pii}
    if args.baseline:
        finders[f"baseline@{args.baseline}"] = baseline_finder(args.baseline)
    report: dict[str, Any] = {}
    for name, finder in finders.items():
        t = time.perf_counter()
        results = {lang: score(items, finder) for lang, items in sets.items()}
        seconds = round(time.perf_counter() - t, 3)
        report[name] = {"table": table(results), "seconds": seconds,
                        "held_out": table({lang: score(items, finder) for lang, items in held_out.items()})["all"]["all"]
                        if any(held_out.values()) else None,
                        "examples": {lang: res["examples"] for lang, res in results.items()}}
    rdlab = None
    if args.rdlab:
        from lontar.corpus.sources import rdlab_path, read_rdlab

        sentences = read_rdlab(rdlab_path())
        finds: dict[str, list[str]] = defaultdict(list)
        for name, finder in finders.items():
            for s in sentences:
                for kind, a, b, text in finder(s, "km"):
                    finds[f"{name}:{kind}"].append(f"{s[max(0, a - 20):a]}[[{text}]]{s[b:b + 20]}")
        rdlab = {"sentences": len(sentences), "finds": {k: len(v) for k, v in sorted(finds.items())},
                 "listed": {k: sorted(set(v)) for k, v in sorted(finds.items()) if not k.endswith(":url")}}
    result = {
        "benchmark": "pii_precision",
        "command": command(),
        "git": git_state(["lontar/corpus/pii.py", "benchmarks/pii_labelled.py", "benchmarks/pii_precision.py"]),
        "machine": machine(),
        "versions": versions(["phonenumbers", "python-stdnum"]),
        "seeds": args.seeds,
        "items": {lang: {"positives": sum(i.positive for i in items), "hard_negatives": sum(not i.positive for i in items),
                         "values": sum(len(i.truth) for i in items)} for lang, items in sets.items()},
        "results": report,
        "rdlab_khmer": rdlab,
    }
    path = write_result("pii_precision", result)
    for name, rep in report.items():
        print(f"\n{name}: precision / recall per type (tp fp fn); negatives with a find")
        print(f"{'lang':5} " + " ".join(f"{t:>17}" for t in (*TYPES, "all")) + "   neg-hit")
        for lang, row in rep["table"].items():
            cells = []
            for t in (*TYPES, "all"):
                c = row[t]
                if c["tp"] + c["fp"] + c["fn"] == 0:
                    cells.append(f"{'-':>17}")
                    continue
                p = "-" if c["precision"] is None else f"{c['precision']:.2f}"
                r = "-" if c["recall"] is None else f"{c['recall']:.2f}"
                cells.append(f"{p:>5}/{r:<5}({c['fp']:>2},{c['fn']:>2})")
            print(f"{lang:5} " + " ".join(cells) + f"   {row.get('negatives_with_a_find', '')}")
        if rep["held_out"]:
            h = rep["held_out"]
            print(f"held-out seeds (all types, all languages): precision {h['precision']}, recall {h['recall']}")
    if rdlab:
        print(f"\nrdlab ({rdlab['sentences']} Khmer sentences), finds: {rdlab['finds']}")
    print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
