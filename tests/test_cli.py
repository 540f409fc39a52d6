"""The command line: --version, whole help texts, --log-level."""

import logging
import re

import pytest

import lontar
from lontar.cli import STAGES, main


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"lontar {lontar.__version__}"


def test_every_stage_help_is_printed_whole(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = re.sub(r"\s+", " ", capsys.readouterr().out)
    for name, (_, _, text) in STAGES.items():
        assert f"{name} {text}" in out
        assert not text.endswith(("'s", " the", " or", " and", ",")), text


def test_log_level_silences_info_lines(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntrain: {lr: -1}\n", encoding="utf-8")
    assert main(["train", "--config", str(bad), "--log-level", "error"]) == 2
    assert logging.getLogger("lontar").level == logging.ERROR
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("lontar train: error: ") and "bad.yaml" in err and err.count("\n") == 1
