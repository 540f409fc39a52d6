"""Training data with hashes: taken from the train stage's record where it has them, hashed here where not."""

import hashlib
import json

from lontar.config import RunConfig
from lontar.hub.training_data import training_data, training_tokens


def _cfg(tmp_path, chat):
    return RunConfig.model_validate({
        "name": "t", "output_dir": str(tmp_path / "runs"), "model": {"architecture": {"model_type": "llama"}},
        "train": {"datasets": [{"type": "chat", "path": str(chat), "name": "sft"}]}})


def test_recorded_hashes_are_used_and_missing_ones_computed(tmp_path):
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "សួស្តី"}]}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    digest = hashlib.sha256(chat.read_bytes()).hexdigest()
    cfg = _cfg(tmp_path, chat)
    [fresh] = training_data(cfg, {"stages": [{"stage": "train", "inputs": [{"path": str(chat)}]}]})
    assert fresh["files"][0]["sha256"] == digest and "hashed at publish time" in fresh["note"]
    # the train stage's own record (as a list of datasets with their files) wins, and is not recomputed
    recorded = {"stage": "train", "inputs": [], "summary": {"tokens_seen": {"by_lang": {"km": 120, "vi": 80},
                                                                           "by_dataset": {"sft": 200}}},
                "datasets": [{"name": "sft", "files": [{"path": str(chat), "sha256": "0" * 64}]}]}
    [kept] = training_data(cfg, {"stages": [recorded]})
    assert kept["files"][0]["sha256"] == "0" * 64 and kept["note"] is None
    assert training_tokens({"stages": [recorded]}) == {"tokens_seen by lang": {"km": 120, "vi": 80},
                                                       "tokens_seen by dataset": {"sft": 200}}
    chat.unlink()
    [gone] = training_data(cfg, {"stages": []})
    assert gone["files"] == [] and "no file matches" in gone["note"]
