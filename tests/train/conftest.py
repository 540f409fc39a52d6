"""A tiny run directory (corpus shards + a Khmer SentencePiece tokenizer) shared by the training tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import has_rdlab, write_config

TINY_ARCH = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 256,
             "tie_word_embeddings": False}


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is several times faster than two spinning on a shared machine, and
    subprocesses (OMP_NUM_THREADS from torch.get_num_threads()) then compute exactly the same floats."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_run_template(tmp_path_factory) -> Path:
    """runs/<template>/ with `corpus/` (train + validation shards) and `tokenizer/`, built once."""
    if not has_rdlab():
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    from lontar.config import DEFAULT_CHAT_TEMPLATE
    from lontar.corpus.shards import ShardWriter
    from lontar.corpus.sources import rdlab_path, read_rdlab
    from lontar.tokenizer.spm import train_sentencepiece

    sentences = read_rdlab(rdlab_path())[:3000]
    root = tmp_path_factory.mktemp("tiny_run")
    for split, texts in (("train", sentences[:2500]), ("validation", sentences[2500:2700])):
        writer = ShardWriter(root / "corpus", split, shard_docs=10_000)
        for i, text in enumerate(texts):
            writer.add({"id": f"{split}-{i}", "text": text, "source": "rdlab", "lang": "km"})
        writer.close()
    train_sentencepiece(sentences[:2000], root / "tokenizer", vocab_size=600, chat_template=DEFAULT_CHAT_TEMPLATE)
    return root


@pytest.fixture
def tiny_config(tiny_run_template, tmp_path):
    """`tiny_config(name, train={...}, lora={...})` -> path of a config whose run dir holds the template."""

    def make(name: str = "tiny", train: dict | None = None, lora: dict | None = None, model: dict | None = None) -> Path:
        runs = tmp_path / "runs"
        if not (runs / name).exists():
            shutil.copytree(tiny_run_template, runs / name)
        return write_config(tmp_path / f"{name}.yaml", {
            "name": name, "output_dir": str(runs), "seed": 0,
            "model": {"architecture": TINY_ARCH, "tokenizer": "run", "dtype": "float32", **(model or {})},
            "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear", **(lora or {})},
            "train": {"block_size": 64, "micro_batch_size": 4, "max_steps": 8, "lr": 3e-3, "warmup_steps": 2,
                      "log_every": 1, "trackers": [], "peak_tflops": 1.0, **(train or {})},
        })

    return make


@pytest.fixture
def khmer_tokenizer(tiny_run_template):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_run_template / "tokenizer")
