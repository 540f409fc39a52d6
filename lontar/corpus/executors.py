"""Where the corpus stages run: a process pool on this machine, or tasks on a Ray cluster.

Both run the same task functions (`lontar.corpus.stages`) over the same task list and return their
results in task order. A task reads its inputs from, and writes its outputs to, the run's work
folder, and returns only small statistics, so the driver plans and merges but never carries
documents. On a cluster the work folder must therefore be on a file system every node mounts at the
same path (README: "Corpus on a Ray cluster").
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from lontar.errors import ConfigError

Task = Callable[[Any, Any], Any]
Progress = Callable[[int, int], None] | None  # (tasks done, tasks) after each finished task

_CTX: Any = None  # the stage's shared settings in a pool worker (set once per worker, not per task)


def _init_worker(ctx: Any) -> None:
    global _CTX
    _CTX = ctx


def _call(fn: Task, item: Any) -> Any:
    return fn(_CTX, item)


class LocalExecutor:
    """`num_proc` worker processes (forked per stage, so they share the stage's settings without
    pickling them per task); in the driver itself when one process is asked for or the stage is small."""

    def __init__(self, num_proc: int, inline: bool = False) -> None:
        self.num_proc = num_proc
        self.inline = inline or num_proc <= 1

    @property
    def workers(self) -> int:
        return 1 if self.inline else self.num_proc

    def map(self, fn: Task, ctx: Any, items: Sequence[Any], progress: Progress = None) -> list[Any]:
        out: list[Any] = [None] * len(items)
        if self.inline or not items:  # a one-task stage still runs in a worker: its memory is not the driver's
            for i, item in enumerate(items):
                out[i] = fn(ctx, item)
                if progress:
                    progress(i + 1, len(items))
            return out
        with ProcessPoolExecutor(min(self.num_proc, len(items)), initializer=_init_worker, initargs=(ctx,)) as pool:
            futures = {pool.submit(_call, fn, item): i for i, item in enumerate(items)}
            for done, future in enumerate(as_completed(futures), 1):
                out[futures[future]] = future.result()
                if progress:
                    progress(done, len(items))
        return out

    def close(self) -> None:
        pass


def _ray_call(fn: Task, ctx: Any, item: Any) -> Any:
    return fn(ctx, item)


class RayExecutor:
    """Ray tasks (one CPU each) on `address` from the config, else RAY_ADDRESS, else a local Ray
    started here with `num_cpus` CPUs (and stopped by `close`). The stage's settings go to the object
    store once per stage."""

    def __init__(self, address: str | None, num_cpus: int) -> None:
        try:
            import ray
        except ImportError as e:
            raise ConfigError("corpus.executor: ray needs Ray: pip install 'lontar[ray]' (or 'ray')") from e
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            address = address or os.environ.get("RAY_ADDRESS") or None
            local = {} if address else {"num_cpus": num_cpus, "include_dashboard": False}
            try:
                ray.init(address=address, log_to_driver=False, configure_logging=False, **local)
            except ConnectionError as e:
                raise ConfigError(f"corpus.ray_address: cannot connect to Ray at '{address}': {e}") from None
        self._remote = ray.remote(num_cpus=1, max_retries=2)(_ray_call)

    @property
    def workers(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Task, ctx: Any, items: Sequence[Any], progress: Progress = None) -> list[Any]:
        if not items:
            return []
        ctx_ref = self._ray.put(ctx)
        refs = [self._remote.remote(fn, ctx_ref, item) for item in items]
        pending = list(refs)
        while pending:  # results stay in the object store until all are done; only the count is watched
            ready, pending = self._ray.wait(pending, num_returns=1)
            self._ray.get(ready)  # a failed task fails the stage now, with its traceback
            if progress:
                progress(len(refs) - len(pending), len(refs))
        return self._ray.get(refs)

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()


def make_executor(kind: str, num_proc: int, ray_address: str | None, inline: bool = False) -> LocalExecutor | RayExecutor:
    return RayExecutor(ray_address, num_proc) if kind == "ray" else LocalExecutor(num_proc, inline)
