"""A pretrained base loaded by name_or_path (a local folder in the hub layout) with its own tokenizer."""

import json

import pytest
from huggingface_hub import ModelCard
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from lontar.config import load_config
from lontar.corpus.build import build_corpus
from lontar.eval.stage import run_eval
from lontar.hub.stage import run_publish
from lontar.tokenizer.spm import train_sentencepiece
from lontar.train.model import load_tokenizer
from lontar.train.stage import run_train
from tests.conftest import write_config


@pytest.fixture
def pretrained_dir(tmp_path, khmer_sentences):
    path = tmp_path / "hub-snapshot"
    tok = train_sentencepiece(khmer_sentences[:3000], path, vocab_size=800)
    config = AutoConfig.for_model("llama", vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                  num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                  eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    AutoModelForCausalLM.from_config(config).save_pretrained(path)
    return path


def test_pretrained_base_trains_evaluates_and_publishes(tmp_path, pretrained_dir, khmer_sentences):
    text = tmp_path / "km.txt"
    text.write_text("\n".join(khmer_sentences[3000:4000]) + "\n", encoding="utf-8")
    cfg = load_config(write_config(tmp_path / "c.yaml", {
        "name": "pre", "output_dir": str(tmp_path / "runs"),
        "corpus": {"sources": [{"type": "text", "path": str(text), "lang": "km"}], "validation_fraction": 0.05},
        "model": {"name_or_path": str(pretrained_dir), "tokenizer": "base", "dtype": "float32",
                  "gradient_checkpointing": True},
        "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "train": {"block_size": 64, "micro_batch_size": 4, "max_steps": 3, "log_every": 1},
        "eval": {"max_docs": 20},
    }))
    build_corpus(cfg)
    result = run_train(cfg)
    assert [h["step"] for h in result["history"]] == [1, 2, 3]
    assert not (cfg.run_dir / "base_model").exists()  # nothing re-initialised
    adapter_conf = json.loads((cfg.run_dir / "adapter" / "adapter_config.json").read_text())
    assert adapter_conf["base_model_name_or_path"] == str(pretrained_dir)
    assert sorted(adapter_conf["target_modules"]) == ["q_proj", "v_proj"]
    results = run_eval(cfg)
    assert set(results["checkpoints"]) == {"base", "adapter"}
    folder = run_publish(cfg)
    assert not (folder / "base_model").exists()
    card = ModelCard.load(folder / "README.md")
    assert card.data.base_model is None  # a local folder is no hub id (model.hub_id unset) ...
    assert str(pretrained_dir) not in card.text and "hub id was not declared" in card.text  # ... and no machine path
    # the tokenizer the run used is the base folder's own, ids unchanged
    ids = AutoTokenizer.from_pretrained(pretrained_dir)(khmer_sentences[0])["input_ids"]
    assert load_tokenizer(cfg)(khmer_sentences[0])["input_ids"] == ids
