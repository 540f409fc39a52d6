"""--resume passes over a checkpoint cut by a full disk or a crash and says so (issue 20: "truncated
checkpoint files on --resume (no fallback to the previous intact checkpoint)")."""

from __future__ import annotations

import pytest

from lontar.config import load_config
from lontar.train.checkpoint import checkpoints
from lontar.train.loop import ResumeError
from lontar.train.stage import run_train
from tests.train.conftest import tiny_config, tiny_run_template  # noqa: F401  (fixtures)


def _cut(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("victim", ["trainable.safetensors", "optimizer.pt", "trainer_state.json"])
def test_resume_falls_back_to_the_newest_intact_checkpoint(tiny_config, capsys, victim):  # noqa: F811
    path = tiny_config("cut", {"max_steps": 6, "save_every": 2, "keep_last": 3})
    run_train(load_config(path))
    root = load_config(path).run_dir / "checkpoints"
    assert [p.name for p in checkpoints(root)] == ["step-2", "step-4", "step-6"]
    _cut(root / "step-6" / victim)
    capsys.readouterr()
    result = run_train(load_config(path), resume=True)
    out = capsys.readouterr().out
    assert "step-6 is damaged" in out and "resuming from step-4, the newest intact checkpoint" in out
    assert result["steps"] == 6


def test_a_damaged_checkpoint_named_on_the_command_line_is_one_line(tiny_config):  # noqa: F811
    path = tiny_config("named", {"max_steps": 2, "save_every": 2})
    run_train(load_config(path))
    ckpt = load_config(path).run_dir / "checkpoints" / "step-2"
    _cut(ckpt / "trainable.safetensors", 0.9)
    with pytest.raises(ResumeError, match=r"step-2 is damaged \(trainable.safetensors: .*truncated"):
        run_train(load_config(path), resume=str(ckpt))
    _cut(ckpt / "trainer_state.json", 0.5)
    with pytest.raises(ResumeError, match="no intact checkpoint"):
        run_train(load_config(path), resume=True)
