"""lontar's multiple-choice accuracy and bits per byte equal lm-evaluation-harness's on the same items,
prompts and tiny model (lm-eval's own `hf` model and task pipeline, from a task YAML)."""

import json
import math
import random
from pathlib import Path

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


def _harness(tmp, model, tok, tasks, limit=None, **hflm):
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=8, device="cpu", **hflm)
    out = simple_evaluate(model=lm, tasks=tasks, task_manager=TaskManager(include_path=str(tmp / "harness"),
                                                                          include_defaults=False),
                          bootstrap_iters=0, log_samples=True, verbosity="ERROR", limit=limit)
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
    # lontar scores each document after the token it starts with in training (BOS): lm-eval's default prefix;
    # add_bos_token=False keeps lm-eval from also putting a BOS into the scored text.
    assert tok.bos_token_id is not None
    out = _harness(setup, model, tok, ["parity_bpb"], add_bos_token=False)
    task = load_task(setup / "bpb.yaml")
    p = prepare(task, DataContext(), limit=None, seed=0)
    r = run_task(p, model, tok, Settings(bootstrap=0, batch_size=4, progress=False), DataContext(), "base")
    assert r.metrics["all"]["bits_per_byte"]["value"] == pytest.approx(out["results"]["parity_bpb"]["bits_per_byte,none"],
                                                                      rel=1e-5)
    assert not math.isnan(r.metrics["all"]["bits_per_char"]["value"])


# ---------------------------------------------------------------------- long contexts, cut to the window

LONG_PROMPT = ("P: {{ flores_passage }}\\nQ: {{ question.strip() }}\\nA: {{ mc_answer1 }}\\nB: {{ mc_answer2 }}\\n"
               "C: {{ mc_answer3 }}\\nD: {{ mc_answer4 }}\\nAnswer:")
ANSWERS = "[mc_answer1, mc_answer2, mc_answer3, mc_answer4]"
XCOPA_PROMPT = ("{{ premise.strip()[:-1] if premise.strip()[-1:] == '.' else premise.strip() }} "
                "{{ {'cause': 'ដោយសារ', 'effect': 'ដូច្នេះ'}[question] }}")
XCOPA_CHOICES = "[choice1[:1].lower() + choice1[1:], choice2[:1].lower() + choice2[1:]]"


def _belebele_like(sentences: list[str], n: int, seed: int) -> list[dict]:
    """Belebele's fields over real Khmer text: passages of six sentences (far over 512 byte tokens),
    answers of different lengths, so per-pair cutting gives each choice its own context."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        at = rng.randrange(len(sentences) - 12)
        answers = [s[: rng.randint(4, 60)] for s in sentences[at + 7: at + 11]]
        rows.append({"flores_passage": " ".join(sentences[at: at + 6]), "question": sentences[at + 6],
                     "mc_answer1": answers[0], "mc_answer2": answers[1], "mc_answer3": answers[2],
                     "mc_answer4": answers[3], "correct_answer_num": str(rng.randint(1, 4))})
    return rows


def _xcopa_like(sentences: list[str], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"premise": sentences[3 * i], "choice1": sentences[3 * i + 1], "choice2": sentences[3 * i + 2],
             "question": rng.choice(["cause", "effect"]), "label": rng.randrange(2), "idx": i} for i in range(n)]


@pytest.fixture(scope="module")
def long_setup(tmp_path_factory):
    from lontar.corpus.sources import rdlab_path, read_rdlab

    try:
        sentences = [s for s in read_rdlab(rdlab_path())[:20000] if 60 <= len(s.encode()) <= 400]
    except FileNotFoundError:
        pytest.skip("the PyPI package rdlab-dataset is not installed")
    tmp = tmp_path_factory.mktemp("long")
    files = {"belebele": _belebele_like(sentences[:4000], 48, 1), "xcopa_test": _xcopa_like(sentences[4000:], 40, 2),
             "xcopa_dev": _xcopa_like(sentences[6000:], 8, 3)}
    for name, rows in files.items():
        (tmp / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    h = tmp / "harness"
    h.mkdir()
    mc = "output_type: multiple_choice\nmetric_list: [{metric: acc}, {metric: acc_norm}]\ntest_split: test\n"
    belebele = f"dataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {tmp / 'belebele.jsonl'}\n{mc}" \
               f"doc_to_text: \"{LONG_PROMPT}\"\n" \
               "doc_to_target: \"{{ ['1', '2', '3', '4'].index(correct_answer_num) }}\"\n"
    (h / "letters.yaml").write_text(f"task: long_letters\n{belebele}doc_to_choice: [A, B, C, D]\n")
    (h / "answers.yaml").write_text(f"task: long_answers\n{belebele}doc_to_choice: \"{{{{ {ANSWERS} }}}}\"\n")
    (h / "xcopa.yaml").write_text(
        f"task: long_xcopa\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {tmp / 'xcopa_test.jsonl'}\n"
        f"    validation: {tmp / 'xcopa_dev.jsonl'}\n{mc}fewshot_split: validation\nnum_fewshot: 5\n"
        f"fewshot_config: {{sampler: first_n}}\ndoc_to_text: \"{XCOPA_PROMPT}\"\n"
        f"doc_to_choice: \"{{{{ {XCOPA_CHOICES} }}}}\"\ndoc_to_target: label\n")
    src = "lang: km\nbenchmark: parity\noutput: multiple_choice\nmetrics: [acc, acc_norm]\n"
    target = "target: \"['1', '2', '3', '4'].index(correct_answer_num)\"\n"
    (tmp / "letters.yaml").write_text(f"{src}source: {{path: {tmp / 'belebele.jsonl'}}}\nprompt: \"{LONG_PROMPT}\"\n"
                                      f"choices: [A, B, C, D]\n{target}")
    (tmp / "answers.yaml").write_text(f"{src}source: {{path: {tmp / 'belebele.jsonl'}}}\nprompt: \"{LONG_PROMPT}\"\n"
                                      f"choices: \"{ANSWERS}\"\n{target}")
    (tmp / "xcopa.yaml").write_text(f"{src}source: {{path: {tmp / 'xcopa_test.jsonl'}}}\nprompt: \"{XCOPA_PROMPT}\"\n"
                                    f"choices: \"{XCOPA_CHOICES}\"\ntarget: label\n"
                                    f"fewshot: {{k: 5, sampler: first_n, source: {{path: {tmp / 'xcopa_dev.jsonl'}}}}}\n")
    return tmp


def _mistral_spm(tmp: Path):
    """Mistral's real SentencePiece tokenizer (PyPI mistral-common): byte fallback for Khmer, '▁' word
    boundaries, so the context/answer boundary is a real tokenizer's."""
    import importlib.util

    spec = importlib.util.find_spec("mistral_common")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("mistral-common is not installed (pip install -e .[dev])")
    from lontar.tokenizer.extend_spm import load_proto
    from lontar.tokenizer.spm import save_hf

    model = Path(list(spec.submodule_search_locations)[0]) / "data" / "tokenizer.model.v1"
    return save_hf(load_proto(model.read_bytes()), tmp / "mistral_tok")


