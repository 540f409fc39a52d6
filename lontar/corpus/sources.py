"""Corpus sources. Each yields records or rejects; a bad record never stops a run.

A record is `{"text", "source", "lang", "line"}`; a reject is `{"source", "line", "reason", "raw"}`.
`line` says where the record came from (`file:line`, `file#row`, `dataset[split]#i`), so a reject
can be found again.
"""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import importlib.metadata
import io
import json
import lzma
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lontar.config import SourceConfig

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
        raise FileNotFoundError("the 'rdlab' source needs the PyPI package rdlab-dataset: pip install rdlab-dataset") from None
    path = Path(str(dist.locate_file(RDLAB_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"rdlab-dataset {dist.version} has no {RDLAB_FILE}")
    return path


def read_rdlab(path: Path) -> list[str]:
    with path.open("rb") as f:
        data = _NoGlobalsUnpickler(f).load()
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a pickled list of str, got {type(data).__name__}")
    return data


def source_files(pattern: str) -> list[Path]:
    return sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())


@contextmanager
def open_binary(path: Path) -> Iterator[IO[bytes]]:
    """Open a file, decompressing .gz, .bz2, .xz and .zst by suffix (streamed, never fully in memory)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        f: IO[bytes] = gzip.open(path, "rb")
    elif suffix == ".bz2":
        f = bz2.open(path, "rb")
    elif suffix == ".xz":
        f = lzma.open(path, "rb")
    elif suffix == ".zst":
        import zstandard

        raw = path.open("rb")
        f = io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    else:
        f = path.open("rb")
    try:
        yield f
    finally:
        f.close()


def _reject(src: SourceConfig, where: str, reason: str, raw: Any) -> dict[str, Any]:
    raw_text = raw if isinstance(raw, str) else repr(raw)
    return {"source": src.label, "line": where, "reason": reason, "raw": raw_text[:2000]}


def _record(src: SourceConfig, where: str, text: str) -> dict[str, Any]:
    return {"text": text, "source": src.label, "lang": src.lang, "line": where}


def _from_object(src: SourceConfig, where: str, obj: Any, raw: Any) -> Item:
    value = obj.get(src.text_field) if isinstance(obj, dict) else None
    if not isinstance(value, str):
        return False, _reject(src, where, f"missing or non-string field '{src.text_field}'", raw)
    return True, _record(src, where, value)


def iter_source(src: SourceConfig) -> Iterator[Item]:
    """Yield (ok, record-or-reject) in a stable order, stopping after `max_docs` good records."""
    n = 0
    for ok, item in _READERS[src.type](src):
        yield ok, item
        n += ok
        if src.max_docs and n >= src.max_docs:
            return


def _read_rdlab(src: SourceConfig) -> Iterator[Item]:
    path = rdlab_path()
    for i, item in enumerate(read_rdlab(path), 1):
        where = f"{path.name}[{i}]"
        if isinstance(item, str):
            yield True, _record(src, where, item)
        else:
            yield False, _reject(src, where, f"not a string: {type(item).__name__}", item)


def _lines(src: SourceConfig) -> Iterator[tuple[str, str | None, str]]:
    """(where, line, problem) for every line of every matched file; line is None when not UTF-8."""
    for path in source_files(src.path or ""):
        with open_binary(path) as f:
            for i, raw in enumerate(f, 1):
                raw = raw.rstrip(b"\r\n")
                try:
                    yield f"{path}:{i}", raw.decode("utf-8"), ""
                except UnicodeDecodeError as e:
                    yield f"{path}:{i}", None, f"invalid UTF-8 at byte {e.start}"


def _read_text(src: SourceConfig) -> Iterator[Item]:
    for where, line, problem in _lines(src):
        yield (True, _record(src, where, line)) if line is not None else (False, _reject(src, where, problem, ""))


def _read_jsonl(src: SourceConfig) -> Iterator[Item]:
    for where, line, problem in _lines(src):
        if line is None:
            yield False, _reject(src, where, problem, "")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield False, _reject(src, where, f"bad JSON: {e.msg}", line)
            continue
        yield _from_object(src, where, obj, line)


def _read_json(src: SourceConfig) -> Iterator[Item]:
    """A JSON array of objects (or an object holding one under `data`); JSON Lines also accepted."""
    for path in source_files(src.path or ""):
        with open_binary(path) as f:
            blob = f.read()
        try:
            data = json.loads(blob.decode("utf-8"))
        except UnicodeDecodeError as e:
            yield False, _reject(src, str(path), f"invalid UTF-8 at byte {e.start}", blob[:2000].decode("utf-8", "replace"))
            continue
        except json.JSONDecodeError:
            yield from _read_jsonl(src.model_copy(update={"path": str(path)}))
            continue
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            yield False, _reject(src, str(path), "JSON is neither an array of objects nor JSON Lines", blob[:2000])
            continue
        for i, obj in enumerate(data):
            yield _from_object(src, f"{path}#{i}", obj, json.dumps(obj, ensure_ascii=False)[:2000])


def _read_csv(src: SourceConfig) -> Iterator[Item]:
    for path in source_files(src.path or ""):
        with open_binary(path) as f:
            text = io.TextIOWrapper(f, encoding="utf-8", errors="strict", newline="")
            reader = csv.DictReader(text, delimiter="\t" if ".tsv" in path.name else ",")
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError as e:
                    yield False, _reject(src, f"{path}:{reader.line_num + 1}", f"invalid UTF-8 ({e.reason}); rest of file skipped", "")
                    break
                except csv.Error as e:
                    yield False, _reject(src, f"{path}:{reader.line_num}", f"bad CSV: {e}", "")
                    continue
                yield _from_object(src, f"{path}:{reader.line_num}", row, json.dumps(row, ensure_ascii=False))


def _read_parquet(src: SourceConfig) -> Iterator[Item]:
    import pyarrow.parquet as pq

    for path in source_files(src.path or ""):
        pf = pq.ParquetFile(path)
        if src.text_field not in pf.schema_arrow.names:
            yield False, _reject(src, str(path), f"no column '{src.text_field}' (has: {', '.join(pf.schema_arrow.names)})", "")
            continue
        row = 0
        for batch in pf.iter_batches(batch_size=8192, columns=[src.text_field]):
            for value in batch.column(0).to_pylist():
                where = f"{path}#{row}"
                row += 1
                if isinstance(value, str):
                    yield True, _record(src, where, value)
                else:
                    yield False, _reject(src, where, f"missing or non-string field '{src.text_field}'", value)


def _read_hf(src: SourceConfig) -> Iterator[Item]:
    """A Hugging Face dataset by hub id or local directory, streamed (nothing is downloaded whole)."""
    import datasets

    ds = datasets.load_dataset(src.dataset, name=src.config, split=src.split, revision=src.revision,
                               streaming=src.streaming)
    for i, row in enumerate(ds):
        where = f"{src.dataset}[{src.split}]#{i}"
        yield _from_object(src, where, row, json.dumps(row, ensure_ascii=False, default=str)[:2000])


def _read_wikipedia(src: SourceConfig) -> Iterator[Item]:
    from lontar.corpus.wikipedia import iter_pages

    for path in source_files(src.path or ""):
        with open_binary(path) as f:
            for page in iter_pages(f):
                where = f"{path}#{page['id']}"
                if page["error"]:
                    yield False, _reject(src, where, page["error"], page["title"])
                else:
                    yield True, _record(src, where, page["text"])


_READERS = {
    "rdlab": _read_rdlab, "text": _read_text, "jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv,
    "parquet": _read_parquet, "hf": _read_hf, "wikipedia": _read_wikipedia,
}
