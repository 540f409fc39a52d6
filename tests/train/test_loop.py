"""The training loop: NaN guard, evaluation and logs, mixed chat + corpus data, LoRA options."""

import hashlib
import json
import math

import pytest
import torch
from safetensors.torch import load_file

import lontar.train.loop as loop
from lontar.config import load_config
from lontar.errors import StageError
from lontar.train.stage import run_train


def poison(monkeypatch, bad_calls):
    """Make the model's forward pass number i (0-based) produce NaN for i in `bad_calls`."""
    prepare = loop.prepare_model

    def patched(*args, **kwargs):
        model, flops, attention = prepare(*args, **kwargs)
        calls = {"n": 0}

        def hook(module, inputs, output):
            i = calls["n"]
            calls["n"] += 1
            return output * float("nan") if bad_calls(i) else output

        model.get_input_embeddings().register_forward_hook(hook)
        return model, flops, attention

    monkeypatch.setattr(loop, "prepare_model", patched)


def test_a_non_finite_step_is_skipped_and_counted(tiny_config, monkeypatch):
    poison(monkeypatch, lambda i: i == 2)
    result = run_train(load_config(tiny_config("nan-once", {"max_steps": 6})))
    assert result["skipped_steps"] == 1
    losses = [h["loss"] for h in result["history"]]
    assert losses[2] is None and all(math.isfinite(x) for i, x in enumerate(losses) if i != 2)
    assert [h["skipped_steps"] for h in result["history"]] == [0, 0, 1, 1, 1, 1]
    for p in result["model"].parameters():
        assert torch.isfinite(p).all()


def test_too_many_bad_steps_in_a_row_abort_with_a_clear_message(tiny_config, monkeypatch):
    poison(monkeypatch, lambda i: i >= 1)
    with pytest.raises(FloatingPointError, match=r"3 steps in a row .* Lower train.lr") as caught:
        run_train(load_config(tiny_config("nan-always", {"max_steps": 8, "max_bad_steps": 3})))
    from lontar.errors import LontarError

    assert isinstance(caught.value, LontarError)  # the CLI prints it as one line and exits 2


def test_validation_every_n_steps_and_tensorboard(tiny_config):
    cfg = load_config(tiny_config("evals", {"max_steps": 6, "eval_every": 3, "eval_docs": 30, "trackers": ["tensorboard"]}))
    result = run_train(cfg)
    assert [e["step"] for e in result["evals"]] == [3, 6]
    first, last = result["evals"]
    assert 0 < last["val_bpb"] < first["val_bpb"] and last["val_loss"] < first["val_loss"]
    assert last["val_docs"] == 30
    logs = cfg.run_dir / "logs"
    assert [json.loads(x)["step"] for x in (logs / "eval_log.jsonl").read_text().splitlines()] == [3, 6]
    assert list((logs / "tensorboard").glob("events.out.tfevents.*"))
    assert all(h["tokens_per_s"] > 0 and h["mfu"] > 0 for h in result["history"])


def test_chat_and_corpus_data_mixed_by_weight_with_gradient_checkpointing(tiny_config, tmp_path, capsys):
    from tests.train.test_sft import CHAT

    chat = tmp_path / "chat.jsonl"
    records = [CHAT, {"instruction": "និយាយសួស្តី", "input": "", "output": "សួស្តី។"}] * 20
    chat.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    cfg = load_config(tiny_config("mixed", {"max_steps": 4, "datasets": [
        {"type": "corpus", "weight": 3}, {"type": "chat", "path": str(chat), "weight": 1, "name": "sft"}]},
        model={"gradient_checkpointing": True}))
    result = run_train(cfg)
    history = result["history"]
    assert len(history) == 4 and all(math.isfinite(h["loss"]) for h in history)
    # every step trains both (chat a quarter of the tokens), each with its own loss in the log
    for h in history:
        assert h["tokens_by_dataset"]["sft"] > 0 and h["tokens_by_dataset"]["corpus"] > 0
        assert math.isfinite(h["loss_by_dataset"]["sft"]) and math.isfinite(h["loss_by_dataset"]["corpus"])
    share = sum(h["tokens_by_dataset"]["sft"] for h in history) / sum(h["tokens"] for h in history)
    assert share == pytest.approx(0.25, abs=0.05)
    # the two-turn chat is longer than a block (64): set aside with its reason and raw record, not cut
    sft = result["datasets"][1]
    assert (sft["records"], sft["set_aside"]) == (40, 20) and len(sft["files"][0]["sha256"]) == 64
    rejected = [json.loads(x) for x in (cfg.run_dir / sft["set_aside_file"]).read_text().splitlines()]
    assert len(rejected) == 20 and "longer than train.block_size (64)" in rejected[0]["reason"]
    assert json.loads(rejected[0]["raw"]) == CHAT
    assert "20 of 40 chat records set aside" in capsys.readouterr().out
    # the manifest lists the chat file with its sha256, for the model card
    digest = hashlib.sha256(chat.read_bytes()).hexdigest()
    entry = json.loads((cfg.run_dir / "manifest.json").read_text())["stages"][-1]
    assert [i["sha256"] for i in entry["inputs"] if i["path"].endswith("chat.jsonl")] == [digest]
    assert entry["datasets"][1]["files"] == [{"path": str(chat), "bytes": chat.stat().st_size, "sha256": digest}]


