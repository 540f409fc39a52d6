"""SentencePiece training + HF export: id parity, lossless round trip, specials, chat template.

Trains on ~5,000 real Khmer sentences from rdlab_dataset (skipped if it is not installed).
"""

from __future__ import annotations

import importlib.metadata
import json
import pickle
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sentencepiece as spm
from transformers import AutoTokenizer

from lontar.tokenizer.spm import train_sentencepiece

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CHAT_SYMBOLS = ("<|im_start|>", "<|im_end|>")
RARE = "😀 𠀋"  # emoji + rare CJK Extension B char: absent from any small Khmer vocab


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickler for plain data (list of str): refuses to import anything, so no code can run."""

    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _load_khmer_sentences() -> list[str]:
    try:
        dist = importlib.metadata.distribution("rdlab_dataset")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("rdlab_dataset is not installed: no real Khmer text to train on")
    path = Path(str(dist.locate_file("rdlab_dataset/data/wild_khmer_sentences.pkl")))
    if not path.is_file():
        pytest.skip(f"rdlab_dataset has no Khmer sentence file at {path}")
    with path.open("rb") as f:
        sentences = _DataOnlyUnpickler(f).load()
    assert isinstance(sentences, list) and all(isinstance(s, str) for s in sentences)
    return sentences


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    """5,000 training sentences and held-out text, incl. lines with digits, Latin, double spaces."""
    sentences = _load_khmer_sentences()
    rng = random.Random(0)
    rng.shuffle(sentences)
    train, rest = sentences[:5000], sentences[5000:]
    targeted = [
        next(s for s in rest if re.search(pattern, s))
        for pattern in (r"[0-9]", r"[០-៩]", r"[A-Za-z]", r"\S  \S", "\u200b", "។")
    ]
    documents = ["\n".join(rest[i : i + 5]) for i in range(200, 220, 5)]  # multi-line docs
    return {"train": train, "heldout": rest[:200] + targeted + documents}


@pytest.fixture(scope="module")
def unigram(corpus: dict[str, list[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("unigram")
    train_sentencepiece(
        corpus["train"], out, vocab_size=1000, chat_template=CHAT_TEMPLATE,
        user_defined_symbols=CHAT_SYMBOLS, model_max_length=1024,
    )
    return out


def _assert_parity(out: Path, texts: list[str], *, split_special_tokens: bool = False) -> None:
    """Reloaded HF ids == SentencePiece ids (no BOS/EOS added implicitly), and both decode back.

    `split_special_tokens=True` is needed for text that spells out `<s>` etc.: by default HF maps
    such literals to the control ids, SentencePiece never does.
    """
    sp = spm.SentencePieceProcessor(model_file=str(out / "tokenizer.model"))
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.is_fast
    for text in texts:
        ids = sp.encode(text)
        assert tok(text, split_special_tokens=split_special_tokens)["input_ids"] == ids, text
        assert tok.decode(ids) == text == sp.decode(ids)


def test_writes_sentencepiece_and_hf_files(unigram: Path) -> None:
    for name in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json"):
        assert (unigram / name).is_file(), name


def test_ids_match_sentencepiece_and_decode_is_lossless(
    unigram: Path, corpus: dict[str, list[str]]
) -> None:
    heldout = corpus["heldout"]
    assert sum(" " in s for s in heldout) > 50 and any("\n" in s for s in heldout)
    _assert_parity(unigram, heldout)


def test_byte_fallback_for_unseen_characters(unigram: Path) -> None:
    tok = AutoTokenizer.from_pretrained(unigram)
    text = f"ខ្ញុំ {RARE}!"
    ids = tok.encode(text)
    assert tok.unk_token_id not in ids
    assert "<0xF0>" in tok.convert_ids_to_tokens(ids)  # first byte of a 4-byte UTF-8 char
    # Literal piece names in raw text are text, not byte/control pieces.
    _assert_parity(unigram, [text, "<0x41> <0x0A>"])
    _assert_parity(unigram, ["a</s>b <s> <unk>"], split_special_tokens=True)


def test_special_tokens(unigram: Path) -> None:
    sp = spm.SentencePieceProcessor(model_file=str(unigram / "tokenizer.model"))
    tok = AutoTokenizer.from_pretrained(unigram)
    expected = {"unk": ("<unk>", 0), "bos": ("<s>", 1), "eos": ("</s>", 2), "pad": ("<pad>", 3)}
    for name, (token, token_id) in expected.items():
        assert getattr(tok, f"{name}_token") == token
        assert getattr(tok, f"{name}_token_id") == token_id
        assert sp.piece_to_id(token) == token_id
    assert (sp.bos_id(), sp.eos_id(), sp.unk_id(), sp.pad_id()) == (1, 2, 0, 3)
    assert tok.model_max_length == 1024
    ids = tok.encode("<s>ក</s>")  # control tokens spelled out in text: standard HF matching
    assert (ids[0], ids[-1]) == (1, 2)
    assert all(len(tok.encode(s)) == 1 for s in CHAT_SYMBOLS)


def test_chat_template(unigram: Path) -> None:
    config = json.loads((unigram / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config["chat_template"] == CHAT_TEMPLATE
    tok = AutoTokenizer.from_pretrained(unigram)
    messages = [
        {"role": "user", "content": "សួស្ដី"},
        {"role": "assistant", "content": "ជំរាបសួរ ។"},
    ]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == (
        "<s><|im_start|>user\nសួស្ដី<|im_end|>\n<|im_start|>assistant\nជំរាបសួរ ។<|im_end|>\n"
    )
    ids = tok.apply_chat_template(messages, tokenize=True, return_dict=False)
    assert ids[0] == tok.bos_token_id and ids.count(tok.convert_tokens_to_ids("<|im_end|>")) == 2
    assert tok.decode(ids) == text


def test_khmer_compresses_well(unigram: Path, corpus: dict[str, list[str]]) -> None:
    tok = AutoTokenizer.from_pretrained(unigram)
    text = "".join(corpus["heldout"])
    tokens_per_char = len(tok.encode(text)) / len(text)
    assert tokens_per_char < 0.6, tokens_per_char  # ~0.42 at vocab 1000; ~1.0 would be chars


def test_bpe_has_id_parity(corpus: dict[str, list[str]], tmp_path: Path) -> None:
    tok = train_sentencepiece(corpus["train"], tmp_path, vocab_size=1000, model_type="bpe")
    assert tok.bos_token_id == 1 and tok.pad_token_id == 3
    _assert_parity(tmp_path, corpus["heldout"] + [f"ខ {RARE}", "<0x41> <0x0A>"])
    _assert_parity(tmp_path, ["a</s>b <s> <unk>"], split_special_tokens=True)


def test_training_is_deterministic_across_processes(
    corpus: dict[str, list[str]], tmp_path: Path
) -> None:
    """Same input and seed, fresh interpreter, same model (sentencepiece's own sampling is not)."""
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(corpus["train"][:3000]), encoding="utf-8")
    train = (
        "import json, sys; from pathlib import Path; "
        "from lontar.tokenizer.spm import train_sentencepiece as t; "
        "t(json.loads(Path(sys.argv[1]).read_text(encoding='utf-8')), Path(sys.argv[2]), "
        "vocab_size=500, input_sentence_size=2000, seed=7)"
    )
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-c", train, sample, tmp_path / name], check=True)
    model_a, model_b = ((tmp_path / n / "tokenizer.model").read_bytes() for n in ("a", "b"))
    assert model_a == model_b


def test_rejects_unknown_model_type(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model_type"):
        train_sentencepiece(["ក"], tmp_path, model_type="word")
