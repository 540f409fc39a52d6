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


PROSE = Path(__file__).resolve().parents[1] / "data" / "prose"


def test_prose_files_are_parallel_paragraph_by_paragraph(tmp_path: Path) -> None:
    from lontar.errors import InvalidInput
    from lontar.tokenizer.report import read_parallel_lines

    texts = read_parallel_lines(str(PROSE / "{lang}.txt"), ["en", "km", "lo", "th", "zh"])
    assert {len(t) for t in texts.values()} == {6}
    assert texts["en"][0].startswith("The Ministry of Education") and "ក្រសួង" in texts["km"][0]
    (tmp_path / "en.txt").write_text("one\ntwo\n", encoding="utf-8")
    (tmp_path / "km.txt").write_text("មួយ\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"prose: files are not parallel \(records per lang: \{'en': 2, 'km': 1\}\)"):
        read_parallel_lines(str(tmp_path / "{lang}.txt"), ["en", "km"], "prose")


def test_every_set_gives_parity_and_tokens_per_english_word(mistral: Tokenizer, tmp_path: Path) -> None:
    from lontar.tokenizer.report import compare_sets, merged_parallel, read_parallel_lines

    if not SEAHELM.is_dir():
        pytest.skip("no ../shared/data/seahelm")
    prose = read_parallel_lines(str(PROSE / "{lang}.txt"), ["en", "km", "lo", "th"])
    mmlu = read_parallel(str(SEAHELM / "global_mmlu_lite_{lang}_test.jsonl"), ["en", "vi", "my"], MMLU_FIELDS)
    sets = compare_sets({"base": mistral}, [("mmlu", "en", mmlu), ("prose", "en", prose)])
    merged, ref = merged_parallel(sets)
    assert ref == "en" and list(merged) == ["en", "vi", "my", "km", "lo", "th"]  # en from the first set
    assert merged["km"]["base"]["set"] == "prose" and merged["en"]["base"]["set"] == "mmlu"
    km = sets["prose"]["langs"]["km"]["base"]
    # counted directly: the Khmer paragraphs' tokens over the English paragraphs' words and tokens
    km_tokens = sum(len(mistral.encode(t, add_special_tokens=False).ids) for t in prose["km"])
    en_tokens = sum(len(mistral.encode(t, add_special_tokens=False).ids) for t in prose["en"])
    en_words = sum(len(t.split()) for t in (PROSE / "en.txt").read_text(encoding="utf-8").splitlines())
    assert km["tokens"] == km_tokens and km["tokens_per_en_word"] == round(km_tokens / en_words, 4)
    assert km["parity"] == round(km_tokens / en_tokens, 4) and km["parity"] > 2  # Mistral's v1 vocabulary has little Khmer
    assert sets["prose"]["langs"]["en"]["base"]["parity"] == 1.0
    md = render_md({"tokenizers": {"base": {"kind": "sentencepiece"}}, "validation": {}, "parallel": merged,
                    "reference": ref, "parallel_sets": sets})
    assert "## Parity against en, every language" in md and "| km | prose |" in md
    assert "## Parallel text 'prose' (6 records)" in md and "| th | tokens per en word |" in md


def test_a_hub_dataset_with_one_config_per_language_aligns_rows_by_id(tmp_path: Path) -> None:
    """FLORES+'s layout (a config per `<iso3>_<Script>`, a devtest split, `id` and `text`) in a local directory."""
    import datasets
    import yaml

    from lontar.tokenizer.report import read_parallel_hf

    prose = {lang: (PROSE / f"{lang}.txt").read_text(encoding="utf-8").splitlines() for lang in ("en", "km")}
    root = tmp_path / "flores_plus"
    configs = []
    for lang, code in (("en", "eng_Latn"), ("km", "khm_Khmr")):
        rows = [{"id": i, "text": t} for i, t in enumerate(prose[lang])]
        if lang == "km":
            rows = rows[::-1][:5]  # another order, and without the first paragraph
        (root / "devtest").mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_list(rows).to_parquet(str(root / "devtest" / f"{code}.parquet"))
        configs.append({"config_name": code, "data_files": [{"split": "devtest", "path": f"devtest/{code}.parquet"}]})
    (root / "README.md").write_text("---\n" + yaml.safe_dump({"configs": configs}) + "---\n", encoding="utf-8")
    texts = read_parallel_hf(str(root), "{flores}", ["en", "km"], "devtest", ["text"])
    assert len(texts["en"]) == len(texts["km"]) == 5
    assert texts["en"] == prose["en"][1:] and texts["km"][0].startswith(prose["km"][1][:10])
    with pytest.raises(FileNotFoundError, match=r"cannot load .*lao_Laoo\[devtest\] for lang 'lo'"):
        read_parallel_hf(str(root), "{flores}", ["en", "lo"], "devtest", ["text"])
