"""Extend a base tokenizer of any supported kind and save it for `AutoTokenizer`.

SentencePiece bases go through `extend_spm` (a model trained like the base, pieces appended to its
ModelProto); BPE (byte-level, Metaspace-style) and Tekken bases through `extend_bpe` (BPE training
continued from the base's segmentation). The saved folder holds the HF files, plus the extended `tokenizer.model` or
`tekken_extended.json` that SentencePiece or mistral-common load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from lontar.tokenizer.base import BaseTokenizer
from lontar.tokenizer.extend_bpe import continue_bpe, extend_tekken, extend_tokenizer_json
from lontar.tokenizer.extend_spm import extend, load_proto, train_like
from lontar.tokenizer.spm import save_hf

TEKKEN_FILE = "tekken_extended.json"  # not "tekken.json": transformers would then load it via mistral-common


@dataclass
class Extended:
    tokenizer: PreTrainedTokenizerFast  # reloaded from the output folder
    base: Tokenizer  # the base, with its own ids
    base_vocab_size: int  # ids the base uses (0 .. n-1)
    new_tokens: list[tuple[int, str]]  # (id, token in the model's own spelling)
    stats: dict[str, int] = field(default_factory=dict)
    specials: list[tuple[int, str]] = field(default_factory=list)  # special tokens the base lacked


def _added_specials(ext: Extended, special_tokens: Sequence[str]) -> Extended:
    known = ext.base.get_vocab(with_added_tokens=True)
    ext.specials = [(ext.tokenizer.convert_tokens_to_ids(s), s) for s in special_tokens if s not in known]
    return ext


def extend_base(
    base: BaseTokenizer,
    lines: Callable[[], Iterable[str]],
    out_dir: Path,
    *,
    max_new: int,
    allow_ascii: bool = False,
    special_tokens: Sequence[str] = (),
    character_coverage: float = 1.0,
    script_coverage: Mapping[str, float] | None = None,
    chat_template: str | None = None,
    explicit_template: bool = False,
    model_max_length: int = 2048,
) -> Extended:
    """Learn up to `max_new` tokens on `lines()` and save the extended tokenizer into `out_dir`.

    The chat template is `chat_template` when `explicit_template`, else the base's own if it has
    one, else `chat_template`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = chat_template if explicit_template else (base.chat_template() or chat_template)
    backend = base.backend()
    base_size = max(backend.get_vocab(with_added_tokens=True).values()) + 1
    if base.kind == "sentencepiece":
        proto = load_proto(base.path.read_bytes())
        target = train_like(proto, lines(), vocab_size=max_new + max_new // 10 + 100,
                            character_coverage=character_coverage, script_coverage=script_coverage)
        ext = extend(proto, target, max_new, allow_ascii=allow_ascii, special_tokens=special_tokens)
        tokenizer = save_hf(ext.proto, out_dir, chat_template=template, model_max_length=model_max_length)
        return _added_specials(Extended(tokenizer, backend, base_size, ext.new_pieces, ext.stats), special_tokens)

    learned = continue_bpe(backend, lines(), max_new, allow_ascii=allow_ascii, byte_level=base.kind != "metaspace")
    if base.kind == "tekken":
        raw = json.loads(base.path.read_text(encoding="utf-8"))
        extended, new = extend_tekken(raw, learned, special_tokens)
        path = out_dir / TEKKEN_FILE
        path.write_text(json.dumps(extended, ensure_ascii=False), encoding="utf-8")
        tokenizer = _save_tekken_hf(path, out_dir, template if explicit_template else None, chat_template,
                                    model_max_length)
        return _added_specials(Extended(tokenizer, backend, base_size, new, learned.stats), special_tokens)

    data = json.loads(base.path.read_text(encoding="utf-8"))
    extended, new = extend_tokenizer_json(data, learned, special_tokens)
    tokenizer = _save_bpe_hf(base, extended, out_dir, template, model_max_length)
    return _added_specials(Extended(tokenizer, backend, base_size, new, learned.stats), special_tokens)


_SPECIALS = ("bos_token", "eos_token", "unk_token", "pad_token")


def _save_bpe_hf(base: BaseTokenizer, data: dict[str, Any], out_dir: Path, template: str | None,
                 model_max_length: int) -> PreTrainedTokenizerFast:
    """The extended `tokenizer.json` as a generic fast tokenizer, with the base's special-token names.

    Saved as `TokenizersBackend`, not the base's class: in transformers 5 model classes such as
    Qwen2Tokenizer rebuild the vocabulary from vocab and merges and append the special tokens after
    it, which would move them onto the new ids (the new tokens follow the special tokens).
    """
    config_path = base.folder / "tokenizer_config.json" if base.folder else None
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path and config_path.is_file() else {}

    def name(value: Any) -> str | None:
        return value.get("content") if isinstance(value, dict) else value

    specials = {k: name(config.get(k)) for k in _SPECIALS if name(config.get(k))}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(data)), chat_template=template,
        model_max_length=config.get("model_max_length", model_max_length), clean_up_tokenization_spaces=False,
        **specials)
    tokenizer.save_pretrained(out_dir, save_jinja_files=False)
    reloaded = AutoTokenizer.from_pretrained(out_dir)
    expected = Tokenizer.from_str(json.dumps(data)).get_vocab(with_added_tokens=True)
    if reloaded.backend_tokenizer.get_vocab(with_added_tokens=True) != expected:
        raise RuntimeError(f"{out_dir}: the saved tokenizer does not keep the extended vocabulary's ids")
    return reloaded


def _save_tekken_hf(path: Path, out_dir: Path, explicit: str | None, fallback: str | None,
                    model_max_length: int) -> PreTrainedTokenizerFast:
    from transformers.integrations.mistral.tokenizer import convert_tekken_tokenizer

    tokenizer = convert_tekken_tokenizer(str(path), chat_template=explicit)
    if tokenizer.chat_template is None:
        tokenizer.chat_template = fallback
    tokenizer.model_max_length = model_max_length
    tokenizer.save_pretrained(out_dir, save_jinja_files=False)
    return AutoTokenizer.from_pretrained(out_dir)
