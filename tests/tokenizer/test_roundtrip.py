"""decode(encode(x)) == x for every language's text after normalization, Khmer zero-width characters included.

The extended tokenizers are checked in test_extend_spm.py and test_extend_bpe.py; this covers the
from-scratch SentencePiece tokenizer (unigram and BPE) trained on a multilingual sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from lontar.langs import normalizer_for
from lontar.tokenizer.spm import train_sentencepiece
from tests.tokenizer.conftest import MMLU_LANGS, mmlu_texts

KHMER_ZERO_WIDTH = ["ខ្ញុំ\u200bស្រឡាញ់\u200bភាសា\u200bខ្មែរ", "ក\u200c\u200dខ ខែ្មរ", "\ufeffព្រះ\u2060រាជាណាចក្រ"]


@pytest.fixture(scope="module")
def texts(khmer_split) -> dict[str, list[str]]:
    out = {lang: mmlu_texts(lang)[:60] for lang in MMLU_LANGS}
    km = normalizer_for("km")
    out["km"] = [km(t) for t in khmer_split["heldout"][:200] + KHMER_ZERO_WIDTH]
    return out


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_scratch_roundtrip_every_language(tmp_path: Path, texts, khmer_split, model_type: str) -> None:
    train = khmer_split["train"][:1000] + [t for lang in MMLU_LANGS for t in mmlu_texts(lang, "dev")[:120]]
    # Han would take the whole vocabulary at 0.9999; the small scripts keep every character.
    train_sentencepiece(train, tmp_path, vocab_size=2000, model_type=model_type, character_coverage=0.99,
                        script_coverage={"Khmr": 1.0, "Mymr": 1.0, "Latn": 1.0})
    tok = AutoTokenizer.from_pretrained(tmp_path)
    pieces = set(tok.get_vocab())
    assert all(ch in pieces for t in khmer_split["train"][:1000] for ch in t if "\u1780" <= ch <= "\u17ff")
    assert "\u200b" in texts["km"][-3]  # the normalizer keeps ZWSP (a word separator) and drops the others
    for lang, items in texts.items():
        for text in items:
            assert tok.decode(tok(text)["input_ids"]) == text, (lang, text)
