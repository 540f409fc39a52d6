import math

import pytest
import torch

from lontar.eval.bpb import IGNORE, bits_per_byte, rolling_windows


@pytest.mark.parametrize("n,max_length", [(1, 4), (7, 4), (9, 3), (20, 8), (5, 64)])
def test_rolling_windows_score_every_token_once_with_context(n, max_length):
    ids = list(range(100, 100 + n))
    windows = rolling_windows(ids, prefix_id=2, max_length=max_length)
    scored = [lab for _, labels in windows for lab in labels if lab != IGNORE]
    assert scored == ids
    full = [2, *ids]
    for inputs, labels in windows:
        assert len(inputs) == len(labels) <= max_length
        start = full.index(inputs[0]) if inputs[0] != 2 else 0
        assert labels == [lab if lab == IGNORE else full[start + i + 1] for i, lab in enumerate(labels)]


class _Uniform(torch.nn.Module):
    """A model that gives every token the same probability: its NLL is exactly log V per token."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab = vocab

    def forward(self, input_ids, attention_mask=None):
        return type("Out", (), {"logits": torch.zeros(*input_ids.shape, self.vocab)})()


class _Tok:
    eos_token_id, bos_token_id, pad_token_id = 2, 1, 3

    def __call__(self, texts, add_special_tokens=False, split_special_tokens=False, verbose=True):
        return {"input_ids": [[10 + (ord(c) % 50) for c in t] for t in texts]}


def test_bits_per_byte_of_uniform_model_is_exact():
    texts = ["ខ្មែរ", "abc", "ភាសាខ្មែរ " * 30]
    r = bits_per_byte(_Uniform(64), _Tok(), texts, max_length=16, batch_size=2, device="cpu")
    chars = sum(len(t) for t in texts)
    nbytes = sum(len(t.encode()) for t in texts)
    assert r["tokens"] == chars  # one token per char in the fake tokenizer
    assert r["bits_per_byte"] == pytest.approx(chars * math.log2(64) / nbytes)
    assert r["bits_per_char"] == pytest.approx(math.log2(64))
    assert r["nll_per_token"] == pytest.approx(math.log(64))


def test_bits_per_byte_independent_of_batching_and_window(khmer_sentences):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2)).eval()
    texts = khmer_sentences[:12]
    a = bits_per_byte(model, _Tok(), texts, max_length=512, batch_size=1, device="cpu")
    b = bits_per_byte(model, _Tok(), texts, max_length=512, batch_size=5, device="cpu")
    assert a["bits_per_byte"] == pytest.approx(b["bits_per_byte"], rel=1e-5)
    c = bits_per_byte(model, _Tok(), texts, max_length=8, batch_size=4, device="cpu")
    assert c["tokens"] == a["tokens"]  # same tokens scored, with less context
