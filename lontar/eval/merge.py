"""Merging an evaluation run into the results already on disk.

A run that evaluates fewer tasks (or skips its only task because its data is missing) must not erase
what earlier runs measured: results accumulate, one entry per (checkpoint, task, checkpoint
fingerprint). A task evaluated again on the same checkpoint replaces its earlier figures; figures of a
checkpoint whose files have changed since are kept under their own fingerprint only while no newer
evaluation of that task replaces them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PER_CHECKPOINT = ("metrics", "seconds", "max_length", "truncated", "fingerprint")


def read_previous(path: Path) -> dict[str, Any] | None:
    """The earlier results.json, or None when absent or unreadable (then nothing can be merged, and the
    caller says so)."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("tasks"), dict) else None


def merge_results(previous: dict[str, Any] | None, current: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """`current` with what `previous` holds that this run did not measure again; returns the merged
    results and the (checkpoint, task) pairs carried over, for the log."""
    if not previous:
        return current, []
    carried: list[str] = []
    tasks = current["tasks"]
    ckpts = current["checkpoints"]
    for name, old in previous.get("tasks", {}).items():
        if not isinstance(old, dict) or not isinstance(old.get("metrics"), dict):
            continue
        new = tasks.get(name)
        if new is not None and (new.get("data_sha256"), new.get("prompt_sha256")) != \
                (old.get("data_sha256"), old.get("prompt_sha256")):
            continue  # the task itself changed: its old figures are not figures of this task
        for ckpt in old["metrics"]:
            if new is not None and ckpt in new["metrics"]:
                continue  # measured again now
            if new is None:
                new = tasks[name] = {**old, **{k: {} for k in PER_CHECKPOINT}}
            for key in PER_CHECKPOINT:
                if ckpt in old.get(key, {}):
                    new.setdefault(key, {})[ckpt] = old[key][ckpt]
            if ckpt not in ckpts and ckpt in previous.get("checkpoints", {}):
                ckpts[ckpt] = previous["checkpoints"][ckpt]
            carried.append(f"{ckpt} {name}")
    return current, carried
