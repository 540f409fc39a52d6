"""`--model lontar` in lm-evaluation-harness gives the harness's `hf` model's scores, item by item, on the
harness's own Belebele, XCOPA and XNLI task files pointed at local held-out copies (real Vietnamese
and Khmer text in the datasets' schema), and its generation equals `hf`'s with the same stop strings."""

import json
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval")

from benchmarks.common import SHARED_DATA  # noqa: E402
from benchmarks.heldout_copies import build  # noqa: E402
from lontar.errors import ConfigError  # noqa: E402
from lontar.eval.lm_eval_backend import LontarLM  # noqa: E402
from lontar.eval.lm_eval_local import write_local_tasks  # noqa: E402

TASKS = ["belebele_vie_Latn", "belebele_khm_Khmr", "xcopa_vi", "xnli_vi"]


@pytest.fixture(scope="module")
def local_tasks(tmp_path_factory):
    if not (SHARED_DATA / "seahelm").is_dir():
        pytest.skip("needs ../shared/data (the Vietnamese novel)")
    try:
        import rdlab_dataset  # noqa: F401
    except ImportError:
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    tmp = tmp_path_factory.mktemp("lmeval_local")
    dirs = build(tmp / "hub", SHARED_DATA, belebele=12, xcopa=16, xnli=12)
    write_local_tasks(TASKS, dirs, tmp / "tasks")
    return tmp


def _evaluate(lm, tmp: Path, tasks, limit=None, **kw):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    return simple_evaluate(model=lm, tasks=tasks, task_manager=TaskManager(include_path=str(tmp / "tasks"),
                                                                          include_defaults=False),
                           bootstrap_iters=0, log_samples=True, verbosity="ERROR", limit=limit, **kw)


@pytest.mark.slow
def test_lontar_backend_scores_as_hf_item_by_item(local_tasks, tok):
    from lm_eval.models.huggingface import HFLM

    from tests.eval.conftest import tiny_llama

    model = tiny_llama(len(tok), seed=5, max_positions=512)  # Belebele passages are cut: per-pair cutting too
    ref = _evaluate(HFLM(pretrained=model, tokenizer=tok, batch_size=8, device="cpu"), local_tasks, TASKS)
    for strategy in ("kv_cache", "flat"):
        got = _evaluate(LontarLM(pretrained=model, tokenizer=tok, batch_size=8, device="cpu", strategy=strategy),
                        local_tasks, TASKS)
        for task in TASKS:
            assert got["results"][task]["acc,none"] == ref["results"][task]["acc,none"], (task, strategy)
            mine = sorted(got["samples"][task], key=lambda s: s["doc_id"])
            theirs = sorted(ref["samples"][task], key=lambda s: s["doc_id"])
            assert len(mine) == len(theirs) > 0
            for a, b in zip(mine, theirs):
                assert a["acc"] == b["acc"]
                assert [x[0][1] for x in a["resps"]] == [x[0][1] for x in b["resps"]]  # greedy flags
                assert [float(x[0][0]) for x in a["resps"]] == pytest.approx(
                    [float(x[0][0]) for x in b["resps"]], rel=1e-5, abs=1e-4)


def test_loglikelihood_rolling_and_generate_until_as_hf(local_tasks, tok, tmp_path):
    """Perplexity tasks go through lontar's scorer; generation with transformers' stop strings returns
    the harness's text, including a stop string that begins in the prompt (the fallback path)."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from tests.eval.conftest import tiny_llama

    model = tiny_llama(len(tok), seed=6, max_positions=256)
    rows = [json.loads(x) for x in (local_tasks / "hub" / "facebook" / "belebele" / "vie_Latn" / "test.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    texts = [r["flores_passage"] for r in rows[:6]]  # longer than 256 bytes: several rolling windows each
    hf = HFLM(pretrained=model, tokenizer=tok, batch_size=4, device="cpu")
    ours = LontarLM(pretrained=model, tokenizer=tok, batch_size=4, device="cpu")
    reqs = [Instance("loglikelihood_rolling", {}, (t,), i) for i, t in enumerate(texts)]
    assert ours.loglikelihood_rolling(reqs, disable_tqdm=True) == pytest.approx(
        hf.loglikelihood_rolling(reqs, disable_tqdm=True), rel=1e-5)
    prompts = [r["question"] + "\nA:" for r in rows[:8]] + [r["question"] + "\n" for r in rows[8:12]]
    for until in (["\n"], ["\n\n", "."], [" "]):
        gen = [Instance("generate_until", {}, (p, {"until": until, "max_gen_toks": 24, "do_sample": False}), i)
               for i, p in enumerate(prompts)]
        assert ours.generate_until(gen, disable_tqdm=True) == hf.generate_until(gen, disable_tqdm=True), until


def test_local_tasks_name_the_missing_copy(tmp_path):
    with pytest.raises(ConfigError, match="cambridgeltl/xcopa"):
        write_local_tasks(["xcopa_vi"], {}, tmp_path)
    with pytest.raises(ConfigError, match="no task file"):
        write_local_tasks(["no_such_task_xyz"], {}, tmp_path)


@pytest.mark.slow
def test_command_line_with_an_adapter_scores_as_hf_with_peft(local_tasks, tok, tmp_path):
    """`python -m lontar.eval.lm_eval_backend --model lontar --model_args pretrained=DIR,adapter=A` is
    lm-eval's own command line; the adapter is applied as `--model hf --model_args peft=A` applies it."""
    import subprocess
    import sys

    from peft import LoraConfig, get_peft_model

    from tests.eval.conftest import tiny_llama

    model = tiny_llama(len(tok), seed=7, max_positions=512)
    model.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    lora = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    results = {}
    for name, args in (("lontar", f"adapter={tmp_path / 'adapter'}"), ("hf", f"peft={tmp_path / 'adapter'}")):
        out = tmp_path / name
        proc = subprocess.run(
            [sys.executable, "-m", "lontar.eval.lm_eval_backend", "--model", name, "--model_args",
             f"pretrained={tmp_path / 'base'},{args},dtype=float32", "--tasks", "xcopa_vi,belebele_khm_Khmr",
             "--include_path", str(local_tasks / "tasks"), "--limit", "6", "--batch_size", "4", "--device", "cpu",
             "--output_path", str(out), "--log_samples"], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[name] = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    for task in ("xcopa_vi", "belebele_khm_Khmr"):
        assert results["lontar"][task]["acc,none"] == results["hf"][task]["acc,none"]
