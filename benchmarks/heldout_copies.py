"""Held-out copies of Belebele, XCOPA and XNLI in the hub's layout, built from real text (no download).

The real datasets cannot be fetched here, so these stand in for them: the same fields, types, splits,
config names and shape (Belebele: a passage of several sentences, a question, four short answers, the
gold as '1'-'4'; XCOPA: a one-sentence premise, two one-sentence alternatives, cause/effect, label 0/1;
XNLI: premise, hypothesis, label 0-2), over real running text: Khmer sentences from the PyPI package
rdlab-dataset and a 1925 Vietnamese novel (../shared/data/seahelm). Labels are drawn from a seed, so
accuracy is chance: these measure agreement and speed, not knowledge. The generator is committed, not
the data.

    build(root)  ->  root/facebook/belebele, root/cambridgeltl/xcopa, root/facebook/xnli
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import yaml

NOVEL = "seahelm/pure_heart_ngoc_phachHoang_vi.txt"


def vietnamese_sentences(shared_data: Path) -> list[str]:
    text = (shared_data / NOVEL).read_text(encoding="utf-8")
    parts = re.split(r"(?<=[.!?…])\s+|\n+", text)
    return [p.strip() for p in parts if 20 <= len(p.strip()) <= 400 and not p.isupper()]


def clauses(sentences: list[str]) -> list[str]:
    """Sentences cut at commas and semicolons: short units the size of XCOPA's sentences."""
    out = [c.strip() for s in sentences for c in re.split(r"[,;:]\s+", s)]
    return [c[0].upper() + c[1:] + ("" if c[-1] in ".!?…" else ".") for c in out if 15 <= len(c) <= 120]


def khmer_sentences(limit: int = 20000) -> list[str]:
    from lontar.corpus.sources import rdlab_path, read_rdlab

    return [s for s in read_rdlab(rdlab_path())[:limit] if 40 <= len(s) <= 300]


def belebele_rows(sentences: list[str], n: int, seed: int, dialect: str, passage: int = 5) -> list[dict[str, Any]]:
    """Belebele's shape: 900 questions over 488 FLORES passages, so most passages are asked two
    questions (question_number 1 and 2, adjacent rows) and some one; questions of at most 15 words,
    answers of at most 8, as Belebele's are short."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    while len(rows) < n:
        at = rng.randrange(len(sentences) - passage - 10)
        text = " ".join(sentences[at: at + passage])
        for q in range(2 if rng.random() < 900 / 488 - 1 else 1):
            base = at + passage + 5 * q
            answers = [" ".join(s.split()[:8]) if " " in s else s[:40] for s in sentences[base + 1: base + 5]]
            question = " ".join(sentences[base].split()[:15]) if " " in sentences[base] else sentences[base][:60]
            rows.append({"link": f"heldout/{dialect}/{at}", "question_number": q + 1, "flores_passage": text,
                         "question": question.rstrip(".,;:!?") + "?", "mc_answer1": answers[0], "mc_answer2": answers[1],
                         "mc_answer3": answers[2], "mc_answer4": answers[3],
                         "correct_answer_num": str(rng.randint(1, 4)), "dialect": dialect, "ds": "2023-05-03"})
    return rows[:n]


def xcopa_rows(sentences: list[str], n: int, seed: int) -> list[dict[str, Any]]:
    """XCOPA's premises and alternatives are short sentences ending in a full stop (id, vi)."""
    rng = random.Random(seed)
    short = [s for s in sentences if len(s) <= 120 and s.endswith(".") and not s.endswith("..")]
    rng.shuffle(short)
    return [{"premise": short[3 * i], "choice1": short[3 * i + 1], "choice2": short[3 * i + 2],
             "question": rng.choice(["cause", "effect"]), "label": rng.randrange(2), "idx": i, "changed": False}
            for i in range(min(n, len(short) // 3))]


def xnli_rows(sentences: list[str], n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    short = [s for s in sentences if len(s) <= 200]
    rng.shuffle(short)
    return [{"premise": short[2 * i], "hypothesis": short[2 * i + 1], "label": rng.randrange(3)}
            for i in range(min(n, len(short) // 2))]


def _write(base: Path, configs: dict[str, dict[str, list[dict[str, Any]]]]) -> Path:
    meta = {"configs": []}
    for name, splits in configs.items():
        files = []
        for split, rows in splits.items():
            path = base / name / f"{split}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            files.append({"split": split, "path": f"{name}/{split}.jsonl"})
        meta["configs"].append({"config_name": name, "data_files": files})
    (base / "README.md").write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\nheld-out copy\n",
                                    encoding="utf-8")
    return base


def build(root: Path, shared_data: Path, *, belebele: int = 300, xcopa: int = 300, xnli: int = 300,
          khmer: bool = True) -> dict[str, Path]:
    """Write the copies under `root/<org>/<name>`; returns hub id -> folder."""
    vi = vietnamese_sentences(shared_data)
    bele = {"vie_Latn": {"test": belebele_rows(vi, belebele, 1, "vie_Latn")}}
    if khmer:
        bele["khm_Khmr"] = {"test": belebele_rows(khmer_sentences(), belebele, 2, "khm_Khmr")}
    units = clauses(vi)
    cut = len(units) * 4 // 5  # test and validation (few-shot) items from different parts of the novel
    out = {"facebook/belebele": _write(root / "facebook" / "belebele", bele),
           "cambridgeltl/xcopa": _write(root / "cambridgeltl" / "xcopa", {"vi": {
               "test": xcopa_rows(units[:cut], xcopa, 3), "validation": xcopa_rows(units[cut:], 100, 4)}}),
           "facebook/xnli": _write(root / "facebook" / "xnli", {"vi": {
               "test": xnli_rows(units[:cut], xnli, 5), "validation": xnli_rows(units[cut:], 50, 6),
               "train": xnli_rows(units[cut:], 50, 7)}})}
    return out
