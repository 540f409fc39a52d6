"""Khmer normalizer against SIL's khnormal: the SIL test fixtures and a differential on rdlab.

1. Fixtures: SIL's khmer-normalizer test pairs (tests/text/fixtures/sil_khmer_normalizer, MIT),
   input -> expected, scored with lontar's `normalize_khmer` under both settings of the config
   option `corpus.khmer_coeng_da_to_ta`.
2. Differential: every rdlab sentence (rdlab-dataset, about 212k) through `normalize_khmer` and
   through `khmerspell.khnormal` (a Python port of SIL's khnormal). khnormal only orders clusters;
   it does not touch whitespace or invisible characters, so it is given the sentence after lontar's
   script-independent steps (NFC, line breaks, controls, whitespace, zero-width rules), and the two
   outputs are compared. Each disagreement is put in the first category whose test fits the place
   where the two outputs differ (see `categorize`), and a few examples of each are kept.

    python benchmarks/khmer_normalizer.py [--limit N]

Writes benchmarks/results/khmer_normalizer.json. Single process; khnormal is the slow side.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import command, git_state, machine, versions, write_result  # noqa: E402
from lontar.corpus.sources import rdlab_path, read_rdlab  # noqa: E402
from lontar.text.khmer import normalize_khmer, remove_zero_width  # noqa: E402
from lontar.text.normalize import normalize_text, normalize_whitespace  # noqa: E402

FIXTURES = REPO / "tests" / "text" / "fixtures" / "sil_khmer_normalizer"
PAIRS = (("bad.txt", "good.txt"), ("extra-khmer.txt", "extra-khmer-out.txt"))


def fixture_pairs() -> list[tuple[str, str]]:
    """SIL's input/expected lines (their files end lines with LF or CR; the test reads both)."""
    def lines(name: str) -> list[str]:
        return re.sub(r"\r\n?", "\n", (FIXTURES / name).read_text(encoding="utf-8")).split("\n")

    out = []
    for bad, good in PAIRS:
        out += [(a, b) for a, b in zip(lines(bad), lines(good), strict=True) if a]
    return out


def prepare(text: str) -> str:
    """lontar's steps that khnormal has no opinion on, so both sides start from the same text."""
    return normalize_whitespace(remove_zero_width(normalize_text(text)))


_ABOVE = "\u17b7\u17b8\u17b9\u17ba\u17be\u17bf\u17dd\u17d0"
CATEGORIES = (
    # khmerspell 0.1.1 passes re.X as the `count` argument of its U -> shifter substitutions, so its
    # verbose patterns never match and U typed for a shifter is never repaired (SIL's own khnormal does).
    ("u_as_shifter: khmerspell leaves U, lontar writes the shifter",
     lambda ours, ref: re.search(f"\u17bb[{_ABOVE}]|\u17bb\u17b6\u17c6", ref) is not None
     and re.search("[\u17c9\u17ca]", ours) is not None),
    ("doubled mark collapsed by lontar", lambda ours, ref: re.search(r"([\u17b6-\u17d1\u17d3\u17dd])\1", ref) is not None),
    ("deprecated character replaced by lontar", lambda ours, ref: re.search("[\u17a3\u17a4\u17b4\u17b5\u17d8]", ref) is not None),
    ("doubled COENG collapsed by lontar", lambda ours, ref: "\u17d2\u17d2" in ref),
    ("stray COENG after a vowel or sign left in place by lontar",
     lambda ours, ref: re.search("[\u17b6-\u17d1\u17d3\u17dd]\u17d2", ours) is not None),
    ("OE + AA read as OO + II by khmerspell", lambda ours, ref: "\u17be\u17b6" in ours),
    ("zero-width joiner or non-joiner placement", lambda ours, ref: re.search("[\u200c\u200d]", ours + ref) is not None),
)


