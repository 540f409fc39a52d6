"""No machine paths in what is published: a path inside the run becomes relative to the run, a file of
an installed package becomes `distribution==version:path/inside/it`, anything else keeps its name only.

A published folder is read by strangers; an absolute path tells them the user's name, the machine's
layout and where data sits, and is of no use to them. The records are scrubbed as data (every string
and key of a JSON or YAML tree), so a table built from them is clean too.
"""

from __future__ import annotations

import importlib.metadata
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

# An absolute POSIX path (or ~/...) with at least two parts, each with a letter or digit, at the start
# of a word or after ':' ("text:/data/km.txt"); the '//' of a URL is not one, nor the '/a' inside
# 'example.org/a', nor a vocabulary piece such as '/../../'.
_PART = r"[\w.@+~-]*[^\W_][\w.@+~-]*"
ABSOLUTE_PATH = re.compile(rf"(?<![\w/.~-])(?:~|/(?!/))(?:/?{_PART}/)+[\w.@+~*?{{}}\[\]-]*")
LOCAL = "<local>"


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _package_path(parts: tuple[str, ...]) -> str | None:
    """`dist==version:top/rest` for a file under site-packages, else None."""
    for i, part in enumerate(parts[:-1]):
        if part in ("site-packages", "dist-packages"):
            rest = parts[i + 1:]
            top = rest[0].split(".")[0] if rest else ""
            dists = _distributions().get(top) or []
            if not dists:
                return None
            try:
                version = importlib.metadata.version(dists[0])
            except importlib.metadata.PackageNotFoundError:
                return None
            return f"{dists[0]}=={version}:{'/'.join(rest)}"
    return None


def public_path(path: str | Path, run_dir: Path) -> str:
    """What a published record says instead of `path` (see the module docstring)."""
    p = Path(path).expanduser()
    if not p.is_absolute():
        return str(path)
    resolved = p.resolve()
    for root in (run_dir.resolve(),):
        try:
            return str(resolved.relative_to(root)) or "."
        except ValueError:
            pass
    in_package = _package_path(resolved.parts) or _package_path(p.parts)
    if in_package:
        return in_package
    cwd = Path.cwd().resolve()
    if cwd != Path(cwd.anchor) and cwd != Path.home().resolve():
        try:
            return str(resolved.relative_to(cwd))
        except ValueError:
            pass
    return f"{LOCAL}/{p.name}"


def scrub_text(text: str, run_dir: Path) -> str:
    return ABSOLUTE_PATH.sub(lambda m: public_path(m.group(0), run_dir), text)


def scrub(value: Any, run_dir: Path) -> Any:
    """The same tree with every absolute path in its strings (keys too) made public."""
    if isinstance(value, str):
        return scrub_text(value, run_dir)
    if isinstance(value, dict):
        return {scrub(k, run_dir) if isinstance(k, str) else k: scrub(v, run_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, run_dir) for v in value]
    return value


def absolute_paths(text: str) -> list[str]:
    """Every absolute path in `text` (what a published file must not contain)."""
    return [m.group(0) for m in ABSOLUTE_PATH.finditer(text)]
