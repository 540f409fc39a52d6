"""All five stages on real Khmer text with a tiny model: the demo in miniature."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from lontar.cli import main
from lontar.config import load_config
from lontar.manifest import read_manifest
from lontar.train.stage import run_train
from tests.conftest import REPO, needs_rdlab, write_config

pytestmark = [pytest.mark.slow, needs_rdlab]


def tiny_config(tmp_path):
    return write_config(tmp_path / "tiny.yaml", {
        "extends": str(REPO / "configs" / "km-tiny.yaml"),
        "name": "e2e",
        "output_dir": str(tmp_path / "runs"),
        "corpus": {"sources": [{"type": "rdlab", "max_docs": 4000}], "validation_fraction": 0.05},
        "tokenizer": {"vocab_size": 1000, "input_sentence_size": 0},
        "model": {"architecture": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
                                   "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                                   "max_position_embeddings": 256, "tie_word_embeddings": False}},
        "train": {"block_size": 128, "micro_batch_size": 8, "max_steps": 60, "lr": 3e-3, "warmup_steps": 5,
                  "log_every": 20},
        "eval": {"max_docs": 100, "batch_size": 16, "tasks": ["heldout"]},
    })


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    path = tiny_config(tmp)
    cfg = load_config(path)
    assert main(["corpus", "--config", str(path)]) == 0
    assert main(["tokenizer", "--config", str(path)]) == 0
    trained = run_train(cfg)
    assert main(["eval", "--config", str(path)]) == 0
    assert main(["publish", "--config", str(path)]) == 0
    return {"path": path, "cfg": cfg, "trained": trained}


def test_adapter_beats_base_on_validation_bits_per_byte(run):
    results = json.loads((run["cfg"].run_dir / "eval" / "results.json").read_text())
    base, adapter = results["checkpoints"]["base"]["bits_per_byte"], results["checkpoints"]["adapter"]["bits_per_byte"]
    assert adapter < base - 0.05, (base, adapter)
    losses = [h["loss"] for h in run["trained"]["history"]]
    assert losses[-1] < losses[0]


def test_manifest_records_every_stage_with_one_config_hash(run):
    stages = read_manifest(run["cfg"].run_dir)["stages"]
    assert [s["stage"] for s in stages] == ["corpus", "tokenizer", "train", "eval", "publish"]
    assert len({s["config_hash"] for s in stages}) == 1
    assert all(s["outputs"] and s["versions"]["transformers"] for s in stages)
    assert stages[2]["inputs"][0]["path"] == "base_model" and stages[2]["outputs"][0]["sha256"]


def test_published_folder_reloads_with_the_trained_logits(run):
    folder = run["cfg"].run_dir / "publish"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(folder / "base_model"), folder).eval()
    ids = tokenizer(["ប្រទេសកម្ពុជាមានខេត្តច្រើន។", "ភាសាខ្មែរ"], return_tensors="pt", padding=True)
    with torch.no_grad():
        expected = run["trained"]["model"](**ids).logits
        got = model(**ids).logits
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        base_logits = AutoModelForCausalLM.from_pretrained(folder / "base_model")(**ids).logits
    assert not torch.allclose(base_logits, expected, atol=1e-3)  # the adapter changed the model


def test_model_card_parses_and_carries_results(run):
    folder = run["cfg"].run_dir / "publish"
    card = ModelCard.load(folder / "README.md")
    assert card.data.library_name == "peft" and card.data.language == ["km"]
    results = json.loads((folder / "results.json").read_text())
    [evaluation] = [r for r in card.data.eval_results if r.metric_type == "bits_per_byte" and not r.dataset_args]
    assert evaluation.task_name == "heldout" and evaluation.dataset_split == "validation"
    assert evaluation.metric_value == round(results["checkpoints"]["adapter"]["bits_per_byte"], 6)
    assert "PeftModel.from_pretrained" in card.text and "| corpus |" in card.text
    assert {"adapter_model.safetensors", "tokenizer.json", "lontar_manifest.json"} <= {p.name for p in folder.iterdir()}


def test_stage_out_of_order_is_a_one_line_error(tmp_path):
    path = write_config(tmp_path / "c.yaml", {"extends": str(REPO / "configs" / "km-tiny.yaml"),
                                             "output_dir": str(tmp_path / "runs")})
    proc = subprocess.run([sys.executable, str(REPO / "evaluate" / "run.py"), "--config", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "validation shards" in proc.stderr and "corpus stage first" in proc.stderr


def test_accelerate_launch_trains(run, tmp_path):
    shutil.copytree(run["cfg"].run_dir, tmp_path / "runs" / "accel")
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    proc = subprocess.run([accelerate, "launch", "--num_processes", "1", "--num_machines", "1", "--mixed_precision",
                           "no", "--dynamo_backend", "no", str(REPO / "train" / "run.py"), "--config", str(run["path"]),
                           "--set", "name=accel", "--set", f"output_dir={tmp_path / 'runs'}", "--set", "train.max_steps=3",
                           "--set", "train.log_every=1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (tmp_path / "runs" / "accel" / "logs" / "train_log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == [1, 2, 3]
    assert (tmp_path / "runs" / "accel" / "adapter" / "adapter_model.safetensors").exists()


def test_merge_and_push_to_a_local_hub(run, monkeypatch, tmp_path, capsys):
    """--merge writes a full sharded model with base+adapter logits; --push sends both folders intact."""
    import huggingface_hub.constants as hub_constants

    from tests.hub.fake_hub import FakeHub

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_TOKEN", "hf_e2e_secret")
    with FakeHub() as hub:
        code = main(["publish", "--config", str(run["path"]), "--merge", "--push", "--repo-id", "sea-lab/km-tiny",
                     "--set", f"publish.endpoint={hub.url}", "--set", "publish.max_shard_size=200KB",
                     "--set", "publish.commit_message=Publish km-tiny"])
        state = hub.state
    assert code == 0
    out = capsys.readouterr().out
    assert "hf_e2e_secret" not in out
    run_dir = run["cfg"].run_dir
    folders = {"sea-lab/km-tiny": run_dir / "publish", "sea-lab/km-tiny-merged": run_dir / "merged"}
    assert [c["repo_id"] for c in state.commits] == list(folders)
    for commit in state.commits:
        folder = folders[commit["repo_id"]]
        assert commit["summary"] == "Publish km-tiny"
        assert commit["files"] == {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    merged_dir = folders["sea-lab/km-tiny-merged"]
    assert len(list(merged_dir.glob("model-*-of-*.safetensors"))) >= 2 and (merged_dir / "model.safetensors.index.json").exists()
    assert not list(merged_dir.glob("*.bin")) and not (merged_dir / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    trained_tok = AutoTokenizer.from_pretrained(run_dir / "adapter")
    texts = ["ប្រទេសកម្ពុជាមានខេត្តច្រើន។", "ភាសាខ្មែរ"]
    assert tokenizer(texts)["input_ids"] == trained_tok(texts)["input_ids"]
    ids = tokenizer(texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        torch.testing.assert_close(merged(**ids).logits, run["trained"]["model"](**ids).logits, rtol=1e-4, atol=1e-4)
    card = ModelCard.load(merged_dir / "README.md")
    assert card.data.library_name == "transformers" and "peft" not in card.text.split("## How to load")[1][:300]


def test_model_card_carries_the_responsible_ai_record(run):
    from lontar.governance.record import PRINCIPLES, validate_record

    folder = run["cfg"].run_dir / "publish"
    record = json.loads((folder / "governance.json").read_text(encoding="utf-8"))
    validate_record(record)
    text = ModelCard.load(folder / "README.md").text
    section = text.split("## Responsible AI", 1)[1].split("\n## ", 1)[0]
    for principle in PRINCIPLES:
        row = next(line for line in section.splitlines() if line.startswith(f"| {principle} |"))
        assert any(s in row for s in ("| measured |", "| partly assessed |", "| not assessed |")), row
    assert "*Not assessed:* no accountable contact" in section  # the demo declares none: said plainly
    assert "| rdlab | km | MIT (as its package declares) |" in section and "Intended: A demonstration" in section
