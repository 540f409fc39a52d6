"""The eval stage on local data: results follow the data (no stale cache), cut prompts are counted and
said, and results and the manifest say where the data and prompt came from."""

import json
from pathlib import Path

import pytest

from lontar.config import RunConfig
from lontar.eval.stage import run_eval
from tests.eval.conftest import byte_tokenizer

PASSAGE = "ទន្លេមេគង្គហូរកាត់ប្រទេសកម្ពុជា។ "


def _data(path: Path, golds: list[int]) -> Path:
    rows = [{"passage": PASSAGE * (1 + i % 3), "question": f"សំណួរ {i}?", "options": ["ក", "ខ", "គ", "ឃ"], "gold": g}
            for i, g in enumerate(golds)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _run(tmp_path: Path, **eval_overrides) -> RunConfig:
    tok_dir = tmp_path / "tokenizer"
    if not tok_dir.exists():
        byte_tokenizer().save_pretrained(tok_dir)
    tasks = tmp_path / "tasks"
    tasks.mkdir(exist_ok=True)
    (tasks / "_demo.yaml").write_text(
        "benchmark: demo\noutput: multiple_choice\nlang: km\n"
        "prompt: \"{{ passage }}\\n{{ question }}\\nA. {{ options[0] }}\\nB. {{ options[1] }}\\nAnswer:\"\n"
        "choices: [A, B, C, D]\ntarget: gold\nmetrics: [acc]\n", encoding="utf-8")
    (tasks / "demo_km.yaml").write_text("include: _demo.yaml\nsource: {path: '{demo}/items.jsonl', format: jsonl}\n",
                                        encoding="utf-8")
    return RunConfig.model_validate({
        "name": "demo", "output_dir": str(tmp_path / "runs"),
        "model": {"architecture": {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                                   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                                   "max_position_embeddings": 128},
                  "tokenizer": str(tok_dir), "dtype": "float32"},
        "train": {"block_size": 128},
        "eval": {"tasks": ["demo_km"], "tasks_dir": str(tasks), "checkpoints": ["base"], "bootstrap": 0,
                 "batch_size": 8, **eval_overrides},
    })


def test_changing_one_answer_changes_the_score_and_an_unchanged_run_reuses_the_cache(tmp_path, capsys):
    data = _data(tmp_path / "d1" / "items.jsonl", [0, 1, 2, 3, 0, 1])
    cfg = _run(tmp_path, data_dirs={"demo": str(data.parent)})
    first = run_eval(cfg)["tasks"]["demo_km"]["metrics"]["base"]["all"]["acc"]["value"]
    assert run_eval(cfg)["tasks"]["demo_km"]["metrics"]["base"]["all"]["acc"]["value"] == first
    assert "reusing the result" in capsys.readouterr().out
    samples = [json.loads(x) for x in (cfg.run_dir / "eval" / "samples" / "base" / "demo_km.jsonl").open()]
    golds = [s["gold"] for s in samples]
    golds[0] = samples[0]["pred"] if samples[0]["gold"] != samples[0]["pred"] else (samples[0]["pred"] + 1) % 4
    _data(data, golds)  # the same file, one answer changed
    changed = run_eval(cfg)["tasks"]["demo_km"]["metrics"]["base"]["all"]["acc"]["value"]
    assert "reusing the result" not in capsys.readouterr().out
    assert changed == pytest.approx(first + (1 / 6 if golds[0] == samples[0]["pred"] else -1 / 6))
    # Another folder with the same layout and different answers: its own score, not the cached one.
    other = _data(tmp_path / "d2" / "items.jsonl", [(g + 1) % 4 for g in golds])
    cfg2 = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"data_dirs": {"demo": str(other.parent)}})})
    res = run_eval(cfg2)["tasks"]["demo_km"]
    assert "reusing the result" not in capsys.readouterr().out
    assert res["provenance"]["source"]["files"][0]["path"] == "../../d2/items.jsonl"


def test_cut_prompts_are_counted_warned_and_recorded_with_the_window(tmp_path, capsys):
    _data(tmp_path / "items.jsonl", [0, 1, 2, 3, 0, 1])
    cfg = _run(tmp_path, data_dirs={"demo": str(tmp_path)}, limit=4)
    results = run_eval(cfg)
    task = results["tasks"]["demo_km"]
    # Every prompt is longer than 128 byte tokens: all 4 items are cut, and the window is the model's.
    assert task["truncated"] == {"base": 4} and task["max_length"] == {"base": 128}
    assert results["settings"]["max_length"] == 128 and results["settings"]["max_length_from"] == "model"
    assert "eval: warning: base demo_km: 4 of 4 items cut to fit max_length 128" in capsys.readouterr().err
    row = next(r for r in results["rows"] if r["metric"] == "acc")
    assert row["truncated"] == 4 and row["max_length"] == 128
    assert "## Truncated prompts" in (cfg.run_dir / "eval" / "results.md").read_text()
    # eval.limit takes the first items, as lm-eval's --limit; `sample` draws a seeded sample.
    assert task["limit"] == {"mode": "first", "n": 4}
    samples = [json.loads(x) for x in (cfg.run_dir / "eval" / "samples" / "base" / "demo_km.jsonl").open()]
    assert [s["index"] for s in samples] == [0, 1, 2, 3] and all(s["truncated"] for s in samples)
    # Provenance: the data file (relative to the run, with its hash), the include holding the prompt.
    assert task["provenance"]["source"]["files"][0]["path"] == "../../items.jsonl"
    assert task["includes"] == [str(tmp_path / "tasks" / "_demo.yaml")] and len(task["prompt_sha256"]) == 64
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text())
    stage = manifest["stages"][-1]
    paths = {Path(i["path"]).name: i for i in stage["inputs"]}
    assert {"demo_km.yaml", "_demo.yaml", "items.jsonl"} <= set(paths) and "sha256" in paths["items.jsonl"]
    assert stage["tasks"]["demo_km"]["prompt_sha256"] == task["prompt_sha256"]


def test_a_window_that_fits_cuts_nothing(tmp_path):
    _data(tmp_path / "items.jsonl", [0, 1])
    cfg = _run(tmp_path, data_dirs={"demo": str(tmp_path)}, max_length=1024)
    task = run_eval(cfg)["tasks"]["demo_km"]
    assert task["truncated"] == {"base": 0} and task["max_length"] == {"base": 1024}


def test_results_name_the_local_copy_that_stood_in_for_a_hub_dataset(tmp_path):
    from lontar.eval.runner import prepare
    from lontar.eval.stage import _source_label
    from lontar.eval.sources import DataContext
    from lontar.eval.task import REPO_TASKS, load_task
    from tests.eval.hub_fixtures import build_hub_mirror

    mirror = build_hub_mirror(tmp_path / "hub")
    p = prepare(load_task(REPO_TASKS / "belebele_th.yaml"), DataContext(hub_mirror=str(mirror), run_dir=tmp_path / "run"),
                limit=None, seed=0)
    assert _source_label(p) == "facebook/belebele/tha_Thai[test] (local copy: ../hub/facebook/belebele)"
    [f] = p.provenance["source"]["files"]
    assert f["path"] == "../hub/facebook/belebele/data/tha_Thai.jsonl" and len(f["sha256"]) == 64
