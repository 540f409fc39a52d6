"""Tokens per character of real base tokenizers on each recipe language's local text, and parity against
English on parallel text: the figures the recipes' tokenizer choices (extend or keep the base) rest on.

Tokenizers: Mistral's SentencePiece `tokenizer.model.v1` (32k) and Tekken `tekken_240911.json` (131k), both
shipped by the PyPI package mistral-common. Text: the CPU twins' local corpora (rdlab Khmer sentences, the
Lao and Thai prose of tests/data/prose, the Vietnamese novel and SEA-HELM's Global-MMLU-Lite questions
from ../shared/data/seahelm). Parallel sets: tests/data/prose (en, km, lo, th, written as translations of
one another) and Global-MMLU-Lite test questions (en, id, ms, my, tl, vi).

    python benchmarks/recipe_base_tokenizers.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import mistral_common  # noqa: E402

from benchmarks.common import command, git_state, machine, versions, write_result  # noqa: E402
from lontar.corpus.sources import rdlab_path, read_rdlab  # noqa: E402
from lontar.tokenizer.base import resolve_base  # noqa: E402

SEAHELM = REPO.parent / "shared" / "data" / "seahelm"
PROSE = REPO / "tests" / "data" / "prose"
DATA = Path(mistral_common.__file__).parent / "data"
TOKENIZERS = {"mistral_spm_v1": DATA / "tokenizer.model.v1", "mistral_tekken_240911": DATA / "tekken_240911.json"}
MMLU = ("en", "id", "ms", "my", "tl", "vi")


def mmlu(lang: str) -> list[str]:
    rows = [json.loads(line) for line in (SEAHELM / f"global_mmlu_lite_{lang}_test.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["prompts"][0]["question"] or "" for r in rows]  # kept aligned across languages


def prose(lang: str) -> list[str]:
    return [line for line in (PROSE / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if line.strip()]


def texts() -> dict[str, list[str]]:
    out = {"km": [s for s in read_rdlab(rdlab_path()) if s][:2000], "lo": prose("lo"), "th": prose("th"),
           "vi": [line for line in (SEAHELM / "pure_heart_ngoc_phachHoang_vi.txt").read_text(encoding="utf-8").splitlines() if line.strip()]}
    out.update({lang: mmlu(lang) for lang in MMLU})
    return out


def count(tok, lines: list[str]) -> tuple[int, int]:
    return sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False)), sum(len(line) for line in lines)


def main() -> None:
    start = time.time()
    corpora = texts()
    result: dict = {"command": command(), "git": git_state(["benchmarks/recipe_base_tokenizers.py"]),
                    "machine": machine(), "versions": versions(["mistral-common", "tokenizers", "rdlab-dataset"]),
                    "texts": {k: {"lines": len(v), "chars": sum(map(len, v))} for k, v in corpora.items()},
                    "tokens_per_char": {}, "parity_vs_en": {}}
    for name, path in TOKENIZERS.items():
        tok = resolve_base(str(path)).backend()
        result["tokens_per_char"][name] = {}
        for lang, lines in corpora.items():
            tokens, chars = count(tok, lines)
            result["tokens_per_char"][name][lang] = {"tokens": tokens, "chars": chars, "tokens_per_char": round(tokens / chars, 4)}
        parity = {}
        en_prose = count(tok, prose("en"))[0]
        for lang in ("km", "lo", "th"):
            parity[f"{lang} (prose)"] = round(count(tok, prose(lang))[0] / en_prose, 3)
        en_mmlu = count(tok, mmlu("en"))[0]
        for lang in MMLU[1:]:
            parity[f"{lang} (global_mmlu_lite)"] = round(count(tok, mmlu(lang))[0] / en_mmlu, 3)
        result["parity_vs_en"][name] = parity
    result["seconds"] = round(time.time() - start, 1)
    print(f"{'lang':<6}" + "".join(f"{n:>26}" for n in TOKENIZERS))
    for lang in corpora:
        print(f"{lang:<6}" + "".join(f"{result['tokens_per_char'][n][lang]['tokens_per_char']:>26.3f}" for n in TOKENIZERS))
    print("parity vs English (tokens per English token on the same content)")
    for key in result["parity_vs_en"]["mistral_spm_v1"]:
        print(f"{key:<24}" + "".join(f"{result['parity_vs_en'][n][key]:>12.2f}" for n in TOKENIZERS))
    print(write_result("recipe_base_tokenizers", result))


if __name__ == "__main__":
    main()
