"""Parquet shards named the way `datasets` expects (`train-00000-of-00003.parquet`)."""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from lontar.errors import MissingInput

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("lang", pa.string())])


class ShardWriter:
    """Buffers rows of one split and writes a shard every `shard_docs` rows; names fixed on close."""

    def __init__(self, out_dir: Path, split: str, shard_docs: int):
        self.out_dir, self.split, self.shard_docs = out_dir, split, shard_docs
        self.rows: list[dict[str, Any]] = []
        self.parts: list[Path] = []
        out_dir.mkdir(parents=True, exist_ok=True)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.shard_docs:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        part = self.out_dir / f".{self.split}-{len(self.parts):05d}.parquet.tmp"
        pq.write_table(pa.Table.from_pylist(self.rows, schema=SCHEMA), part)
        self.parts.append(part)
        self.rows = []

    def close(self) -> list[Path]:
        self._flush()
        final = []
        for i, part in enumerate(self.parts):
            path = self.out_dir / f"{self.split}-{i:05d}-of-{len(self.parts):05d}.parquet"
            part.replace(path)
            final.append(path)
        return final


class RejectWriter:
    """Rejected records with their reason, as jsonl: set aside, never silently dropped."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._f = None
        self.examples: dict[str, str] = {}  # reason -> where its first record came from (file name:line)

    def add(self, item: dict[str, Any]) -> None:
        if "reason" in item and "line" in item:
            self.examples.setdefault(str(item["reason"]), Path(str(item["line"])).name)
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = self.path.open("w", encoding="utf-8")
        self._f.write(json.dumps(item, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> list[Path]:
        if self._f is not None:
            self._f.close()
            return [self.path]
        return []


def split_files(corpus_dir: Path, split: str) -> list[Path]:
    files = sorted(corpus_dir.glob(f"{split}-*-of-*.parquet"))
    if not files:
        raise MissingInput(f"no {split} shards in {corpus_dir}: run the corpus stage first (lontar corpus)")
    return files


def iter_texts(corpus_dir: Path, split: str, limit: int | None = None):
    """Stream the `text` column of a split's shards in order, up to `limit` documents."""
    n = 0
    for path in split_files(corpus_dir, split):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=8192, columns=["text"]):
            for text in batch.column(0).to_pylist():
                if limit is not None and n >= limit:
                    return
                yield text
                n += 1


def side_records(corpus_dir: Path, kind: str) -> Iterator[dict[str, Any]]:
    """The records of `rejected/` or `duplicates/` (one jsonl part per chunk that has any), in corpus order."""
    for path in sorted((Path(corpus_dir) / kind).glob(f"{kind}-*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)
