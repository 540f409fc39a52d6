"""Experiment trackers through accelerate's one API (`train.trackers`: tensorboard, wandb, mlflow, ...).

Each tracker gets the same scalars as `logs/train_log.jsonl` (which stays the complete record) and the
run's parameters: the resolved config and the data card's summary, flattened to `section.key` names
because TensorBoard's hparams and MLflow's params take flat scalars only. Local stores live in the
run's `logs/` folder (TensorBoard in `logs/tensorboard/`, wandb in `logs/wandb/`, MLflow in
`logs/mlruns/` unless MLFLOW_TRACKING_URI names a server), so `WANDB_MODE=offline` or a file store
works with no network.
"""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any

from accelerate.tracking import GeneralTracker, TensorBoardTracker
from accelerate.utils import LoggerType, imports

from lontar.config import RunConfig
from lontar.errors import ConfigError

log = logging.getLogger(__name__)

# What to pip-install for each tracker (lontar has extras for the first three): a missing one fails before any work.
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow", "comet_ml": "comet_ml",
            "aim": "aim", "clearml": "clearml", "dvclive": "dvclive", "swanlab": "swanlab", "trackio": "trackio"}
_OWN_ENV: dict[str, str] = {}  # variables make_trackers set for this process's run, unset by finish()
CARD_KEYS = ("duplicates", "rejected", "licenses", "unknown_licenses", "languages", "splits", "validation_fraction")


def check_trackers(names: list[str]) -> None:
    """Refuse a tracker whose package is absent, naming the config key and the install command."""
    for name in names:
        available = getattr(imports, f"is_{name}_available")
        if not available():
            extra = f"lontar[{name}]" if name in ("tensorboard", "wandb", "mlflow") else PACKAGES[name]
            raise ConfigError(f"train.trackers: {name} is not installed (pip install '{extra}')")


def make_trackers(cfg: RunConfig, start_step: int) -> tuple[list[str | GeneralTracker], dict[str, Any]]:
    """`log_with` for the Accelerator and the `init_kwargs` for `init_trackers`."""
    names = list(dict.fromkeys(cfg.train.trackers))
    if "trackers" not in cfg.train.model_fields_set and not imports.is_tensorboard_available():
        # the default, not asked for: a plain `pip install lontar` trains without TensorBoard, and says so
        log.info("train: tensorboard is not installed (pip install 'lontar[tensorboard]'): no TensorBoard logs")
        names.remove("tensorboard")
    check_trackers(names)
    logs = cfg.run_dir / "logs"
    log_with: list[str | GeneralTracker] = []
    for name in names:
        if name == "tensorboard":  # logs/tensorboard/, as before; a resumed run drops the steps after its checkpoint
            log_with.append(TensorBoardTracker("tensorboard", str(logs), purge_step=start_step + 1 if start_step else None))
        else:
            log_with.append(LoggerType(name).value)
    if "mlflow" in names and not os.environ.get("MLFLOW_TRACKING_URI"):  # this run's own store, until finish()
        _OWN_ENV["MLFLOW_TRACKING_URI"] = (logs / "mlruns").resolve().as_uri()
        if "MLFLOW_ALLOW_FILE_STORE" not in os.environ:  # mlflow 3 asks for this opt-in to a local file store
            _OWN_ENV["MLFLOW_ALLOW_FILE_STORE"] = "true"
        os.environ.update(_OWN_ENV)
    init_kwargs = {"wandb": {"name": cfg.name, "dir": str(logs)}, "mlflow": {"run_name": cfg.name}}
    return log_with, {k: v for k, v in init_kwargs.items() if k in names}


def _flat(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, (bool, int, float, str)):
        out[prefix] = value
    elif value is None:
        out[prefix] = "none"
    else:  # lists: one readable value (TensorBoard's hparams take scalars only)
        out[prefix] = json.dumps(value, ensure_ascii=False, default=str)


def run_params(cfg: RunConfig) -> dict[str, Any]:
    """The run's parameters: `config.*` (resolved) and `data_card.*` (the corpus summary, when built)."""
    out: dict[str, Any] = {}
    _flat(cfg.model_dump(mode="json"), "config", out)
    card_path = cfg.run_dir / "corpus" / "data_card.json"
    if card_path.is_file():
        card = json.loads(card_path.read_text(encoding="utf-8"))
        _flat({k: card[k] for k in CARD_KEYS if k in card}, "data_card", out)
    return out


def scalars(values: dict[str, float | None]) -> dict[str, float]:
    """Only finite numbers reach a tracker (a skipped window's loss is None)."""
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


def finish(trackers: list[GeneralTracker]) -> None:
    """Close every tracker (accelerate's end_training would also destroy the process group)."""
    for tracker in trackers:
        tracker.finish()
    for key in _OWN_ENV:
        os.environ.pop(key, None)
    _OWN_ENV.clear()
