"""lm-eval's own task definitions pointed at local copies of their hub datasets (no network).

    python -m lontar.eval.lm_eval_local --tasks belebele_tha_Thai,xcopa_th \\
        --dataset-dir facebook/belebele=/data/belebele --dataset-dir cambridgeltl/xcopa=/data/xcopa --out tasks_local/
    python -m lontar.eval.lm_eval_backend --model lontar --model_args pretrained=DIR \\
        --include_path tasks_local --tasks belebele_tha_Thai,xcopa_th

Each task gets a YAML in `--out` that includes the installed harness's file for it (prompt, choices,
metrics, `!function` helpers unchanged) and replaces only `dataset_path` with the local folder, which
must be in the hub's layout (a README whose `configs` block names each config's files per split, as
`eval.dataset_dirs` in lontar). The task keeps its name, so results read as the harness's; the local
file wins over the installed one of the same name.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from lontar.errors import ConfigError
from lontar.manifest import sha256_file


def _content_key(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(folder)).encode() + b"\0" + sha256_file(f).encode())
    return h.hexdigest()[:16]


def write_local_tasks(tasks: Sequence[str], dataset_dirs: Mapping[str, str | Path], out: str | Path) -> list[str]:
    """Write one YAML per task into `out`; returns the task names. A task whose dataset has no local
    folder in `dataset_dirs` fails, naming the hub id it needs."""
    from lm_eval.tasks import TaskManager
    from lm_eval.tasks._yaml_loader import load_yaml

    index = TaskManager().task_index
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in tasks:
        entry = index.get(name)
        if entry is None or entry.yaml_path is None:
            raise ConfigError(f"lm-eval has no task file for {name!r} (groups: name their tasks one by one)")
        cfg = load_yaml(Path(entry.yaml_path), resolve_func=False, recursive=True)
        hub_id = cfg.get("dataset_path")
        if hub_id not in dataset_dirs:
            raise ConfigError(f"{name}: reads {hub_id!r}; give its local copy: --dataset-dir {hub_id}=FOLDER")
        folder = Path(dataset_dirs[hub_id]).resolve()
        if not folder.is_dir():
            raise ConfigError(f"{name}: {folder}: no such folder (the local copy of {hub_id})")
        # datasets keys a local folder's Arrow cache by path and layout, not content: another copy with
        # the same layout (or a file edited in place) would be served stale. A cache per content avoids it.
        kwargs = {**(cfg.get("dataset_kwargs") or {}), "cache_dir": str(out.resolve() / ".cache" / _content_key(folder))}
        doc = {"include": str(Path(entry.yaml_path).resolve()), "task": name, "dataset_path": str(folder),
               "dataset_kwargs": kwargs}
        (out / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
        written.append(name)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", required=True, help="comma-separated lm-eval task names")
    p.add_argument("--dataset-dir", action="append", default=[], metavar="HUB_ID=FOLDER")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    dirs = {}
    for item in args.dataset_dir:
        hub_id, sep, folder = item.partition("=")
        if not sep:
            raise SystemExit(f"--dataset-dir {item}: use HUB_ID=FOLDER")
        dirs[hub_id] = folder
    try:
        names = write_local_tasks([t for t in args.tasks.split(",") if t], dirs, args.out)
    except ConfigError as e:
        raise SystemExit(f"lm_eval_local: error: {e}") from None
    print(f"wrote {len(names)} task file(s) to {args.out}: --include_path {args.out} --tasks {','.join(names)}")


if __name__ == "__main__":
    main()
