"""The published folder names the base by its hub id, shows its licence, and holds no machine path."""

import json
import sys
from pathlib import Path

from huggingface_hub import ModelCard

from lontar.hub.paths import absolute_paths
from lontar.hub.stage import run_publish
from tests.conftest import REPO


def machine_paths(folder: Path, roots: list[str]) -> list[str]:
    """Every absolute path (and any mention of these roots) in the folder's text files."""
    found = []
    for f in sorted(folder.rglob("*")):
        if not f.is_file() or f.suffix == ".safetensors":
            continue
        text = f.read_text(encoding="utf-8")
        if f.name != "tokenizer.json":  # a vocabulary may hold pieces like '/usr/': only the roots count there
            found += [f"{f.relative_to(folder)}: {p}" for p in absolute_paths(text)]
        found += [f"{f.relative_to(folder)}: {r}" for r in roots if r in text]
    return found


def roots_of(run) -> list[str]:
    return [str(run["tmp"]), str(Path.home()), sys.prefix, str(REPO), str(Path(run["tmp"]).resolve())]


def test_local_base_with_hub_id_publishes_no_machine_path(local_run):
    cfg = local_run["cfg"]
    folder = run_publish(cfg)
    assert machine_paths(folder, roots_of(local_run)) == []
    # ... though the run's own records, which the folder is built from, are full of them
    for raw in ("config.yaml", "manifest.json", "corpus/data_card.json", "adapter/adapter_config.json"):
        assert absolute_paths((cfg.run_dir / raw).read_text(encoding="utf-8")), raw
    card = ModelCard.load(folder / "README.md")
    assert card.data.base_model == "google/gemma-3-270m" and card.data.base_model_relation == "adapter"
    assert 'AutoModelForCausalLM.from_pretrained("google/gemma-3-270m")' in card.text
    conf = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    assert conf["base_model_name_or_path"] == "google/gemma-3-270m"
    # the run's own adapter still points where training loaded the base: only the published copy changed
    assert json.loads((cfg.run_dir / "adapter" / "adapter_config.json").read_text())["base_model_name_or_path"] == str(
        local_run["base"])
    licence = card.text.split("## Base model and licence", 1)[1].split("\n## ", 1)[0]
    assert "- This adapter: `apache-2.0`" in licence and "- Base model: `gemma`" in licence
    assert "Licence mismatch" in licence
    gov = json.loads((folder / "governance.json").read_text(encoding="utf-8"))
    assert gov["model"]["base"] == "google/gemma-3-270m" and gov["model"]["base_license"]["license"] == "gemma"
    item = next(i for i in gov["audit"] if i["item"] == "base_license")
    assert not item["ok"] and "gemma" in item["detail"]
    # the chat data is listed with its hash, computed at publish time since the train stage recorded none
    data = card.text.split("## Training data", 1)[1].split("\n## ", 1)[0]
    chat = (local_run["tmp"] / "data" / "chat.jsonl").read_bytes()
    import hashlib

    assert hashlib.sha256(chat).hexdigest() in data and "hashed at publish time" in data
    assert "| the run's corpus (train split) | corpus |" in data
    # rows name what they are
    assert "| base (original) |" in card.text and "| adapter (step 3) |" in card.text


def test_local_base_without_hub_id_says_so_and_leaks_nothing(local_run):
    cfg = local_run["cfg"]
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"hub_id": None})})
    folder = run_publish(cfg)
    try:
        assert machine_paths(folder, roots_of(local_run)) == []
        card = ModelCard.load(folder / "README.md")
        assert card.data.base_model is None
        assert "whose hub id was not declared (`model.hub_id`)" in card.text
        assert "from_pretrained(BASE_MODEL)" in card.text
        assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] is None
        assert "- Base model: `gemma`" in card.text  # the licence is read from the local copy all the same
    finally:
        run_publish(local_run["cfg"])  # leave the shared run as the other tests expect it
