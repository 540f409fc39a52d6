"""Extending byte-level BPE bases: Mistral's Tekken (real, from mistral-common) and a Qwen2-style tokenizer.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from lontar.tokenizer.base import resolve_base
from lontar.tokenizer.extend import TEKKEN_FILE, extend_base
from lontar.tokenizer.extend_bpe import continue_bpe, token_bytes
from tests.tokenizer.conftest import MMLU_LANGS, mmlu_texts

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _tokens_per_char(tok, texts: list[str]) -> float:
    return sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts) / sum(map(len, texts))


@pytest.fixture(scope="module")
def tekken(tekken_file: Path, khmer_split, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("tekken_km")
    ext = extend_base(resolve_base(str(tekken_file)), lambda: iter(khmer_split["train"][:4000]), out,
                      max_new=3000, special_tokens=["<|lontar|>"], chat_template="unused", explicit_template=True)
    return ext, out


def test_tekken_extension_cuts_khmer_tokens_and_keeps_english(tekken, tekken_file, khmer_split) -> None:
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    ext, out = tekken
    base, extended = Tekkenizer.from_file(tekken_file), Tekkenizer.from_file(out / TEKKEN_FILE)
    assert extended.n_words == base.n_words + 3000 == len(ext.tokenizer)
    assert [i for i, _ in ext.new_tokens] == list(range(131_072, 131_072 + 3000))

    def per_char(tk, texts):
        return sum(len(tk.encode(t, bos=False, eos=False)) for t in texts) / sum(map(len, texts))

    heldout = khmer_split["heldout"][:1000]
    before, after = per_char(base, heldout), per_char(extended, heldout)
    assert before / after > 4, (before, after)  # measured: 2.87 -> 0.30 tokens/char
    english = mmlu_texts("en")
    assert [extended.encode(t, bos=False, eos=False) for t in english] == [base.encode(t, bos=False, eos=False) for t in english]
    # mistral-common (tiktoken ranks) and the HF conversion agree on every id
    hf = ext.tokenizer
    for text in heldout[:300] + english[:100]:
        assert hf(text, add_special_tokens=False)["input_ids"] == extended.encode(text, bos=False, eos=False)


def test_tekken_new_tokens_come_from_merges_not_added_tokens(tekken) -> None:
    ext, out = tekken
    data = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    added = {t["content"] for t in data["added_tokens"]}
    assert not added & {tok for _, tok in ext.new_tokens}
    assert "<|lontar|>" in added and ext.tokenizer.convert_tokens_to_ids("<|lontar|>") == 20  # first free slot
    assert ext.specials == [(20, "<|lontar|>")]  # recorded: its (filler) row gets initialised and trained
    raw = json.loads((out / TEKKEN_FILE).read_text(encoding="utf-8"))
    assert raw["config"]["default_vocab_size"] == 131_072 + 3000 == raw["config"]["num_vocab_tokens"] + 1000
    assert ext.tokenizer.chat_template == "unused"  # set explicitly (else mistral-common's own template)


def test_tekken_roundtrip_in_every_language(tekken, khmer_split) -> None:
    tok = tekken[0].tokenizer
    texts = khmer_split["heldout"][:200] + ["ខ្ញុំ\u200bស្រឡាញ់\u200bភាសា\u200bខ្មែរ\u200c"]
    for lang in MMLU_LANGS:
        texts += mmlu_texts(lang)[:40]
    for text in texts:
        assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


@pytest.fixture(scope="module")
def qwen_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Qwen2-style tokenizer folder: NFC, the Qwen2 split regex, byte-level BPE, specials after the vocab."""
    tok = Tokenizer(BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(mmlu_texts("en") + mmlu_texts("vi"), trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIALS])
    out = tmp_path_factory.mktemp("qwen_like")
    PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                            chat_template="{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}"
                            ).save_pretrained(out)
    config = json.loads((out / "tokenizer_config.json").read_text())
    (out / "tokenizer_config.json").write_text(json.dumps({**config, "tokenizer_class": "Qwen2Tokenizer"}))
    return out


