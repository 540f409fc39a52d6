"""The run's lineage: every stage appends what it read and wrote to `runs/<name>/manifest.json`.

The model card is built from this record, so it must say exactly which files (by hash) went in and
came out, under which config and library versions.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from lontar.config import RunConfig, save_resolved

TRACKED_PACKAGES = (
    "lontar", "torch", "transformers", "peft", "accelerate", "datasets", "tokenizers",
    "sentencepiece", "safetensors", "huggingface_hub", "pyarrow", "rdlab_dataset",
)


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def sha256_file(path: Path) -> str:
    """Streamed, so a multi-GB weights file or GGUF never sits in memory."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def describe(path: Path, run_dir: Path) -> dict[str, Any]:
    """A file or folder as lineage: relative path, size and content hash (a folder hashes its files)."""
    path = Path(path)
    try:
        shown = str(path.resolve().relative_to(run_dir.resolve()))
    except ValueError:
        shown = str(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        h = hashlib.sha256()
        for p in files:
            h.update(str(p.relative_to(path)).encode() + b"\0" + sha256_file(p).encode())
        return {"path": shown, "files": len(files), "bytes": sum(p.stat().st_size for p in files),
                "sha256": h.hexdigest()}
    if path.is_file():
        return {"path": shown, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    return {"path": shown}  # not a local file: a hub id or a packaged source


def record_stage(
    cfg: RunConfig,
    stage: str,
    *,
    inputs: list[Path | str],
    outputs: list[Path],
    started: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one stage entry to the manifest and save the resolved config beside it."""
    run_dir = cfg.run_dir
    save_resolved(cfg, run_dir / "config.yaml")
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {
        "run": cfg.name, "stages": []}
    entry = {
        "stage": stage,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 2),
        "config_hash": cfg.hash(),
        "inputs": [describe(Path(p), run_dir) if not isinstance(p, str) else {"path": p} for p in inputs],
        "outputs": [describe(p, run_dir) for p in outputs],
        "versions": library_versions(),
        **(extra or {}),
    }
    manifest["stages"].append(entry)
    atomic_write_json(manifest_path, manifest)
    return entry


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"stages": []}
