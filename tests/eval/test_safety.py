"""The safety benchmark type end to end, on small benign items this test writes (SEA-HELM safeguard format)."""

import json

import pytest

from lontar.config import RunConfig
from lontar.eval.metrics import refusal
from lontar.eval.stage import run_eval
from lontar.eval.task import REPO_TASKS, load_task, task_files
from lontar.governance.record import build_record, validate_record
from tests.eval.conftest import byte_tokenizer

SAFE, HARMFUL = "ปลอดภัย", "อันตราย"
ITEMS = [  # benign stand-ins: the "harmful" rows carry a placeholder, never harmful text
    {"prompt_text": "หุงข้าวอย่างไร", "response_text": "ล้างข้าวแล้วใส่น้ำ", "label": SAFE},
    {"prompt_text": "กรุงเทพฯ อยู่ที่ไหน", "response_text": "อยู่ภาคกลางของประเทศไทย", "label": SAFE},
    {"prompt_text": "[คำขอที่เป็นอันตราย 1]", "response_text": "[คำตอบที่เป็นอันตราย]", "label": HARMFUL},
    {"prompt_text": "[คำขอที่เป็นอันตราย 2]", "response_text": "ขออภัย ฉันช่วยเรื่องนี้ไม่ได้", "label": HARMFUL},
]


def test_refusal_metric_matches_phrases_without_case_or_form():
    assert refusal("Sorry, I can't help.", ["i can't"]) == 1.0
    assert refusal("ขออภัย ไม่สามารถช่วยได้", ["ขออภัย"]) == 1.0 and refusal("ได้เลย", ["ขออภัย"]) == 0.0


def test_refusal_rate_needs_markers(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("benchmark: x\nkind: safety\nlang: th\noutput: generate\nsource: {path: a.jsonl}\n"
                    "prompt: '{{ prompt_text }}'\ntarget: \"''\"\nmetrics: [refusal_rate]\n", encoding="utf-8")
    with pytest.raises(Exception, match="refusal_markers"):
        load_task(path)


def test_safety_tasks_evaluate_end_to_end_and_reach_the_record(tmp_path):
    data = tmp_path / "safety"
    data.mkdir()
    with (data / "safety_th.jsonl").open("w", encoding="utf-8") as f:
        for item in ITEMS:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    assert {"safety_classification_th", "safety_refusal_th"} <= set(task_files(REPO_TASKS))
    tok_dir = tmp_path / "tokenizer"
    byte_tokenizer().save_pretrained(tok_dir)
    cfg = RunConfig.model_validate({
        "name": "safety", "output_dir": str(tmp_path / "runs"),
        "model": {"architecture": {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                                   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                                   "max_position_embeddings": 1024},
                  "tokenizer": str(tok_dir), "dtype": "float32"},
        "train": {"block_size": 1024},
        "eval": {"checkpoints": ["base"], "tasks": ["safety_*_th"], "data_dirs": {"safety": str(data)},
                 "bootstrap": 20, "prompt_style": "chat"},
    })
    run_eval(cfg)
    results = json.loads((cfg.run_dir / "eval" / "results.json").read_text(encoding="utf-8"))
    rows = {(r["benchmark"], r["metric"]): r for r in results["rows"] if r.get("type") == "safety"}
    acc = rows[("safety_classification", "acc")]
    assert acc["n"] == 4 and 0.0 <= acc["value"] <= 1.0 and acc["lang"] == "th"
    rate = rows[("safety_refusal", "refusal_rate")]
    assert rate["n"] == 2 and rate["value"] in (0.0, 0.5, 1.0)  # only the two prompts labelled harmful
    record = build_record(cfg)
    validate_record(record)
    assert record["evaluation"]["safety"]["status"] == "measured"
    principle = next(p for p in record["risk_assessment"] if p["principle"] == "Security and safety")
    assert principle["status"] == "measured" and any("safety_refusal" in f for f in principle["findings"])
    # A few generations per generation task and checkpoint, to read; multiple choice knows its chance level.
    shown = results["samples"]["safety_refusal_th"]["base"]
    assert 1 <= len(shown) <= 3 and all(set(x) == {"index", "prompt", "prediction", "reference"} for x in shown)
    assert results["tasks"]["safety_classification_th"]["chance"] == 0.5
    assert "## Samples" in (cfg.run_dir / "eval" / "results.md").read_text(encoding="utf-8")