@pytest.mark.parametrize("tokenizer", ["bytes", pytest.param("mistral_spm", marks=pytest.mark.slow)])
def test_cut_contexts_score_item_for_item_as_lm_eval_in_both_strategies(long_setup, tok, tokenizer):
    """A 512-position model: every Belebele-like prompt (six Khmer sentences) and the 5-shot XCOPA-like
    prompts are cut. lm-eval cuts each (context, continuation) pair; so must both of lontar's strategies."""
    from tests.eval.conftest import tiny_llama

    limit = None
    if tokenizer == "mistral_spm":  # a 32k vocabulary: the first 12 items of each task (lm-eval's --limit)
        tok, limit = _mistral_spm(long_setup), 12
    model = tiny_llama(len(tok), seed=3, max_positions=512)
    out = _harness(long_setup, model, tok, ["long_letters", "long_answers", "long_xcopa"], limit=limit)
    differing = {}
    for kind in ("letters", "answers", "xcopa"):
        task = load_task(long_setup / f"{kind}.yaml")
        p = prepare(task, DataContext(), limit=limit, seed=0, mode="first")
        theirs = sorted(out["samples"][f"long_{kind}"], key=lambda s: s["doc_id"])
        assert len(theirs) == p.n
        for strategy in ("kv_cache", "flat"):
            r = run_task(p, model, tok, Settings(bootstrap=0, batch_size=8, strategy=strategy, progress=False),
                         DataContext(), "base")
            assert r.max_length == 512
            if kind != "xcopa":
                assert r.truncated == p.n  # every passage is longer than the window
            else:
                assert 0 < r.truncated <= p.n
            n_diff = 0
            for mine, ref in zip(r.samples, theirs):
                assert mine["index"] == ref["doc_id"]
                lls = [float(x[0][0]) for x in ref["resps"]]
                # Whole-answer log-likelihoods here are sums of hundreds of float32 terms (about -1000):
                # summation order alone moves them by ~1e-4, so the tolerance is relative.
                same = (mine["acc"] == ref["acc"] and mine["acc_norm"] == ref["acc_norm"]
                        and mine["logliks"] == pytest.approx(lls, rel=1e-6, abs=1e-4))
                n_diff += not same
            differing[(kind, strategy)] = n_diff
            assert r.metrics["all"]["acc_norm"]["value"] == pytest.approx(
                out["results"][f"long_{kind}"]["acc_norm,none"])
    assert differing == {(k, s): 0 for k in ("letters", "answers", "xcopa") for s in ("kv_cache", "flat")}
