"""The hub-ready folder: adapter, tokenizer, card, results and the run's lineage, nothing else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from lontar.config import RunConfig
from lontar.governance.record import build_record, validate_record
from lontar.hub.card import render_card
from lontar.hub.merge import write_merged
from lontar.manifest import atomic_write_json, read_manifest
from lontar.train.model import MissingStageOutput, base_model_dir

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def build_folder(cfg: RunConfig, out_dir: Path) -> Path:
    """Write the folder atomically (build beside it, then rename) and return it."""
    run = cfg.run_dir
    adapter = run / "adapter"
    missing = [f for f in ADAPTER_FILES if not (adapter / f).exists()]
    if missing:
        raise MissingStageOutput(f"{adapter}: missing {', '.join(missing)}: run the train stage first (lontar train)")
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(adapter, tmp)  # adapter weights + config + the tokenizer the adapter was trained with
    includes_base = cfg.model.architecture is not None
    if includes_base:
        shutil.copytree(base_model_dir(cfg), tmp / "base_model")
        conf_path = tmp / "adapter_config.json"
        conf = json.loads(conf_path.read_text(encoding="utf-8"))
        conf["base_model_name_or_path"] = "base_model"  # the random-init base travels with the adapter
        atomic_write_json(conf_path, conf)
    _write_records(cfg, tmp, includes_base=includes_base, merged=False)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir


def _write_records(cfg: RunConfig, dest: Path, *, includes_base: bool, merged: bool) -> None:
    """Results, data card, tokenizer report, lineage, config and the model card."""
    run = cfg.run_dir
    results = _read_json(run / "eval" / "results.json")
    data_card = _read_json(run / "corpus" / "data_card.json")
    tok_report = _read_json(run / "tokenizer_report.json")
    for name, data in (("results.json", results), ("data_card.json", data_card), ("tokenizer_report.json", tok_report)):
        if data is not None:
            atomic_write_json(dest / name, data)
    manifest = read_manifest(run)
    atomic_write_json(dest / "lontar_manifest.json", manifest)
    shutil.copyfile(run / "config.yaml", dest / "lontar_config.yaml")
    governance = build_record(cfg)
    validate_record(governance)
    atomic_write_json(dest / "governance.json", governance)
    card = render_card(cfg, results=results, data_card=data_card, tokenizer_report=tok_report,
                       manifest=manifest, includes_base=includes_base, merged=merged, governance=governance)
    card.save(str(dest / "README.md"))


def build_merged_folder(cfg: RunConfig, out_dir: Path) -> Path:
    """The adapter merged into the base: a full model folder with its own card, written atomically."""
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_merged(cfg, tmp)
    _write_records(cfg, tmp, includes_base=False, merged=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir
