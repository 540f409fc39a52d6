"""One-line errors with exit 2 for what a user causes, tracebacks for real bugs, and a full or read-only
disk that damages nothing (issue 20, "Tracebacks instead of one-line errors")."""

from __future__ import annotations

import errno
import json
import os

import pytest

from tests.reliability.conftest import assert_one_line_error, run_cli


def test_the_cli_catches_only_lontar_errors():
    from lontar import cli

    source = open(cli.__file__, encoding="utf-8").read()
    assert "FileNotFoundError" not in source
    # library code never imports the command line
    import lontar

    root = os.path.dirname(lontar.__file__)
    users = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".py") and f != "cli.py"
             and "from lontar.cli" in open(os.path.join(d, f), encoding="utf-8").read()]
    assert users == []


def test_a_real_bug_keeps_its_traceback(run_copy, monkeypatch):
    import lontar.hub.stage as stage

    def broken(cfg, push=False):
        raise FileNotFoundError("an internal file the code itself should have written")

    monkeypatch.setattr(stage, "run_publish", broken)
    with pytest.raises(FileNotFoundError):
        from lontar.cli import main

        main(["publish", "--config", str(run_copy.run_dir.parents[1] / "run.yaml")])


def test_publish_before_training_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"name: c\noutput_dir: {tmp_path / 'runs'}\nmodel: {{name_or_path: org/base}}\n", encoding="utf-8")
    code, err = run_cli(["publish", "--config", str(cfg)], capsys)
    assert_one_line_error(code, err, "run the train stage first")


def test_an_output_dir_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "runs").write_text("not a folder")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"name: c\noutput_dir: {tmp_path / 'runs'}\nmodel: {{name_or_path: org/base}}\n", encoding="utf-8")
    code, err = run_cli(["publish", "--config", str(cfg)], capsys)
    assert_one_line_error(code, err, "runs")


def _refuse_writes(monkeypatch, code: int, after: int = 0):
    """Every file opened for writing after the first `after` fails as a full (or read-only) disk would."""
    import builtins
    import io
    import pathlib

    real_open, real_io_open = builtins.open, io.open
    seen = {"n": 0}

    def guard(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            seen["n"] += 1
            if seen["n"] > after:
                raise OSError(code, os.strerror(code), str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guard)
    monkeypatch.setattr(io, "open", guard)
    real_path_open = pathlib.Path.open

    def path_open(self, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            seen["n"] += 1
            if seen["n"] > after:
                raise OSError(code, os.strerror(code), str(self))
        return real_path_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", path_open)
    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            seen["n"] += 1
            if seen["n"] > after:
                os.close(fd)
                raise OSError(code, os.strerror(code))
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_full_or_read_only_disk_during_publish_damages_nothing(run_copy, monkeypatch, capsys, code):
    from lontar.hub.stage import run_publish

    published = run_publish(run_copy)
    before = {p.relative_to(published): p.read_bytes() for p in published.rglob("*") if p.is_file()}
    manifest = (run_copy.run_dir / "manifest.json").read_bytes()
    _refuse_writes(monkeypatch, code, after=3)
    code_, err = run_cli(["publish", "--config", str(run_copy.run_dir.parents[1] / "run.yaml")], capsys)
    monkeypatch.undo()
    assert_one_line_error(code_, err, "partial work was removed")
    assert not list(run_copy.run_dir.glob("*.partial"))
    after = {p.relative_to(published): p.read_bytes() for p in published.rglob("*") if p.is_file()}
    assert after == before and (run_copy.run_dir / "manifest.json").read_bytes() == manifest


def test_a_full_disk_during_the_corpus_stage_is_one_line_and_keeps_the_old_corpus(run_copy, monkeypatch, capsys):
    corpus = run_copy.run_dir / "corpus"
    before = sorted(p.name for p in corpus.iterdir())
    card = (corpus / "data_card.json").read_bytes()
    (run_copy.run_dir / "corpus.work").exists() and __import__("shutil").rmtree(run_copy.run_dir / "corpus.work")
    _refuse_writes(monkeypatch, errno.ENOSPC, after=2)
    code, err = run_cli(["corpus", "--config", str(run_copy.run_dir.parents[1] / "run.yaml")], capsys)
    monkeypatch.undo()
    assert_one_line_error(code, err, "No space left on device")
    assert not (run_copy.run_dir / "corpus.partial").exists()
    assert [p.name for p in run_copy.run_dir.rglob("*.tmp")] == []
    assert sorted(p.name for p in corpus.iterdir()) == before and (corpus / "data_card.json").read_bytes() == card
    json.loads(card)


def test_a_source_path_with_glob_characters_that_exists_is_read(tmp_path):
    from lontar.config import load_config
    from lontar.corpus.sources import iter_source

    data = tmp_path / "km[2024].txt"
    data.write_text("ព្រះរាជាណាចក្រ​កម្ពុជា\n", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"name: g\nmodel: {{name_or_path: org/base}}\ncorpus:\n  sources:\n"
                   f"    - {{type: text, path: '{data}', lang: km}}\n", encoding="utf-8")
    src = load_config(cfg).corpus.sources[0]
    assert [item["text"] for ok, item in iter_source(src) if ok] == ["ព្រះរាជាណាចក្រ​កម្ពុជា"]


def test_a_vocabulary_the_corpus_cannot_fill_is_one_line(tmp_path, khmer_sentences):
    from lontar.errors import LontarError
    from lontar.tokenizer.spm import train_sentencepiece

    with pytest.raises(LontarError, match="tokenizer.vocab_size 60000: SentencePiece refused"):
        train_sentencepiece(khmer_sentences[:30], tmp_path / "tok", vocab_size=60000)


def test_an_hf_source_that_cannot_load_is_one_line(tmp_path):
    from lontar.config import SourceConfig
    from lontar.corpus.sources import iter_source
    from lontar.errors import DataError

    src = SourceConfig(type="hf", dataset=str(tmp_path / "no-such-dataset"), lang="km", license="cc-by-4.0")
    with pytest.raises(DataError, match="cannot load dataset"):
        list(iter_source(src))
