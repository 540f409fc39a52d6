"""Evaluation results accumulate (issue 20: "an eval run whose only task was skipped rewrites results.md as
an empty table, deletes plots/, exits 0, and publish then ships empty results")."""

from __future__ import annotations

import json

from lontar.eval.stage import run_eval
from lontar.hub.stage import run_publish


def _rows(cfg):
    return json.loads((cfg.run_dir / "eval" / "results.json").read_text(encoding="utf-8"))["rows"]


def test_a_run_whose_only_task_is_skipped_erases_nothing(run_copy, tmp_path, capsys):
    before = _rows(run_copy)
    assert before and all(r["fingerprint"] for r in before)
    plots = sorted(p.name for p in (run_copy.run_dir / "eval" / "plots").iterdir())
    task = tmp_path / "gone.yaml"  # its data file does not exist: the task is skipped
    task.write_text("benchmark: gone\noutput: multiple_choice\nlang: km\nsource: {path: " + str(tmp_path / "no.jsonl")
                    + "}\nprompt: '{{ q }}'\nchoices: [A, B]\ntarget: label\n", encoding="utf-8")
    cfg = run_copy.model_copy(update={"eval": run_copy.eval.model_copy(update={"tasks": [str(task)],
                                                                             "missing_data": "skip"})})
    run_eval(cfg)
    out = capsys.readouterr().out
    assert "skipping gone" in out and "kept" in out
    after = _rows(cfg)
    assert [(r["checkpoint"], r["task"], r["metric"], r["value"], r["fingerprint"]) for r in after] == \
           [(r["checkpoint"], r["task"], r["metric"], r["value"], r["fingerprint"]) for r in before]
    assert sorted(p.name for p in (cfg.run_dir / "eval" / "plots").iterdir()) == plots
    assert "heldout" in (cfg.run_dir / "eval" / "results.md").read_text(encoding="utf-8")
    run_publish(cfg)  # and publish ships the earlier, true, results


def test_a_second_checkpoint_adds_rows_keyed_by_checkpoint_task_and_fingerprint(run_copy):
    before = _rows(run_copy)
    cfg = run_copy.model_copy(update={"eval": run_copy.eval.model_copy(update={"checkpoints": ["base"]})})
    run_eval(cfg)
    after = _rows(cfg)
    keys = {(r["checkpoint"], r["task"], r["fingerprint"]) for r in after}
    assert {(r["checkpoint"], r["task"], r["fingerprint"]) for r in before} <= keys
    assert {r["checkpoint"] for r in after} == {"adapter", "base"}
    fp = {r["checkpoint"]: r["fingerprint"] for r in after}
    assert fp["adapter"] != fp["base"]
