"""Checks that run before publish ships anything: what goes out must be true of the adapter that goes out.

A retrained adapter paired with the previous adapter's scores, a truncated weights file, or an empty
results table would all be published as facts; each is refused here with one line saying what to rerun.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lontar.config import RunConfig
from lontar.errors import StageError
from lontar.manifest import describe, read_manifest
from lontar.weights import safetensors_header

def _base_shapes(folder: Path) -> dict[str, list[int]]:
    shapes: dict[str, list[int]] = {}
    for f in sorted(folder.glob("*.safetensors")):
        shapes.update({k: v["shape"] for k, v in safetensors_header(f).items()})
    return shapes


def check_adapter(cfg: RunConfig, adapter: Path, base: Path | None) -> None:
    """The adapter's weights are whole, their rank is the config's, and each pair fits the base layer it
    adapts (when the base's weights are on this machine)."""
    path = adapter / "adapter_model.safetensors"
    header = safetensors_header(path)
    if not header:
        raise StageError(f"{path}: holds no tensor")
    conf = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    rank = conf.get("r")
    base_shapes = _base_shapes(base) if base and base.is_dir() else {}
    for name, t in header.items():
        for part, axis in ((".lora_A.", 0), (".lora_B.", 1)):
            if part not in name:
                continue
            shape = t["shape"]
            if len(shape) != 2 or (rank and shape[axis] != rank and not conf.get("rank_pattern")):
                raise StageError(f"{path}: {name} has shape {shape}, which does not hold rank r={rank}")
            target = name.removeprefix("base_model.model.").split(part)[0] + ".weight"
            found = base_shapes.get(target) or base_shapes.get("model." + target)
            if found is None:
                continue
            # lora_A: (r, in_features); lora_B: (out_features, r)
            if (axis == 0 and shape[1] != found[-1]) or (axis == 1 and shape[0] != found[0]):
                raise StageError(f"{path}: {name} has shape {shape}, which does not fit the base's {target} "
                                 f"{found}: the adapter was trained on another base")


def _eval_adapter_hash(manifest: dict[str, Any]) -> tuple[str | None, bool]:
    """(sha256 of the adapter the newest eval scored, whether an eval stage is recorded at all)."""
    evals = [s for s in manifest.get("stages", []) if s.get("stage") == "eval"]
    if not evals:
        return None, False
    for entry in evals[-1].get("inputs", []):
        if entry.get("path") == "adapter":
            return entry.get("sha256"), True
    return None, True


def check_results(cfg: RunConfig, adapter: Path) -> None:
    """eval/results.json scores this adapter, by content hash, and is not empty (unless allowed)."""
    run = cfg.run_dir
    results_path = run / "eval" / "results.json"
    allow_empty = cfg.publish.allow_empty_results
    if not results_path.exists():
        if allow_empty:
            return
        raise StageError(f"{results_path}: no evaluation results: run lontar eval first "
                         "(or set publish.allow_empty_results: true to publish without any)")
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StageError(f"{results_path}: not readable JSON ({e}): rerun lontar eval") from None
    if not results.get("rows") and not allow_empty:
        raise StageError(f"{results_path}: the results table is empty (every task skipped?): rerun lontar eval "
                         "(or set publish.allow_empty_results: true)")
    scored, has_eval = _eval_adapter_hash(read_manifest(run))
    now = describe(adapter, run).get("sha256")
    if scored is None:
        if has_eval and not allow_empty:
            raise StageError(f"{results_path}: the last evaluation did not score this run's adapter: rerun "
                             "lontar eval with the 'adapter' checkpoint")
        return
    if scored != now:
        raise StageError(f"{results_path}: scores adapter sha256 {scored[:12]}, but {adapter} is now "
                         f"{(now or '?')[:12]} (retrained since?): rerun lontar eval before publishing")


def verify(cfg: RunConfig, adapter: Path, base: Path | None) -> None:
    check_adapter(cfg, adapter, base)
    check_results(cfg, adapter)
