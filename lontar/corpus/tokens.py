"""Token counts for the data card, with whatever tokenizer the team will train on.

Characters say how much text there is; tokens say how much compute and context it costs, and the
two differ by several times between scripts (Khmer in a Latin-centred tokenizer is mostly bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from lontar.errors import MissingInput

TokenCounter = Callable[[list[str]], list[int]]


def load_token_counter(spec: str, trust_remote_code: bool = False) -> TokenCounter:
    """A counter from a SentencePiece `.model`, a `tokenizer.json`, a tokenizer directory or a hub id."""
    path = Path(spec)
    if path.is_file() and path.suffix == ".model":
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(path))
        return lambda texts: [len(ids) for ids in sp.encode(texts)]
    if path.is_file() and path.suffix == ".json":
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
        return lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]
    if path.suffix in (".model", ".json") and not path.exists():
        raise MissingInput(f"tokenizer file {spec} does not exist")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(spec, trust_remote_code=trust_remote_code)
    return lambda texts: [len(ids) for ids in tok(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]]
