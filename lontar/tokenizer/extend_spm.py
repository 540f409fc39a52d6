"""Extend a SentencePiece model (the Llama-2 / Mistral family) with pieces learned on the target corpus.

A SentencePiece model is trained on the target text with the base's own conventions (model type,
dummy prefix, `▁`, digit and script splitting), so its pieces are spelled as the base spells them.
Pieces the base lacks are appended to the base ModelProto: every existing id and score is kept.

- BPE bases merge the adjacent pair whose concatenation is the highest-scoring piece. New pieces are
  scored below every base piece (sentinel scores such as Llama's -1e9 whitespace runs aside), in the
  target model's merge order, so all base merges happen first and the new ones complete them. A new
  piece is kept only if it splits into two pieces that can themselves be reached. New characters
  come first, so a cap on the count never leaves a new piece without its letters.
- Unigram bases keep the target model's log-probabilities, which are on the base's scale.

New pieces must contain a non-ASCII character other than `▁` unless `allow_ascii` is set: a piece
such as `▁http` learned from Khmer web text would otherwise re-segment English.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as spm_pb2

from lontar.errors import InvalidInput
from lontar.tokenizer.spm import coverage_chars

_Piece = spm_pb2.ModelProto.SentencePiece
_META = "▁"
_SENTINEL = -1e6  # scores at or below this mark pieces kept out of normal merge order


@dataclass
class SpmExtension:
    proto: spm_pb2.ModelProto
    new_pieces: list[tuple[int, str]]  # (id, piece), ids following the base's
    stats: dict[str, int] = field(default_factory=dict)


def load_proto(data: bytes) -> spm_pb2.ModelProto:
    proto = spm_pb2.ModelProto()
    proto.ParseFromString(data)
    return proto


def train_like(
    base: spm_pb2.ModelProto,
    lines: Iterable[str],
    *,
    vocab_size: int,
    character_coverage: float = 1.0,
    script_coverage: Mapping[str, float] | None = None,
    num_threads: int = 2,
) -> spm_pb2.ModelProto:
    """Train SentencePiece on `lines` with `base`'s model type, normalization and splitting rules."""
    b, n = base.trainer_spec, base.normalizer_spec
    lines = list(lines)
    required = coverage_chars(lines, script_coverage) if script_coverage else ""
    out = io.BytesIO()
    kwargs = dict(
        model_type={spm_pb2.TrainerSpec.BPE: "bpe", spm_pb2.TrainerSpec.UNIGRAM: "unigram"}[b.model_type],
        vocab_size=vocab_size,
        character_coverage=character_coverage,
        required_chars=required,
        byte_fallback=False,  # the base has its byte pieces; new ones would only duplicate them
        split_digits=b.split_digits,
        split_by_unicode_script=b.split_by_unicode_script,
        split_by_whitespace=b.split_by_whitespace,
        split_by_number=b.split_by_number,
        treat_whitespace_as_suffix=b.treat_whitespace_as_suffix,
        allow_whitespace_only_pieces=b.allow_whitespace_only_pieces,
        max_sentencepiece_length=b.max_sentencepiece_length or 16,
        add_dummy_prefix=n.add_dummy_prefix,
        remove_extra_whitespaces=n.remove_extra_whitespaces,
        max_sentence_length=16384,
        hard_vocab_limit=False,
        num_threads=num_threads,
        minloglevel=2,
    )
    if n.name and n.name != "identity" and not n.normalization_rule_tsv:
        kwargs["normalization_rule_name"] = n.name
    else:
        kwargs["normalization_rule_name"] = "identity"
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=out, **kwargs)
    except RuntimeError as e:  # e.g. a vocabulary the corpus sample cannot fill
        raise InvalidInput(f"tokenizer: SentencePiece refused the extension: {str(e).strip()}") from None
    return load_proto(out.getvalue())


def _is_new_text(piece: str, allow_ascii: bool) -> bool:
    return allow_ascii or any(ord(c) > 127 and c != _META for c in piece)


def extend(
    base: spm_pb2.ModelProto,
    target: spm_pb2.ModelProto,
    max_new: int,
    *,
    allow_ascii: bool = False,
    special_tokens: Sequence[str] = (),
) -> SpmExtension:
    """Append up to `max_new` of `target`'s pieces missing from `base`, then `special_tokens` (control)."""
    if base.trainer_spec.model_type != target.trainer_spec.model_type:
        raise InvalidInput("the target model must have the base's model type")
    is_bpe = base.trainer_spec.model_type == spm_pb2.TrainerSpec.BPE
    proto = spm_pb2.ModelProto()
    proto.CopyFrom(base)
    existing = {p.piece for p in base.pieces}
    mergeable = {p.piece for p in base.pieces if p.type in (_Piece.NORMAL, _Piece.UNUSED)}
    scores = [p.score for p in base.pieces if p.type == _Piece.NORMAL and p.score > _SENTINEL]
    floor = min(scores, default=0.0)
    stats = dict.fromkeys(("target_pieces", "already_in_base", "ascii_only", "unreachable", "added"), 0)
    new: list[tuple[int, str]] = []
    normal = [p for p in target.pieces if p.type == _Piece.NORMAL]
    # Characters first: SentencePiece BPE lists them last, yet every longer piece is built from them.
    for p in sorted(normal, key=lambda p: len(p.piece) > 1):
        stats["target_pieces"] += 1
        if len(new) >= max_new:
            continue
        if p.piece in existing:
            stats["already_in_base"] += 1
            continue
        if not _is_new_text(p.piece, allow_ascii):
            stats["ascii_only"] += 1
            continue
        if is_bpe and len(p.piece) > 1 and not any(
                p.piece[:i] in mergeable and p.piece[i:] in mergeable for i in range(1, len(p.piece))):
            stats["unreachable"] += 1
            continue
        q = proto.pieces.add()
        q.piece, q.type = p.piece, _Piece.NORMAL
        # float32 scores: one step apart stays exact down to about -1.6e7.
        q.score = floor - 1.0 - len(new) if is_bpe else p.score
        new.append((len(proto.pieces) - 1, p.piece))
        existing.add(p.piece)
        mergeable.add(p.piece)
    stats["added"] = len(new)
    for token in special_tokens:
        if token not in existing:
            q = proto.pieces.add()
            q.piece, q.type, q.score = token, _Piece.CONTROL, 0.0
            existing.add(token)
    proto.trainer_spec.vocab_size = len(proto.pieces)
    return SpmExtension(proto, new, stats)
