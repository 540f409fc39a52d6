"""Documents for a task: a hub dataset (or a local copy in the hub's layout), local files, or the run's corpus.

Hub datasets go through `datasets.load_dataset(id, config, split=..., revision=...)`, the real loader.
`eval.dataset_dirs` maps a hub id to a local directory with the same layout (a README whose `configs`
name the data files, as on the hub), and `eval.hub_mirror` is a folder of such copies (`<mirror>/<org>/<name>`):
then the same call reads the local directory, which is how tests and offline machines run every
shipped benchmark file. Local files (`path`) are read by the project's one record reader
(`lontar.records`), in the format their name implies or the one `source.format` declares.

Every loader also says where its rows came from (`provenance`): the hub id, config, split and
revision, or each local file read with its sha256, so results and the result cache follow the data.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lontar.config import ConfigError
from lontar.errors import DataError, MissingInput
from lontar.manifest import sha256_file
from lontar.eval.task import SourceSpec, Task
from lontar.records import FORMATS, format_of, iter_rows


class MissingData(MissingInput):
    """A task's data is not where the task file says (a local file, a data dir, a corpus split)."""


# Benchmark data shipped inside the package (`{lontar_data}` in task files): the demo evaluates with no download.
PACKAGE_DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class DataContext:
    """What a source may refer to: placeholders for paths, local copies of hub datasets, the run directory."""

    data_dirs: dict[str, str] = field(default_factory=dict)
    dataset_dirs: dict[str, str] = field(default_factory=dict)
    hub_mirror: str | None = None
    run_dir: Path | None = None

    def expand(self, text: str, where: str) -> str:
        try:
            return text.format_map({"lontar_data": str(PACKAGE_DATA), **self.data_dirs})
        except KeyError as e:
            raise ConfigError(f"{where}: '{{{e.args[0]}}}' is not set: add it to eval.data_dirs "
                              f"(e.g. --set eval.data_dirs.{e.args[0]}=/path/to/dir)") from None

    def local_dataset(self, dataset: str) -> Path | None:
        if dataset in self.dataset_dirs:
            return Path(self.dataset_dirs[dataset]).expanduser()
        if self.hub_mirror and (Path(self.hub_mirror) / dataset).is_dir():
            return Path(self.hub_mirror) / dataset
        path = Path(dataset).expanduser()
        return path if dataset.startswith((".", "/", "~")) or path.is_dir() else None


def shown_path(path: Path, run_dir: Path | None) -> str:
    """A data file's path as results and the manifest show it: relative to the run directory (or the
    working directory), never an absolute machine path."""
    base = run_dir if run_dir is not None else Path.cwd()
    try:
        return os.path.relpath(Path(path).resolve(), Path(base).resolve())
    except ValueError:  # another drive (Windows)
        return Path(path).name


def file_entry(path: Path, ctx: DataContext) -> dict[str, Any]:
    return {"path": shown_path(path, ctx.run_dir), "sha256": sha256_file(Path(path)), "bytes": Path(path).stat().st_size}


def read_file(path: Path, fmt: str | None = None) -> list[dict[str, Any]]:
    """Every row of one local data file, through the project's record reader; the first bad record is a
    one-line DataError naming the file and line (or row)."""
    kind = fmt or format_of(path)
    if kind is None:
        raise ConfigError(f"{path}: unknown file type: name it .jsonl, .json, .csv, .tsv or .parquet, or declare "
                          f"source.format ({', '.join(FORMATS)})")
    rows = []
    for where, row, problem, raw in iter_rows(path, kind):
        if problem:
            hint = "; declare source.format: jsonl" if kind == "json" and problem.startswith("bad JSON") else ""
            raise DataError(f"{where}: {problem}{hint} ({raw[:80]!r})" if raw else f"{where}: {problem}{hint}")
        if not isinstance(row, dict):
            raise DataError(f"{where}: a record must be an object with fields, got {type(row).__name__}")
        rows.append(row)
    return rows


