"""New-token embeddings: mean of the base sub-token rows (input and output, tied or not), and the FOCUS-like weights."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from lontar.tokenizer.embed_init import (
    focus_sources, init_new_embeddings, mean_sources, read_new_tokens, sparsemax, write_new_tokens)
from lontar.tokenizer.extend_spm import extend, load_proto, train_like
from lontar.tokenizer.spm import to_fast_tokenizer


@pytest.fixture(scope="module")
def mistral_ext(mistral_spm: Path, khmer_split):
    base = load_proto(mistral_spm.read_bytes())
    ext = extend(base, train_like(base, khmer_split["train"][:3000], vocab_size=800), 500)
    return to_fast_tokenizer(base), to_fast_tokenizer(ext.proto), ext.new_pieces


def _piece_bytes(piece: str) -> bytes:
    m = re.fullmatch(r"<0x([0-9A-F]{2})>", piece)
    return bytes([int(m.group(1), 16)]) if m else piece.encode("utf-8")


def test_mean_sources_spell_each_new_token_with_base_tokens(mistral_ext) -> None:
    base, _, new = mistral_ext
    sources = mean_sources(base, new)
    assert [s["id"] for s in sources] == [i for i, _ in new]
    for s in sources:
        assert all(i < base.get_vocab_size() for i in s["base_ids"])
        assert b"".join(_piece_bytes(base.id_to_token(i)) for i in s["base_ids"]) == s["token"].encode("utf-8")
        assert sum(s["weights"]) == pytest.approx(1.0)
    assert any(len(s["base_ids"]) > 3 for s in sources)  # Khmer text costs Mistral several tokens


def test_sparsemax_is_a_sparse_distribution() -> None:
    w = sparsemax(np.array([3.0, 1.0, 0.2, -1.0]))
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all() and w[0] == w.max() and w[-1] == 0
    assert sparsemax(np.array([0.5, 0.5])) == pytest.approx([0.5, 0.5])


def test_focus_sources_weight_base_tokens_seen_in_context(mistral_ext, khmer_split) -> None:
    base, extended, new = mistral_ext
    mean = mean_sources(base, new)
    sequences = [e.ids for e in extended.encode_batch(khmer_split["train"][:3000], add_special_tokens=False)]
    sources, weighted = focus_sources(mean, sequences, extended.get_vocab_size(), base.get_vocab_size(),
                                      exclude=[0, 1, 2], dim=32)
    assert weighted > len(new) // 2
    for s, m in zip(sources, mean):
        assert s["id"] == m["id"]
        assert all(0 <= i < base.get_vocab_size() and i not in (0, 1, 2) for i in s["base_ids"]) or s == m
        assert sum(s["weights"]) == pytest.approx(1.0, abs=1e-6) and min(s["weights"]) > 0


@pytest.mark.parametrize("tied", [True, False])
def test_init_sets_input_and_output_rows(tied: bool) -> None:
    config = AutoConfig.for_model("llama", vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                  num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=tied)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.resize_token_embeddings(43, mean_resizing=False)
    before_in = model.get_input_embeddings().weight.detach().clone()
    before_out = model.get_output_embeddings().weight.detach().clone()
    tokens = [{"id": 40, "base_ids": [1, 2], "weights": [0.5, 0.5]},
              {"id": 41, "base_ids": [3], "weights": [1.0]},
              {"id": 42, "base_ids": [4, 5, 6], "weights": [0.2, 0.3, 0.5]}]
    init_new_embeddings(model, tokens)
    emb, out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    for layer, before in ((emb, before_in), (out, before_out)):
        assert torch.allclose(layer[40], before[[1, 2]].mean(0))
        assert torch.allclose(layer[41], before[3])
        assert torch.allclose(layer[42], 0.2 * before[4] + 0.3 * before[5] + 0.5 * before[6], atol=1e-6)
        assert torch.equal(layer[:40], before[:40])
    assert (emb.data_ptr() == out.data_ptr()) == tied
    with pytest.raises(ValueError, match="base tokens"):
        init_new_embeddings(model, [{"id": 41, "base_ids": [40], "weights": [1.0]}, {"id": 40, "base_ids": [1], "weights": [1.0]}])


def test_new_tokens_file_roundtrip(tmp_path: Path) -> None:
    record = {"base": "b", "base_vocab_size": 3, "vocab_size": 4,
              "tokens": [{"id": 3, "token": "ក", "base_ids": [1, 2], "weights": [0.5, 0.5]}]}
    write_new_tokens(tmp_path / "n.json", record)
    assert read_new_tokens(tmp_path / "n.json") == record
    (tmp_path / "bad.json").write_text('{"tokens": []}')
    with pytest.raises(ValueError, match="base_vocab_size"):
        read_new_tokens(tmp_path / "bad.json")
