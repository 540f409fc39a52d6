"""A small finished run (corpus, adapter, evaluation) that each reliability test copies and breaks."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from lontar.config import RunConfig, load_config
from tests.conftest import write_config


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Exit code and stderr of `lontar ...` in-process: a traceback would propagate as an exception."""
    from lontar.cli import main

    code = main(argv)
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    lines = [line for line in err.strip().splitlines() if line.startswith("lontar ")]  # not progress bars
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err and len(lines[0]) < 700, err[:2000]
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, khmer_sentences_module):
    """Corpus, an adapter on a local tiny base declared as org/tiny-base, and a held-out evaluation."""
    from lontar.corpus.build import build_corpus
    from lontar.eval.stage import run_eval
    from lontar.manifest import record_stage
    from tests.hub.conftest import make_adapter, save_local_base

    tmp = tmp_path_factory.mktemp("finished")
    base = save_local_base(tmp / "models" / "tiny-base", license="apache-2.0")
    km = tmp / "data" / "km.txt"
    km.parent.mkdir(parents=True)
    km.write_text("\n".join(khmer_sentences_module[:200]) + "\n", encoding="utf-8")
    path = write_config(tmp / "run.yaml", {
        "name": "r", "output_dir": str(tmp / "runs"),
        "corpus": {"sources": [{"type": "text", "path": str(km), "lang": "km", "license": "cc-by-4.0"}],
                   "validation_fraction": 0.1, "lid": {"enabled": False}, "quality": {"enabled": False}},
        "model": {"name_or_path": str(base), "hub_id": "org/tiny-base", "tokenizer": "base", "dtype": "float32"},
        "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "train": {"block_size": 64},
        "eval": {"tasks": ["heldout"], "max_docs": 5, "bootstrap": 0, "batch_size": 8, "checkpoints": ["adapter"]},
    })
    cfg = load_config(path)
    build_corpus(cfg)
    make_adapter(cfg, cfg.run_dir / "adapter")
    record_stage(cfg, "train", inputs=[], outputs=[cfg.run_dir / "adapter"], started=time.time())
    run_eval(cfg)
    return {"tmp": tmp, "path": path, "base": base}


@pytest.fixture
def run_copy(finished_run, tmp_path) -> RunConfig:
    """A private copy of the finished run (its config points at the copy)."""
    shutil.copytree(finished_run["tmp"] / "runs", tmp_path / "runs")
    text = Path(finished_run["path"]).read_text(encoding="utf-8")
    config = tmp_path / "run.yaml"
    config.write_text(text.replace(str(finished_run["tmp"] / "runs"), str(tmp_path / "runs")), encoding="utf-8")
    cfg = load_config(config)
    assert cfg.run_dir == tmp_path / "runs" / "r"
    return cfg


@pytest.fixture(scope="module")
def khmer_sentences_module() -> list[str]:
    from lontar.corpus.sources import rdlab_path, read_rdlab
    from tests.conftest import has_rdlab

    if not has_rdlab():
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    return read_rdlab(rdlab_path())[:400]
