"""The run directory as a lock and a contract.

One stage at a time per run: a stage holds `runs/<name>/.lock` (its pid, host and stage) while it
runs, so two trains (or two corpus builds, or an eval during a train) cannot interleave logs, mix
adapters or race on `*.partial` folders. A lock left by a dead process on this host is recovered.

Artifacts that later stages reuse (`base_model/`, `corpus/`) carry a stamp: the hash of the config
section that made them. A stage that finds a stamp from other settings rebuilds the artifact or
refuses with the command that rebuilds it, instead of silently using the old one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lontar.errors import StageError

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
STAMP_FILE = "lontar_stamp.json"
_held: dict[str, int] = {}  # lock paths this process holds -> nesting depth (a stage may call another's code)


class RunLocked(StageError):
    """Another stage is running on this run directory."""


class StaleArtifact(StageError):
    """An artifact in the run directory was made by other settings than the config's."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def _is_rank_zero() -> bool:
    """Under `accelerate launch` / torchrun every process runs the stage; only the first one locks."""
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) or 0) == 0


def _read_holder(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def run_lock(run_dir: Path, stage: str) -> Iterator[None]:
    """Hold the run's lock for the duration of `stage`; `RunLocked` (one line) if another process holds it."""
    path = Path(run_dir) / LOCK_FILE
    key = str(path.resolve())
    if not _is_rank_zero():
        yield
        return
    if key in _held:  # this process holds it already (one stage running another's code)
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "stage": stage,
          "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _read_holder(path)
            if holder is None:  # being written right now, or garbage: look again shortly
                time.sleep(0.05)
                holder = _read_holder(path) or {}
            pid, host = holder.get("pid"), holder.get("host")
            if isinstance(pid, int) and (host != me["host"] or _alive(pid)):
                where = f"pid {pid}" + (f" on {host}" if host != me["host"] else "")
                raise RunLocked(f"{run_dir}: the {holder.get('stage', '?')} stage ({where}, since "
                                f"{holder.get('started', '?')}) holds {path.name}; wait for it to finish, or stop it "
                                f"(a lock left by a dead process on this host is recovered by itself)") from None
            # stale: its process is gone. Rename first so two recoverers cannot both remove a fresh lock.
            stale = path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
            try:
                os.replace(path, stale)
                stale.unlink()
                log.info(f"{stage}: recovered a stale lock of the {holder.get('stage', '?')} stage "
                         f"(pid {pid} is not running)")
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    else:
        raise RunLocked(f"{run_dir}: could not take {path.name} (another process keeps taking it)")
    _held[key] = 0
    try:
        yield
    finally:
        del _held[key]
        holder = _read_holder(path)
        if holder and holder.get("pid") == os.getpid():
            path.unlink(missing_ok=True)


def section_hash(section: Any, exclude: set[str] = frozenset(), extra: Any = None) -> str:
    """Hash of a config section (a pydantic model or plain data), less its operational keys."""
    import hashlib

    data = section.model_dump(mode="json") if hasattr(section, "model_dump") else section
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in exclude}
    blob = json.dumps({"section": data, "extra": extra}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write_stamp(artifact: Path, section: str, digest: str, **details: Any) -> None:
    from lontar.manifest import atomic_write_json

    atomic_write_json(Path(artifact) / STAMP_FILE, {"section": section, "hash": digest, **details})


def read_stamp(artifact: Path) -> dict[str, Any] | None:
    return _read_holder(Path(artifact) / STAMP_FILE)


def stamp_matches(artifact: Path, digest: str) -> bool:
    stamp = read_stamp(artifact)
    return stamp is not None and stamp.get("hash") == digest


def corpus_hash(cfg: Any) -> str:
    """The corpus section less the keys that only set how it runs (workers, executor, chunking)."""
    return section_hash(cfg.corpus, exclude={"num_proc", "executor", "ray_address", "chunk_docs", "partitions"})


def remove_partials(run_dir: Path, depth: int = 3) -> list[Path]:
    """Remove the `*.partial` work of a failed stage (under the run lock, only this stage writes them):
    after a full disk they would keep the space taken. Finished outputs are replaced only by renaming a
    complete `.partial`, so they are never touched here."""
    removed = []
    for level in range(1, depth + 1):
        for path in Path(run_dir).glob("/".join(["*"] * level)):
            if path.name.endswith(".partial") and path.exists():
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
    return removed