def categorize(ours: str, ref: str) -> str:
    """The category of the first place where the outputs differ, judged on that window (a few characters either side)."""
    sm = difflib.SequenceMatcher(None, ours, ref, autojunk=False)
    for tag, a0, a1, b0, b1 in sm.get_opcodes():
        if tag != "equal":
            wa, wb = ours[max(0, a0 - 4):a1 + 4], ref[max(0, b0 - 4):b1 + 4]
            for name, test in CATEGORIES:
                if test(wa, wb):
                    return name
            return "other"
    return "equal"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N rdlab sentences (0: all)")
    args = ap.parse_args()
    from khmerspell import khnormal

    pairs = fixture_pairs()
    fixtures = {}
    for merge in (True, False):
        misses = [{"input": a, "expected": b, "lontar": normalize_khmer(a, coeng_da_to_ta=merge)}
                  for a, b in pairs if normalize_khmer(a, coeng_da_to_ta=merge) != b]
        fixtures[f"coeng_da_to_ta={merge}"] = {
            "pairs": len(pairs), "agree": len(pairs) - len(misses),
            "agreement_pct": round(100 * (len(pairs) - len(misses)) / len(pairs), 2),
            "disagreements": [{k: ascii(v) for k, v in m.items()} for m in misses]}
    ks_fix = sum(khnormal(a) == b for a, b in pairs)
    fixtures["khmerspell"] = {"pairs": len(pairs), "agree": ks_fix, "agreement_pct": round(100 * ks_fix / len(pairs), 2)}

    sentences = read_rdlab(rdlab_path())
    if args.limit:
        sentences = sentences[:args.limit]
    t_ours = t_ref = 0.0
    agree = changed_ours = changed_ref = 0
    cats: Counter[str] = Counter()
    examples: dict[str, list[dict[str, str]]] = defaultdict(list)
    for s in sentences:
        base = prepare(s)
        t = time.perf_counter()
        ours = normalize_khmer(s)
        t_ours += time.perf_counter() - t
        t = time.perf_counter()
        ref = khnormal(base)
        t_ref += time.perf_counter() - t
        changed_ours += ours != base
        changed_ref += ref != base
        if ours == ref:
            agree += 1
            continue
        cat = categorize(ours, ref)
        cats[cat] += 1
        if len(examples[cat]) < 5:
            examples[cat].append({"prepared": base, "lontar": ours, "khmerspell": ref})
    n = len(sentences)
    diff = n - agree
    explained = diff - cats["other"]
    result = {
        "benchmark": "khmer_normalizer",
        "command": command(),
        "git": git_state(["lontar/text", "benchmarks/khmer_normalizer.py"]),
        "machine": machine(),
        "versions": versions(["khmerspell", "rdlab-dataset"]),
        "fixtures": fixtures,
        "differential": {
            "sentences": n, "agree": agree, "agreement_pct": round(100 * agree / n, 3),
            "changed_by_lontar": changed_ours, "changed_by_khmerspell": changed_ref,
            "disagreements": diff,
            "agreement_pct_outside_listed_categories": round(100 * (n - cats["other"]) / n, 3),
            "explained_by_listed_categories": explained,
            "categories": dict(cats.most_common()),
            "examples": examples,
            "seconds": {"lontar": round(t_ours, 2), "khmerspell": round(t_ref, 2)},
        },
    }
    path = write_result("khmer_normalizer", result)
    print(f"SIL fixtures ({len(pairs)} pairs): " + ", ".join(f"{k} {v['agree']}/{v['pairs']} ({v['agreement_pct']}%)"
                                                        for k, v in fixtures.items()))
    print(f"rdlab differential: {agree}/{n} identical ({100 * agree / n:.3f}%); lontar changed {changed_ours}, "
          f"khmerspell changed {changed_ref}")
    print(f"{'category':72} {'sentences':>9}")
    for cat, k in cats.most_common():
        print(f"{cat:72} {k:9}")
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
