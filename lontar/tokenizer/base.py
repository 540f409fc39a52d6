"""Find and read a base tokenizer: a file, a tokenizer folder, or a hub id (same layout as a folder).

Four kinds are handled:
- `sentencepiece`: a SentencePiece `tokenizer.model` (Llama-2, Mistral v1-v3 `tokenizer.model.v*`);
- `bpe`: a byte-level BPE `tokenizer.json` (Qwen2, Llama-3, GPT-2 style);
- `metaspace`: a `tokenizer.json` BPE over characters with `▁` for spaces and byte fallback (Gemma 3,
  and what transformers builds from a GGUF's SentencePiece-style vocabulary); extended like `bpe`;
- `tekken`: a Mistral `tekken*.json` (mistral-common's own format).
In a folder a byte-level `tokenizer.json` wins, then `tokenizer.model`, then a Metaspace-style
`tokenizer.json`, then `tekken.json`; the folder's
`tokenizer_config.json` (special tokens, chat template) travels with it. A `.gguf` file (local or
`org/repo/file.gguf`) is read from its converted folder (`lontar.train.gguf`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from lontar.errors import InvalidInput, MissingInput
from lontar.tokenizer.extend_bpe import bpe_kind, tekken_to_tokenizer
from lontar.tokenizer.extend_spm import load_proto
from lontar.tokenizer.spm import to_fast_tokenizer

KEY = "tokenizer.base"


@dataclass(frozen=True)
class BaseTokenizer:
    kind: str  # "sentencepiece" | "bpe" | "metaspace" | "tekken"
    path: Path  # the model file
    folder: Path | None  # where tokenizer_config.json lives, if anywhere
    label: str  # as configured

    def backend(self) -> Tokenizer:
        """A `tokenizers.Tokenizer` with the base's ids (what the report and embedding init use)."""
        if self.kind == "sentencepiece":
            try:
                return to_fast_tokenizer(load_proto(self.path.read_bytes()))
            except ValueError as e:
                raise InvalidInput(f"{KEY}: {self.path}: {e}") from None
        if self.kind == "tekken":
            return tekken_to_tokenizer(str(self.path))
        return Tokenizer.from_file(str(self.path))

    def chat_template(self) -> str | None:
        config = self.folder / "tokenizer_config.json" if self.folder else None
        if config and config.is_file():
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
            if isinstance(template, str):
                return template
        jinja = self.folder / "chat_template.jinja" if self.folder else None
        return jinja.read_text(encoding="utf-8") if jinja and jinja.is_file() else None


def _kind_of_file(path: Path) -> str:
    name = path.name
    if name.endswith(".json") and "tekken" in name:
        return "tekken"
    if name.endswith(".json"):
        kind = bpe_kind(json.loads(path.read_text(encoding="utf-8")))
        if kind is None:
            raise InvalidInput(f"{KEY}: {path} is not a BPE tokenizer.json (for a Unigram tokenizer.json give the "
                             "tokenizer.model instead)")
        return kind
    if ".model" in name:
        return "sentencepiece"
    raise InvalidInput(f"{KEY}: cannot tell the kind of {path} (expected tokenizer.model, tokenizer.json or tekken*.json)")


def _in_folder(files: dict[str, Path | None], where: str) -> tuple[str, Path]:
    tj, sp, tk = files.get("tokenizer.json"), files.get("tokenizer.model"), files.get("tekken.json")
    kind = bpe_kind(json.loads(tj.read_text(encoding="utf-8"))) if tj else None
    if tj and kind == "bpe":
        return kind, tj
    if sp:  # a SentencePiece model beside its converted tokenizer.json: extended as SentencePiece
        return "sentencepiece", sp
    if tj and kind:
        return kind, tj
    if tk:
        return "tekken", tk
    if tj:
        raise InvalidInput(f"{KEY}: {where} has a tokenizer.json that is not BPE and no tokenizer.model")
    raise InvalidInput(f"{KEY}: {where} has none of tokenizer.json, tokenizer.model, tekken.json")


def resolve_base(spec: str, revision: str | None = None, dtype: str = "bfloat16") -> BaseTokenizer:
    """Locate the base named by `tokenizer.base`: a local file or folder, else a hub repository.

    `dtype`: of the model converted beside a GGUF's tokenizer (the model stage reuses that folder)."""
    if spec.lower().endswith(".gguf"):
        from lontar.train.gguf import converted_dir

        folder = converted_dir(spec, dtype, revision, key=KEY)
        return BaseTokenizer(*_in_folder({"tokenizer.json": folder / "tokenizer.json"}, spec), folder, spec)
    path = Path(spec).expanduser()
    if path.is_file():
        return BaseTokenizer(_kind_of_file(path), path, path.parent, spec)
    if path.is_dir():
        names = ("tokenizer.json", "tokenizer.model", "tekken.json")
        files = {n: path / n for n in names if (path / n).is_file()}
        kind, file = _in_folder(files, str(path))
        return BaseTokenizer(kind, file, path, spec)
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise MissingInput(f"{KEY}: no such file or folder: {spec}")
    return _from_hub(spec, revision)


def _from_hub(repo_id: str, revision: str | None) -> BaseTokenizer:
    import huggingface_hub
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    def fetch(name: str) -> Path | None:
        try:
            return Path(huggingface_hub.hf_hub_download(repo_id, name, revision=revision))
        except Exception as e:
            if isinstance(e, EntryNotFoundError) and not isinstance(e, LocalEntryNotFoundError):
                return None  # the repository has no such file
            # offline and not cached, gated, no such repository: say which key led here
            raise MissingInput(f"{KEY}: cannot fetch {name} from the hub repository {repo_id}: {e}") from None

    config = fetch("tokenizer_config.json")
    files: dict[str, Path | None] = {"tokenizer.json": fetch("tokenizer.json")}
    kind = bpe_kind(json.loads(files["tokenizer.json"].read_text(encoding="utf-8"))) if files["tokenizer.json"] else None
    if kind != "bpe":
        files["tokenizer.model"] = fetch("tokenizer.model")
        if not files["tokenizer.model"] and not kind:
            files["tekken.json"] = fetch("tekken.json")
    kind, file = _in_folder(files, f"hub repository {repo_id}")
    return BaseTokenizer(kind, file, config.parent if config else file.parent, repo_id)
