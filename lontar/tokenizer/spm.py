"""Train a SentencePiece tokenizer and export it as a Hugging Face fast tokenizer.

SentencePiece is trained with *no* normalization (`identity`, no whitespace squeezing, no dummy
prefix): the corpus stage already NFC-normalizes, NFKC would rewrite Thai/Lao and make
bits-per-byte dishonest, and without the dummy prefix `decode(encode(text)) == text` and a text
cut before a space encodes the same in pieces as whole (what packing and chat templates want).
The one inherent exception: a literal `▁` (U+2581) in text decodes as a space.

The fast tokenizer is built by hand from the model proto rather than with transformers'
converters, whose SentencePiece paths squeeze spaces or prepend `▁`. Models with a dummy prefix
(the Llama-2 / Mistral family, and their extensions by `extend_spm`) are exported the way their
hub `tokenizer.json` files are: `▁` prepended to each text segment, no pre-splitting.
"""

from __future__ import annotations

import io
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as spm_pb2
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE, Unigram
from transformers import AutoTokenizer, PreTrainedTokenizerFast
from transformers.tokenization_utils_base import generate_merges
from lontar.errors import InvalidInput

UNK, BOS, EOS, PAD = "<unk>", "<s>", "</s>", "<pad>"
_META = "▁"  # SentencePiece's visible stand-in for " "
_Piece = spm_pb2.ModelProto.SentencePiece


