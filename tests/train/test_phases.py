"""`train.phases`: continued pre-training then instruction tuning on one adapter, in order, resumable in
either phase without redoing the other (Khmer corpus and Khmer chat records)."""

import json

import pytest
from safetensors.torch import load_file

from lontar.config import ConfigError, load_config
from lontar.train.checkpoint import checkpoints
from lontar.train.loop import resume_key
from lontar.train.stage import run_train
from tests.conftest import write_config

CPT, SFT = 4, 5


def _chat(tmp_path):
    records = [{"instruction": "និយាយសួស្តី", "input": "", "output": "សួស្តី។ តើអ្នកសុខសប្បាយទេ?"},
               {"messages": [{"role": "user", "content": "ប្រទេសកម្ពុជាមានរាជធានីអ្វី?"},
                             {"role": "assistant", "content": "ភ្នំពេញ។"}]}] * 20
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _phases(tmp_path):
    return [{"name": "cpt", "max_steps": CPT, "datasets": [{"type": "corpus"}]},
            {"name": "sft", "max_steps": SFT, "lr": 1e-3, "warmup_steps": 1, "lr_scheduler": "linear",
             "datasets": [{"type": "chat", "path": str(_chat(tmp_path)), "name": "chat"}]}]


def test_phases_run_in_order_each_with_its_own_schedule_and_data(tiny_config, tmp_path):
    cfg = load_config(tiny_config("phased", {"phases": _phases(tmp_path), "max_steps": 99, "warmup_steps": 2}))
    result = run_train(cfg)
    history = result["history"]
    assert [h["step"] for h in history] == list(range(1, CPT + SFT + 1))
    assert [h["phase"] for h in history] == ["cpt"] * CPT + ["sft"] * SFT
    assert [h["phase_step"] for h in history] == [*range(1, CPT + 1), *range(1, SFT + 1)]
    cpt, sft = history[:CPT], history[CPT:]
    # each phase its own data: corpus only, then chat only
    assert all(set(h["tokens_by_dataset"]) == {"corpus"} for h in cpt)
    assert all(set(h["tokens_by_dataset"]) == {"chat"} for h in sft)
    # each its own warmup and decay: cpt warms up over 2 steps to 3e-3 (train.lr) and decays by cosine to 0;
    # sft warms up over 1 step to its own 1e-3 and decays linearly
    assert cpt[0]["lr"] == pytest.approx(3e-3 / 2) and cpt[1]["lr"] == pytest.approx(3e-3)
    assert cpt[-1]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert sft[0]["lr"] == pytest.approx(1e-3) and sft[1]["lr"] == pytest.approx(1e-3 * (SFT - 2) / (SFT - 1))
    # the chat phase's loss covers the assistant replies only: far fewer loss tokens than tokens
    assert all(h["loss_tokens"] >= 0.9 * h["tokens"] for h in cpt)
    assert all(h["loss_tokens"] <= 0.7 * h["tokens"] for h in sft)
    # the manifest states every phase and the tokens trained per dataset in each
    entry = json.loads((cfg.run_dir / "manifest.json").read_text())["stages"][-1]
    phases = entry["summary"]["phases"]
    assert [(p["name"], p["steps"], p["first_step"], p["last_step"]) for p in phases] == [
        ("cpt", CPT, 1, CPT), ("sft", SFT, CPT + 1, CPT + SFT)]
    by_dataset = entry["summary"]["tokens_seen"]["by_dataset"]
    assert set(by_dataset) == {"cpt/corpus", "sft/chat"}
    assert by_dataset["cpt/corpus"] == sum(h["tokens"] for h in cpt)
    assert by_dataset["sft/chat"] == sum(h["tokens"] for h in sft)
    assert [d["phase"] for d in entry["datasets"]] == ["cpt", "sft"]
    assert result["steps"] == CPT + SFT and result["max_steps"] == CPT + SFT


def _adapter(cfg):
    return load_file(cfg.run_dir / "adapter" / "adapter_model.safetensors")


@pytest.mark.parametrize("at", [CPT + 2, CPT], ids=["mid-phase-2", "between-phases"])
def test_resume_in_phase_two_does_not_redo_phase_one(tiny_config, tmp_path, capsys, at):
    path = tiny_config("resumed", {"phases": _phases(tmp_path), "save_every": 2, "keep_last": 10})
    cfg = load_config(path)
    reference = run_train(cfg)
    want = _adapter(cfg)
    assert [p.name for p in checkpoints(cfg.run_dir / "checkpoints")] == [
        "step-2", "step-4", "step-6", "step-8", "step-9"]  # every 2 steps and at the end of each phase
    state = json.loads((cfg.run_dir / "checkpoints" / f"step-{at}" / "trainer_state.json").read_text())
    assert state["phase_index"] == (1 if at > CPT else 0) and len(state["phases"]) == 1
    assert "phase 1/2 'cpt'" in capsys.readouterr().out

    import shutil

    for later in [p for p in checkpoints(cfg.run_dir / "checkpoints") if int(p.name.split("-")[1]) > at]:
        shutil.rmtree(later)  # as if the run had died after step `at`: --resume takes the newest left
    resumed = run_train(cfg, resume=True)
    out = capsys.readouterr().out
    assert "phase 1/2 'cpt'" not in out  # phase 1 was not run again
    assert "resumed from" in out and f"at step {at}" in out
    trained = [h["step"] for h in resumed["history"]]
    assert trained == list(range(1, CPT + SFT + 1))  # the checkpoint's history, then the steps trained after it
    assert [h["loss"] for h in resumed["history"]] == pytest.approx([h["loss"] for h in reference["history"]],
                                                                    abs=1e-6, rel=0)
    got = _adapter(cfg)
    assert got.keys() == want.keys()
    for k in want:
        assert (got[k] - want[k]).abs().max().item() <= 1e-6, k
    assert resumed["tokens_seen"] == reference["tokens_seen"]


