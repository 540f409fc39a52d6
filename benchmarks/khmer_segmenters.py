"""Khmer word segmenters against the syllable rule lontar counts with: speed and agreement.

The quality and repetition filters need a unit for Khmer. A real word segmenter would be the most
natural one; this measures what it costs. On the first 2,000 non-empty rdlab-dataset sentences:
characters per second of lontar's rule-based syllables (`lontar.text.syllables`), khmercut (CRF,
python-crfsuite) and khmer-nltk (CRF, sklearn-crfsuite); word-boundary precision/recall of khmercut
against khmer-nltk; and syllables per word, which is the factor lontar's thresholds use instead of a
segmenter (compare `units_per_en_word` for km in lontar/langs.py, measured on parallel text).

The segmenters are not lontar dependencies: install them anywhere and pass the folder, e.g.

    pip install --target /tmp/seg khmercut khmer-nltk
    python benchmarks/khmer_segmenters.py --extra-path /tmp/seg

Writes benchmarks/results/khmer_segmenters.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import command, git_state, machine, versions, write_result  # noqa: E402
from lontar.corpus.sources import rdlab_path, read_rdlab  # noqa: E402
from lontar.text.syllables import units  # noqa: E402


def _bounds(tokens: list[str]) -> set[int]:
    out, pos = set(), 0
    for t in tokens:
        pos += len(t)
        out.add(pos)
    return out


def _timed(fn, texts: list[str]) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    out = [fn(t) for t in texts]
    return out, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--extra-path", help="a folder holding khmercut and khmer-nltk (appended to sys.path)")
    ap.add_argument("--sentences", type=int, default=2000)
    args = ap.parse_args()
    if args.extra_path:
        sys.path.append(args.extra_path)
    import khmercut
    from khmernltk import word_tokenize

    texts = [s for s in read_rdlab(rdlab_path())[: args.sentences * 2] if s.strip()][: args.sentences]
    chars = sum(map(len, texts))
    syl, t_syl = _timed(lambda s: units(s, "km"), texts)
    kc, t_kc = _timed(khmercut.tokenize, texts)
    kn, t_kn = _timed(word_tokenize, texts)
    tp = fp = fn = 0
    for a, b, s in zip(kc, kn, texts):
        if "".join(a) == s and "".join(b) == s:
            A, B = _bounds(a), _bounds(b)
            tp, fp, fn = tp + len(A & B), fp + len(A - B), fn + len(B - A)
    p, r = tp / (tp + fp), tp / (tp + fn)
    syllables = sum(len(x) for x in syl)
    words = {name: sum(sum(1 for w in toks if w.strip()) for toks in out) for name, out in (("khmercut", kc), ("khmer-nltk", kn))}
    result = {
        "benchmark": "khmer_segmenters", "command": command(), "git": git_state(["lontar/text"]), "machine": machine(),
        "versions": versions(["khmercut", "khmer-nltk", "python-crfsuite", "sklearn-crfsuite", "rdlab-dataset"]),
        "sentences": len(texts), "characters": chars,
        "chars_per_second": {"lontar syllables": round(chars / t_syl), "khmercut": round(chars / t_kc),
                             "khmer-nltk": round(chars / t_kn)},
        "khmercut_vs_khmer_nltk_boundaries": {"precision": round(p, 4), "recall": round(r, 4),
                                              "f1": round(2 * p * r / (p + r), 4)},
        "syllables_per_word": {k: round(syllables / v, 3) for k, v in words.items()},
    }
    for key in ("chars_per_second", "khmercut_vs_khmer_nltk_boundaries", "syllables_per_word"):
        print(key, result[key])
    print(f"wrote {write_result('khmer_segmenters', result)}")


if __name__ == "__main__":
    main()
