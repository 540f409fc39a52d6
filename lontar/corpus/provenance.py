"""Where each source came from and under which licence: the data card's provenance table and the
responsible-AI record. A source that declares nothing is reported as "unknown", never guessed."""

from __future__ import annotations

import importlib.metadata
from collections import Counter
from typing import Any

from lontar.config import SourceConfig

UNKNOWN = "unknown"


def _rdlab_license() -> str | None:
    """The licence rdlab-dataset declares on PyPI (its trove classifier), if the package is installed."""
    try:
        meta = importlib.metadata.metadata("rdlab-dataset")
    except importlib.metadata.PackageNotFoundError:
        return None
    declared = meta.get("License-Expression") or meta.get("License")
    if declared:
        return declared
    for c in meta.get_all("Classifier") or []:
        if c.startswith("License :: OSI Approved :: "):
            return c.removeprefix("License :: OSI Approved :: ").removesuffix(" License")
    return None


def source_license(src: SourceConfig) -> str:
    if src.license:
        return src.license
    if src.type == "rdlab":
        return _rdlab_license() or UNKNOWN
    return UNKNOWN


def source_provenance(src: SourceConfig) -> dict[str, Any]:
    origin = src.origin
    if origin is None and src.type == "rdlab":
        origin = "https://pypi.org/project/rdlab-dataset/ (https://github.com/SoyVitouPro/rdlab_dataset)"
    if origin is None and src.type == "hf":
        origin = f"https://huggingface.co/datasets/{src.dataset}"
    return {"license": source_license(src), "license_declared": bool(src.license), "origin": origin or src.path,
            "collected": src.collected, "notes": src.notes}


def license_allowed(license: str, allowlist: list[str]) -> bool:
    return license.lower() in {a.lower() for a in allowlist}


def license_totals(sources: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Kept documents and characters per licence, from the card's per-source entries."""
    totals: dict[str, Counter] = {}
    for s in sources:
        c = totals.setdefault(s["provenance"]["license"], Counter())
        c.update({"sources": 1, "docs": s["kept"], "chars": s.get("kept_chars", 0)})
    return {k: dict(v) for k, v in sorted(totals.items())}