def train_sentencepiece(
    texts: Iterable[str],
    out_dir: Path,
    *,
    vocab_size: int = 8000,
    model_type: str = "unigram",
    character_coverage: float = 0.9999,
    byte_fallback: bool = True,
    split_digits: bool = True,
    input_sentence_size: int = 0,
    max_sentence_length: int = 16384,
    user_defined_symbols: Sequence[str] = (),
    special_tokens: Sequence[str] = (),
    script_coverage: Mapping[str, float] | None = None,
    chat_template: str | None = None,
    model_max_length: int = 2048,
    seed: int = 0,
    num_threads: int = 2,
) -> PreTrainedTokenizerFast:
    """Train SentencePiece on `texts` and save `tokenizer.model` plus HF files into `out_dir`.

    Documents are fed to SentencePiece line by line, so long documents are not dropped whole by
    `max_sentence_length` (bytes; longer lines are skipped); SentencePiece strips the newline off each
    line, so `\\n` is made a required character (one piece, not byte fallback). `input_sentence_size`
    therefore counts lines, sampled reproducibly from `seed`.

    Ids: 0 `<unk>`, 1 `<s>`, 2 `</s>`, 3 `<pad>`. Encoding never adds `<s>`/`</s>` by itself:
    packing and the chat template insert them explicitly, and HF ids then equal
    `SentencePieceProcessor.encode` ids. As usual in HF, `<s>` etc. spelled out in raw text map to
    their control ids unless encoded with `split_special_tokens=True` (then ids match SentencePiece
    exactly). `user_defined_symbols` are always kept whole and survive `skip_special_tokens`;
    `special_tokens` (ids 4, 5, ...) are control tokens: never produced from text by SentencePiece,
    matched as special tokens by HF. `script_coverage` ({"Hans": 0.9995, ...}) makes SentencePiece
    keep, per script, the most frequent characters covering that share of the script's characters,
    whatever the global `character_coverage` (one rate cannot suit both Han and a 74-letter script).

    Returns the tokenizer reloaded with `AutoTokenizer.from_pretrained(out_dir)`, i.e. what
    downstream code sees (a `TokenizersBackend`, v5's `PreTrainedTokenizerFast`).
    """
    if model_type not in ("unigram", "bpe"):
        raise InvalidInput(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    lines: Iterator[str] = _lines(texts)
    if input_sentence_size > 0:
        # Sampled here: sentencepiece 0.2.3 samples with an unseeded RNG that
        # spm.set_random_generator_seed does not reach, so every run would give another model.
        lines = iter(reservoir_sample(lines, input_sentence_size, random.Random(seed)))
    required = "\n"
    if script_coverage:
        kept = list(lines)
        required += coverage_chars(kept, script_coverage)
        lines = iter(kept)
    model = io.BytesIO()
    try:
        _train(model, lines, model_type=model_type, vocab_size=vocab_size, character_coverage=character_coverage,
               byte_fallback=byte_fallback, split_digits=split_digits, max_sentence_length=max_sentence_length,
               user_defined_symbols=user_defined_symbols, special_tokens=special_tokens, required=required,
               num_threads=num_threads)
    except RuntimeError as e:  # SentencePiece reports a vocabulary the corpus cannot fill this way
        raise InvalidInput(f"tokenizer.vocab_size {vocab_size}: SentencePiece refused: {str(e).strip()}") from None

    proto = spm_pb2.ModelProto()
    proto.ParseFromString(model.getvalue())
    return save_hf(proto, out_dir, chat_template=chat_template, model_max_length=model_max_length)


def save_hf(
    proto: spm_pb2.ModelProto,
    out_dir: Path,
    *,
    chat_template: str | None = None,
    model_max_length: int = 2048,
) -> PreTrainedTokenizerFast:
    """Write `tokenizer.model` and the HF files for `proto` into `out_dir`; return it reloaded.

    The special tokens are the proto's own (`<unk>`, `<s>`, `</s>`, `<pad>` when it has one);
    encoding adds none of them implicitly.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tokenizer.model").write_bytes(proto.SerializeToString())
    spec = proto.trainer_spec

    def piece(i: int) -> str | None:
        return proto.pieces[i].piece if 0 <= i < len(proto.pieces) else None

    wrapper = PreTrainedTokenizerFast(
        tokenizer_object=to_fast_tokenizer(proto),
        unk_token=piece(spec.unk_id),
        bos_token=piece(spec.bos_id),
        eos_token=piece(spec.eos_id),
        pad_token=piece(spec.pad_id),
        add_bos_token=False,
        add_eos_token=False,
        model_max_length=model_max_length,
        chat_template=chat_template,
        clean_up_tokenization_spaces=False,  # would delete spaces before punctuation on decode
    )
    # save_jinja_files=False keeps the template inside tokenizer_config.json, readable by v4 and v5.
    wrapper.save_pretrained(out_dir, save_jinja_files=False)
    return AutoTokenizer.from_pretrained(out_dir)


def to_fast_tokenizer(proto: spm_pb2.ModelProto) -> Tokenizer:
    """Build a `tokenizers.Tokenizer` giving exactly `proto`'s ids (identity normalization only).

    Same model (Unigram scores, or BPE with merges ranked by SentencePiece piece score), spaces
    mapped to `▁`, no other normalizer, and a decoder that undoes `▁` and byte-fallback pieces.
    With a dummy prefix, `▁` is prepended to each text segment (between special tokens) and the
    decoder strips one leading space, as in the Llama-2 / Mistral hub files; without one, text is
    split before each `▁` (pieces never span it).
    """
    spec, norm = proto.trainer_spec, proto.normalizer_spec
    if norm.name not in ("identity", "") or norm.remove_extra_whitespaces or spec.treat_whitespace_as_suffix:
        raise InvalidInput(
            f"only identity-normalized SentencePiece models without whitespace squeezing are supported "
            f"(got normalizer {norm.name!r}, remove_extra_whitespaces={norm.remove_extra_whitespaces})")
    dummy_prefix = norm.add_dummy_prefix
    pieces = [(p.piece, p.score) for p in proto.pieces]
    not_text = {p.piece for p in proto.pieces if p.type != _Piece.NORMAL}
    if spec.model_type == spm_pb2.TrainerSpec.UNIGRAM:
        model = Unigram(pieces, unk_id=spec.unk_id, byte_fallback=spec.byte_fallback)
    elif spec.model_type == spm_pb2.TrainerSpec.BPE:
        vocab = {piece: i for i, (piece, _) in enumerate(pieces)}
        merges = generate_merges(vocab, dict(pieces), skip_tokens=not_text)
        model = BPE(
            vocab, merges, unk_token=spec.unk_piece, fuse_unk=True, byte_fallback=spec.byte_fallback
        )
    else:
        raise InvalidInput(f"unsupported sentencepiece model type {spec.model_type}")

    tokenizer = Tokenizer(model)
    splits = []
    if dummy_prefix:
        tokenizer.normalizer = normalizers.Sequence(
            [normalizers.Prepend(_META), normalizers.Replace(" ", _META)])
    else:
        splits.append(pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="never", split=True))
    if spec.model_type == spm_pb2.TrainerSpec.UNIGRAM:
        splits.append(_unmatchable(proto))
    if splits:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(splits)
    steps = [decoders.Replace(_META, " "), decoders.ByteFallback(), decoders.Fuse()]
    tokenizer.decoder = decoders.Sequence(steps + ([decoders.Strip(" ", 1, 0)] if dummy_prefix else []))
    control = [p.piece for p in proto.pieces if p.type in (_Piece.CONTROL, _Piece.UNKNOWN)]
    user = [p.piece for p in proto.pieces if p.type == _Piece.USER_DEFINED]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in control])
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in user])
    return tokenizer


def coverage_chars(lines: Iterable[str], coverage: Mapping[str, float]) -> str:
    """Per script (ISO 15924 code), the most frequent characters covering `coverage[script]` of it."""
    from lontar.langs import LANGS

    ranges = {lang.script: lang.script_ranges for lang in LANGS.values()}
    unknown = sorted(set(coverage) - set(ranges))
    if unknown:
        raise InvalidInput(f"unknown scripts {unknown} (known: {', '.join(sorted(ranges))})")
    counts: Counter[str] = Counter()
    for line in lines:
        counts.update(line)
    kept: list[str] = []
    for script, share in sorted(coverage.items()):
        chars = sorted(((n, ch) for ch, n in counts.items()
                        if any(lo <= ord(ch) <= hi for lo, hi in ranges[script])), reverse=True)
        total, covered = sum(n for n, _ in chars), 0
        for n, ch in chars:
            if covered >= share * total:
                break
            kept.append(ch)
            covered += n
    return "".join(kept)


def _unmatchable(proto: spm_pb2.ModelProto) -> pre_tokenizers.Split:
    """Keep the Unigram lattice from matching byte/control piece names (`<0x41>`, `</s>`) in text.

    SentencePiece never matches them; `tokenizers.Unigram` would (they sit in its trie with score
    0), e.g. with `split_special_tokens=True`. Cutting each literal name after its first character
    makes it unmatchable; for bytes the cut falls between `<` and a digit, where SentencePiece's
    `split_by_number` forbids a piece anyway.
    """
    control = (_Piece.CONTROL, _Piece.UNKNOWN)
    names = [p.piece for p in proto.pieces if p.type in control and len(p.piece) > 1]
    alternatives = [f"(?<={_esc(n[0])}){_esc(n[1])}(?={_esc(n[2:])})" for n in names]
    if proto.trainer_spec.byte_fallback:
        alternatives.append("(?<=<)0(?=x[0-9A-F]{2}>)")
    return pre_tokenizers.Split(Regex("|".join(alternatives)), behavior="merged_with_next")


def _esc(text: str) -> str:
    """Oniguruma-safe literal (`\\x{3C}` per character)."""
    return "".join(f"\\x{{{ord(c):X}}}" for c in text)


def _lines(texts: Iterable[str]) -> Iterator[str]:
    """Yield each document's lines, keeping their trailing newline, skipping empty strings."""
    for text in texts:
        yield from (line for line in text.splitlines(keepends=True) if line)


def reservoir_sample(items: Iterable[str], k: int, rng: random.Random) -> list[str]:
    """Uniform sample of `k` items from a stream of unknown length in O(k) memory (Algorithm R)."""
    sample: list[str] = []
    for i, item in enumerate(items):
        if i < k:
            sample.append(item)
        elif (j := rng.randrange(i + 1)) < k:
            sample[j] = item
    return sample


def _train(model: io.BytesIO, lines: Iterator[str], *, model_type: str, vocab_size: int, character_coverage: float,
           byte_fallback: bool, split_digits: bool, max_sentence_length: int, user_defined_symbols: Any,
           special_tokens: Any, required: str, num_threads: int) -> None:
    spm.SentencePieceTrainer.train(
        sentence_iterator=lines,
        model_writer=model,
        model_type=model_type,
        vocab_size=vocab_size,
        character_coverage=character_coverage,
        byte_fallback=byte_fallback,
        split_digits=split_digits,
        max_sentence_length=max_sentence_length,
        user_defined_symbols=list(user_defined_symbols),
        control_symbols=list(special_tokens),
        required_chars=required,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=3,
        unk_piece=UNK, bos_piece=BOS, eos_piece=EOS, pad_piece=PAD,
        num_threads=num_threads,
        minloglevel=2,
    )
