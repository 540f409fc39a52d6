"""A small run as a user publishes it: a pretrained base from a local folder (declared on the hub as
google/gemma-3-270m, its card saying `license: gemma`), a Khmer and Vietnamese corpus, a chat data
set, and an evaluation on Global-MMLU-Lite in two languages with CS/CA subsets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lontar.config import load_config
from tests.conftest import needs_rdlab, write_config

# ../shared beside the checkout (CI, /work/main); a worktree in /work/wt/<name> finds it one level up.
SHARED = next((p / "shared" / "data" for p in Path(__file__).resolve().parents[3:5] if (p / "shared" / "data").is_dir()),
              Path(__file__).resolve().parents[3] / "shared" / "data")
SEAHELM = SHARED / "seahelm"
needs_shared = pytest.mark.skipif(not (SEAHELM / "global_mmlu_lite_vi_test.jsonl").exists(),
                                  reason=f"no SEA-HELM files in {SEAHELM}")


def save_local_base(path: Path, license: str | None = "gemma") -> Path:
    """A tiny Llama with a byte tokenizer in the hub's folder layout, with a card as hub snapshots have."""
    from tests.eval.conftest import byte_tokenizer, tiny_llama

    tok = byte_tokenizer()
    tiny_llama(len(tok), max_positions=4096).save_pretrained(path)
    tok.save_pretrained(path)
    if license:
        (path / "README.md").write_text(f"---\nlicense: {license}\nlibrary_name: transformers\n---\n\n# base\n",
                                        encoding="utf-8")
    return path


def make_adapter(cfg, out: Path) -> None:
    """An adapter as the train stage saves it: LoRA weights, config and the tokenizer, on the run's base."""
    from peft import LoraConfig, get_peft_model

    from lontar.train.model import load_base_model, load_tokenizer

    tok = load_tokenizer(cfg)
    model = get_peft_model(load_base_model(cfg, tok), LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                                                 init_lora_weights=False))
    model.save_pretrained(out)
    tok.save_pretrained(out)


def write_run_config(tmp: Path, khmer_sentences: list[str], **model) -> Path:
    km = tmp / "data" / "km.txt"
    km.parent.mkdir(parents=True, exist_ok=True)
    km.write_text("\n".join(khmer_sentences[:300]) + "\n", encoding="utf-8")
    vi_lines = [x for x in (SHARED / "seahelm" / "pure_heart_ngoc_phachHoang_vi.txt").read_text(
        encoding="utf-8").splitlines() if len(x) > 40][:200]
    vi = tmp / "data" / "vi.txt"
    vi.write_text("\n".join(vi_lines) + "\n", encoding="utf-8")
    chat = tmp / "data" / "chat.jsonl"
    chat.write_text("".join(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
                                       ensure_ascii=False) + "\n" for q, a in zip(khmer_sentences[300:320],
                                                                                  khmer_sentences[320:340])),
                    encoding="utf-8")
    return write_config(tmp / "run.yaml", {
        "name": "two-lang", "output_dir": str(tmp / "runs"),
        "corpus": {"sources": [{"type": "text", "path": str(km), "lang": "km", "name": "km-news", "license": "cc-by-4.0"},
                               {"type": "text", "path": str(vi), "lang": "vi"}],
                   "validation_fraction": 0.1, "lid": {"enabled": False}, "quality": {"enabled": False}},
        "model": {"tokenizer": "base", "dtype": "float32", **model},
        "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "train": {"datasets": [{"type": "corpus"}, {"type": "chat", "path": str(chat), "weight": 0.5}],
                  "block_size": 128},
        "eval": {"tasks": ["heldout", "seahelm_global_mmlu_lite_vi", "seahelm_global_mmlu_lite_id"],
                 "data_dirs": {"seahelm": str(SEAHELM)}, "limit": 8, "max_docs": 10, "bootstrap": 20,
                 "num_fewshot": 0, "max_length": 512, "batch_size": 8},
        "publish": {"license": "apache-2.0"},
    })


def fake_train_record(cfg) -> None:
    """The train stage's manifest entry as main records it today: corpus shards hashed, chat data by path only."""
    from lontar.corpus.shards import split_files
    from lontar.manifest import record_stage

    inputs = [cfg.model.name_or_path, *split_files(cfg.run_dir / "corpus", "train"),
              *[d.path for d in cfg.train.datasets if d.path]]
    record_stage(cfg, "train", inputs=inputs, outputs=[cfg.run_dir / "adapter"], started=time.time(),
                 extra={"summary": {"steps": 3}})


@pytest.fixture(scope="session")
def local_run(tmp_path_factory):
    """Corpus, adapter, eval: everything publish reads, on a local base declared as google/gemma-3-270m."""
    if not SEAHELM.exists():
        pytest.skip("no shared SEA-HELM data")
    from lontar.corpus.build import build_corpus
    from lontar.corpus.sources import rdlab_path, read_rdlab
    from lontar.eval.stage import run_eval
    from tests.conftest import has_rdlab

    if not has_rdlab():
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    tmp = tmp_path_factory.mktemp("hub")
    base = save_local_base(tmp / "models" / "gemma-3-270m-local")
    path = write_run_config(tmp, read_rdlab(rdlab_path())[:400], name_or_path=str(base), hub_id="google/gemma-3-270m")
    cfg = load_config(path)
    build_corpus(cfg)
    make_adapter(cfg, cfg.run_dir / "adapter")
    fake_train_record(cfg)
    run_eval(cfg)
    return {"cfg": cfg, "path": path, "tmp": tmp, "base": base}


__all__ = ["needs_rdlab", "needs_shared", "local_run"]
