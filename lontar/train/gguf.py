"""A GGUF file as a base model: converted once to a normal hub-layout folder, then loaded like any other.

Users of llama.cpp and Ollama hold GGUF files, and a quantized community upload is often the only copy
of a model they can get. transformers reads GGUF (the `gguf` package) and dequantizes it, but the loaded
model refuses `save_pretrained` and every load dequantizes again. So `model.name_or_path` or
`tokenizer.base` naming a `.gguf` (a local file, or `org/repo/path/file.gguf` on the hub) is converted
once into a cache folder outside the run (`$LONTAR_CACHE/gguf/`, else `~/.cache/lontar/gguf/`) keyed by
the file's sha256 and the dtype: safetensors weights in the configured dtype, the tokenizer transformers
builds from the GGUF metadata, and `lontar_gguf.json` recording where it came from. Every stage then
reads that folder, and the manifest records the GGUF's sha256.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from lontar.errors import ConfigError, StageError
from lontar.manifest import sha256_file

RECORD = "lontar_gguf.json"
SUFFIX = ".gguf"


def is_gguf(spec: str | None) -> bool:
    return bool(spec) and str(spec).lower().endswith(SUFFIX)


def cache_root() -> Path:
    root = os.environ.get("LONTAR_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "lontar") / "gguf"


def locate(spec: str, revision: str | None = None, key: str = "model.name_or_path") -> Path:
    """The local GGUF file `spec` names: a path, or `org/repo/path/in/repo.gguf` fetched from the hub."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    parts = spec.split("/")
    if spec.startswith((".", "/", "~")) or len(parts) < 3:
        raise ConfigError(f"{key}: GGUF file not found: {spec} (a local .gguf file or org/repo/file.gguf on the hub)")
    import huggingface_hub

    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    try:
        return Path(huggingface_hub.hf_hub_download(repo, filename, revision=revision))
    except Exception as e:  # offline, gated, no such repository or file: say which key led here
        raise ConfigError(f"{key}: cannot fetch {filename} from the hub repository {repo}: "
                          f"{type(e).__name__}") from None


def converted_dir(spec: str, dtype: str = "bfloat16", revision: str | None = None,
                  key: str = "model.name_or_path") -> Path:
    """The hub-layout folder converted from the GGUF `spec` (converting it on first use)."""
    gguf = locate(spec, revision, key)
    digest = sha256_file(gguf)
    out = cache_root() / f"{digest[:16]}-{dtype}"
    if (out / RECORD).is_file():
        return out
    try:
        convert(gguf, out, dtype, digest)
    except ImportError as e:
        raise ConfigError(f"{key}: reading {gguf.name} needs the gguf package: pip install 'lontar[gguf]' "
                          f"({e})") from None
    return out


def convert(gguf: Path, out: Path, dtype: str, digest: str | None = None) -> Path:
    """Dequantize `gguf` into `out` (safetensors in `dtype` + tokenizer), atomically: a half-written folder is
    never seen, and two processes converting at once both end with the same complete folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lontar.train.model import DTYPES

    digest = digest or sha256_file(gguf)
    tmp = out.with_name(f"{out.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer.save_pretrained(tmp)
        # Dequantized in float32 whatever the target dtype, so nothing is rounded twice.
        loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the folder holds plain weights, not a quantized model
        config.name_or_path = ""
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
        tied = set(getattr(model, "_tied_weights_keys", None) or {})
        if unexpected or set(missing) - tied:
            raise StageError(f"{gguf.name}: converted weights do not match {type(model).__name__}: missing "
                             f"{sorted(set(missing) - tied)[:3]}, unexpected {sorted(unexpected)[:3]}")
        del loaded
        model.tie_weights()
        model = model.to(DTYPES[dtype])
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(tmp)  # safetensors
        (tmp / RECORD).write_text(json.dumps({
            "gguf": gguf.name, "sha256": digest, "bytes": gguf.stat().st_size, "dtype": dtype,
            "model_type": config.model_type}, indent=2) + "\n", encoding="utf-8")
        if (out / RECORD).is_file():  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(out, ignore_errors=True)
            tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def lineage(folder: str | Path) -> dict[str, Any] | None:
    """What a converted folder records about its GGUF (name, sha256, dtype), or None for any other folder."""
    path = Path(folder) / RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
