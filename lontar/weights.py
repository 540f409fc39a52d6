"""Checking weight and state files without loading them: a truncated or damaged file is found from its
header and size alone, so publish and --resume can refuse (or skip) it before anything is copied or
restored."""

from __future__ import annotations

import json
import struct
import zipfile
from math import prod
from pathlib import Path
from typing import Any

from lontar.errors import StageError

DTYPE_BYTES = {"F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2, "I16": 2,
               "U16": 2, "I8": 1, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
MAX_HEADER_BYTES = 100 << 20  # the safetensors format's own limit


def safetensors_header(path: Path) -> dict[str, dict[str, Any]]:
    """Tensor name -> {dtype, shape, data_offsets}, after checking the file holds every byte the header
    promises (a truncated or padded file is refused, without loading a tensor)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise StageError(f"{path}: not a safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise StageError(f"{path}: safetensors header of {n} bytes does not fit the file ({size} bytes)")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise StageError(f"{path}: the safetensors header is not JSON") from None
    if not isinstance(header, dict):
        raise StageError(f"{path}: the safetensors header is not a mapping")
    header.pop("__metadata__", None)
    end = 0
    for name, t in header.items():
        try:
            start, stop = t["data_offsets"]
            want = prod(t["shape"]) * DTYPE_BYTES[t["dtype"]]
        except (KeyError, TypeError, ValueError):
            raise StageError(f"{path}: tensor {name!r} has a malformed header entry") from None
        if stop - start != want:
            raise StageError(f"{path}: tensor {name!r} holds {stop - start} bytes, its shape needs {want}")
        end = max(end, stop)
    if size != 8 + n + end:
        raise StageError(f"{path}: {size} bytes where the header describes {8 + n + end} (truncated or damaged)")
    return header


def torch_file_problem(path: Path) -> str | None:
    """Why a torch.save / np.savez file (a zip archive) cannot be read, from its directory alone; None
    when it looks whole."""
    try:
        with zipfile.ZipFile(path) as z:
            bad = [i.filename for i in z.infolist() if i.header_offset + i.compress_size > path.stat().st_size]
    except (OSError, zipfile.BadZipFile, ValueError) as e:
        return f"{path.name}: {type(e).__name__}"
    return f"{path.name}: truncated" if bad else None
