"""Fertility and parity: per-language token costs, byte fallback, parallel text, the md and PNG renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers.models import BPE

from lontar.tokenizer.report import compare, fertility, read_parallel, render_md, render_png
from lontar.tokenizer.spm import to_fast_tokenizer
from lontar.tokenizer.extend_spm import load_proto
from tests.tokenizer.conftest import MMLU_FIELDS, SEAHELM, mmlu_texts


@pytest.fixture(scope="module")
def mistral(mistral_spm: Path) -> Tokenizer:
    return to_fast_tokenizer(load_proto(mistral_spm.read_bytes()))


def test_fertility_counts_syllables_and_byte_fallback(mistral: Tokenizer, khmer_split) -> None:
    texts = khmer_split["heldout"][:500]
    s = fertility(mistral, texts, "km")
    assert s["unit"] == "syllable" and s["docs"] == 500 and s["chars"] == sum(map(len, texts))
    assert 1.1 < s["tokens_per_char"] < 1.4  # BENCHMARKS.md: 1.25 on 5,000 rdlab sentences
    assert s["tokens_per_syllable"] > s["tokens_per_char"] and s["byte_fallback_rate"] > 0.2
    english = fertility(mistral, mmlu_texts("en"), "en")
    assert english["unit"] == "word" and 0.2 < english["tokens_per_char"] < 0.3 and english["unk_rate"] == 0


def test_byte_level_partial_characters_count_as_byte_fallback() -> None:
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(mmlu_texts("en", "dev"), trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    khmer = fertility(tok, ["ខ្មែរ"], "km")
    assert khmer["tokens"] == len("ខ្មែរ".encode()) and khmer["byte_fallback_rate"] == 1.0
    assert fertility(tok, ["the cat"], "en")["byte_fallback_rate"] == 0.0


def test_read_parallel_drops_records_missing_in_any_language() -> None:
    if not SEAHELM.is_dir():
        pytest.skip("no ../shared/data/seahelm")
    pattern = str(SEAHELM / "global_mmlu_lite_{lang}_test.jsonl")
    texts = read_parallel(pattern, ["en", "my"], MMLU_FIELDS)
    assert len(texts["en"]) == len(texts["my"]) == 399  # one Burmese question is null
    assert texts["en"][0].startswith("When traveling north") and texts["en"][0].count("\n") == 4
    with pytest.raises(FileNotFoundError, match="tokenizer.report.parallel.path"):
        read_parallel(pattern, ["en", "km"], MMLU_FIELDS)


def test_compare_reports_parity_and_renders(mistral: Tokenizer, khmer_split, tmp_path: Path) -> None:
    if not SEAHELM.is_dir():
        pytest.skip("no ../shared/data/seahelm")
    parallel = read_parallel(str(SEAHELM / "global_mmlu_lite_{lang}_test.jsonl"), ["en", "vi", "my"], MMLU_FIELDS)
    tokenizers = {"base": mistral, "other": mistral}
    report = compare(tokenizers, {"km": khmer_split["heldout"][:100]}, parallel)
    assert set(report["validation"]["km"]) == {"base", "other"}
    par = report["parallel"]
    assert par["en"]["base"]["parity"] == 1.0
    assert 2.3 < par["vi"]["base"]["parity"] < 3.2 and 6 < par["my"]["base"]["parity"] < 8.5  # BENCHMARKS: 2.86, 7.59
    full = {"tokenizers": {"base": {"kind": "sentencepiece"}, "other": {"kind": "sentencepiece"}}, **report}
    md = render_md(full)
    assert "| my | parity |" in md and "| km | tokens per syllable |" in md
    render_png(full, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    json.dumps(report)  # serialisable as is
