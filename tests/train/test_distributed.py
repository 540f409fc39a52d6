"""Two processes on CPU (DDP over gloo) train like one process with the same global batch."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from lontar.config import load_config
from lontar.train.stage import run_train
from tests.conftest import REPO

STEPS = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch(tiny_config):
    # 1 process: 4 blocks per micro-batch. 2 processes: 1 block per micro-batch, 2 accumulation steps each.
    one = run_train(load_config(tiny_config("one", {"max_steps": STEPS, "micro_batch_size": 4})))
    path = tiny_config("two", {"max_steps": STEPS, "micro_batch_size": 1, "gradient_accumulation_steps": 2})
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    proc = subprocess.run(
        [accelerate, "launch", "--config_file", str(REPO / "configs" / "accelerate" / "ddp.yaml"), "--num_processes",
         "2", "--main_process_port", str(free_port()), "--num_cpu_threads_per_process", "1",
         str(REPO / "train" / "run.py"), "--config", str(path)],
        capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on 2 x cpu" in proc.stdout, proc.stdout[-2000:]
    # every line once: the stage's lines come from the main process only
    lines = [x for x in proc.stdout.splitlines() if x.startswith(("train:", "step "))]
    assert len(lines) == len(set(lines)) and sum(x.startswith("step ") for x in lines) == STEPS, proc.stdout[-3000:]
    assert sum(x.startswith("train: adapter saved") for x in lines) == 1
    run_dir = load_config(path).run_dir
    two = [json.loads(line) for line in (run_dir / "logs" / "train_log.jsonl").read_text().splitlines()]
    assert [h["step"] for h in two] == list(range(1, STEPS + 1))
    for a, b in zip(one["history"], two):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5), (a, b)
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4), (a, b)
    got = load_file(run_dir / "adapter" / "adapter_model.safetensors")
    want = load_file(one["adapter_dir"] / "adapter_model.safetensors")
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-5)
