"""Every data set the adapter was trained on (corpus and chat), each file with its sha256.

The train stage's manifest entry is the record: a file it hashed is taken from there. A file it did not
hash (a chat jsonl recorded by its glob only) is hashed here at publish time, and the card says so.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from lontar.config import RunConfig
from lontar.manifest import describe


def _recorded_files(entry: Any, out: dict[str, dict[str, Any]]) -> None:
    """Every {path, sha256} the stage entry holds, wherever it holds it."""
    if isinstance(entry, dict):
        if isinstance(entry.get("path"), str) and entry.get("sha256"):
            out.setdefault(entry["path"], entry)
        for v in entry.values():
            _recorded_files(v, out)
    elif isinstance(entry, list):
        for v in entry:
            _recorded_files(v, out)


def _train_stage(manifest: dict[str, Any]) -> dict[str, Any]:
    return next((s for s in reversed(manifest.get("stages", [])) if s.get("stage") == "train"), {})


def _lookup(path: Path, run_dir: Path, recorded: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    keys = {str(path)}
    try:
        keys.add(str(path.resolve()))
        keys.add(str(path.resolve().relative_to(run_dir.resolve())))
    except ValueError:
        pass
    return next((recorded[k] for k in keys if k in recorded), None)


def training_data(cfg: RunConfig, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """[{name, type, weight, files: [{path, bytes, sha256}], note}] for `train.datasets`; paths as on this
    machine (the caller makes them public)."""
    run = cfg.run_dir
    recorded: dict[str, dict[str, Any]] = {}
    _recorded_files(_train_stage(manifest), recorded)
    out = []
    for i, d in enumerate(cfg.train.datasets):
        name = d.name or (f"{d.type}: {d.path}" if d.path else "the run's corpus (train split)")
        files, hashed_here = [], 0
        if d.path:
            paths = [Path(p) for p in sorted(glob.glob(d.path, recursive=True))]
        else:  # the run's corpus shards as the train stage read them
            paths = [Path(k) if Path(k).is_absolute() else run / k for k in recorded if k.startswith("corpus/")]
            if not paths:
                paths = sorted((run / "corpus").glob("train-*.parquet"))
        for path in paths:
            rec = _lookup(path, run, recorded)
            if rec is None:
                rec = describe(path, run) if path.exists() else {"path": str(path)}
                hashed_here += bool(rec.get("sha256"))
            files.append({"path": str(path), "bytes": rec.get("bytes"), "sha256": rec.get("sha256")})
        note = None
        if hashed_here:
            note = (f"{name}: {hashed_here} file(s) hashed at publish time, not by the train stage: they may have "
                    "changed since training.")
        if not paths:
            note = f"{name}: no file matches any more; it is not hashed."
        out.append({"name": name, "type": d.type, "weight": d.weight, "files": files, "note": note})
    return out


def training_tokens(manifest: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Token counts per language the train stage recorded (any summary mapping named for tokens)."""
    summary = _train_stage(manifest).get("summary") or {}
    out = {}
    for key, value in summary.items():
        if "token" in key and isinstance(value, dict) and value and all(isinstance(v, int) for v in value.values()):
            out[key] = value
    return out
