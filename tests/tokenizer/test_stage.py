"""The tokenizer stage from a config: scratch (default) and extend modes, new_tokens.json, the report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from lontar.cli import main
from lontar.config import ConfigError, load_config
from lontar.corpus.shards import ShardWriter
from lontar.tokenizer.stage import run_tokenizer
from tests.conftest import write_config
from tests.tokenizer.conftest import MMLU_FIELDS, SEAHELM, mmlu_texts

MODEL = {"architecture": {"model_type": "llama", "hidden_size": 32}}


def _corpus(run_dir: Path, km: list[str], vi: list[str]) -> None:
    """Corpus shards as the corpus stage writes them: train and validation, with a lang column."""
    for split, rows in (("train", [("km", t) for t in km[:-100]] + [("vi", t) for t in vi[:-20]]),
                        ("validation", [("km", t) for t in km[-100:]] + [("vi", t) for t in vi[-20:]])):
        writer = ShardWriter(run_dir / "corpus", split, shard_docs=10_000)
        for i, (lang, text) in enumerate(rows):
            writer.add({"id": f"{split}{i}", "text": text, "source": lang, "lang": lang})
        writer.close()


def _config(tmp_path: Path, tokenizer: dict, name: str) -> Path:
    return write_config(tmp_path / f"{name}.yaml", {"name": name, "output_dir": str(tmp_path / "runs"),
                                                     "tokenizer": tokenizer, "model": MODEL})


@pytest.mark.slow
def test_extend_mode_writes_tokenizer_new_tokens_and_report(tmp_path: Path, khmer_split, mistral_spm: Path) -> None:
    if not SEAHELM.is_dir():
        pytest.skip("no ../shared/data/seahelm")
    parallel = {"path": str(SEAHELM / "global_mmlu_lite_{lang}_test.jsonl"), "langs": ["en", "vi"],
                "text_fields": MMLU_FIELDS}
    cfg = load_config(_config(tmp_path, {
        "mode": "extend", "base": str(mistral_spm), "max_new_pieces": 600, "vocab_size": 800, "lang_alpha": 0.5,
        "embedding_init": "focus", "special_tokens": ["<|im_start|>"],
        "report": {"max_docs": 50, "parallel": parallel}}, "ext"))
    _corpus(cfg.run_dir, khmer_split["train"][:2000], mmlu_texts("vi", "dev"))
    report = run_tokenizer(cfg)

    tok = AutoTokenizer.from_pretrained(cfg.run_dir / "tokenizer")
    record = json.loads((cfg.run_dir / "tokenizer" / "new_tokens.json").read_text(encoding="utf-8"))
    assert record["kind"] == "sentencepiece" and record["base_vocab_size"] == 32_000
    pieces, specials = record["tokens"][:-1], record["tokens"][-1:]
    assert record["vocab_size"] == len(tok) and 0 < len(pieces) <= 600 and record["init"] == "focus"
    assert [t["id"] for t in record["tokens"]] == list(range(32_000, len(tok)))
    assert specials[0]["special"] and specials[0]["id"] == tok.convert_tokens_to_ids("<|im_start|>") == len(tok) - 1
    assert tok.decode(specials[0]["base_ids"]) == "<|im_start|>"  # its spelling in the base's own tokens
    assert record["focus_weighted"] > 0 and all(max(t["base_ids"]) < 32_000 for t in record["tokens"])
    assert (cfg.run_dir / "tokenizer_scratch" / "tokenizer.json").is_file()

    assert set(report["tokenizers"]) == {"base", "extended", "scratch"}
    km = report["compare"]["validation"]["km"]
    assert km["extended"]["tokens_per_char"] < km["base"]["tokens_per_char"] / 2  # 600 pieces: 1.27 -> 0.55
    assert report["validation"]["km"] == km["extended"]  # the run's own tokenizer, as the model card reads it
    assert report["tokenizer"]["vocab_size"] == len(tok)
    par = report["compare"]["parallel"]
    assert par["en"]["extended"] == par["en"]["base"]  # English unchanged
    langs = report["languages"]  # alpha 0.5 moves the two languages' shares toward each other
    assert abs(langs["km"]["target_share"] - 0.5) < abs(langs["km"]["share"] - 0.5)
    for suffix in ("json", "md", "png"):
        assert (cfg.run_dir / f"tokenizer_report.{suffix}").is_file()
    stages = json.loads((cfg.run_dir / "manifest.json").read_text())["stages"]
    assert stages[-1]["stage"] == "tokenizer"


def test_scratch_mode_is_the_default(tmp_path: Path, khmer_split) -> None:
    path = _config(tmp_path, {"vocab_size": 600, "special_tokens": ["<|im_start|>"],
                              "script_coverage": {"Khmr": 1.0}}, "scr")
    cfg = load_config(path)
    _corpus(cfg.run_dir, khmer_split["train"][:2000], [])
    assert main(["tokenizer", "--config", str(path)]) == 0
    tok = AutoTokenizer.from_pretrained(cfg.run_dir / "tokenizer")
    assert len(tok) == 600 and tok.convert_tokens_to_ids("<|im_start|>") == 4
    assert not (cfg.run_dir / "tokenizer" / "new_tokens.json").exists()
    report = json.loads((cfg.run_dir / "tokenizer_report.json").read_text())
    assert report["tokenizer"]["type"] == "sentencepiece" and set(report["tokenizers"]) == {"scratch"}
    # every Khmer character of the corpus is a piece, however rare: no byte fallback on Khmer letters
    assert report["validation"]["km"]["byte_fallback_rate"] < 0.001


@pytest.mark.parametrize("tokenizer, message", [
    ({"mode": "extend"}, "'base' is required"),
    ({"script_coverage": {"Khmer": 1.0}}, "unknown script 'Khmer'"),
    ({"special_tokens": ["<x>"], "user_defined_symbols": ["<x>"]}, "both"),
    ({"report": {"parallel": {"path": "p.jsonl"}}}, "'{lang}'"),
    ({"report": {"parallel": [{"name": "p", "path": "p_{lang}.txt"}, {"name": "p", "path": "q_{lang}.txt"}]}},
     r"set names must be unique \(p repeated\)"),
    ({"report": {"parallel": [{"name": "p", "format": "text", "path": "p.txt"}]}}, r"parallel\[0\]: 'path' must contain"),
    ({"report": {"parallel": {"format": "hf"}}}, "format 'hf' needs a 'dataset'"),
    ({"lang_alpha": 2}, "tokenizer.lang_alpha"),
])
def test_config_errors_name_the_key(tmp_path: Path, tokenizer: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        load_config(_config(tmp_path, tokenizer, "bad"))
    assert "tokenizer" in str(e.value) and "bad.yaml" in str(e.value)


def test_missing_base_names_the_key(tmp_path: Path, khmer_split) -> None:
    cfg = load_config(_config(tmp_path, {"mode": "extend", "base": str(tmp_path / "nope.model")}, "nobase"))
    _corpus(cfg.run_dir, khmer_split["train"][:200], [])
    with pytest.raises(FileNotFoundError, match="tokenizer.base"):
        run_tokenizer(cfg)
