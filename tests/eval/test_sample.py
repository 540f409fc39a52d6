"""`lontar generate`: a checkpoint's greedy continuation of a prompt, decoded as the eval stage decodes."""

import torch

from lontar.cli import main
from lontar.config import load_config
from lontar.eval.generate import greedy_generate
from lontar.eval.stage import load_checkpoint, resolve_checkpoint
from lontar.train.model import load_tokenizer
from tests.conftest import write_config
from tests.eval.conftest import byte_tokenizer


def _config(tmp_path):
    tok_dir = tmp_path / "tokenizer"
    byte_tokenizer().save_pretrained(tok_dir)
    return write_config(tmp_path / "gen.yaml", {
        "name": "gen", "output_dir": str(tmp_path / "runs"),
        "model": {"architecture": {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                                   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                                   "max_position_embeddings": 256},
                  "tokenizer": str(tok_dir), "dtype": "float32"},
        "train": {"block_size": 128},
    })


def test_generate_prints_the_eval_stages_greedy_text(tmp_path, capsys):
    path = _config(tmp_path)
    assert main(["generate", "--config", str(path), "--max-new-tokens", "12", "ទន្លេមេគង្គ", "Sungai itu"]) == 0
    out = capsys.readouterr().out
    cfg = load_config(path)
    tok = load_tokenizer(cfg)
    model = load_checkpoint(cfg, tok, resolve_checkpoint(cfg, "base")).eval()  # the base written on first load
    with torch.no_grad():
        expected = greedy_generate(model, tok, ["ទន្លេមេគង្គ", "Sungai itu"], max_new_tokens=12, progress=False)
    assert out.endswith(f"--- 1\n{expected[0]}\n--- 2\n{expected[1]}\n")  # (after any library warning)
    # A stop string given with an escape is read as the character, and cuts the text before it.
    assert main(["generate", "--config", str(path), "--max-new-tokens", "12", "--stop", "\\n", "Sungai itu"]) == 0
    assert "\n" not in capsys.readouterr().out.rstrip("\n")


def test_generate_without_a_trained_adapter_says_so(tmp_path, capsys):
    path = _config(tmp_path)
    assert main(["generate", "--config", str(path), "--checkpoint", "adapter", "hello"]) == 2
    err = capsys.readouterr().err
    assert "adapter_config.json" in err and err.count("\n") == 1
