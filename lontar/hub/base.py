"""Which base the published model builds on: its hub id (never a local path) and its licence.

An adapter is bound by its base model's terms, so the licence is read from wherever the base left it:
the `license` in its card's metadata (README.md), its config.json, or a GGUF file's
`general.license`; a hub id with no local copy is looked up in the local hub cache only (publishing
never downloads). `publish.base_license` declares it where none of these can be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lontar.errors import InvalidInput
from lontar.config import RunConfig

TERMS_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "USE_POLICY.md", "NOTICE", "Gemma_Terms_of_Use.md")


def looks_like_hub_id(name: str | None) -> bool:
    """'org/name' that is not a path on this machine."""
    if not name or name.startswith((".", "/", "~")) or name.count("/") != 1 or name.endswith(".gguf"):
        return False
    return not Path(name).expanduser().exists()


def base_hub_id(cfg: RunConfig) -> str | None:
    """The base's hub id: `model.hub_id`, else `model.name_or_path` when that is one; None for a local
    base without a declared id and for a random-init base."""
    m = cfg.model
    if m.architecture is not None:
        return None
    if m.hub_id:
        return m.hub_id
    hub_gguf = hub_gguf_file(m.name_or_path)
    if hub_gguf:
        return hub_gguf[0]
    return m.name_or_path if looks_like_hub_id(m.name_or_path) else None


def hub_gguf_file(spec: str | None) -> tuple[str, str] | None:
    """(repo id, file) for `org/repo/path/file.gguf` naming a GGUF file in a hub repository, else None."""
    if not spec or not spec.lower().endswith(".gguf") or spec.startswith((".", "/", "~")):
        return None
    parts = spec.split("/")
    if len(parts) < 3 or Path(spec).expanduser().exists():
        return None
    return "/".join(parts[:2]), "/".join(parts[2:])


def local_base(cfg: RunConfig) -> bool:
    """The base was loaded from a folder or a file on this machine."""
    m = cfg.model
    return m.architecture is None and not looks_like_hub_id(m.name_or_path) and not hub_gguf_file(m.name_or_path)


def gguf_file(cfg: RunConfig) -> Path | None:
    """The base's GGUF file: `model.name_or_path` itself, `model.gguf_file` (in its folder) where the
    config has that key, or the single *.gguf in the base folder."""
    m = cfg.model
    if not m.name_or_path:
        return None
    on_hub = hub_gguf_file(m.name_or_path)
    if on_hub:  # only where the hub cache already holds it: publishing never downloads
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(on_hub[0], on_hub[1], revision=m.revision)
        return Path(cached) if isinstance(cached, str) else None
    path = Path(m.name_or_path).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return path
    named = getattr(m, "gguf_file", None)
    if named:
        candidate = Path(named).expanduser()
        candidate = candidate if candidate.is_absolute() else path / candidate
        return candidate if candidate.is_file() else None
    found = sorted(path.glob("*.gguf")) if path.is_dir() else []
    return found[0] if len(found) == 1 else None


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def gguf_metadata(path: Path, prefix: str = "general.") -> dict[str, Any]:
    """The GGUF header's key/values under `prefix`, read with `struct`: gguf's GGUFReader builds every
    field as numpy arrays (a 262k-token vocabulary takes it a minute); here arrays are skipped unread."""
    import struct

    def read(f: Any, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        data = f.read(size)
        if len(data) != size:
            raise InvalidInput(f"{path}: GGUF header ends early")
        return struct.unpack(fmt, data)[0]

    def string(f: Any) -> str:
        return f.read(read(f, "<Q")).decode("utf-8", errors="replace")

    def skip(f: Any, vtype: int) -> None:
        if vtype == _STRING:
            f.seek(read(f, "<Q"), 1)
        elif vtype == _ARRAY:
            etype, count = read(f, "<I"), read(f, "<Q")
            if etype in _SCALARS:
                f.seek(struct.calcsize(_SCALARS[etype]) * count, 1)
            else:
                for _ in range(count):
                    skip(f, etype)
        elif vtype in _SCALARS:
            f.seek(struct.calcsize(_SCALARS[vtype]), 1)
        else:
            raise InvalidInput(f"{path}: unknown GGUF value type {vtype}")

    out: dict[str, Any] = {}
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise InvalidInput(f"{path}: not a GGUF file")
        version = read(f, "<I")
        if version < 2:
            raise InvalidInput(f"{path}: GGUF version {version} is not supported")
        read(f, "<Q")  # tensor count
        for _ in range(read(f, "<Q")):
            key, vtype = string(f), read(f, "<I")
            if key.startswith(prefix) and vtype == _STRING:
                out[key] = string(f)
            elif key.startswith(prefix) and vtype in _SCALARS:
                out[key] = read(f, _SCALARS[vtype])
            elif key.startswith(prefix) and vtype == _ARRAY:
                etype, count = read(f, "<I"), read(f, "<Q")
                if etype == _STRING:
                    out[key] = [string(f) for _ in range(count)]
                elif etype in _SCALARS:
                    out[key] = [read(f, _SCALARS[etype]) for _ in range(count)]
                else:
                    for _ in range(count):
                        skip(f, etype)
            else:
                skip(f, vtype)
    return out


def _card_metadata(path: Path) -> dict[str, Any]:
    from huggingface_hub.repocard import metadata_load

    try:
        return metadata_load(path) or {}
    except Exception:  # a README without valid front matter declares nothing
        return {}


def _from_meta(meta: dict[str, Any], source: str) -> dict[str, Any] | None:
    lic = meta.get("license")
    if isinstance(lic, list):
        lic = lic[0] if lic else None
    if not lic:
        return None
    return {"license": str(lic), "license_name": meta.get("license_name"), "license_link": meta.get("license_link"),
            "source": source}


def _from_folder(folder: Path) -> dict[str, Any] | None:
    readme = folder / "README.md"
    if readme.is_file():
        found = _from_meta(_card_metadata(readme), "the base's model card (README.md metadata)")
        if found:
            return found
    record = folder / "lontar_gguf.json"  # a folder converted from a GGUF file: what its header declared
    if record.is_file():
        try:
            conv = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            conv = {}
        found = _from_meta(conv if isinstance(conv, dict) else {}, "the GGUF metadata recorded at conversion")
        if found:
            return found
    config = folder / "config.json"
    if config.is_file():
        try:
            conf = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            conf = {}
        found = _from_meta(conf if isinstance(conf, dict) else {}, "the base's config.json")
        if found:
            return found
    return None


def read_base_license(cfg: RunConfig) -> dict[str, Any]:
    """{license, license_name, license_link, source, terms_files}: license None where nothing says."""
    m = cfg.model
    none: dict[str, Any] = {"license": None, "license_name": None, "license_link": None, "terms_files": []}
    if m.architecture is not None:
        return {**none, "source": "random-init base: no pretrained weights, no base licence"}
    declared = cfg.publish.base_license
    if declared:
        return {**none, "license": declared, "source": "declared in publish.base_license"}
    path = Path(m.name_or_path or "").expanduser()
    found: dict[str, Any] | None = None
    terms: list[str] = []
    if path.is_dir():
        found = _from_folder(path)
        terms = [f for f in TERMS_FILES if (path / f).is_file()]
    gguf_path = gguf_file(cfg)
    if found is None and gguf_path is not None:
        try:
            meta = gguf_metadata(gguf_path)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            return {**none, "terms_files": terms, "source": f"GGUF metadata not readable ({type(e).__name__})"}
        found = _from_meta({"license": meta.get("general.license"), "license_name": meta.get("general.license.name"),
                            "license_link": meta.get("general.license.link")}, "the base's GGUF metadata (general.license)")
    if found is None and looks_like_hub_id(m.name_or_path):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(m.name_or_path or "", "README.md", revision=m.revision)
        if isinstance(cached, str):
            found = _from_meta(_card_metadata(Path(cached)), "the base's model card in the local hub cache")
    if found is None:
        return {**none, "terms_files": terms,
                "source": "not found in the base's card, config.json or GGUF metadata (declare publish.base_license)"}
    return {**found, "terms_files": terms}
