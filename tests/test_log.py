"""lontar's log handler: stdout for progress, stderr for problems, other ranks silent but for errors."""

import logging

from lontar.log import setup_logging


def test_lines_go_to_stdout_problems_to_stderr_and_the_level_filters(capsys):
    setup_logging("info")
    log = logging.getLogger("lontar.some.stage")
    log.debug("stage: hidden")
    log.info("stage: shown")
    log.warning("stage: warning: careful")
    out, err = capsys.readouterr()
    assert out == "stage: shown\n" and err == "stage: warning: careful\n"
    setup_logging("warning")
    log.info("stage: now hidden")
    assert capsys.readouterr() == ("", "")
    assert sum(type(h).__name__ == "_TqdmHandler" for h in logging.getLogger("lontar").handlers) == 1


def test_other_ranks_speak_only_for_errors(capsys, monkeypatch):
    setup_logging("info")
    log = logging.getLogger("lontar.train.loop")
    monkeypatch.setenv("RANK", "1")
    log.info("train: from rank 1")
    log.warning("train: a warning from rank 1")
    log.info("train: asked for", extra={"all_ranks": True})
    log.error("train: failed on rank 1")
    out, err = capsys.readouterr()
    assert out == "train: asked for\n" and err == "train: failed on rank 1\n"
    monkeypatch.setenv("RANK", "0")
    log.info("train: from rank 0")
    assert capsys.readouterr().out == "train: from rank 0\n"
