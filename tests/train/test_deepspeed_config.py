"""DeepSpeed without a GPU: the ZeRO configs lontar builds validate in DeepSpeed itself, carry lontar's
numbers, and what cannot work under DeepSpeed is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lontar.cli import main
from lontar.config import load_config
from lontar.errors import ConfigError
from lontar.train.distributed import (check_strategy, deepspeed_config, deepspeed_plugin, make_accelerator,
                                      mixed_precision)
from tests.conftest import REPO, write_config

deepspeed = pytest.importorskip("deepspeed", reason="the deepspeed extra is not installed")
ACCEL = REPO / "configs" / "accelerate"


def _launch_env(config_file: Path) -> dict[str, str]:
    """The environment `accelerate launch --config_file F` gives each DeepSpeed process (accelerate's code)."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env

    args = launch_command_parser().parse_args(["--config_file", str(config_file), "--num_processes", "2", "x.py"])
    args, defaults, mp_from_config = _validate_launch_command(args)
    fields = list(defaults.deepspeed_config.keys()) if defaults else []
    args.deepspeed_fields_from_accelerate_config = ",".join(fields + (["mixed_precision"] if mp_from_config else []))
    _, env = prepare_deepspeed_cmd_env(args)
    return {k: v for k, v in env.items() if k.startswith("ACCELERATE_")}


def _cfg(tmp_path, dtype="bfloat16", **train):
    return load_config(write_config(tmp_path / "c.yaml", {
        "name": "ds", "output_dir": str(tmp_path / "runs"),
        "model": {"name_or_path": "org/base", "dtype": dtype},
        "train": {"micro_batch_size": 2, "gradient_accumulation_steps": 8, "max_grad_norm": 0.7,
                  "max_bad_steps": 1, **train}}))


@pytest.mark.parametrize("name,stage", [("deepspeed_zero2.yaml", 2), ("deepspeed_zero3.yaml", 3)])
def test_zero_configs_validate_in_deepspeed_with_lontars_numbers(tmp_path, monkeypatch, name, stage):
    from deepspeed.runtime.config import DeepSpeedConfig

    env = _launch_env(ACCEL / name)
    assert env["ACCELERATE_USE_DEEPSPEED"] == "true" and env["ACCELERATE_DEEPSPEED_ZERO_STAGE"] == str(stage)
    assert env.get("ACCELERATE_MIXED_PRECISION", "no") == "no"  # precision is lontar's, not the file's
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = _cfg(tmp_path)
    check_strategy(cfg, "deepspeed")
    ds = deepspeed_plugin(cfg).deepspeed_config  # accelerate's plugin accepts it under this launch
    checked = DeepSpeedConfig(dict(ds))  # DeepSpeed's own pydantic validation (no GPU needed)
    assert checked.zero_optimization_stage == stage
    assert checked.train_micro_batch_size_per_gpu == 2 and checked.gradient_accumulation_steps == 8
    assert checked.gradient_clipping == 0.7
    assert checked.bfloat16_config.enabled and not checked.float16_config.enabled
    fp16 = DeepSpeedConfig(deepspeed_config(_cfg(tmp_path, dtype="float16")))
    assert fp16.float16_config.enabled and not fp16.bfloat16_config.enabled


def test_deepspeed_refuses_skipping_non_finite_steps_in_one_line(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path, max_bad_steps=5)
    with pytest.raises(ConfigError, match="train.max_bad_steps: under DeepSpeed") as e:
        check_strategy(cfg, "deepspeed")
    assert "\n" not in str(e.value)
    check_strategy(cfg, "ddp")  # DDP and FSDP skip the step for real
    check_strategy(cfg, "fsdp")
    # the same through the CLI: exit 2, before any model is loaded
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    path = write_config(tmp_path / "bad.yaml", {"name": "ds", "output_dir": str(tmp_path / "runs"),
                                                  "model": {"name_or_path": "org/base"}})
    assert main(["train", "--config", str(path)]) == 2


def test_the_launch_cannot_override_lontars_precision_or_accumulation(tmp_path, monkeypatch):
    cfg = _cfg(tmp_path)
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "fp16")
    with pytest.raises(ConfigError, match="mixed_precision 'fp16' but model.dtype 'bfloat16'"):
        mixed_precision(cfg, cpu=False)
    assert mixed_precision(cfg, cpu=True) == "no"  # CPU runs the model in its own dtype
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    assert mixed_precision(cfg, cpu=False) == "bf16"
    monkeypatch.setenv("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "4")
    with pytest.raises(ConfigError, match="gradient_accumulation_steps 4"):
        check_strategy(cfg, "ddp")


def test_deepspeed_on_cpu_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    with pytest.raises(ConfigError, match="DeepSpeed needs a GPU"):
        make_accelerator(_cfg(tmp_path))


def test_accelerate_configs_leave_precision_to_lontar():
    import yaml

    for path in ACCEL.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        assert str(data.get("mixed_precision", "no")) == "no", path.name
        ds = data.get("deepspeed_config", {})
        assert not {"gradient_accumulation_steps", "gradient_clipping"} & set(ds), path.name