def test_rslora_dora_and_fully_trained_embeddings(tiny_config):
    cfg = load_config(tiny_config("options", {"max_steps": 2},
                                  lora={"use_rslora": True, "use_dora": True, "train_embeddings": True}))
    result = run_train(cfg)
    conf = json.loads((cfg.run_dir / "adapter" / "adapter_config.json").read_text())
    assert conf["use_rslora"] and conf["use_dora"]
    assert set(conf["modules_to_save"]) == {"embed_tokens", "lm_head"}
    keys = load_file(cfg.run_dir / "adapter" / "adapter_model.safetensors").keys()
    assert any("embed_tokens" in k for k in keys) and any("lora_magnitude_vector" in k for k in keys)
    assert result["trainable_params"] > 600 * 32 * 2  # both embedding matrices


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error shown where CUDA is absent")
def test_qlora_says_plainly_that_it_needs_cuda(tiny_config):
    with pytest.raises(StageError, match="needs a CUDA GPU"):  # one line on the command line
        run_train(load_config(tiny_config("qlora", model={"load_in_4bit": True})))


def test_resume_flag_on_the_command_line(tiny_config, monkeypatch):
    from lontar import cli

    seen = {}
    monkeypatch.setattr("lontar.train.stage.run_train", lambda cfg, resume=False: seen.setdefault("resume", resume))
    path = str(tiny_config("flag"))
    assert cli.main(["train", "--config", path, "--resume"]) == 0 and seen.pop("resume") is True
    assert cli.main(["train", "--config", path, "--resume", "runs/x/checkpoints/step-5"]) == 0
    assert seen.pop("resume") == "runs/x/checkpoints/step-5"


def test_num_epochs_trains_until_every_document_was_read_once(tiny_config, khmer_tokenizer):
    import pyarrow.parquet as pq

    cfg = load_config(tiny_config("epoch", {"num_epochs": 1, "max_train_docs": 150, "max_steps": 1000}))
    result = run_train(cfg)
    texts = [t for p in sorted((cfg.run_dir / "corpus").glob("train-*.parquet"))
             for t in pq.read_table(p, columns=["text"]).column(0).to_pylist()][:150]
    ids = khmer_tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
    expected = sum(len(x) + 2 for x in ids if x)  # every document with its BOS and EOS, once
    assert result["tokens_seen"]["by_dataset"] == {"corpus": expected}
    assert result["steps"] == result["max_steps"] < 1000
    assert result["steps"] * 4 * 64 >= expected  # the steps were counted to hold them all


def test_chat_role_markers_are_special_tokens_whose_rows_are_trained(tiny_config, tmp_path):
    from lontar.train.model import load_tokenizer
    from tests.train.test_sft import SHAREGPT

    chat = tmp_path / "sharegpt.jsonl"
    chat.write_text((json.dumps(SHAREGPT, ensure_ascii=False) + "\n") * 10, encoding="utf-8")
    cfg = load_config(tiny_config("markers", {"max_steps": 2, "chat_template": "chatml", "datasets": [
        {"type": "chat", "path": str(chat), "format": "sharegpt", "lang": "km"}]}))
    run_train(cfg)
    tokenizer = load_tokenizer(cfg)  # what eval and publish load: the same ids as training
    ids = [tokenizer.convert_tokens_to_ids(m) for m in ("<|im_start|>", "<|im_end|>")]
    assert all(i >= 600 for i in ids)  # beyond the run tokenizer's 600 pieces: added as special tokens
    conf = json.loads((cfg.run_dir / "adapter" / "adapter_config.json").read_text())
    assert conf["trainable_token_indices"] == {"embed_tokens": ids, "lm_head": ids}
    keys = load_file(cfg.run_dir / "adapter" / "adapter_model.safetensors").keys()
    assert any("trainable_tokens" in k and "embed_tokens" in k for k in keys)
