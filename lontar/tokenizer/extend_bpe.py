"""Extend a BPE tokenizer: byte-level (Qwen2, Llama-3, GPT-2 style `tokenizer.json`; Mistral Tekken) or
Metaspace-style over characters with byte fallback (Gemma 3's `tokenizer.json`).

New tokens must be reached by the BPE merges themselves, not matched as added tokens. So BPE
training is *continued* from the base's own segmentation: the target text is pre-tokenized and
encoded by the base, each base token becomes one symbol, and the most frequent adjacent pairs are
merged as usual (`tokenizers`' BpeTrainer over stand-in characters, so it runs in Rust). Each new
merge joins two tokens the base (or an earlier new merge) actually produces, and is appended after
every base merge: existing merges keep priority, so a text the new merges never touch tokenizes
exactly as before, and new ids follow all existing ones.

A new token must contain a non-ASCII byte unless `allow_ascii` is set (ASCII-only merges learned
from Khmer pages, `http` say, would re-segment English); merges that build on a dropped one go too.
In a Metaspace-style base `▁` stands for a space (ASCII), and byte-fallback pieces (`<0xE1>`) are
never merged: they are bytes of a character the base lacks, and a merge of their names is no text.

Tekken files (mistral-common's format: base64 token bytes ranked, no merge list; the rank of the
concatenation decides every merge, tiktoken style) are extended in their own format: new tokens get
the next ranks, the unused tail beyond `default_vocab_size` is dropped, and `default_vocab_size` grows,
so `mistral_common` loads the result and transformers converts it to a fast tokenizer.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenizers import Tokenizer, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers.convert_slow_tokenizer import bytes_to_unicode
from lontar.errors import InvalidInput

_BYTE_DECODER = {ch: b for b, ch in bytes_to_unicode().items()}
_PRIVATE = (0xF0000, 0x100000)  # supplementary private use planes: stand-ins for base tokens
_PLANE = 0xFFFE


@dataclass
class BpeExtension:
    merges: list[tuple[str, str]]  # byte-level strings, in priority order
    new_tokens: list[str]  # byte-level strings, in new-id order
    stats: dict[str, int] = field(default_factory=dict)


def token_bytes(token: str) -> bytes:
    """The bytes of a byte-level token string (`Ġ` is a space)."""
    return bytes(_BYTE_DECODER[ch] for ch in token)


def byte_level_string(data: bytes) -> str:
    enc = bytes_to_unicode()
    return "".join(enc[b] for b in data)


def is_byte_level(tokenizer_json: dict[str, Any]) -> bool:
    """Whether a `tokenizer.json` is a byte-level BPE (a ByteLevel pre-tokenizer or decoder)."""
    def has(node: Any) -> bool:
        if isinstance(node, dict):
            return node.get("type") == "ByteLevel" or any(has(v) for v in node.values())
        if isinstance(node, list):
            return any(has(v) for v in node)
        return False

    model = tokenizer_json.get("model") or {}
    return model.get("type") == "BPE" and (has(tokenizer_json.get("pre_tokenizer")) or has(tokenizer_json.get("decoder")))


def bpe_kind(tokenizer_json: dict[str, Any]) -> str | None:
    """"bpe" (byte-level), "metaspace" (characters, `▁` for spaces, usually byte fallback) or None (not BPE)."""
    if (tokenizer_json.get("model") or {}).get("type") != "BPE":
        return None
    return "bpe" if is_byte_level(tokenizer_json) else "metaspace"


_METASPACE = "\u2581"
_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


def _non_ascii(token: str, byte_level: bool = True) -> bool:
    if byte_level:
        return any(_BYTE_DECODER[ch] > 127 for ch in token)
    return any(ord(ch) > 127 and ch != _METASPACE for ch in token)


def _runs(pieces: list[str], byte_level: bool) -> list[list[str]]:
    """The stretches of a word BPE may merge: all of it, or (Metaspace) the parts between byte-fallback pieces."""
    if byte_level:
        return [pieces]
    out: list[list[str]] = [[]]
    for piece in pieces:
        if _BYTE_PIECE.match(piece):
            out.append([])
        else:
            out[-1].append(piece)
    return out


def _stand_in(i: int) -> str:
    plane, offset = divmod(i, _PLANE)
    if plane >= len(_PRIVATE):
        raise InvalidInput(f"more than {_PLANE * len(_PRIVATE)} distinct base tokens in the target text")
    return chr(_PRIVATE[plane] + offset)


def word_counts(base: Tokenizer, lines: Iterable[str], allow_ascii: bool = False,
                byte_level: bool = True) -> Counter[str]:
    """Pre-tokens of `lines` as the base splits them (in the base's own spelling), with their counts."""
    counts: Counter[str] = Counter()
    normalizer, pre = base.normalizer, base.pre_tokenizer
    for line in lines:
        text = normalizer.normalize_str(line) if normalizer is not None else line
        words = [w for w, _ in pre.pre_tokenize_str(text)] if pre is not None else [text]
        counts.update(w for w in words if allow_ascii or _non_ascii(w, byte_level))
    return counts


def continue_bpe(
    base: Tokenizer,
    lines: Iterable[str],
    max_new: int,
    *,
    allow_ascii: bool = False,
    min_frequency: int = 2,
    byte_level: bool = True,
) -> BpeExtension:
    """Learn up to `max_new` new tokens on `lines`, continuing the base's BPE (see module docstring).

    `byte_level`: False for a Metaspace-style base (tokens are characters, `▁` a space)."""
    vocab = base.get_vocab(with_added_tokens=True)
    counts = word_counts(base, lines, allow_ascii, byte_level)
    symbol: dict[str, str] = {}
    names: list[str] = []
    words: list[tuple[str, int]] = []
    for word, n in counts.items():
        for pieces in _runs([t.value for t in base.model.tokenize(word)], byte_level):
            if len(pieces) < 2:
                continue
            for piece in pieces:
                if piece not in symbol:
                    symbol[piece] = _stand_in(len(names))
                    names.append(piece)
            words.append(("".join(symbol[p] for p in pieces), n))
    stats = dict.fromkeys(("words", "learned_merges", "ascii_only", "already_in_base", "duplicates", "added"), 0)
    stats["words"] = len(words)
    if not words:
        return BpeExtension([], [], stats)
    index = {ch: name for name, ch in symbol.items()}
    # Some merges will be dropped by the filters below: ask for a margin more.
    trainer = trainers.BpeTrainer(
        vocab_size=len(names) + max_new + max_new // 4 + 64, min_frequency=min_frequency, show_progress=False,
        initial_alphabet=list(symbol.values()), limit_alphabet=len(names), special_tokens=[])
    learner = Tokenizer(BPE())
    learner.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    learner.train_from_iterator((" ".join([w] * n) for w, n in words), trainer, length=len(words))
    learned = json.loads(learner.to_str())["model"]["merges"]
    stats["learned_merges"] = len(learned)

    def spelled(stand_ins: str) -> str:
        return "".join(index[ch] for ch in stand_ins)

    known = set(vocab)
    merges: list[tuple[str, str]] = []
    new_tokens: list[str] = []
    for pair in learned:
        left, right = pair.split(" ", 1) if isinstance(pair, str) else pair
        a, b = spelled(left), spelled(right)
        if a not in known or b not in known:
            continue  # built on a dropped merge
        token = a + b
        if not allow_ascii and not _non_ascii(token, byte_level):
            stats["ascii_only"] += 1
            continue
        if token in vocab:
            stats["already_in_base"] += 1  # the base has it but never builds it from these two:
            merges.append((a, b))  # now it does (no new id; tiktoken-style bases never get here)
            continue
        if token in known:
            stats["duplicates"] += 1  # the same bytes reached by another split: one token
            merges.append((a, b))
            continue
        if len(new_tokens) >= max_new:
            break
        merges.append((a, b))
        new_tokens.append(token)
        known.add(token)
    stats["added"] = len(new_tokens)
    return BpeExtension(merges, new_tokens, stats)


def extend_tokenizer_json(data: dict[str, Any], ext: BpeExtension,
                          special_tokens: Sequence[str] = ()) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """A copy of a `tokenizer.json` dict with `ext`'s vocabulary and merges appended.

    New ids start after the largest existing id (added tokens included), so nothing moves. Returns
    the new dict and the (id, token) pairs added to the BPE vocabulary. A merge never builds an
    added token's name, so listing it in the model vocabulary changes no segmentation.
    """
    data = json.loads(json.dumps(data))
    model = data["model"]
    vocab: dict[str, int] = model["vocab"]
    added = data.get("added_tokens") or []
    # Added tokens join the model vocabulary under their ids: `tokenizers` gives an added token that
    # is not in it the id len(vocab) on loading, which after a gap would land on a new token.
    for t in added:
        vocab.setdefault(t["content"], t["id"])
    next_id = max(vocab.values(), default=-1) + 1
    new: list[tuple[int, str]] = []
    for token in ext.new_tokens:
        vocab[token] = next_id
        new.append((next_id, token))
        next_id += 1
    string_merges = bool(model["merges"]) and isinstance(model["merges"][0], str)
    model["merges"].extend(f"{a} {b}" if string_merges else [a, b] for a, b in ext.merges)
    present = {t["content"] for t in added}
    for token in special_tokens:
        if token in present:
            continue
        added.append({"id": next_id, "content": token, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
        next_id += 1
    data["added_tokens"] = added
    return data, new


def extend_tekken(raw: dict[str, Any], ext: BpeExtension,
                  special_tokens: Sequence[str] = ()) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """A copy of a tekken json with `ext`'s tokens ranked after the used vocabulary.

    Ids are rank + the number of special tokens, as in mistral-common. `special_tokens` take the
    first free `<SPECIAL_n>` filler slots (the file then lists its special tokens explicitly).
    """
    raw = json.loads(json.dumps(raw))
    config = raw["config"]
    n_special = config["default_num_special_tokens"]
    inner = config["default_vocab_size"] - n_special
    vocab = raw["vocab"][:inner]
    new: list[tuple[int, str]] = []
    for token in ext.new_tokens:
        data = token_bytes(token)
        try:
            text: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        vocab.append({"rank": len(vocab), "token_bytes": base64.b64encode(data).decode("ascii"), "token_str": text})
        new.append((len(vocab) - 1 + n_special, token))
    raw["vocab"] = vocab
    config["num_vocab_tokens"] = len(vocab)
    config["default_vocab_size"] = len(vocab) + n_special
    if special_tokens:
        raw["special_tokens"] = _with_specials(raw, list(special_tokens), n_special)
    return raw, new


def _with_specials(raw: dict[str, Any], extra: list[str], n_special: int) -> list[dict[str, Any]]:
    listed = raw.get("special_tokens")
    if listed is None:
        from mistral_common.tokens.tokenizers.tekken import Tekkenizer

        listed = [dict(t, token_str=str(getattr(t["token_str"], "value", t["token_str"])))
                  for t in Tekkenizer.DEPRECATED_SPECIAL_TOKENS]
    listed = [dict(t) for t in listed]
    present = {t["token_str"] for t in listed}
    for token in extra:
        if token in present:
            continue
        if len(listed) >= n_special:
            raise InvalidInput(f"no free special-token slot for {token!r} (all {n_special} are used)")
        listed.append({"rank": len(listed), "token_str": token, "is_control": True})
        present.add(token)
    return listed


def tekken_to_tokenizer(path: str) -> Tokenizer:
    """A tekken json as a `tokenizers` byte-level BPE, with ids as in mistral-common (transformers' converter)."""
    try:
        from transformers.integrations.mistral.tokenizer import MistralConverter
        return MistralConverter(path).converted()
    except ImportError as e:
        raise ImportError(f"reading {path} needs mistral-common: pip install mistral-common ({e})") from None
