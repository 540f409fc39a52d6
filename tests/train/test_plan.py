"""`lontar plan`: parameter counts exact against the real model, and each strategy's arithmetic."""

from __future__ import annotations

import pytest
import torch
from peft import get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM

from lontar.cli import main
from lontar.config import load_config
from lontar.train.lora import lora_config
from lontar.train.plan import GIB, estimate, model_shape, plan
from tests.conftest import write_config

ARCH = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 512,
        "tie_word_embeddings": False}


def _cfg(tmp_path, **model):
    return load_config(write_config(tmp_path / "c.yaml", {
        "name": "p", "output_dir": str(tmp_path / "runs"),
        "model": {"architecture": ARCH, "dtype": "bfloat16", **model},
        "lora": {"r": 8, "target_modules": "all-linear"},
        "train": {"block_size": 256, "micro_batch_size": 2}}))


def test_counts_match_the_real_model_and_its_lora(tmp_path):
    cfg = _cfg(tmp_path)
    shape = model_shape(cfg)
    real = AutoModelForCausalLM.from_config(AutoConfig.for_model(**ARCH))
    assert shape.total_params == sum(p.numel() for p in real.parameters())
    linear = sum(m.weight.numel() for n, m in real.named_modules() if isinstance(m, torch.nn.Linear) and ".layers." in n)
    assert shape.linear_params == linear
    peft = get_peft_model(real, lora_config(cfg.lora))
    assert shape.lora_params == sum(p.numel() for p in peft.parameters() if p.requires_grad)
    assert (shape.layers, shape.hidden, shape.vocab) == (3, 64, 1000)


def test_sharding_qlora_and_checkpointing_move_the_right_terms(tmp_path):
    cfg = _cfg(tmp_path)
    shape = model_shape(cfg)
    ddp = estimate(cfg, shape, "ddp", 8, qlora=False)
    fsdp = estimate(cfg, shape, "fsdp2", 8, qlora=False)
    assert fsdp["weights"] == pytest.approx(ddp["weights"] / 8)
    assert fsdp["trainable_state"] == pytest.approx(ddp["trainable_state"] / 8)
    assert fsdp["activations"] == ddp["activations"] and fsdp["gathered_layers"] > 0
    assert ddp["weights"] == shape.total_params * 2  # bf16
    assert ddp["trainable_state"] == shape.lora_params * 16
    assert ddp["loss"] == 2 * 256 * 1000 * 8
    qlora = estimate(cfg, shape, "ddp", 8, qlora=True)
    assert qlora["weights"] < ddp["weights"]
    ckpt = _cfg(tmp_path, gradient_checkpointing=True)
    assert estimate(ckpt, shape, "ddp", 8, qlora=False)["activations"] < ddp["activations"]


def test_fits_follows_the_gpu_memory_and_the_cli_prints_a_table(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    rows = plan(cfg, gpus=2, gpu_memory_gib=80)
    assert {(r["strategy"], r["method"]) for r in rows} == {("ddp", "LoRA"), ("ddp", "QLoRA"), ("fsdp2", "LoRA"),
                                                           ("zero3", "LoRA")}
    assert all(r["fits"] for r in rows)
    assert not any(r["fits"] for r in plan(cfg, gpus=2, gpu_memory_gib=1.0))  # below the CUDA context alone
    assert rows[0]["total"] * GIB > 1.5 * GIB
    assert main(["plan", "--config", str(tmp_path / "c.yaml"), "--gpus", "4", "--gpu-memory", "24"]) == 0
    out = capsys.readouterr().out
    assert "fsdp2" in out and "zero3" in out and "fits (accelerate launch --config_file configs/accelerate/ddp.yaml" in out


def test_a_hub_base_offline_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = write_config(tmp_path / "hub.yaml", {"name": "p", "output_dir": str(tmp_path / "runs"),
                                                 "model": {"name_or_path": "no-such-org/no-such-model"}})
    assert main(["plan", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.name_or_path: cannot read the config.json" in err and "\n" not in err


def test_the_plan_shows_every_phase_with_its_data_and_length(tmp_path, capsys):
    write_config(tmp_path / "phased.yaml", {
        "name": "p", "output_dir": str(tmp_path / "runs"), "model": {"architecture": ARCH, "dtype": "bfloat16"},
        "train": {"block_size": 256, "phases": [
            {"name": "cpt", "max_steps": 300, "datasets": [{"type": "corpus"}]},
            {"name": "sft", "max_steps": 40, "lr": 5e-5, "warmup_steps": 4,
             "datasets": [{"type": "chat", "name": "aya-km", "dataset": "CohereLabs/aya_collection_language_split",
                           "config": "central_khmer", "license": "apache-2.0"}]}]}})
    assert main(["plan", "--config", str(tmp_path / "phased.yaml"), "--gpus", "1", "--gpu-memory", "24"]) == 0
    out = capsys.readouterr().out
    assert "phase 1 'cpt': 300 steps, lr 0.0002 (0 warmup, cosine); data corpus (corpus: the run's corpus" in out
    assert ("phase 2 'sft': 40 steps, lr 5e-05 (4 warmup, cosine); data aya-km (chat: "
            "CohereLabs/aya_collection_language_split/central_khmer[train]") in out
