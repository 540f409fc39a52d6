"""lontar's multiple-choice accuracy and bits per byte equal lm-evaluation-harness's on the same items,
prompts and tiny model (lm-eval's own `hf` model and task pipeline, from a task YAML)."""

import json
import math
import random

import pytest

lm_eval = pytest.importorskip("lm_eval")

from lontar.eval.runner import Settings, prepare, run_task  # noqa: E402
from lontar.eval.sources import DataContext  # noqa: E402
from lontar.eval.task import load_task  # noqa: E402

WORDS = ["ខ្មែរ", "ភ្នំពេញ", "river", "sông", "sungai", "แม่น้ำ", "market", "ផ្សារ", "pasar", "chợ", "ilog"]
PROMPT = "{{ question }}\\nA. {{ options[0] }}\\nB. {{ options[1] }}\\nC. {{ options[2] }}\\nD. {{ options[3] }}\\nAnswer:"


def _items(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    phrase = lambda k: " ".join(rng.choice(WORDS) for _ in range(k))  # noqa: E731
    return [{"question": phrase(rng.randint(3, 12)) + "?", "options": [phrase(rng.randint(1, 4)) for _ in range(4)],
             "gold": rng.randrange(4), "text": phrase(rng.randint(5, 40))} for _ in range(n)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parity")
    data = tmp / "items.jsonl"
    data.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in _items(30)), encoding="utf-8")
    common = f"dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\ntest_split: test\n"
    (tmp / "harness").mkdir()
    (tmp / "harness" / "letters.yaml").write_text(
        f"task: parity_letters\n{common}output_type: multiple_choice\ndoc_to_text: \"{PROMPT}\"\n"
        "doc_to_choice: [A, B, C, D]\ndoc_to_target: gold\nmetric_list: [{metric: acc}, {metric: acc_norm}]\n")
    (tmp / "harness" / "texts.yaml").write_text(
        f"task: parity_texts\n{common}output_type: multiple_choice\ndoc_to_text: \"{{{{ question }}}}\\nAnswer:\"\n"
        "doc_to_choice: \"{{ options }}\"\ndoc_to_target: gold\nmetric_list: [{metric: acc}, {metric: acc_norm}]\n")
    (tmp / "harness" / "bpb.yaml").write_text(
        f"task: parity_bpb\n{common}output_type: loglikelihood_rolling\ndoc_to_text: \"\"\n"
        "doc_to_target: \"{{ text }}\"\nmetric_list: [{metric: bits_per_byte}]\n")
    src = f"source: {{path: {data}}}\nlang: km\nbenchmark: parity\n"
    (tmp / "letters.yaml").write_text(f"{src}output: multiple_choice\nprompt: \"{PROMPT}\"\n"
                                      "choices: [A, B, C, D]\ntarget: gold\nmetrics: [acc, acc_norm]\n")
    (tmp / "texts.yaml").write_text(f"{src}output: multiple_choice\nprompt: \"{{{{ question }}}}\\nAnswer:\"\n"
                                    "choices: options\ntarget: gold\nmetrics: [acc, acc_norm]\n")
    (tmp / "bpb.yaml").write_text(f"{src}output: bpb\ntext: \"{{{{ text }}}}\"\n")
    return tmp


def _harness(tmp, model, tok, tasks, **hflm):
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=8, device="cpu", **hflm)
    out = simple_evaluate(model=lm, tasks=tasks, task_manager=TaskManager(include_path=str(tmp / "harness"),
                                                                          include_defaults=False),
                          bootstrap_iters=0, log_samples=True, verbosity="ERROR")
    return out


def test_multiple_choice_accuracy_and_logliks_equal_lm_eval(setup, model, tok):
    out = _harness(setup, model, tok, ["parity_letters", "parity_texts"])
    for kind in ("letters", "texts"):
        task = load_task(setup / f"{kind}.yaml")
        p = prepare(task, DataContext(), limit=None, seed=0)
        for strategy in ("kv_cache", "flat"):
            r = run_task(p, model, tok, Settings(bootstrap=0, batch_size=5, strategy=strategy, progress=False),
                         DataContext(), "base")
            theirs = out["results"][f"parity_{kind}"]
            assert r.metrics["all"]["acc"]["value"] == theirs["acc,none"]
            assert r.metrics["all"]["acc_norm"]["value"] == theirs["acc_norm,none"]
            samples = sorted(out["samples"][f"parity_{kind}"], key=lambda s: s["doc_id"])
            for mine, ref in zip(r.samples, samples):
                assert mine["logliks"] == pytest.approx([float(x[0][0]) for x in ref["resps"]], abs=1e-4)


def test_bits_per_byte_equals_lm_eval_rolling_loglikelihood(setup, model, tok):
    # lontar scores each document after one EOS separator, without BOS: the same in lm-eval's terms.
    out = _harness(setup, model, tok, ["parity_bpb"], prefix_token_id=tok.eos_token_id, add_bos_token=False)
    task = load_task(setup / "bpb.yaml")
    p = prepare(task, DataContext(), limit=None, seed=0)
    r = run_task(p, model, tok, Settings(bootstrap=0, batch_size=4, progress=False), DataContext(), "base")
    assert r.metrics["all"]["bits_per_byte"]["value"] == pytest.approx(out["results"]["parity_bpb"]["bits_per_byte,none"],
                                                                      rel=1e-5)
    assert not math.isnan(r.metrics["all"]["bits_per_char"]["value"])
