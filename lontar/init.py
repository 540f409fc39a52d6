"""`lontar init --lang vi`: a starting config for a language, copied from its recipe in `configs/`.

The new file is the recipe with its `extends:` parents merged in, so it stands alone wherever it is
written and a user edits one file, not a chain; data folders are rewritten relative to the new file
so that the config keeps working when run from any directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from lontar.config import _load_tree, load_config
from lontar.errors import ConfigError

RECIPES = Path(__file__).resolve().parents[1] / "configs"


def recipe_path(lang: str, tiny: bool = False) -> Path:
    path = RECIPES / ("tiny" if tiny else "") / f"{lang}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (RECIPES / ("tiny" if tiny else "")).glob("*.yaml")
                       if p.stem != "km-tiny")
        raise ConfigError(f"--lang {lang}: no {'CPU twin' if tiny else 'recipe'} for this language "
                          f"(known: {', '.join(known)})")
    return path


def _relative_to(tree: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Absolute data paths of the merged recipe become relative to the folder of the written file."""
    def rel(value: Any) -> Any:
        if isinstance(value, str) and os.path.isabs(value):
            return os.path.relpath(value, folder)
        return value

    ev = tree.get("eval") or {}
    for key in ("data_dirs", "dataset_dirs"):
        if isinstance(ev.get(key), dict):
            ev[key] = {k: rel(v) for k, v in ev[key].items()}
    train = tree.get("train") or {}
    report = ((tree.get("tokenizer") or {}).get("report") or {}).get("parallel")
    items = [*((tree.get("corpus") or {}).get("sources") or []), *(train.get("datasets") or []),
             *(d for p in train.get("phases") or [] if isinstance(p, dict) for d in p.get("datasets") or []),
             *([report] if isinstance(report, dict) else report or [])]
    for item in items:
        if isinstance(item, dict) and "path" in item:
            item["path"] = rel(item["path"])
    return tree


def write_starting_config(lang: str, out: str | Path | None = None, name: str | None = None,
                          tiny: bool = False, force: bool = False) -> Path:
    source = recipe_path(lang, tiny)
    target = Path(out) if out else Path(f"{name or lang}.yaml")
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists (pass --force to overwrite)")
    tree = _load_tree(source, {})
    tree["name"] = name or (f"tiny-{lang}" if tiny else lang)
    tree = _relative_to(tree, target.resolve().parent)
    what = f"configs/{'tiny/' if tiny else ''}{lang}.yaml"
    header = (f"# A starting config for {lang}, written by `lontar init` from lontar's recipe {what} (its\n"
              f"# parents merged in). Edit the sources, base model and governance block for your run.\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(header + yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
    try:
        load_config(tmp)  # the file must load as written
    except ConfigError:
        tmp.unlink()
        raise
    tmp.replace(target)
    return target
