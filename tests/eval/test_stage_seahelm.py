"""The eval stage end to end on SEA-HELM's own files: base vs an adapter checkpoint, report and plots."""

import json
from pathlib import Path

import pytest

from lontar.config import RunConfig
from lontar.eval.prompts import build_instances
from lontar.eval.sources import DataContext, task_docs
from lontar.eval.stage import resolve_checkpoint, run_eval
from lontar.eval.task import REPO_TASKS, load_task, task_files
from tests.eval.conftest import byte_tokenizer

SEAHELM = Path(__file__).resolve().parents[3] / "shared" / "data" / "seahelm"
needs_seahelm = pytest.mark.skipif(not (SEAHELM / "config.yaml").exists(), reason=f"no SEA-HELM files in {SEAHELM}")


@needs_seahelm
def test_seahelm_prompt_is_assembled_as_seahelm_does():
    task = load_task(task_files(REPO_TASKS)["seahelm_paraphrase_tl"])
    ctx = DataContext(data_dirs={"seahelm": str(SEAHELM)})
    docs, pool = task_docs(task, ctx)
    assert len(docs) == 400 and len(pool) == 5
    [inst] = build_instances(task, docs, pool, style="base", tokenizer=None, ctx=ctx, indices=[0])
    assert inst.context.startswith("Bibigyan ka ng dalawang pangungusap")
    assert '"Sagot: ANSWER"' in inst.context  # the preamble's {answer_tag} filled in
    assert inst.context.count("SENTENCE_1:\n```") == 6 and inst.context.count("\nSagot: ") == 5
    assert inst.context.endswith(docs[0]["prompts"][0]["sentence2"] + "\n```\nSagot:")
    assert inst.continuations == [" A", " B"] and inst.gold == ["A", "B"].index(docs[0]["label"])
    chat = build_instances(task, docs, pool, style="chat", tokenizer=byte_tokenizer(), ctx=ctx, indices=[0])[0]
    assert chat.context.count("<|assistant|>\nSagot: ") == 5 and chat.context.endswith("<|assistant|>\nSagot:")
    my = load_task(task_files(REPO_TASKS)["seahelm_paraphrase_my"])
    docs, pool = task_docs(my, ctx)
    [inst] = build_instances(my, docs, pool, style="base", tokenizer=None, ctx=ctx, indices=[0])
    assert inst.context.endswith("အဖြေ-") and inst.continuations == [" က", " ခ"]


def _tiny_run(tmp_path: Path) -> RunConfig:
    tok_dir = tmp_path / "tokenizer"
    byte_tokenizer().save_pretrained(tok_dir)
    return RunConfig.model_validate({
        "name": "seahelm", "output_dir": str(tmp_path / "runs"),
        "model": {"architecture": {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                                   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                                   "max_position_embeddings": 4096},
                  "tokenizer": str(tok_dir), "dtype": "float32"},
        "eval": {"tasks": ["seahelm_paraphrase_*", "seahelm_global_mmlu_lite_*"],  # the files ../shared has
                 "data_dirs": {"seahelm": str(SEAHELM)}, "limit": 6, "bootstrap": 50,
                 "num_fewshot": 1, "max_length": 512,  # 5 shots are checked above; short windows keep this quick
                 "batch_size": 8},
    })


def _adapter(cfg: RunConfig, path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    from lontar.train.model import load_base_model, load_tokenizer

    model = get_peft_model(load_base_model(cfg, load_tokenizer(cfg)),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    model.save_pretrained(path)


@needs_seahelm
def test_eval_stage_on_seahelm_files_compares_base_and_a_checkpoint(tmp_path, monkeypatch):
    cfg = _tiny_run(tmp_path)
    step = tmp_path / "runs" / "seahelm" / "checkpoints" / "step-40"
    _adapter(cfg, step / "adapter")
    assert resolve_checkpoint(cfg, str(step)).step == 40
    cfg = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"checkpoints": ["base", str(step)]})})
    results = run_eval(cfg)
    out = cfg.run_dir / "eval"
    saved = json.loads((out / "results.json").read_text())
    assert saved["rows"] == json.loads(json.dumps(results["rows"]))
    names = {"seahelm_paraphrase_tl", "seahelm_paraphrase_my", *(f"seahelm_global_mmlu_lite_{x}" for x in
                                                                  ("en", "id", "ms", "my", "tl", "vi", "zh"))}
    assert set(saved["tasks"]) == names
    rows = {(r["checkpoint"], r["task"], r["subset"], r["metric"]): r for r in saved["rows"]}
    for ckpt in ("base", "step-40"):
        for name in names:
            r = rows[(ckpt, name, None, "acc")]
            assert r["n"] == 6 and 0 <= r["value"] <= 1 and r["ci"][0] <= r["value"] <= r["ci"][1]
        assert {(ckpt, "seahelm_global_mmlu_lite_my", s, "acc") for s in ("CS", "CA")} <= set(rows)
    assert saved["checkpoints"]["step-40"]["step"] == 40
    md = (out / "results.md").read_text()
    assert "| seahelm_paraphrase | seahelm_paraphrase_tl | tl | 6 | accuracy |" in md
    assert (out / "results.png").stat().st_size > 0 and (out / "plots" / "seahelm_paraphrase.png").exists()
    assert (out / "plots" / "steps.png").exists()  # base is step 0, the checkpoint step 40
    assert len((out / "samples" / "base" / "seahelm_paraphrase_tl.jsonl").read_text().splitlines()) == 6
    # The adapter changed the model: its log-likelihoods differ from the base's on the same items.
    base = [json.loads(x)["logliks"] for x in (out / "samples" / "base" / "seahelm_paraphrase_tl.jsonl").open()]
    tuned = [json.loads(x)["logliks"] for x in (out / "samples" / "step-40" / "seahelm_paraphrase_tl.jsonl").open()]
    assert base != tuned
    # A second run resumes from eval/cache: no model is loaded and the figures are the same.
    import lontar.eval.stage as stage

    def no_model(*args, **kwargs):
        raise AssertionError("the cached results should have been reused")

    monkeypatch.setattr(stage, "load_checkpoint", no_model)
    assert run_eval(cfg)["rows"] == results["rows"]
