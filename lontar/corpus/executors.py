"""Where the corpus steps run: `datasets.map` with worker processes on this machine, or `ray.data` on a cluster.

Both run the same pure batch function (`lontar.corpus.pipeline.process_batch`) over batches of the
same size and keep the input order, so a chunk processed by either executor is the same table, row for
row; everything after the steps (dedup, mixing, shards, card) runs in the driver.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from lontar.corpus.pipeline import Step, process_batch

FEATURES = datasets.Features({
    "text": datasets.Value("string"), "source": datasets.Value("string"), "lang": datasets.Value("string"),
    "line": datasets.Value("string"), "reason": datasets.Value("string"), "step": datasets.Value("string"),
    "trace_chars": datasets.Sequence(datasets.Value("int64")), "trace_bytes": datasets.Sequence(datasets.Value("int64")),
    "counts": datasets.Value("string"),
})
SCHEMA = FEATURES.arrow_schema
MAP_BATCH = 1000
INPUT_COLUMNS = ("text", "source", "lang", "line")


def _atomic_parquet(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


class LocalExecutor:
    """`datasets.map` over the chunk, `num_proc` worker processes when the chunk is worth forking for."""

    def __init__(self, num_proc: int) -> None:
        self.num_proc = num_proc

    def run(self, records: Sequence[dict[str, Any]], steps: Sequence[Step], path: Path) -> None:
        ds = datasets.Dataset.from_dict({k: [r[k] for r in records] for k in INPUT_COLUMNS})
        parallel = self.num_proc if self.num_proc > 1 and len(ds) >= 2 * MAP_BATCH else None
        out = ds.map(process_batch, fn_kwargs={"steps": steps}, batched=True, batch_size=MAP_BATCH, num_proc=parallel,
                     remove_columns=ds.column_names, features=FEATURES, load_from_cache_file=False,
                     desc=f"corpus {path.stem}")
        tmp = path.with_name(path.name + ".tmp")
        out.to_parquet(str(tmp))
        tmp.replace(path)

    def close(self) -> None:
        pass


def _ray_batch(table: pa.Table, steps: Sequence[Step]) -> pa.Table:
    return pa.Table.from_pydict(process_batch(table.to_pydict(), steps), schema=SCHEMA)


class RayExecutor:
    """`ray.data.map_batches` over the chunk on a Ray cluster: `address` from the config, else RAY_ADDRESS,
    else a local Ray started here with `num_cpus` workers (and stopped by `close`)."""

    def __init__(self, address: str | None, num_cpus: int) -> None:
        try:
            import ray
        except ImportError as e:
            raise ImportError("corpus.executor: ray needs Ray Data: pip install 'lontar[ray]' (or 'ray[data]')") from e
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            address = address or os.environ.get("RAY_ADDRESS") or None
            local = {} if address else {"num_cpus": num_cpus, "include_dashboard": False}
            ray.init(address=address, log_to_driver=False, configure_logging=False, **local)
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # the same row order as the local executor
        ctx.enable_progress_bars = False

    def run(self, records: Sequence[dict[str, Any]], steps: Sequence[Step], path: Path) -> None:
        ray = self._ray
        table = pa.table({k: pa.array([r[k] for r in records], type=pa.string()) for k in INPUT_COLUMNS})
        # One block per batch, cut where the local executor cuts: batch-level counters land on the same rows.
        ds = ray.data.from_arrow([table.slice(i, MAP_BATCH) for i in range(0, max(len(records), 1), MAP_BATCH)])
        out = ds.map_batches(_ray_batch, fn_kwargs={"steps": list(steps)}, batch_size=MAP_BATCH,
                             batch_format="pyarrow", zero_copy_batch=True)
        parts = [ray.get(ref) for ref in out.to_arrow_refs()]
        result = pa.concat_tables(parts) if parts else SCHEMA.empty_table()
        if result.num_rows != len(records):
            raise RuntimeError(f"ray executor returned {result.num_rows} rows for {len(records)} documents ({path.name})")
        _atomic_parquet(result.cast(SCHEMA), path)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def make_executor(kind: str, num_proc: int, ray_address: str | None) -> LocalExecutor | RayExecutor:
    return RayExecutor(ray_address, num_proc) if kind == "ray" else LocalExecutor(num_proc)
