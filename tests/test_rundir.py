"""The run directory's lock: one stage at a time, a one-line refusal, stale locks recovered."""

import json
import os
import socket
import subprocess
import sys

import pytest

from lontar.rundir import LOCK_FILE, RunLocked, run_lock, section_hash


def hold(path, pid, stage="train", host=None):
    path.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "stage": stage,
                                "started": "2026-01-01T00:00:00Z"}))


def test_a_live_holder_is_refused_in_one_line_and_a_dead_one_recovered(tmp_path, capsys):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        hold(tmp_path / LOCK_FILE, sleeper.pid)
        with pytest.raises(RunLocked, match=rf"the train stage \(pid {sleeper.pid},.*holds .lock") as e:
            with run_lock(tmp_path, "corpus"):
                pass
        assert "\n" not in str(e.value)
    finally:
        sleeper.kill()
        sleeper.wait()
    # the holder died without cleaning up: the next stage takes over
    with run_lock(tmp_path, "corpus"):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
        with run_lock(tmp_path, "train"):  # the same process may nest (the CLI locks, then the stage)
            pass
        assert (tmp_path / LOCK_FILE).exists()
    assert not (tmp_path / LOCK_FILE).exists()
    assert "recovered a stale lock of the train stage" in capsys.readouterr().out


def test_a_lock_from_another_host_is_never_taken_over(tmp_path):
    hold(tmp_path / LOCK_FILE, 1, host="elsewhere")
    with pytest.raises(RunLocked, match="on elsewhere"):
        with run_lock(tmp_path, "eval"):
            pass


def test_the_lock_is_released_when_the_stage_fails(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with run_lock(tmp_path, "train"):
            1 / 0
    assert not (tmp_path / LOCK_FILE).exists()


def test_section_hash_ignores_only_what_it_is_told_to():
    a = {"x": 1, "workers": 2}
    assert section_hash(a, exclude={"workers"}) == section_hash({"x": 1, "workers": 8}, exclude={"workers"})
    assert section_hash(a) != section_hash({"x": 2, "workers": 2})
