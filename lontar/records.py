"""Reading records from local files: JSON Lines, JSON, CSV/TSV and Parquet, compressed or not.

The one reader behind the corpus sources (`lontar.corpus.sources`, which keeps the text field of each
record) and the evaluation data (`lontar.eval.sources`, which keeps whole rows). `iter_rows` never
raises on a bad record: it yields the record's place (`file:line` for line formats, `file#i` for a
JSON array or Parquet row) with the problem and the raw text, so a corpus can set the record aside
and an evaluation can stop with one line naming the file and line.
"""

from __future__ import annotations

import base64
import bz2
import csv
import glob
import gzip
import hashlib
import io
import json
import lzma
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

MAX_JSON_BYTES = 1 << 30  # a whole-file JSON array is read into memory; larger ones must be JSON Lines
FORMATS = ("jsonl", "json", "csv", "tsv", "parquet")
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
             ".parquet": "parquet"}

# (where, row or None, problem ("" when the row is good), raw text for a reject)
Row = tuple[str, Any, str, str]

# A record larger than this is set aside before it is decoded or parsed: a 50 MB "line" would otherwise
# go through JSON parsing and every text step before a length filter saw it.
MAX_RECORD_BYTES = 8 << 20
# Raw bytes a reject keeps; beyond it, the first bytes and the hash of the whole record.
RAW_KEEP_BYTES = 64 << 10
# What a file that stops being readable part-way raises: a cut gzip/bz2/xz stream, a damaged Parquet
# footer, an I/O error. The records before the cut were already yielded; the rest is one reject.
_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, lzma.LZMAError)


def raw_fields(raw: bytes | str, limit: int = RAW_KEEP_BYTES) -> dict[str, Any]:
    """A rejected record's bytes for `rejected/`: text when they are UTF-8, base64 otherwise, whole up
    to `limit`, else the first `limit` bytes with the size and sha256 of the whole."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    out: dict[str, Any] = {}
    kept = data[:limit]
    if len(data) > limit:
        out.update(raw_truncated=True, raw_bytes=len(data), raw_sha256=hashlib.sha256(data).hexdigest())
    try:
        out["raw"] = kept.decode("utf-8")
    except UnicodeDecodeError as e:
        if len(data) > limit and e.start >= len(kept) - 3 and e.reason == "unexpected end of data":
            out["raw"] = kept[: e.start].decode("utf-8", "replace")  # a character cut at the limit
        else:
            out["raw"], out["raw_encoding"] = base64.b64encode(kept).decode("ascii"), "base64"
    return out


def _read_error(path: Path, e: BaseException) -> str:
    first = str(e).splitlines()[0][:200] if str(e) else ""
    return f"unreadable from here on ({type(e).__name__}{': ' + first if first else ''}); earlier records kept"


def expand_glob(pattern: str, recursive: bool = True) -> list[str]:
    """glob.glob, except that a path that exists is itself, even when its name holds glob characters
    (`data[2024].jsonl` would otherwise be "no file matches")."""
    if pattern and Path(pattern).exists():
        return [pattern]
    return glob.glob(pattern, recursive=recursive)


def source_files(pattern: str) -> list[Path]:
    return sorted(Path(p) for p in expand_glob(pattern) if Path(p).is_file())


def format_of(path: Path) -> str | None:
    """The format a file's name implies (`data.jsonl.gz` -> jsonl), or None."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


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


def iter_lines(path: Path) -> Iterator[tuple[str, str | None, str]]:
    """(where, line, problem) for every line of a file; line is None when it is not usable text (the
    problem says why; `iter_raw_lines` gives the bytes too).

    Lines end at LF, CRLF or a lone CR (old Mac files), so a CR-terminated file is not one line."""
    for where, raw, problem in iter_raw_lines(path):
        if problem:
            yield where, None, problem
            continue
        try:
            yield where, raw.decode("utf-8"), ""
        except UnicodeDecodeError:
            yield where, None, "invalid UTF-8"


def iter_raw_lines(path: Path) -> Iterator[tuple[str, bytes, str]]:
    """(where, bytes, problem) for every line; problem is "" for a line to decode, else why it is set
    aside (too large, or the file cannot be read past this point)."""
    i = 0
    try:
        with open_binary(path) as f:
            pieces = (p for chunk in f for p in chunk.rstrip(b"\n").removesuffix(b"\r").split(b"\r"))
            for i, raw in enumerate(pieces, 1):
                if len(raw) > MAX_RECORD_BYTES:
                    yield f"{path}:{i}", raw, f"record larger than {MAX_RECORD_BYTES:,} bytes"
                else:
                    yield f"{path}:{i}", raw, ""
    except _READ_ERRORS as e:
        yield f"{path}:{i + 1}", b"", _read_error(path, e)


def _jsonl(path: Path) -> Iterator[Row]:
    for where, raw, problem in iter_raw_lines(path):
        if problem:
            yield where, None, problem, raw
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield where, None, "invalid UTF-8", raw
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield where, None, f"bad JSON: {e.msg}", line
        except RecursionError:  # nesting deeper than Python's stack: one bad record, not a crash
            yield where, None, "bad JSON: nested too deeply", line[:2000]
        else:
            yield where, obj, "", line


