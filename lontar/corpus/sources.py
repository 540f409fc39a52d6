"""Corpus sources. Each yields records or rejects; a bad record never stops a run.

A record is `{"text", "source", "lang", "line"}`; a reject is `{"source", "line", "reason", "raw"}`.
"""

from __future__ import annotations

import glob
import importlib.metadata
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lontar.config import SourceConfig

RDLAB_DIST = "rdlab_dataset"
RDLAB_FILE = "rdlab_dataset/data/wild_khmer_sentences.pkl"


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


def _reject(src: SourceConfig, where: str, reason: str, raw: Any) -> dict[str, Any]:
    raw_text = raw if isinstance(raw, str) else repr(raw)
    return {"source": src.label, "line": where, "reason": reason, "raw": raw_text[:2000]}


def _record(src: SourceConfig, where: str, text: str) -> dict[str, Any]:
    return {"text": text, "source": src.label, "lang": src.lang, "line": where}


def iter_source(src: SourceConfig) -> Iterator[tuple[bool, dict[str, Any]]]:
    """Yield (ok, record-or-reject) in a stable order, stopping after `max_docs` good records."""
    n = 0
    for ok, item in _iter_all(src):
        yield ok, item
        n += ok
        if src.max_docs and n >= src.max_docs:
            return


def _iter_all(src: SourceConfig) -> Iterator[tuple[bool, dict[str, Any]]]:
    if src.type == "rdlab":
        path = rdlab_path()
        for i, item in enumerate(read_rdlab(path), 1):
            where = f"{path.name}[{i}]"
            if isinstance(item, str):
                yield True, _record(src, where, item)
            else:
                yield False, _reject(src, where, f"not a string: {type(item).__name__}", item)
        return
    for path in source_files(src.path or ""):
        with path.open("rb") as f:
            for i, raw in enumerate(f, 1):
                where = f"{path}:{i}"
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    yield False, _reject(src, where, f"invalid UTF-8 at byte {e.start}", raw.decode("utf-8", "replace"))
                    continue
                line = line.rstrip("\n")
                if src.type == "text":
                    yield True, _record(src, where, line)
                    continue
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    yield False, _reject(src, where, f"bad JSON: {e.msg}", line)
                    continue
                value = obj.get(src.text_field) if isinstance(obj, dict) else None
                if not isinstance(value, str):
                    yield False, _reject(src, where, f"missing or non-string field '{src.text_field}'", line)
                    continue
                yield True, _record(src, where, value)
