"""Untrusted YAML, Jinja and names are bounded (issue 20, "YAML and Jinja can exhaust the machine",
"A task file writes outside the run")."""

from __future__ import annotations

import time

import pytest

from lontar.config import ConfigError, load_config
from lontar.eval.task import load_task
from tests.reliability.conftest import assert_one_line_error, run_cli


MODEL = "model: {name_or_path: org/base}\n"


def _bomb(levels: int, width: int = 9) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_a_free_form_field_fails_fast(tmp_path, capsys):
    # eval.data_dirs is a free-form mapping: pydantic accepts it, and hashing it walked 9^9 nodes.
    body = _bomb(9).replace("\n", "\n    ")
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text(MODEL + "name: b\neval:\n  data_dirs:\n    " + body, encoding="utf-8")
    t = time.monotonic()
    code, err = run_cli(["audit", "--config", str(cfg)], capsys)
    assert time.monotonic() - t < 5
    assert_one_line_error(code, err, "bomb.yaml", "aliases expand to more than")


def test_an_alias_bomb_in_a_typed_field_gives_a_short_error(tmp_path, capsys):
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text(_bomb(8) + MODEL + "name: b\ntrain:\n  lr: *a8\n", encoding="utf-8")
    code, err = run_cli(["audit", "--config", str(cfg)], capsys)
    assert_one_line_error(code, err, "aliases expand")
    assert len(err) < 700


def test_small_aliases_still_work(tmp_path):
    cfg = tmp_path / "ok.yaml"
    cfg.write_text(MODEL + "name: &n ok\ntrain: {lr: 0.002}\npublish: {repo_id: *n}\n", encoding="utf-8")
    assert load_config(cfg).publish.repo_id == "ok"


def test_duplicate_keys_are_refused_naming_the_line(tmp_path):
    cfg = tmp_path / "dup.yaml"
    cfg.write_text(MODEL + "name: a\ntrain:\n  lr: 0.1\n  lr: 0.2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"dup\.yaml:5: invalid YAML: duplicate key 'lr' \(first on line 4\)"):
        load_config(cfg)


def test_a_binary_config_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "model.bin"
    cfg.write_bytes(bytes(range(256)) * 4)
    code, err = run_cli(["corpus", "--config", str(cfg)], capsys)
    assert_one_line_error(code, err, "model.bin", "not a YAML text file")


def test_error_messages_are_one_bounded_line():
    from lontar.errors import StageError

    assert str(StageError("x\n" * 10_000_000)).count("\n") == 0
    assert len(str(StageError("y" * 10_000_000))) <= 500


def _task(tmp_path, **fields) -> str:
    text = ("" if "benchmark" in fields else "benchmark: demo\n") + "output: multiple_choice\nlang: km\nsource: {path: items.jsonl}\nchoices: [A, B]\n" \
           "target: label\n"
    for k, v in fields.items():
        text += f"{k}: {v}\n"
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("prompt", [
    "'{{ 9**99999999 }}'",
    "'{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}'",
    "'{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}'",
    "'{{ \"x\" * 1000000000 }}'",
    "'{% for i in range(9000) %}{{ \"y\" * 900 }}{% endfor %}'",
])
def test_jinja_that_would_exhaust_the_machine_stops_with_one_line(tmp_path, prompt):
    task = load_task(_task(tmp_path, prompt=prompt))
    t = time.monotonic()
    with pytest.raises(ConfigError, match=r"t\.yaml: prompt: "):
        task.render_prompt({"label": "A"})
    assert time.monotonic() - t < 15


def test_ordinary_jinja_still_renders(tmp_path):
    task = load_task(_task(tmp_path, prompt="'{% for i in range(3) %}{{ i }}{% endfor %} {{ 2**10 }} {{ \"ab\" * 2 }}'"))
    assert task.render_prompt({"label": "A"}) == "012 1024 abab"


@pytest.mark.parametrize("key,value", [("task", "../../../../tmp/x"), ("benchmark", "../plots/evil"),
                                       ("benchmark", "a/b"), ("task", ".hidden")])
def test_task_and_benchmark_names_cannot_leave_the_run(tmp_path, key, value):
    with pytest.raises(ConfigError, match=rf"t\.yaml: {key}: String should match pattern"):
        load_task(_task(tmp_path, prompt="'{{ q }}'", **{key: f"'{value}'"}))
    assert not (tmp_path.parent / "x.json").exists()