def _json(path: Path) -> Iterator[Row]:
    """A JSON array of objects (or an object holding one under `data`); JSON Lines also accepted."""
    with open_binary(path) as f:
        blob = f.read(MAX_JSON_BYTES + 1)
    if len(blob) > MAX_JSON_BYTES:
        yield str(path), None, f"a JSON array file larger than {MAX_JSON_BYTES:,} bytes: use JSON Lines", blob[:RAW_KEEP_BYTES]
        return
    try:
        data = json.loads(blob.decode("utf-8"))
    except UnicodeDecodeError:
        yield str(path), None, "invalid UTF-8", blob
        return
    except json.JSONDecodeError:  # JSON Lines under a .json name (common on the hub)
        yield from _jsonl(path)
        return
    except RecursionError:
        yield str(path), None, "bad JSON: nested too deeply", blob[:2000].decode("utf-8", "replace")
        return
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        yield str(path), None, "JSON is neither an array of objects nor JSON Lines", blob[:2000].decode("utf-8", "replace")
        return
    for i, obj in enumerate(data):
        yield f"{path}#{i}", obj, "", _dumps(obj)


def _dumps(obj: Any) -> str:
    """A record as JSON text for a reject; never raises (deep nesting, values JSON cannot hold)."""
    try:
        return json.dumps(obj, ensure_ascii=False, default=str)[:2000]
    except (RecursionError, ValueError):
        return f"<{type(obj).__name__} that cannot be shown as JSON>"


def _csv(path: Path, delimiter: str) -> Iterator[Row]:
    with open_binary(path) as f:
        text = io.TextIOWrapper(f, encoding="utf-8", errors="strict", newline="")
        yield from _csv_rows(path, text, delimiter)


def _csv_rows(path: Path, text: IO[str], delimiter: str) -> Iterator[Row]:
    """Rows of a CSV file as dicts keyed by the header, one bad row at a time.

    An unterminated quote makes the csv module read on to the end of the file (or to the next stray
    quote) as one field: one typo would merge every later row into one record. A row that spans
    several physical lines and is broken (an odd number of quote characters, a field count unlike
    the header's, or a csv error) is therefore reported alone, at its first line, and parsing starts
    again on the line after it. Quoted fields that hold newlines on purpose stay one row.
    """
    pending: list[tuple[int, str]] = []  # physical lines of the row being read
    queue: list[tuple[int, str]] = []  # lines to read again after a broken row
    numbered = enumerate(text, 1)

    def feed() -> Iterator[str]:
        while True:
            if queue:
                item = queue.pop(0)
            else:
                try:
                    item = next(numbered)
                except StopIteration:
                    return
            pending.append(item)
            yield item[1]

    reader = csv.reader(feed(), delimiter=delimiter)
    header: list[str] | None = None
    while True:
        pending.clear()
        error = ""
        try:
            row = next(reader)
        except StopIteration:
            break
        except UnicodeDecodeError as e:
            start = pending[0][0] if pending else "?"
            yield f"{path}:{start}", None, f"invalid UTF-8 ({e.reason}); rest of file skipped", ""
            break
        except csv.Error as e:
            row, error = [], f"bad CSV: {e}"
        lines = list(pending)
        start = lines[0][0] if lines else 0
        raw = "".join(line for _, line in lines)
        if header is None:
            if error:
                yield f"{path}:{start}", None, f"{error} in the header; rest of file skipped", raw[:2000]
                break
            header = row
            continue
        if not row and not error:
            continue
        if not error and len(lines) > 1:
            if raw.count('"') % 2:
                error = "bad CSV: unterminated quote"
            elif len(row) != len(header):
                error = f"bad CSV: {len(row)} fields where the header has {len(header)}"
        if error:
            yield f"{path}:{start}", None, error, (lines[0][1] if lines else "")[:2000]
            queue[:0] = lines[1:]  # read the swallowed lines again, as rows of their own
            reader = csv.reader(feed(), delimiter=delimiter)
            continue
        obj: dict[Any, Any] = {h: (row[i] if i < len(row) else None) for i, h in enumerate(header)}
        if len(row) > len(header):  # as csv.DictReader: missing fields None, extra ones under None
            obj[None] = row[len(header):]
        yield f"{path}:{start}", obj, "", raw[:2000]


def _parquet(path: Path, columns: list[str] | None) -> Iterator[Row]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    if columns:
        missing = [c for c in columns if c not in pf.schema_arrow.names]
        if missing:
            yield str(path), None, f"no column '{missing[0]}' (has: {', '.join(pf.schema_arrow.names)})", ""
            return
    i = 0
    for batch in pf.iter_batches(batch_size=8192, columns=columns):
        for row in batch.to_pylist():
            yield f"{path}#{i}", row, "", _dumps(row)
            i += 1


def iter_rows(path: Path, fmt: str | None = None, *, columns: list[str] | None = None) -> Iterator[Row]:
    """Every record of one file in stored order, as (where, row, problem, raw); `fmt` defaults to the
    format the name implies. `columns` limits what Parquet reads. `raw` is text, or bytes where the
    record is not UTF-8 (see `raw_fields`). A file that cannot be read past some point yields the
    records before it and then one problem row."""
    path = Path(path)
    try:
        yield from _iter_rows(path, fmt, columns)
    except _READ_ERRORS + _arrow_errors() as e:
        yield str(path), None, _read_error(path, e), ""


def _arrow_errors() -> tuple[type[BaseException], ...]:
    try:
        import pyarrow
    except ImportError:
        return ()
    return (pyarrow.ArrowException,)


def _iter_rows(path: Path, fmt: str | None, columns: list[str] | None) -> Iterator[Row]:
    fmt = fmt or format_of(path)
    if fmt == "jsonl":
        yield from _jsonl(path)
    elif fmt == "json":
        yield from _json(path)
    elif fmt in ("csv", "tsv"):
        yield from _csv(path, "\t" if fmt == "tsv" or ".tsv" in path.name.lower() else ",")
    elif fmt == "parquet":
        yield from _parquet(path, columns)
    else:
        yield str(path), None, f"unknown file type: declare one of {', '.join(FORMATS)} or name the file so", ""
