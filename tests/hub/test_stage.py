"""`publish --merge` with and without a repo id, and the merged model by default when the run adds vocabulary."""

import json

import pytest
from huggingface_hub import ModelCard
from transformers import AutoModelForCausalLM

from lontar.config import RunConfig
from lontar.hub.card import checkpoint_label
from lontar.hub.stage import run_publish
from lontar.manifest import read_manifest
from tests.hub.conftest import make_adapter, save_local_base
from tests.hub.test_folder import machine_paths, roots_of


def _published(capsys, cfg):
    run_publish(cfg)
    out, err = capsys.readouterr()
    out += err  # warnings go to stderr
    stage = read_manifest(cfg.run_dir)["stages"][-1]
    return out, stage


@pytest.mark.parametrize("repo_id", [None, "sea-lab/two-lang"])
def test_merge_lists_and_records_both_folders(local_run, capsys, repo_id):
    cfg = local_run["cfg"]
    cfg = cfg.model_copy(update={"publish": cfg.publish.model_copy(update={"merge": True, "repo_id": repo_id})})
    out, stage = _published(capsys, cfg)
    run = cfg.run_dir
    assert f"publish: hub-ready folder {run / 'publish'}" in out and f"publish: merged model folder {run / 'merged'}" in out
    assert "adapter_model.safetensors" in out and "model.safetensors" in out
    assert [o["path"] for o in stage["outputs"]] == ["publish", "merged"] and all(o["sha256"] for o in stage["outputs"])
    merged_repo = f"{repo_id}-merged" if repo_id else None
    assert stage["folders"] == {"adapter": {"path": "publish", "repo_id": repo_id},
                                "merged": {"path": "merged", "repo_id": merged_repo}}
    # the dry run shows the adapter's card, not the merged one
    shown = out.split("The card (", 1)[1]
    assert shown.startswith(str(run / "publish" / "README.md")) and "A LoRA adapter for" in shown
    merged_card = ModelCard.load(run / "merged" / "README.md")
    assert merged_card.data.library_name == "transformers" and merged_card.data.base_model == "google/gemma-3-270m"
    assert "A merged full model is also published" in (run / "publish" / "README.md").read_text(encoding="utf-8")
    assert machine_paths(run / "merged", roots_of(local_run)) == []


@pytest.fixture
def extended_run(tmp_path):
    """A pretrained base (259 byte tokens) whose run tokenizer adds two Khmer tokens."""
    from tests.eval.conftest import byte_tokenizer

    base = save_local_base(tmp_path / "base", license="apache-2.0")
    tok = byte_tokenizer()
    tok.add_tokens(["ខ្មែរ", "ភាសា"])
    tok.save_pretrained(tmp_path / "runs" / "ext" / "tokenizer")
    cfg = RunConfig.model_validate({
        "name": "ext", "output_dir": str(tmp_path / "runs"),
        "tokenizer": {"mode": "extend", "base": str(base)},
        "model": {"name_or_path": str(base), "hub_id": "sea-lab/tiny-base", "tokenizer": "run", "dtype": "float32"},
        "publish": {"allow_empty_results": True},  # no eval in this run
    })
    make_adapter(cfg, cfg.run_dir / "adapter")
    return cfg


def test_extended_vocabulary_publishes_the_merged_model_by_default(extended_run, capsys):
    cfg = extended_run
    out, stage = _published(capsys, cfg)
    assert "vLLM cannot serve as a LoRA adapter" in out and stage["merge"] is True
    merged = AutoModelForCausalLM.from_pretrained(cfg.run_dir / "merged")
    assert merged.get_input_embeddings().weight.shape[0] == 261
    text = (cfg.run_dir / "publish" / "README.md").read_text(encoding="utf-8")
    serving = text.split("## Serving", 1)[1].split("\n## ", 1)[0]
    assert "vLLM cannot serve a LoRA adapter that adds vocabulary" in serving
    assert "Serve the merged model instead, written beside this folder (`merged/` in the run): " \
           "`vllm serve path/to/merged`" in serving
    assert "base.resize_token_embeddings(len(tokenizer))" in text
    assert checkpoint_label(cfg, "base", {"kind": "base", "step": 0}) == "base (resized, new rows initialised)"
    # publish.merge: false is obeyed, and the card says what that leaves
    off = cfg.model_copy(update={"publish": cfg.publish.model_copy(update={"merge": False})})
    out, stage = _published(capsys, off)
    assert stage["merge"] is False and [o["path"] for o in stage["outputs"]] == ["publish"]
    assert "warning: no merged model" in out
    assert "No merged model was written" in (cfg.run_dir / "publish" / "README.md").read_text(encoding="utf-8")
    assert json.loads((cfg.run_dir / "publish" / "adapter_config.json").read_text())["base_model_name_or_path"] == \
        "sea-lab/tiny-base"


def test_rows_name_what_they_are(tmp_path):
    random = RunConfig.model_validate({"name": "r", "model": {"architecture": {"model_type": "llama"}}})
    base = RunConfig.model_validate({"name": "b", "model": {"name_or_path": "org/base", "tokenizer": "base"}})
    assert checkpoint_label(random, "base", {"kind": "base"}) == "base (random init)"
    assert checkpoint_label(base, "base", {"kind": "base", "step": 0}) == "base (original)"
    assert checkpoint_label(base, "adapter", {"kind": "adapter", "step": 500}) == "adapter (step 500)"
    assert checkpoint_label(base, "step-40", {"kind": "adapter", "step": 40}) == "checkpoint step 40"
