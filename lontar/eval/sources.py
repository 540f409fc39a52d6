"""Documents for a task: a hub dataset (or a local copy in the hub's layout), local files, or the run's corpus.

Hub datasets go through `datasets.load_dataset(id, config, split=..., revision=...)`, the real loader.
`eval.dataset_dirs` maps a hub id to a local directory with the same layout (a README whose `configs`
name the data files, as on the hub), and `eval.hub_mirror` is a folder of such copies (`<mirror>/<org>/<name>`):
then the same call reads the local directory, which is how tests and offline machines run every
shipped benchmark file.
"""

from __future__ import annotations

import csv
import glob
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from lontar.config import ConfigError
from lontar.eval.task import SourceSpec, Task


class MissingData(FileNotFoundError):
    """A task's data is not where the task file says (a local file, a data dir, a corpus split)."""


@dataclass(frozen=True)
class DataContext:
    """What a source may refer to: placeholders for paths, local copies of hub datasets, the run directory."""

    data_dirs: dict[str, str] = field(default_factory=dict)
    dataset_dirs: dict[str, str] = field(default_factory=dict)
    hub_mirror: str | None = None
    run_dir: Path | None = None

    def expand(self, text: str, where: str) -> str:
        try:
            return text.format_map(self.data_dirs)
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


def _read_file(path: Path) -> list[dict[str, Any]]:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pq.read_table(path).to_pylist()
    opener = gzip.open if name.endswith(".gz") else open
    stem = name.removesuffix(".gz")
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        if stem.endswith((".jsonl", ".ndjson")):
            return [json.loads(line) for line in f if line.strip()]
        if stem.endswith(".json"):
            data = json.load(f)
            return data if isinstance(data, list) else data.get("data", [data])
        if stem.endswith((".csv", ".tsv")):
            return list(csv.DictReader(f, delimiter="\t" if stem.endswith(".tsv") else ","))
    raise ConfigError(f"{path}: unknown file type (use .jsonl, .json, .parquet, .csv or .tsv)")


def _load_hub(dataset: str, config: str | None, split: str, revision: str | None, ctx: DataContext) -> list[dict]:
    import datasets

    local = ctx.local_dataset(dataset)
    if local is not None and not local.exists():
        raise MissingData(f"local copy of {dataset} not found: {local}")
    try:
        ds = datasets.load_dataset(str(local) if local else dataset, config, split=split,
                                   revision=None if local else revision)
    except Exception as e:  # offline, gated, unknown config or split: datasets raises many kinds
        where = f"{local or dataset} ({config or 'default'}, split {split})"
        hint = "" if local else "; for a local copy in the hub's layout set eval.dataset_dirs or eval.hub_mirror"
        raise MissingData(f"{where}: cannot load: {type(e).__name__}: {str(e).splitlines()[0][:200]}{hint}") from e
    return ds.to_list()


def load_source(src: SourceSpec, ctx: DataContext, *, where: str, lang: str | None = None) -> list[dict[str, Any]]:
    """All documents of one source, in their stored order."""
    if src.corpus:
        from lontar.corpus.shards import split_files

        if ctx.run_dir is None:
            raise ConfigError(f"{where}: source 'corpus' needs a run directory")
        files = split_files(ctx.run_dir / "corpus", src.corpus)  # missing: an earlier stage's output, always an error
        docs = [row for f in files for row in pq.read_table(f, columns=["id", "text", "lang"]).to_pylist()]
        return [d for d in docs if lang in (None, "*") or d.get("lang") == lang]
    if src.path:
        pattern = ctx.expand(src.path, where)
        files = sorted(glob.glob(str(Path(pattern).expanduser()), recursive=True))
        if not files:
            raise MissingData(f"{where}: no file matches '{pattern}'")
        return [row for f in files for row in _read_file(Path(f))]
    assert src.dataset is not None
    if src.parallel:
        sides = {side: _load_hub(src.dataset, cfg, src.split, src.revision, ctx) for side, cfg in src.parallel.items()}
        tgt = {row[src.join_on]: row for row in sides["tgt"]}
        return [{"src": row, "tgt": tgt[row[src.join_on]]} for row in sides["src"] if row[src.join_on] in tgt]
    return _load_hub(src.dataset, src.config, src.split, src.revision, ctx)


def task_docs(task: Task, ctx: DataContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The task's documents (after its filter) and its few-shot pool (None when few-shot is off)."""
    where = f"{task.file or task.task}: source"
    docs = load_source(task.source, ctx, where=where, lang=task.lang if task.source.corpus else None)
    docs = [d for d in docs if task.keep(d)]
    if not docs:
        raise MissingData(f"{where}: no documents ({task.source.label})")
    pool = None
    if task.fewshot.k > 0:
        fs = task.fewshot.source
        if task.fewshot.split:
            fs = task.source.model_copy(update={"split": task.fewshot.split})
        pool = docs if fs is None or fs == task.source else [
            d for d in load_source(fs, ctx, where=f"{task.file or task.task}: fewshot.source") if task.keep(d)]
    return docs, pool