def test_bpe_tokenizer_json_extension(qwen_like: Path, khmer_split, tmp_path: Path) -> None:
    base = resolve_base(str(qwen_like))
    assert base.kind == "bpe"
    ext = extend_base(base, lambda: iter(khmer_split["train"][:5000]), tmp_path, max_new=1000,
                      chat_template="ignored: the base has its own")
    base_tok = AutoTokenizer.from_pretrained(qwen_like)
    tok = ext.tokenizer
    # every existing id, special tokens included, is unchanged; new ids follow them
    assert {k: v for k, v in tok.get_vocab().items() if k in base_tok.get_vocab()} == base_tok.get_vocab()
    assert [i for i, _ in ext.new_tokens] == list(range(len(base_tok), len(base_tok) + 1000))
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert tok.chat_template == base_tok.chat_template
    # new tokens are reached by the merges: each new token encodes to itself
    data = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert len(data["model"]["merges"]) == len(json.loads(base_tok.backend_tokenizer.to_str())["model"]["merges"]) + 1000
    backend = tok.backend_tokenizer
    whole = [t for _, t in ext.new_tokens if _decodable(t)]
    assert whole and all(backend.encode(token_bytes(t).decode("utf-8"), add_special_tokens=False).ids
                         == [tok.convert_tokens_to_ids(t)] for t in whole[:200])
    heldout = khmer_split["heldout"][:500]
    assert _tokens_per_char(tok, heldout) < _tokens_per_char(base_tok, heldout) / 3
    # ASCII English is untouched (this small base lacks some non-ASCII punctuation that Khmer text teaches it)
    english = [t for t in mmlu_texts("en", "dev") if t.isascii()]
    assert len(english) > 150
    assert [tok(t)["input_ids"] for t in english] == [base_tok(t)["input_ids"] for t in english]
    for text in heldout[:200] + mmlu_texts("vi")[:50] + ["<|im_start|>ខ្មែរ<|im_end|>"]:
        assert tok.decode(tok(text)["input_ids"]) == text


def _decodable(token: str) -> bool:
    try:
        token_bytes(token).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_ascii_merges_are_dropped_unless_allowed(qwen_like: Path) -> None:
    backend = Tokenizer.from_file(str(qwen_like / "tokenizer.json"))
    lines = ["ក lontarword lontarword ខ"] * 50 + ["lontarword ក"] * 50
    assert all(not tok.isascii() for tok in (token_bytes(t).decode("utf-8", "replace")
                                              for t in continue_bpe(backend, lines, 50).new_tokens))
    allowed = continue_bpe(backend, lines, 50, allow_ascii=True).new_tokens
    assert any(token_bytes(t) == b" lontarword" for t in allowed)


def test_hub_base_is_fetched_file_by_file(qwen_like: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub id resolves through hf_hub_download (here served from a local folder in the hub layout)."""
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    asked = []

    def fake_download(repo_id: str, filename: str, revision: str | None = None) -> str:
        asked.append((repo_id, filename, revision))
        if not (qwen_like / filename).is_file():
            raise EntryNotFoundError(f"{filename} not in {repo_id}")
        return str(qwen_like / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    base = resolve_base("Qwen/Qwen2.5-1.5B", revision="main")
    assert (base.kind, base.path.name, base.folder, base.label) == ("bpe", "tokenizer.json", qwen_like, "Qwen/Qwen2.5-1.5B")
    assert ("Qwen/Qwen2.5-1.5B", "tokenizer_config.json", "main") in asked
    assert base.chat_template() and base.backend().get_vocab_size() == len(AutoTokenizer.from_pretrained(qwen_like))

    def offline(repo_id: str, filename: str, revision: str | None = None) -> str:
        raise LocalEntryNotFoundError("offline and not in the cache")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(FileNotFoundError, match="tokenizer.base: cannot fetch"):
        resolve_base("Qwen/Qwen2.5-1.5B")
    with pytest.raises(FileNotFoundError, match="tokenizer.base: no such file"):
        resolve_base("./missing/tokenizer.model")
