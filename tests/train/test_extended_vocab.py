"""A pretrained base with an extended tokenizer: resized embeddings, new rows from base rows, only those rows trained.

The base is a tiny llama saved in the hub layout with its own SentencePiece tokenizer (English); the
tokenizer stage extends that tokenizer with Khmer pieces, as it would Mistral's or Llama-2's.
"""

from __future__ import annotations

import json

import pytest
import torch
from peft import PeftModel, get_peft_model
from safetensors import safe_open
from transformers import AutoConfig, AutoModelForCausalLM

from lontar.config import load_config
from lontar.corpus.shards import ShardWriter
from lontar.tokenizer.spm import train_sentencepiece
from lontar.tokenizer.stage import run_tokenizer
from lontar.train.lora import adapter_save_kwargs, run_lora_config, trainable_token_indices
from lontar.train.model import load_base_model, load_tokenizer
from tests.conftest import write_config

ENGLISH = ["The quick brown fox jumps over the lazy dog.", "A tokenizer splits text into pieces.",
           "Models learn from many documents written by people."] * 40


def _base(tmp_path, tied: bool):
    path = tmp_path / f"hub-{tied}"
    tok = train_sentencepiece(ENGLISH, path, vocab_size=300, model_type="bpe")
    config = AutoConfig.for_model("llama", vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                  num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                  tie_word_embeddings=tied, eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(path)
    return path


def _run(tmp_path, khmer: list[str], tied: bool, **lora):
    base = _base(tmp_path, tied)
    cfg = load_config(write_config(tmp_path / f"c{tied}.yaml", {
        "name": f"ext{tied}", "output_dir": str(tmp_path / "runs"),
        "tokenizer": {"mode": "extend", "base": str(base), "max_new_pieces": 200, "report": {"scratch": False}},
        "model": {"name_or_path": str(base), "tokenizer": "run", "dtype": "float32"},
        "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"], **lora},
    }))
    for split, texts in (("train", khmer[:1500]), ("validation", khmer[1500:1600])):
        writer = ShardWriter(cfg.run_dir / "corpus", split, 10_000)
        for i, text in enumerate(texts):
            writer.add({"id": str(i), "text": text, "source": "km", "lang": "km"})
        writer.close()
    run_tokenizer(cfg)
    return cfg, base


@pytest.fixture(scope="module")
def khmer() -> list[str]:
    from tests.conftest import has_rdlab

    if not has_rdlab():
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    from lontar.corpus.sources import rdlab_path, read_rdlab

    return read_rdlab(rdlab_path())[:1600]


@pytest.mark.parametrize("tied", [False, True])
def test_new_rows_start_from_base_rows_and_only_they_train(tmp_path, khmer, tied: bool) -> None:
    cfg, base_dir = _run(tmp_path, khmer, tied)
    record = json.loads((cfg.run_dir / "tokenizer" / "new_tokens.json").read_text(encoding="utf-8"))
    new_ids = [t["id"] for t in record["tokens"]]
    assert len(new_ids) == 200 and new_ids[0] == record["base_vocab_size"]

    tokenizer = load_tokenizer(cfg)
    model = load_base_model(cfg, tokenizer)
    original = AutoModelForCausalLM.from_pretrained(base_dir)
    emb, orig = model.get_input_embeddings().weight, original.get_input_embeddings().weight
    assert emb.shape[0] == len(tokenizer) == record["vocab_size"]
    assert torch.equal(emb[: orig.shape[0]], orig)
    for t in record["tokens"][:20]:
        assert torch.allclose(emb[t["id"]], orig[t["base_ids"]].mean(0), atol=1e-6)
    if not tied:
        out, orig_out = model.get_output_embeddings().weight, original.get_output_embeddings().weight
        assert torch.allclose(out[new_ids[0]], orig_out[record["tokens"][0]["base_ids"]].mean(0), atol=1e-6)

    peft_config = run_lora_config(cfg, model)
    assert peft_config.trainable_token_indices == ({"embed_tokens": new_ids} if tied else
                                                   {"embed_tokens": new_ids, "lm_head": new_ids})
    model = get_peft_model(model, peft_config)
    before = model.get_input_embeddings().weight.detach().clone()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    batch = torch.tensor([tokenizer(khmer[0])["input_ids"][:32]])
    assert any(i >= new_ids[0] for i in batch[0].tolist())
    model(input_ids=batch, labels=batch).loss.backward()
    opt.step()
    # the adapter holds exactly the new rows
    out_dir = tmp_path / "adapter"
    assert adapter_save_kwargs(model) == {"save_embedding_layers": False}
    model.save_pretrained(out_dir, **adapter_save_kwargs(model))
    with safe_open(str(out_dir / "adapter_model.safetensors"), "pt") as f:
        shapes = {k: tuple(f.get_tensor(k).shape) for k in f.keys()}
    token_keys = [k for k in shapes if "trainable_tokens" in k]
    assert token_keys and all(shapes[k] == (200, 32) for k in token_keys)
    assert len(token_keys) == (1 if tied else 2)
    assert not any(shape[0] == len(tokenizer) for shape in shapes.values())  # no full embedding matrix
    # reloading onto a fresh base (resized and initialised the same way) gives the trained model
    model.eval()
    with torch.no_grad():
        expected = model(input_ids=batch).logits
    reloaded = PeftModel.from_pretrained(load_base_model(cfg, tokenizer), str(out_dir)).eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(input_ids=batch).logits, expected, atol=1e-5)
    merged = reloaded.merge_and_unload()
    weight = merged.get_input_embeddings().weight
    assert torch.equal(weight[: new_ids[0]], before[: new_ids[0]])  # old rows untouched
    assert not torch.allclose(weight[new_ids], before[new_ids])  # new rows trained


def test_embeddings_in_modules_to_save_are_trained_whole(tmp_path, khmer) -> None:
    cfg, _ = _run(tmp_path, khmer, tied=False, modules_to_save=["embed_tokens"])
    model = load_base_model(cfg, load_tokenizer(cfg))
    ids = [1, 2]
    assert trainable_token_indices(model, ids, ["embed_tokens"]) == {"lm_head": ids}
    assert run_lora_config(cfg, model).trainable_token_indices["lm_head"][0] == 300


def test_a_tokenizer_extended_from_another_base_is_refused(tmp_path, khmer) -> None:
    cfg, _ = _run(tmp_path, khmer, tied=False)
    small = _base(tmp_path / "other", tied=False)
    config = json.loads((small / "config.json").read_text())
    (small / "config.json").write_text(json.dumps({**config, "vocab_size": 100}))
    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(small)).save_pretrained(small)
    other = cfg.model_copy(update={"model": cfg.model.model_copy(update={"name_or_path": str(small)})})
    with pytest.raises(ValueError, match="must extend the model's own tokenizer"):
        load_base_model(other, load_tokenizer(other))
