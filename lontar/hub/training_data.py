"""Every data set the adapter was trained on (corpus and chat), each file with its sha256.

The train stage's manifest entry is the record: a file it hashed is taken from there. A file it did not
hash (a chat jsonl recorded by its glob only) is hashed here at publish time, and the card says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lontar.config import RunConfig
from lontar.manifest import describe
from lontar.records import expand_glob


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


def _by_location(recorded: dict[str, dict[str, Any]], run_dir: Path) -> dict[str, dict[str, Any]]:
    """The recorded entries keyed by resolved location too (a path may be recorded relative to the run,
    relative to the working directory, or absolute)."""
    out = dict(recorded)
    for key, entry in recorded.items():
        path = Path(key).expanduser()
        for candidate in ([path] if path.is_absolute() else [run_dir / path, path]):
            out.setdefault(str(candidate.resolve()), entry)
    return out


def _run_corpus_files(run: Path, recorded: dict[str, dict[str, Any]]) -> list[Path]:
    from lontar.corpus.shards import split_files

    try:
        return [Path(p) for p in split_files(run / "corpus", "train")]
    except Exception:  # the corpus is gone: list what the train stage recorded of it
        return [run / k for k in recorded if k.startswith("corpus/")]


def training_data(cfg: RunConfig, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """[{name, type, weight, files: [{path, bytes, sha256}], note}] for `train.datasets`; paths as on this
    machine (the caller makes them public)."""
    run = cfg.run_dir
    recorded: dict[str, dict[str, Any]] = {}
    _recorded_files(_train_stage(manifest), recorded)
    located = _by_location(recorded, run)
    out = []
    specs = ([(p.name, d) for p in cfg.train.phases for d in p.datasets] if cfg.train.phases
             else [(None, d) for d in cfg.train.datasets])
    for phase, d in specs:
        name = d.name or (f"{d.type}: {d.path}" if d.path else f"{d.type}: {d.location}" if d.dataset
                          else "the run's corpus (train split)")
        files, hashed_here = [], 0
        if d.dataset:  # a hub data set: its id, config, split and revision say what was read
            pin = f"revision {d.revision}" if d.revision else "no revision pinned (the hub's latest at training time)"
            out.append({"name": name, "type": d.type, "weight": d.weight, "files": [], "phase": phase,
                        "dataset": d.dataset, "license": d.license,
                        "note": f"{name}: the hub data set {d.location}, {pin}; licence {d.license}."
                                + (f" {d.notes}" if d.notes else "")})
            continue
        if d.path:
            paths = [Path(p) for p in sorted(expand_glob(d.path))]
            if len(paths) == 1 and paths[0].is_dir():  # a folder of shards: its files, each hashed
                paths = sorted(f for f in paths[0].rglob("*") if f.is_file())
        else:  # the run's corpus shards as the train stage read them
            paths = _run_corpus_files(run, recorded)
        for path in paths:
            rec = located.get(str(path)) or located.get(str(path.resolve()))
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
        if d.notes:  # the config's own word on it (e.g. a stand-in for real instruction data)
            note = f"{note} {d.notes}" if note else f"{name}: {d.notes}"
        out.append({"name": name, "type": d.type, "weight": d.weight, "files": files, "note": note, "phase": phase})
    return out


def training_phases(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The phases the train stage recorded (`summary.phases`), [] for a run without phases."""
    return list((_train_stage(manifest).get("summary") or {}).get("phases") or [])


def training_tokens(manifest: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Token counts the train stage recorded, per language and per dataset where it has them
    (`summary.tokens_seen.by_lang`, or any flat mapping of counts named for tokens)."""
    summary = _train_stage(manifest).get("summary") or {}
    out: dict[str, dict[str, int]] = {}

    def counts(value: Any) -> bool:
        return isinstance(value, dict) and bool(value) and all(isinstance(v, int) for v in value.values())

    for key, value in summary.items():
        if "token" not in key or not isinstance(value, dict):
            continue
        if counts(value):
            out[key] = value
        for sub in ("by_lang", "by_dataset"):
            if counts(value.get(sub)):
                out[f"{key} {sub.replace('_', ' ')}"] = value[sub]
    return out
