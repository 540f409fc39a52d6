"""train.eval_tasks: benchmarks every N steps during training, with the adapter as trained so far."""

import json

import pytest
import yaml

from lontar.config import load_config
from lontar.errors import ConfigError
from lontar.eval.stage import run_eval
from lontar.train.stage import run_train
from tests.train.conftest import one_thread, tiny_config, tiny_run_template  # noqa: F401  (fixtures)


def _with(path, train=None, eval_=None):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["train"].update(train or {})
    data["eval"] = eval_ or {}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_tasks_run_every_n_steps_and_match_the_eval_stage_on_the_saved_adapter(tiny_config, tmp_path):  # noqa: F811
    from lontar.corpus.sources import rdlab_path, read_rdlab

    sents = read_rdlab(rdlab_path())[5000:5030]
    items = tmp_path / "pairs.jsonl"
    items.write_text("".join(json.dumps({"q": sents[i], "a": sents[i + 1], "b": sents[i + 2], "label": i % 2},
                                        ensure_ascii=False) + "\n" for i in range(0, 24, 3)), encoding="utf-8")
    task = tmp_path / "next_km.yaml"
    task.write_text(f"benchmark: next\nlang: km\noutput: multiple_choice\nsource: {{path: {items}}}\n"
                    "prompt: '{{ q }}'\nchoices: '[a, b]'\ntarget: label\nmetrics: [acc]\n", encoding="utf-8")
    ev = {"max_docs": 20, "bootstrap": 50, "batch_size": 4, "checkpoints": ["adapter"],
          "tasks": ["heldout_km", str(task)]}
    path = _with(tiny_config("bench", {"max_steps": 4}), {"eval_tasks": ["heldout_km", str(task)],
                                                          "eval_tasks_every": 2, "tensorboard": True}, ev)
    cfg = load_config(path)
    run_train(cfg)
    logs = cfg.run_dir / "logs"
    recs = [json.loads(x) for x in (logs / "eval_log.jsonl").read_text().splitlines()]
    bench = [r for r in recs if "tasks" in r]
    assert [r["step"] for r in bench] == [2, 4]
    last = bench[-1]["tasks"]
    assert last["next_km"]["metric"] == "acc" and last["next_km"]["chance"] == 0.5 and last["next_km"]["n"] == 8
    assert last["heldout_km"]["metric"] == "bits_per_byte" and len(last["heldout_km"]["ci"]) == 2
    assert (logs / "benchmarks.png").stat().st_size > 1000
    assert list((logs / "tensorboard").glob("events.out.tfevents.*"))
    # The last step's figures are the eval stage's on the adapter saved at that step.
    res = run_eval(cfg)["tasks"]
    assert res["heldout_km"]["metrics"]["adapter"]["all"]["bits_per_byte"]["value"] == pytest.approx(
        last["heldout_km"]["value"], rel=1e-5)
    assert res["next_km"]["metrics"]["adapter"]["all"]["acc"]["value"] == last["next_km"]["value"]


def test_eval_tasks_need_a_frequency_and_a_known_task(tiny_config):  # noqa: F811
    cfg = load_config(_with(tiny_config("bench-bad", {"max_steps": 2}), {"eval_tasks": ["heldout_km"]}))
    with pytest.raises(ConfigError, match="eval_tasks_every"):
        run_train(cfg)
    cfg = load_config(_with(tiny_config("bench-bad2", {"max_steps": 2}),
                            {"eval_tasks": ["no_such_task"], "eval_tasks_every": 1}))
    with pytest.raises(ConfigError, match="no_such_task"):
        run_train(cfg)
