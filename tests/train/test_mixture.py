"""Training honours the data card's mixture from the first steps, and one epoch reaches every document.

A real three-language corpus (Khmer rdlab sentences, a Vietnamese novel, Burmese sentences; three
scripts) built by the corpus stage with temperature mixing, token shares counted with the run's own
tokenizer; then the train stage as a user runs it.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lontar.config import load_config
from lontar.corpus.build import build_corpus
from lontar.train.data import build_train_data
from lontar.train.model import load_tokenizer
from lontar.train.sampler import ParquetDocs
from lontar.train.stage import run_train
from tests.conftest import write_config
from tests.train.conftest import TINY_ARCH

SEAHELM = Path(__file__).resolve().parents[3] / "shared" / "data" / "seahelm"
if not SEAHELM.exists():
    SEAHELM = Path("/work/shared/data/seahelm")
NOVEL_VI = SEAHELM / "pure_heart_ngoc_phachHoang_vi.txt"
MY = SEAHELM / "my_myparaphrase.jsonl"
pytestmark = pytest.mark.skipif(not (NOVEL_VI.exists() and MY.exists()), reason=f"{SEAHELM} missing")


@pytest.fixture(scope="module")
def three_languages(tiny_run_template, tmp_path_factory):
    """runs/mix3/: corpus (km, vi, my; mixed by temperature) and the tiny tokenizer; returns the config data."""
    from lontar.corpus.sources import rdlab_path, read_rdlab

    root = tmp_path_factory.mktemp("mix3")
    km, vi, my = root / "km.txt", root / "vi.txt", root / "my.txt"
    km.write_text("\n".join(read_rdlab(rdlab_path())[:1500]) + "\n", encoding="utf-8")
    vi.write_text("\n".join(x for x in NOVEL_VI.read_text(encoding="utf-8").splitlines() if x.strip()) + "\n",
                  encoding="utf-8")
    rows = [json.loads(x)["prompts"][0] for x in MY.read_text(encoding="utf-8").splitlines()]
    my.write_text("\n".join(s for r in rows for s in (r["sentence1"], r["sentence2"])) + "\n", encoding="utf-8")
    shutil.copytree(tiny_run_template / "tokenizer", root / "runs" / "mix3" / "tokenizer")
    off = {"lid": {"enabled": False}, "quality": {"enabled": False}, "pii": {"enabled": False}}
    data = {"name": "mix3", "output_dir": str(root / "runs"), "seed": 0,
            "corpus": {"sources": [{"type": "text", "path": str(km), "lang": "km", "name": "km-rdlab"},
                                   {"type": "text", "path": str(vi), "lang": "vi", "name": "vi-novel"},
                                   {"type": "text", "path": str(my), "lang": "my", "name": "my-sentences"}],
                       "validation_fraction": 0.05, "shard_docs": 700, "num_proc": 1, **off,
                       "mixing": {"enabled": True, "alpha": 0.3, "cap": 4.0,
                                  "tokenizer": str(root / "runs" / "mix3" / "tokenizer")}},
            "model": {"architecture": TINY_ARCH, "tokenizer": "run", "dtype": "float32"},
            "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
            "train": {"block_size": 128, "micro_batch_size": 8, "max_steps": 10, "lr": 3e-3, "log_every": 1,
                      "tensorboard": False, "peak_tflops": 1.0}}
    card = build_corpus(load_config(write_config(root / "mix3.yaml", data)))
    # shards hold the sources one after another (and mixing's copies pass by pass): file order is no mixture
    assert len(list((root / "runs" / "mix3" / "corpus").glob("train-*.parquet"))) > 3
    return root, data, card


def test_the_first_ten_steps_train_each_language_at_its_card_share(three_languages):
    root, data, card = three_languages
    cfg = load_config(write_config(root / "steps.yaml", data))
    result = run_train(cfg)
    history = result["history"]
    assert [h["step"] for h in history] == list(range(1, 11))
    trained = {lang: sum(h["tokens_by_lang"].get(lang, 0) for h in history) for lang in ("km", "vi", "my")}
    total = sum(trained.values())
    assert total == sum(h["tokens"] for h in history)
    for lang, v in card["mixing"]["languages"].items():
        assert abs(trained[lang] / total - v["mixed_token_share"]) < 0.02, (lang, trained, v)
    for h in history[1:]:  # and every step draws from every language
        assert all(h["tokens_by_lang"][lang] > 0 for lang in trained), h["tokens_by_lang"]
        assert all(np.isfinite(h["loss_by_dataset"]["corpus"]) for h in history)
    # the manifest records what the run trained on, for the model card
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    seen = manifest["stages"][-1]["summary"]["tokens_seen"]
    assert seen["by_lang"] == trained and set(seen["by_stream"]) == {f"corpus/{g}" for g in card["mixing"]["sources"]}


def test_one_epoch_reaches_every_document_exactly_once(three_languages, monkeypatch):
    root, data, card = three_languages
    cfg = load_config(write_config(root / "epoch.yaml", data), ["train.num_epochs=1"])
    read: list[np.ndarray] = []
    original = ParquetDocs.read
    monkeypatch.setattr(ParquetDocs, "read", lambda self, rows: read.append(np.asarray(rows)) or original(self, rows))
    tokenizer = load_tokenizer(cfg)
    train_data = build_train_data(cfg, tokenizer, world=1)
    steps = train_data.count_steps()
    read.clear()
    tokens = 0
    for _ in range(steps):
        tokens += train_data.step_stats(train_data.next_step())["tokens"]
    rows = np.concatenate(read)
    n_docs = card["splits"]["train"]["docs"]
    assert len(rows) == n_docs and len(np.unique(rows)) == n_docs  # every row once, none twice
    texts = ParquetDocs(sorted((cfg.run_dir / "corpus").glob("train-*.parquet"))).read(np.arange(n_docs))
    ids = tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert tokens == sum(len(x) + 2 for x in ids if x)  # every document with its BOS and EOS, once
    assert train_data.mixer.block() is None  # and nothing after the epoch
