"""Kill -9 a training run mid-way, resume it: every later step's loss equals an uninterrupted run's."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lontar.config import load_config
from lontar.train.checkpoint import checkpoints, latest_checkpoint
from lontar.train.loop import ResumeError
from lontar.train.stage import run_train
from tests.conftest import REPO

STEPS, EVERY = 40, 10
# LoRA dropout on, so the random state must be restored too, not only weights and optimizer.
TRAIN = {"max_steps": STEPS, "save_every": EVERY, "keep_last": 2, "eval_every": 20, "eval_docs": 20}
LORA = {"dropout": 0.1, "modules_to_save": ["lm_head"]}


def losses(history):
    return {h["step"]: h["loss"] for h in history}


@pytest.mark.slow
def test_kill_9_then_resume_matches_an_uninterrupted_run(tiny_config):
    reference = run_train(load_config(tiny_config("reference", TRAIN, LORA)))
    assert len(reference["history"]) == STEPS

    path = tiny_config("killed", TRAIN, LORA)
    cfg = load_config(path)
    env = {**os.environ, "OMP_NUM_THREADS": str(__import__("torch").get_num_threads())}
    proc = subprocess.Popen([sys.executable, str(REPO / "train" / "run.py"), "--config", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    root = cfg.run_dir / "checkpoints"
    deadline = time.time() + 240
    while not checkpoints(root):
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    killed_at = int(latest_checkpoint(root).name.split("-")[1])
    assert EVERY <= killed_at < STEPS, killed_at

    resumed = run_train(cfg, resume=True)
    got, want = losses(resumed["history"]), losses(reference["history"])
    assert sorted(got) == list(range(1, STEPS + 1))
    for step in range(killed_at + 1, STEPS + 1):
        assert got[step] == pytest.approx(want[step], abs=1e-6, rel=0), step
    assert [e["val_loss"] for e in resumed["evals"]] == pytest.approx([e["val_loss"] for e in reference["evals"]],
                                                                         abs=1e-6, rel=0)
    # the log on disk is the checkpoint's history plus what the resumed run added: one line per step
    log = [json.loads(line)["step"] for line in (cfg.run_dir / "logs" / "train_log.jsonl").read_text().splitlines()]
    assert log == list(range(1, STEPS + 1))
    assert [p.name for p in checkpoints(root)] == [f"step-{STEPS - EVERY}", f"step-{STEPS}"]  # keep-last-2
    assert not list(root.glob(".*partial"))


def test_resume_refuses_a_changed_config_and_a_missing_checkpoint(tiny_config):
    path = tiny_config("changed", {"max_steps": 4, "save_every": 2})
    with pytest.raises(ResumeError, match="no checkpoint"):
        run_train(load_config(path), resume=True)
    run_train(load_config(path))
    with pytest.raises(ResumeError, match=r"different settings \(train.lr\)"):
        run_train(load_config(path, ["train.lr=1e-3"]), resume=True)
    # operational settings may change
    result = run_train(load_config(path, ["train.log_every=2"]), resume=True)
    assert result["steps"] == 4