def test_phases_and_datasets_together_are_refused_in_one_line(tmp_path):
    base = {"name": "x", "model": {"architecture": {"model_type": "llama"}}}
    phase = {"name": "cpt", "max_steps": 2, "datasets": [{"type": "corpus"}]}
    both = write_config(tmp_path / "both.yaml", {**base, "train": {"datasets": [{"type": "corpus"}], "phases": [phase]}})
    with pytest.raises(ConfigError) as e:
        load_config(both)
    assert "train.phases and train.datasets are both set" in str(e.value) and "\n" not in str(e.value)
    twice = write_config(tmp_path / "twice.yaml", {**base, "train": {"phases": [phase, phase]}})
    with pytest.raises(ConfigError, match=r"phase names must be unique \(cpt repeated\)"):
        load_config(twice)
    length = write_config(tmp_path / "length.yaml", {**base, "train": {"phases": [{**phase, "num_epochs": 1}]}})
    with pytest.raises(ConfigError, match=r"train.phases\[0\]: phase 'cpt': give 'max_steps' or 'num_epochs'"):
        load_config(length)
    typo = write_config(tmp_path / "typo.yaml", {**base, "train": {"phases": [{**phase, "learning_rate": 1e-4}]}})
    with pytest.raises(ConfigError, match=r"train.phases\[0\].learning_rate: unknown key"):
        load_config(typo)
    empty = write_config(tmp_path / "empty.yaml", {**base, "train": {"phases": [{"name": "cpt", "datasets": []}]}})
    with pytest.raises(ConfigError, match=r"train.phases\[0\].datasets"):
        load_config(empty)


def test_the_phases_are_part_of_the_config_hash_and_the_resume_key(tmp_path):
    base = {"name": "x", "model": {"architecture": {"model_type": "llama"}}}
    a = [{"name": "cpt", "max_steps": 2, "datasets": [{"type": "corpus"}]}]
    b = [{"name": "cpt", "max_steps": 3, "datasets": [{"type": "corpus"}]}]
    ca = load_config(write_config(tmp_path / "a.yaml", {**base, "train": {"phases": a}}))
    cb = load_config(write_config(tmp_path / "b.yaml", {**base, "train": {"phases": b}}))
    assert ca.hash() != cb.hash() and resume_key(ca) != resume_key(cb)


def test_a_bad_chat_file_of_the_second_phase_fails_before_the_first_step(tiny_config, tmp_path):
    from lontar.errors import DataError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no turns here"}\n', encoding="utf-8")
    phases = [{"name": "cpt", "max_steps": 50, "datasets": [{"type": "corpus"}]},
              {"name": "sft", "max_steps": 2, "datasets": [{"type": "chat", "path": str(bad)}]}]
    cfg = load_config(tiny_config("bad", {"phases": phases}))
    with pytest.raises(DataError, match="no usable record"):
        run_train(cfg)
    assert not (cfg.run_dir / "logs" / "train_log.jsonl").exists()  # not one step of the first phase ran


@pytest.mark.slow
def test_two_processes_run_the_phases_as_one_does(tiny_config, tmp_path):
    """Under `accelerate launch` (DDP, 2 CPU processes) the phase switch (data, optimizer state, schedule)
    gives the same losses and adapter as one process with the same global batch."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import torch

    from tests.conftest import REPO
    from tests.train.test_distributed import free_port

    phases = [{"name": "cpt", "max_steps": 3, "datasets": [{"type": "corpus"}]},
              {"name": "sft", "max_steps": 3, "lr": 1e-3, "warmup_steps": 1,
               "datasets": [{"type": "chat", "path": str(_chat(tmp_path)), "name": "chat"}]}]
    one = run_train(load_config(tiny_config("one", {"phases": phases, "micro_batch_size": 4})))
    path = tiny_config("two", {"phases": phases, "micro_batch_size": 1, "gradient_accumulation_steps": 2})
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("accelerate")), "launch", "--config_file",
         str(REPO / "configs" / "accelerate" / "ddp.yaml"), "--num_processes", "2", "--main_process_port",
         str(free_port()), "--num_cpu_threads_per_process", "1", "-m", "lontar.cli", "train", "--config", str(path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("train: phase 2/2 'sft'") == 1  # said once, by the main process
    run_dir = load_config(path).run_dir
    two = [json.loads(x) for x in (run_dir / "logs" / "train_log.jsonl").read_text().splitlines()]
    assert [(h["phase"], h["step"]) for h in two] == [(h["phase"], h["step"]) for h in one["history"]]
    for a, b in zip(one["history"], two):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5) and b["lr"] == pytest.approx(a["lr"]), (a, b)
    got = load_file(run_dir / "adapter" / "adapter_model.safetensors")
    want = load_file(one["adapter_dir"] / "adapter_model.safetensors")
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-5)


def test_a_phased_config_written_out_loads_back(tmp_path):
    """The resolved config a run saves (and the card prints) has no train.datasets beside the phases."""
    from lontar.config import save_resolved

    base = {"name": "x", "model": {"architecture": {"model_type": "llama"}}}
    cfg = load_config(write_config(tmp_path / "a.yaml", {**base, "train": {"phases": [
        {"name": "cpt", "max_steps": 2, "datasets": [{"type": "corpus"}]}]}}))
    assert "datasets" not in cfg.to_dict()["train"]
    save_resolved(cfg, tmp_path / "resolved.yaml")
    again = load_config(tmp_path / "resolved.yaml")
    assert again.hash() == cfg.hash() and [p.name for p in again.train.phases] == ["cpt"]
