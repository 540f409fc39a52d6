"""The train stage and its run directory: no stale base, reproducible reruns, old checkpoints kept until
the new run has its own, one train at a time."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from lontar import cli
from lontar.config import load_config
from lontar.rundir import LOCK_FILE, RunLocked, StaleArtifact, write_stamp
from lontar.train.checkpoint import checkpoints
from lontar.train.loop import ResumeError
from lontar.train.stage import run_train
from tests.train.test_loop import poison


def adapter_weights(cfg):
    return load_file(cfg.run_dir / "adapter" / "adapter_model.safetensors")


def test_a_changed_architecture_rebuilds_the_base_instead_of_training_the_old_one(tiny_config):
    path = tiny_config("stale", {"max_steps": 1})
    run_train(load_config(path))
    cfg = load_config(path, ["model.architecture.hidden_size=48"])
    result = run_train(cfg)
    assert json.loads((cfg.run_dir / "base_model" / "config.json").read_text())["hidden_size"] == 48
    assert result["model"].get_base_model().config.hidden_size == 48


def test_the_same_config_gives_the_same_adapter_on_a_fresh_or_a_reused_run_directory(tiny_config):
    path = tiny_config("again", {"max_steps": 3}, lora={"dropout": 0.1})
    cfg = load_config(path)
    assert not (cfg.run_dir / "base_model").exists()
    first = run_train(cfg)  # builds base_model/
    a = adapter_weights(cfg)
    second = run_train(load_config(path))  # reuses it
    b = adapter_weights(cfg)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [h["loss"] for h in first["history"]] == [h["loss"] for h in second["history"]]


def test_a_new_run_keeps_the_old_checkpoints_until_it_saves_its_own(tiny_config, monkeypatch):
    path = tiny_config("keep", {"max_steps": 4, "save_every": 2})
    run_train(load_config(path))
    root = load_config(path).run_dir / "checkpoints"
    old = [p.name for p in checkpoints(root)]
    assert old == ["step-2", "step-4"]
    # a new run that dies before its first checkpoint leaves the old ones resumable
    with monkeypatch.context() as m:
        poison(m, lambda i: True)
        with pytest.raises(FloatingPointError):
            run_train(load_config(path, ["train.max_bad_steps=1"]))
    assert [p.name for p in checkpoints(root)] == old
    assert run_train(load_config(path), resume=True)["steps"] == 4
    # once the new run has saved, the old checkpoints move aside
    run_train(load_config(path, ["train.lr=1e-3"]))
    assert [p.name for p in checkpoints(root)] == ["step-2", "step-4"]
    with pytest.raises(ResumeError, match="train.lr"):  # ...and the current ones are the new run's
        run_train(load_config(path), resume=True)
    previous = root.with_name("checkpoints.previous")
    assert [p.name for p in checkpoints(previous)] == old
    assert not root.with_name("checkpoints.next").exists()


def test_a_second_train_on_the_same_run_is_refused_in_one_line(tiny_config, capsys):
    path = tiny_config("busy", {"max_steps": 1})
    cfg = load_config(path)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (cfg.run_dir / LOCK_FILE).write_text(json.dumps({"pid": sleeper.pid, "host": __import__("socket").gethostname(),
                                                         "stage": "train", "started": "now"}))
        with pytest.raises(RunLocked):
            run_train(cfg)
        assert cli.main(["train", "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"the train stage (pid {sleeper.pid}" in err
        assert cli.main(["corpus", "--config", str(path)]) == 2  # nor any other stage meanwhile
        assert not (cfg.run_dir / "adapter").exists() and not (cfg.run_dir / "logs").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert run_train(cfg)["steps"] == 1  # the holder is gone: its lock is recovered


def test_a_corpus_built_with_other_settings_is_refused(tiny_config):
    path = tiny_config("corpus-changed", {"max_steps": 1})
    cfg = load_config(path)
    write_stamp(cfg.run_dir / "corpus", "corpus", "0" * 16)
    with pytest.raises(StaleArtifact, match="rerun the corpus stage"):
        run_train(cfg)


def test_block_size_beyond_the_models_positions_names_both(tiny_config):
    from lontar.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train.block_size \(512\) exceeds model.architecture.max_position_embeddings "
                                          r"\(256\)"):
        load_config(tiny_config("long", {"block_size": 512}))


def test_a_full_model_folder_loads_for_eval_with_attention_auto(tiny_config):
    from lontar.eval.stage import Checkpoint, load_checkpoint
    from lontar.train.model import load_tokenizer

    cfg = load_config(tiny_config("merged", {"max_steps": 1}))
    assert cfg.model.attn_implementation == "auto"
    result = run_train(cfg)
    folder = cfg.run_dir / "merged"
    result["model"].merge_and_unload().save_pretrained(folder)
    model = load_checkpoint(cfg, load_tokenizer(cfg), Checkpoint("merged", "model", folder, None))
    assert model.config._attn_implementation in ("sdpa", "flash_attention_2")
