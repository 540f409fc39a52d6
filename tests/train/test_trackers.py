"""Experiment trackers through accelerate: the same metrics in TensorBoard, wandb (offline) and MLflow."""

import json

import pytest

from lontar.config import load_config
from lontar.errors import ConfigError
from lontar.train.stage import run_train
from lontar.train.trackers import check_trackers, run_params


def tensorboard_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def wandb_records(path):
    """The protobuf records of an offline run's .wandb file: wandb writes LevelDB's log format (32 KiB
    blocks of CRC-framed chunks) after a 7-byte header; wandb 0.31 ships no reader of its own."""
    from wandb.proto import wandb_internal_pb2

    data, pos, block, pending = path.read_bytes(), 7, 32768, b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # the block's tail is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST chunk
            rec = wandb_internal_pb2.Record()
            rec.ParseFromString(pending)
            pending = b""
            yield rec


def wandb_history(run_dir) -> tuple[list[dict], dict]:
    rows, config = [], {}
    for rec in wandb_records(next(run_dir.glob("run-*.wandb"))):
        if rec.WhichOneof("record_type") == "history":
            rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item})
        elif rec.WhichOneof("record_type") == "config":
            config.update({i.key: json.loads(i.value_json) for i in rec.config.update})
    return rows, config


def test_metrics_reach_tensorboard_and_wandb_offline(tiny_config, monkeypatch, tmp_path):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    cfg = load_config(tiny_config("tracked", {"max_steps": 4, "eval_every": 2, "eval_docs": 20,
                                              "trackers": ["tensorboard", "wandb"]}))
    result = run_train(cfg)
    logs = cfg.run_dir / "logs"
    jsonl = [json.loads(x) for x in (logs / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in jsonl] == [1, 2, 3, 4]

    tb = tensorboard_scalars(logs / "tensorboard")
    assert [s for s, _ in tb["train/loss"]] == [1, 2, 3, 4]
    assert [v for _, v in tb["train/loss"]] == pytest.approx([r["loss"] for r in jsonl], rel=1e-6)
    assert [s for s, _ in tb["eval/bits_per_byte"]] == [2, 4]

    rows, config = wandb_history(next((logs / "wandb").glob("offline-run-*")))
    losses = [(r["_step"], r["train/loss"]) for r in rows if "train/loss" in r]
    assert losses == [(r["step"], pytest.approx(r["loss"], rel=1e-6)) for r in jsonl]
    bpb = [(r["_step"], r["eval/bits_per_byte"]) for r in rows if "eval/bits_per_byte" in r]
    assert bpb == [(e["step"], pytest.approx(e["val_bpb"], rel=1e-6)) for e in result["evals"]]
    # the run's parameters: the resolved config and the data card's summary
    assert config["config.train.max_steps"] == 4 and config["config.name"] == "tracked"


def test_run_params_are_the_config_and_the_data_card_summary(tiny_config):
    cfg = load_config(tiny_config("params"))
    card = cfg.run_dir / "corpus" / "data_card.json"
    card.write_text(json.dumps({"duplicates": 3, "rejected": 1, "languages": {"km": {"docs": 10, "chars": 99}},
                                "sources": [{"big": "not a summary"}]}))
    params = run_params(cfg)
    assert params["config.train.block_size"] == 64 and params["config.lora.r"] == 4
    assert params["data_card.duplicates"] == 3 and params["data_card.languages.km.chars"] == 99
    assert not any(k.startswith("data_card.sources") for k in params)
    assert all(isinstance(v, (bool, int, float, str)) for v in params.values())


def test_a_missing_tracker_package_fails_naming_the_key(monkeypatch):
    from accelerate.utils import imports

    monkeypatch.setattr(imports, "is_mlflow_available", lambda: False)
    with pytest.raises(ConfigError, match=r"train.trackers: mlflow is not installed \(pip install 'lontar\[mlflow\]'\)"):
        check_trackers(["tensorboard", "mlflow"])


def test_the_default_tensorboard_is_dropped_with_a_line_when_absent(tmp_path, monkeypatch, caplog):
    from accelerate.utils import imports

    from lontar.config import RunConfig
    from lontar.train.trackers import make_trackers

    monkeypatch.setattr(imports, "is_tensorboard_available", lambda: False)
    default = RunConfig.model_validate({"name": "x", "output_dir": str(tmp_path), "model": {"name_or_path": "m"}})
    assert make_trackers(default, 0) == ([], {})
    assert "tensorboard is not installed" in caplog.text
    default.train.trackers = ["tensorboard"]  # asked for: an error naming the key
    with pytest.raises(ConfigError, match="train.trackers: tensorboard is not installed"):
        make_trackers(default, 0)


def test_the_old_tensorboard_flag_still_reads():
    from lontar.config import TrainConfig

    assert TrainConfig(tensorboard=False, trackers=["tensorboard", "wandb"]).trackers == ["wandb"]
    assert TrainConfig(tensorboard=True, trackers=["wandb"]).trackers == ["tensorboard", "wandb"]


def test_metrics_and_parameters_reach_a_local_mlflow_store(tiny_config, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(tiny_config("mlflowed", {"max_steps": 2, "trackers": ["mlflow"]}))
    run_train(cfg)
    import os

    from mlflow.tracking import MlflowClient

    assert "MLFLOW_TRACKING_URI" not in os.environ  # the run's local store was this run's only
    client = MlflowClient(tracking_uri=(cfg.run_dir / "logs" / "mlruns").as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("lontar").experiment_id])
    jsonl = [json.loads(x) for x in (cfg.run_dir / "logs" / "train_log.jsonl").read_text().splitlines()]
    history = client.get_metric_history(run.info.run_id, "train/loss")
    assert [(m.step, m.value) for m in history] == [(r["step"], pytest.approx(r["loss"], rel=1e-6)) for r in jsonl]
    assert run.data.params["config.train.max_steps"] == "2" and run.info.run_name == "mlflowed"