def _load_hub(dataset: str, config: str | None, split: str, revision: str | None,
              ctx: DataContext) -> tuple[list[dict], dict[str, Any]]:
    """Rows through datasets' own builder (as `load_dataset` does). A local folder is prepared in a
    throwaway cache: datasets fingerprints local files by path and time, so two folders with the same
    layout, or a file edited in place, could otherwise be served from one stale Arrow cache."""
    import datasets

    local = ctx.local_dataset(dataset)
    if local is not None and not local.exists():
        raise MissingData(f"local copy of {dataset} not found: {local}")
    where = f"{local or dataset} ({config or 'default'}, split {split})"
    try:
        with tempfile.TemporaryDirectory(prefix="lontar-eval-") if local else contextlib.nullcontext() as cache:
            builder = datasets.load_dataset_builder(str(local) if local else dataset, config,
                                                    revision=None if local else revision, cache_dir=cache)
            builder.download_and_prepare()
            rows = builder.as_dataset(split=split).to_list()
    except Exception as e:  # offline, gated, unknown config or split: datasets raises many kinds
        hint = "" if local else "; for a local copy in the hub's layout set eval.dataset_dirs or eval.hub_mirror"
        first = (str(e).splitlines() or [""])[0][:200]
        raise MissingData(f"{where}: cannot load: {type(e).__name__}: {first}{hint}") from e
    files = _split_files(builder, split)
    if local:
        prov = {"kind": "local_dataset", "dataset": dataset, "config": config, "split": split,
                "folder": shown_path(local, ctx.run_dir), "files": [file_entry(Path(f), ctx) for f in files]}
    else:
        resolved = sorted({m.group(1) for f in files if (m := re.search(r"@([0-9a-f]{40})/", str(f)))})
        prov = {"kind": "hub", "dataset": dataset, "config": config, "split": split, "revision": revision,
                "resolved_revision": resolved[0] if len(resolved) == 1 else None,
                "files": [str(f) for f in files]}
    return rows, prov


def _split_files(builder: Any, split: str) -> list[str]:
    data_files = getattr(builder.config, "data_files", None) or {}
    try:
        return [str(f) for f in data_files[split]]
    except (KeyError, TypeError):
        return []


def load_source(src: SourceSpec, ctx: DataContext, *, where: str,
                lang: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All documents of one source, in their stored order, and where they came from (provenance: hub id
    and revision, or every local file read with its sha256)."""
    if src.corpus:
        from lontar.corpus.shards import split_files

        if ctx.run_dir is None:
            raise ConfigError(f"{where}: source 'corpus' needs a run directory")
        files = split_files(ctx.run_dir / "corpus", src.corpus)  # missing: an earlier stage's output, always an error
        docs = [row for f in files for row in pq.read_table(f, columns=["id", "text", "lang"]).to_pylist()]
        prov = {"kind": "corpus", "split": src.corpus, "files": [file_entry(Path(f), ctx) for f in files]}
        return [d for d in docs if lang in (None, "*") or d.get("lang") == lang], prov
    if src.path:
        pattern = ctx.expand(src.path, where)
        files = sorted(Path(f) for f in glob.glob(str(Path(pattern).expanduser()), recursive=True) if Path(f).is_file())
        if not files:
            raise MissingData(f"{where}: no file matches '{pattern}'")
        docs = [row for f in files for row in read_file(f, src.format)]
        return docs, {"kind": "files", "format": src.format, "files": [file_entry(f, ctx) for f in files]}
    assert src.dataset is not None
    if src.parallel:
        sides = {side: _load_hub(src.dataset, cfg, src.split, src.revision, ctx) for side, cfg in src.parallel.items()}
        tgt = {row[src.join_on]: row for row in sides["tgt"][0]}
        docs = [{"src": row, "tgt": tgt[row[src.join_on]]} for row in sides["src"][0] if row[src.join_on] in tgt]
        return docs, {"kind": "parallel", "join_on": src.join_on, "src": sides["src"][1], "tgt": sides["tgt"][1]}
    return _load_hub(src.dataset, src.config, src.split, src.revision, ctx)


@dataclass
class TaskData:
    """A task's documents (after its filter), its few-shot pool (None when few-shot is off; the same
    list when examples come from the documents) and where both came from."""

    docs: list[dict[str, Any]]
    pool: list[dict[str, Any]] | None
    provenance: dict[str, Any]

    def __iter__(self):  # (docs, pool) unpacking, as callers used to receive
        return iter((self.docs, self.pool))


def task_docs(task: Task, ctx: DataContext) -> TaskData:
    where = f"{task.file or task.task}: source"
    docs, prov = load_source(task.source, ctx, where=where, lang=task.lang if task.source.corpus else None)
    docs = [d for d in docs if task.keep(d)]
    if not docs:
        raise MissingData(f"{where}: no documents ({task.source.label})")
    provenance: dict[str, Any] = {"source": prov}
    pool = None
    if task.fewshot.k > 0:
        fs = task.fewshot.source
        if task.fewshot.split:
            fs = task.source.model_copy(update={"split": task.fewshot.split})
        if fs is None or fs == task.source:
            pool = docs
        else:
            rows, fprov = load_source(fs, ctx, where=f"{task.file or task.task}: fewshot.source")
            pool = [d for d in rows if task.keep(d)]
            provenance["fewshot"] = fprov
    return TaskData(docs, pool, provenance)
