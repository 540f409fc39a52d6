from pathlib import Path

import pytest

from lontar.config import ConfigError
from lontar.eval.task import REPO_TASKS, load_task, resolve_tasks, task_files


def test_every_shipped_task_file_loads_and_compiles():
    files = task_files(REPO_TASKS)
    tasks = [load_task(p) for p in files.values()]
    names = {t.task for t in tasks}
    for lang in ("km", "lo", "my", "th", "vi", "id", "ms", "tl"):
        assert {f"belebele_{lang}", f"flores_en_{lang}", f"flores_{lang}_en", f"heldout_{lang}"} <= names
    assert {"xcopa_id", "xcopa_th", "xcopa_vi", "xnli_th", "xnli_vi", "heldout", "global_mmlu_lite_id",
            "seahelm_paraphrase_tl", "seahelm_paraphrase_my", "seahelm_global_mmlu_lite_my"} <= names
    by = {t.task: t for t in tasks}
    assert by["belebele_km"].source.config == "khm_Khmr" and by["belebele_km"].source.dataset == "facebook/belebele"
    assert by["flores_en_km"].source.parallel == {"src": "eng_Latn", "tgt": "khm_Khmr"}
    assert by["flores_km_en"].lang == "en" and by["flores_en_km"].default_metrics == ["chrf", "bleu"]


def test_globs_and_unknown_names(tmp_path):
    got = [t.task for t in resolve_tasks(["xcopa_*", "xnli_th", "xcopa_id"], REPO_TASKS)]
    assert got == ["xcopa_id", "xcopa_th", "xcopa_vi", "xnli_th"]
    with pytest.raises(ConfigError, match="unknown task 'belebel_km'; did you mean belebele_km"):
        resolve_tasks(["belebel_km"], REPO_TASKS)


def test_default_tasks_folder_is_the_shipped_one_whatever_the_working_directory(tmp_path, monkeypatch):
    """A `configs/tasks` under the working directory (another checkout, a user's project) must not
    replace the shipped tasks; a configured folder is taken as given (the config anchors it)."""
    from lontar.eval.task import tasks_dir

    (tmp_path / "configs" / "tasks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert tasks_dir() == REPO_TASKS and tasks_dir(None) == REPO_TASKS
    assert tasks_dir(str(tmp_path / "mine")) == tmp_path / "mine"


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = """
benchmark: demo
output: multiple_choice
lang: km
source: {path: items.jsonl}
choices: [A, B]
"""


@pytest.mark.parametrize("extra,message", [
    ("prompt: 'x'\ntarget: label\nchoice: [A]\n", r"t\.yaml: choice: unknown key; did you mean 'choices'\?"),
    ("prompt: '{{ q '\ntarget: label\n", r"t\.yaml: prompt: bad Jinja template"),
    ("prompt: 'x'\ntarget: 'label +'\n", r"t\.yaml: target: bad Jinja expression"),
    ("prompt: 'x'\ntarget: label\nmetrics: [chrf]\n", r"t\.yaml: metrics: \['chrf'\] do not apply"),
    ("prompt: 'x'\n", r"t\.yaml: 'target' is required for output 'multiple_choice'"),
    ("prompt: 'x'\ntarget: label\nlang: xx\n", r"t\.yaml: lang: unknown language 'xx'"),
])
def test_bad_task_files_fail_naming_the_file_and_key(tmp_path, extra, message):
    base = BASE.replace("lang: km\n", "") if "lang:" in extra else BASE  # a repeated key is an error of its own
    path = _write(tmp_path, "t.yaml", base + extra)
    with pytest.raises(ConfigError, match=message):
        load_task(path)


def test_rendering_error_names_the_key_and_the_document_fields(tmp_path):
    _write(tmp_path, "_base.yaml", BASE)
    task = load_task(_write(tmp_path, "t.yaml", "include: _base.yaml\nprompt: '{{ question }}'\ntarget: label\n"))
    assert task.benchmark == "demo" and task.task == "t"  # merged from the include; name from the file
    with pytest.raises(ConfigError, match=r"t\.yaml: prompt: 'question' is undefined \(document fields: label, text\)"):
        task.render_prompt({"text": "x", "label": "A"})
    with pytest.raises(ConfigError, match=r"t\.yaml: target: 'C' is neither a choice index nor one of"):
        task.target_index({"label": "C"}, ["A", "B"])
    with pytest.raises(ConfigError, match=r"t\.yaml: target: 'label' is undefined"):
        task.target_index({"text": "x"}, ["A", "B"])


def test_xcopa_drops_a_final_full_stop_but_never_a_thai_letter():
    files = task_files(REPO_TASKS)
    th, vi = load_task(files["xcopa_th"]), load_task(files["xcopa_vi"])
    # lm-eval's premise.strip()[:-1] would give "ฝนตกหน" (the last letter of หนัก gone).
    assert th.render_prompt({"premise": "ฝนตกหนัก ", "question": "effect"}) == "ฝนตกหนัก ดังนั้น"
    # Where the premise ends in '.', the same prompt as lm-eval.
    premise = "Trời mưa to."
    assert vi.render_prompt({"premise": premise, "question": "cause"}) == premise.strip()[:-1] + " bởi vì"


def test_readme_jinja_features_loops_filters_and_variable_choice_counts(tmp_path):
    _write(tmp_path, "t.yaml", """
benchmark: demo
output: multiple_choice
lang: th
source: {path: items.jsonl}
prompt: "{{ question | trim }}\\n{% for o in options %}{{ 'ABCDE'[loop.index0] }}. {{ o }}\\n{% endfor %}Answer:"
choices: "'ABCDE'[:options | length] | list"
target: answer
""")
    task = load_task(tmp_path / "t.yaml")
    doc = {"question": " แม่น้ำ? ", "options": ["ก", "ข", "ค"], "answer": "C"}
    assert task.render_prompt(doc) == "แม่น้ำ?\nA. ก\nB. ข\nC. ค\nAnswer:"
    assert task.render_choices(doc) == ["A", "B", "C"] and task.target_index(doc, ["A", "B", "C"]) == 2
    assert task.render_choices({**doc, "options": ["ก", "ข", "ค", "ง", "จ"]}) == ["A", "B", "C", "D", "E"]


def test_generation_targets_keep_every_reference(tmp_path):
    _write(tmp_path, "q.yaml", "benchmark: xquad\noutput: generate\nlang: th\nsource: {path: x.json, format: jsonl}\n"
                               "prompt: '{{ question }}'\ntarget: answers.text\n")
    task = load_task(tmp_path / "q.yaml")
    doc = {"question": "q", "answers": {"text": ["กรุงเทพ", "กรุงเทพฯ", "กรุงเทพ"], "answer_start": [0, 0, 3]}}
    assert task.target_texts(doc) == ["กรุงเทพ", "กรุงเทพฯ"]  # repeats dropped, order kept
    assert task.target_text(doc) == "กรุงเทพ"
