"""Publish ships only what is true of the adapter it ships (issue 20, "Publish ships what is not true",
"A config alone uploads")."""

from __future__ import annotations

import json

import pytest

from lontar.errors import StageError
from lontar.hub.stage import run_publish
from lontar.manifest import read_manifest
from tests.hub.fake_hub import FakeHub
from tests.reliability.conftest import assert_one_line_error, run_cli

TOKEN = "hf_reliability_secret_123456"


@pytest.fixture
def online(monkeypatch, tmp_path):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_TOKEN", TOKEN)


def _publish_stages(cfg):
    return [s for s in read_manifest(cfg.run_dir)["stages"] if s["stage"] == "publish"]


def test_the_untouched_run_publishes(run_copy):
    folder = run_publish(run_copy)
    assert (folder / "adapter_model.safetensors").exists()
    [stage] = _publish_stages(run_copy)
    assert stage["push"] is False and "commit_url" not in stage["folders"]["adapter"]


def test_a_truncated_adapter_is_refused_and_nothing_is_copied(run_copy, capsys):
    weights = run_copy.run_dir / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    code, err = run_cli(["publish", "--config", str(run_copy.run_dir.parents[1] / "run.yaml")], capsys)
    assert_one_line_error(code, err, "adapter_model.safetensors", "truncated")
    assert not (run_copy.run_dir / "publish").exists() and _publish_stages(run_copy) == []


def test_an_adapter_for_another_base_is_refused(run_copy):
    from safetensors.torch import load_file, save_file

    weights = run_copy.run_dir / "adapter" / "adapter_model.safetensors"
    tensors = load_file(weights)
    name = next(k for k in tensors if ".lora_A." in k)
    import torch

    tensors[name] = torch.zeros(tensors[name].shape[0], tensors[name].shape[1] + 8)
    save_file(tensors, weights)
    with pytest.raises(StageError, match="does not fit the base"):
        run_publish(run_copy)


def test_results_of_the_previous_adapter_are_refused_after_retraining(run_copy):
    from tests.hub.conftest import make_adapter

    make_adapter(run_copy, run_copy.run_dir / "adapter")  # retrained: new weights, the old eval results
    with pytest.raises(StageError, match=r"scores adapter sha256 .* rerun lontar eval"):
        run_publish(run_copy)
    assert not (run_copy.run_dir / "publish").exists()


def test_empty_results_are_refused_unless_the_config_allows_them(run_copy):
    path = run_copy.run_dir / "eval" / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**results, "rows": [], "tasks": {}}), encoding="utf-8")
    with pytest.raises(StageError, match="the results table is empty"):
        run_publish(run_copy)
    allowed = run_copy.model_copy(update={"publish": run_copy.publish.model_copy(update={"allow_empty_results": True})})
    assert (run_publish(allowed) / "README.md").exists()


def test_a_config_alone_never_uploads(run_copy, online, capsys):
    with FakeHub() as hub:
        cfg = run_copy.model_copy(update={"publish": run_copy.publish.model_copy(
            update={"push": True, "repo_id": "sea-lab/x", "endpoint": hub.url})})
        run_publish(cfg)
        assert hub.state.requests == [] and hub.state.auth_headers == []
    assert "does not upload; pass --push" in capsys.readouterr().out
    assert _publish_stages(run_copy)[-1]["push"] is False


def test_the_command_line_push_does_not_upload_from_a_config_either(run_copy, online, capsys):
    config = run_copy.run_dir.parents[1] / "run.yaml"
    with FakeHub() as hub:
        code = run_cli(["publish", "--config", str(config), "--set", "publish.push=true",
                        "--set", "publish.repo_id=sea-lab/x", "--set", f"publish.endpoint={hub.url}"], capsys)[0]
        assert code == 0 and hub.state.requests == []


def test_a_failed_push_is_not_recorded_as_published(run_copy, online, capsys):
    cfg = run_copy.model_copy(update={"publish": run_copy.publish.model_copy(
        update={"repo_id": "sea-lab/x", "endpoint": "http://127.0.0.1:9"})})  # nothing listens on port 9
    with pytest.raises(StageError, match="cannot reach the hub"):
        run_publish(cfg, push=True)
    [stage] = _publish_stages(cfg)
    assert stage["push"] is False and "push_failed" in stage and TOKEN not in json.dumps(stage)


def test_a_push_is_recorded_after_it_succeeded_with_the_commit_url(run_copy, online):
    with FakeHub() as hub:
        cfg = run_copy.model_copy(update={"publish": run_copy.publish.model_copy(
            update={"repo_id": "sea-lab/x", "endpoint": hub.url})})
        run_publish(cfg, push=True)
    [stage] = _publish_stages(cfg)
    assert stage["push"] is True
    assert stage["folders"]["adapter"]["commit_url"].startswith(hub.url + "/sea-lab/x/commit/")


def test_merge_without_repo_id_keeps_both_folders(run_copy):
    cfg = run_copy.model_copy(update={"publish": run_copy.publish.model_copy(update={"merge": True})})
    run_publish(cfg)
    [stage] = _publish_stages(cfg)
    assert stage["folders"] == {"adapter": {"path": "publish", "repo_id": None},
                                "merged": {"path": "merged", "repo_id": None}}


def test_no_machine_path_in_the_published_folder(run_copy, finished_run):
    folder = run_publish(run_copy)
    roots = [str(run_copy.run_dir.parents[1]), str(finished_run["tmp"]), str(finished_run["base"])]
    import sys

    roots.append(sys.prefix)
    leaks = [(p.name, r) for p in folder.rglob("*") if p.is_file() and p.suffix in (".json", ".md", ".yaml")
             for r in roots if r in p.read_text(encoding="utf-8")]
    assert leaks == []
