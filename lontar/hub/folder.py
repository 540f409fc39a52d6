"""The hub-ready folder: adapter, tokenizer, card, results and the run's lineage, nothing else.

Everything written here is scrubbed of machine paths (`lontar.hub.paths`): the records keep paths
relative to the run, packages by name and version; adapter_config.json names the base by its hub id.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from lontar.config import RunConfig
from lontar.governance.record import build_record, validate_record
from lontar.hub.base import base_hub_id, read_base_license
from lontar.hub.card import render_card
from lontar.hub.merge import write_merged
from lontar.hub.paths import scrub, scrub_text
from lontar.hub.training_data import training_data, training_phases, training_tokens
from lontar.manifest import atomic_write_json, atomic_write_text, read_manifest
from lontar.train.model import MissingStageOutput, base_model_dir

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
# Tokenizer and model configs may carry the path they were loaded from (name_or_path and the like).
CONFIG_FILES = ("tokenizer_config.json", "special_tokens_map.json", "config.json", "generation_config.json")


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _publish_adapter_config(cfg: RunConfig, path: Path, includes_base: bool) -> None:
    """The base named by what a stranger can load: `base_model/` for a random-init base that travels
    along, the hub id otherwise, or nothing (null) for a local base with no hub id declared."""
    conf = json.loads(path.read_text(encoding="utf-8"))
    conf["base_model_name_or_path"] = "base_model" if includes_base else base_hub_id(cfg)
    if not includes_base and cfg.model.revision and base_hub_id(cfg) == cfg.model.name_or_path:
        conf["revision"] = cfg.model.revision
    atomic_write_json(path, scrub(conf, cfg.run_dir))


def _scrub_configs(folder: Path, run_dir: Path) -> None:
    for name in CONFIG_FILES:
        path = folder / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            clean = scrub(data, run_dir)
            if clean != data:
                atomic_write_json(path, clean)


def build_folder(cfg: RunConfig, out_dir: Path, merged_written: bool = False) -> Path:
    """Write the folder atomically (build beside it, then rename) and return it."""
    run = cfg.run_dir
    adapter = run / "adapter"
    missing = [f for f in ADAPTER_FILES if not (adapter / f).exists()]
    if missing:
        raise MissingStageOutput(f"{adapter}: missing {', '.join(missing)}: run the train stage first (lontar train)")
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(adapter, tmp)  # adapter weights + config + the tokenizer the adapter was trained with
    (tmp / "README.md").unlink(missing_ok=True)  # peft's placeholder card; ours replaces it
    includes_base = cfg.model.architecture is not None
    if includes_base:
        shutil.copytree(base_model_dir(cfg), tmp / "base_model")
        _scrub_configs(tmp / "base_model", run)
    _publish_adapter_config(cfg, tmp / "adapter_config.json", includes_base)
    _scrub_configs(tmp, run)
    _write_records(cfg, tmp, includes_base=includes_base, merged=False, merged_written=merged_written)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir


def _write_records(cfg: RunConfig, dest: Path, *, includes_base: bool, merged: bool, merged_written: bool) -> None:
    """Results, data card, tokenizer report, lineage, config and the model card, without machine paths."""
    run = cfg.run_dir
    results = scrub(_read_json(run / "eval" / "results.json"), run)
    data_card = scrub(_read_json(run / "corpus" / "data_card.json"), run)
    tok_report = scrub(_read_json(run / "tokenizer_report.json"), run)
    for name, data in (("results.json", results), ("data_card.json", data_card), ("tokenizer_report.json", tok_report)):
        if data is not None:
            atomic_write_json(dest / name, data)
    raw_manifest = read_manifest(run)
    manifest = scrub(raw_manifest, run)
    atomic_write_json(dest / "lontar_manifest.json", manifest)
    config = scrub(cfg.to_dict(), run)
    config_path = run / "config.yaml"
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else yaml.safe_dump(cfg.to_dict())
    atomic_write_text(dest / "lontar_config.yaml", scrub_text(text, run))
    governance = scrub(build_record(cfg), run)
    validate_record(governance)
    atomic_write_json(dest / "governance.json", governance)
    card = render_card(cfg, results=results, data_card=data_card, tokenizer_report=tok_report,
                       manifest=manifest, includes_base=includes_base, merged=merged, governance=governance,
                       base_license=read_base_license(cfg), training_data=scrub(training_data(cfg, raw_manifest), run),
                       training_tokens=training_tokens(raw_manifest), merged_written=merged_written, config=config,
                       training_phases=scrub(training_phases(raw_manifest), run))
    atomic_write_text(dest / "README.md", scrub_text(str(card), run))


def build_merged_folder(cfg: RunConfig, out_dir: Path) -> Path:
    """The adapter merged into the base: a full model folder with its own card, written atomically."""
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_merged(cfg, tmp)
    _scrub_configs(tmp, cfg.run_dir)
    _write_records(cfg, tmp, includes_base=False, merged=True, merged_written=True)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.replace(out_dir)
    return out_dir
