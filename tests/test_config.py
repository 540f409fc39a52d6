import subprocess
import sys
from pathlib import Path

import pytest

from lontar.config import ConfigError, load_config, parse_override
from tests.conftest import REPO, write_config

MINIMAL = {"name": "t", "model": {"architecture": {"model_type": "llama", "hidden_size": 64}}}


def test_repo_configs_resolve():
    cfg = load_config(REPO / "configs" / "km-tiny.yaml")
    assert cfg.name == "km-tiny"
    assert cfg.model.name_or_path is None and cfg.model.architecture["model_type"] == "llama"
    assert cfg.lora.target_modules == "all-linear"  # inherited from km.yaml
    gpu = load_config(REPO / "configs" / "km.yaml")
    assert gpu.model.name_or_path and gpu.model.dtype == "bfloat16" and gpu.lora.target_modules == "all-linear"


def test_overrides_apply_and_change_hash(tmp_path):
    path = write_config(tmp_path / "c.yaml", MINIMAL)
    a = load_config(path)
    b = load_config(path, ["train.lr=3e-4", "lora.target_modules=[q_proj, v_proj]", "eval.max_docs=5"])
    assert b.train.lr == pytest.approx(3e-4)
    assert b.lora.target_modules == ["q_proj", "v_proj"]
    assert b.eval.max_docs == 5
    assert a.hash() != b.hash() and a.hash() == load_config(path).hash()


def test_parse_override():
    assert parse_override("a.b=1") == (["a", "b"], 1)
    assert parse_override("a=x=y") == (["a"], "x=y")
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_override("novalue")


def test_unknown_key_names_key_and_file(tmp_path):
    path = write_config(tmp_path / "bad.yaml", {**MINIMAL, "train": {"lrr": 1e-4}})
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "\n" not in msg
    assert "bad.yaml" in msg and "train.lrr" in msg and "unknown key" in msg and "'lr'" in msg


def test_wrong_type_names_key_and_value(tmp_path):
    path = write_config(tmp_path / "bad.yaml", {**MINIMAL, "train": {"max_steps": "many"}})
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "\n" not in msg and "bad.yaml" in msg and "train.max_steps" in msg and "'many'" in msg


def test_missing_data_path_names_path(tmp_path):
    cfg = {**MINIMAL, "corpus": {"sources": [{"type": "jsonl", "path": str(tmp_path / "nope" / "*.jsonl"), "lang": "km"}]}}
    path = write_config(tmp_path / "bad.yaml", cfg)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "\n" not in msg and "corpus.sources[0].path" in msg and "nope" in msg and "bad.yaml" in msg


def test_error_in_parent_names_the_parent_file(tmp_path):
    write_config(tmp_path / "parent.yaml", {**MINIMAL, "lora": {"r": "big"}})
    child = write_config(tmp_path / "child.yaml", {"extends": "parent.yaml", "name": "child"})
    with pytest.raises(ConfigError, match=r"parent\.yaml: lora\.r"):
        load_config(child)
    write_config(tmp_path / "middle.yaml", {"extends": "parent.yaml", "train": {"lr": 1e-3}})
    grandchild = write_config(tmp_path / "leaf.yaml", {"extends": "middle.yaml", "name": "leaf"})
    with pytest.raises(ConfigError, match=r"parent\.yaml: lora\.r"):
        load_config(grandchild)
    with pytest.raises(ConfigError, match=r"--set lora\.r=0: lora\.r"):
        load_config(write_config(tmp_path / "ok.yaml", MINIMAL), ["lora.r=0"])


def test_extends_deep_merges_and_child_wins(tmp_path):
    write_config(tmp_path / "parent.yaml", {**MINIMAL, "train": {"lr": 1e-3, "max_steps": 7}})
    child = write_config(tmp_path / "child.yaml", {"extends": "parent.yaml", "name": "c", "train": {"lr": 5e-4}})
    cfg = load_config(child)
    assert (cfg.name, cfg.train.lr, cfg.train.max_steps) == ("c", 5e-4, 7)


def test_model_needs_exactly_one_source(tmp_path):
    both = {"name": "t", "model": {"name_or_path": "Qwen/Qwen2.5-0.5B", "architecture": {"model_type": "llama"}}}
    with pytest.raises(ConfigError, match="exactly one"):
        load_config(write_config(tmp_path / "b.yaml", both))


def test_cli_bad_config_is_one_line_without_traceback(tmp_path):
    path = write_config(tmp_path / "bad.yaml", {**MINIMAL, "tokenizer": {"vocab_sise": 100}})
    proc = subprocess.run([sys.executable, str(REPO / "data_prep" / "train_tokenizer.py"), "--config", str(path)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "tokenizer.vocab_sise" in lines[0] and "bad.yaml" in lines[0] and "vocab_size" in lines[0]


def test_several_problems_are_counted_on_the_one_line(tmp_path):
    path = write_config(tmp_path / "bad.yaml", {**MINIMAL, "train": {"lr": "fast", "max_steps": -1}, "lora": {"x": 1}})
    with pytest.raises(ConfigError, match=r"\(and 2 more problems\)$"):
        load_config(path)


@pytest.mark.parametrize("override, message", [
    ("seed=-5", r"seed: Input should be greater than or equal to 0 \(got -5\)"),
    ("train.lr=.inf", r"train.lr: Input should be a finite number"),
    ("train.lr=.nan", r"train.lr: Input should be a finite number"),
    ("train.block_size=1024", r"train.block_size \(1024\) exceeds model.architecture.max_position_embeddings \(512\)"),
    ("train.datasets=[{type: chat, path: x.jsonl, format: sharegpt, lang: xx}]", r"unknown lang 'xx'"),
])
def test_values_that_would_fail_later_are_refused_at_load(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(REPO / "configs" / "km-tiny.yaml", [override])


def test_data_paths_resolve_against_the_config_file_not_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "cfg" / "data").mkdir(parents=True)
    (tmp_path / "cfg" / "data" / "km.txt").write_text("សួស្តី\n", encoding="utf-8")
    (tmp_path / "cfg" / "parent.yaml").write_text(
        "eval: {data_dirs: {seahelm: data/seahelm}}\ncorpus: {sources: [{type: text, path: data/km.txt, lang: km}]}\n",
        encoding="utf-8")
    (tmp_path / "cfg" / "sub").mkdir()
    (tmp_path / "cfg" / "sub" / "run.yaml").write_text(
        "extends: ../parent.yaml\nname: r\nmodel: {architecture: {model_type: llama}}\n"
        "train: {datasets: [{type: chat, path: chat.jsonl}]}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(tmp_path / "cfg" / "sub" / "run.yaml", ["eval.hub_mirror=mirror"])
    assert cfg.corpus.sources[0].path == str(tmp_path / "cfg" / "data" / "km.txt")  # parent's folder
    assert cfg.eval.data_dirs["seahelm"] == str(tmp_path / "cfg" / "data" / "seahelm")
    assert cfg.train.datasets[0].path == str(tmp_path / "cfg" / "sub" / "chat.jsonl")  # child's folder
    assert cfg.eval.hub_mirror == "mirror"  # --set: relative to the working directory, as typed
    assert cfg.output_dir == "runs"  # runs land where the command runs
    assert cfg.run_dir == Path("runs") / "r"
