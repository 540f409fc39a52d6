"""Evaluation data: local files through the project's record reader, local dataset folders read afresh,
and where every row came from."""

import json
from pathlib import Path

import pytest

from lontar.errors import DataError
from lontar.eval.sources import DataContext, load_source, task_docs
from lontar.eval.task import SourceSpec, load_task
from tests.eval.hub_fixtures import _readme


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_json_lines_named_json_is_read_and_a_bad_line_is_one_line_naming_file_and_line(tmp_path):
    rows = [{"q": "ទន្លេ?", "a": ["ទន្លេមេគង្គ"]}, {"q": "ផ្សារ?", "a": ["ផ្សារ", "ផ្សារធំ"]}]
    data = _jsonl(tmp_path / "xquad.json", rows)  # XQuAD's hub files are JSON Lines under a .json name
    docs, prov = load_source(SourceSpec(path=str(data)), DataContext(run_dir=tmp_path / "run"), where="t")
    assert docs == rows
    assert prov["files"][0]["path"] == "../xquad.json" and len(prov["files"][0]["sha256"]) == 64
    docs, _ = load_source(SourceSpec(path=str(data), format="jsonl"), DataContext(), where="t")
    assert docs == rows
    data.write_text(data.read_text() + '{"q": "broken\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_source(SourceSpec(path=str(data), format="jsonl"), DataContext(), where="t")
    assert f"{data}:3: bad JSON" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match=r"xquad\.json:3: bad JSON.*declare source\.format: jsonl"):
        load_source(SourceSpec(path=str(data)), DataContext(), where="t")


def test_declared_format_reads_a_file_whatever_its_name(tmp_path):
    path = tmp_path / "items.txt"
    path.write_text("question,answer\nSungai?,panjang\n", encoding="utf-8")
    docs, _ = load_source(SourceSpec(path=str(path), format="csv"), DataContext(), where="t")
    assert docs == [{"question": "Sungai?", "answer": "panjang"}]
    from lontar.config import ConfigError

    with pytest.raises(ConfigError, match=r"items\.txt: unknown file type.*source\.format"):
        load_source(SourceSpec(path=str(path)), DataContext(), where="t")
    with pytest.raises(ValueError, match="'format' is for local files"):
        SourceSpec(dataset="facebook/belebele", format="jsonl")


def _folder(root: Path, answer: str) -> Path:
    """A hub-layout folder: README `configs:` naming the files, as on the hub."""
    _readme(root, {"khm_Khmr": {"test": "data/khm_Khmr.jsonl"}})
    _jsonl(root / "data" / "khm_Khmr.jsonl", [{"question": "ទន្លេ?", "correct_answer_num": answer}])
    return root


def test_two_local_folders_with_the_same_layout_give_their_own_data(tmp_path):
    import os

    a, b = _folder(tmp_path / "a" / "belebele", "1"), _folder(tmp_path / "b" / "belebele", "3")
    for f in (a, b):  # the same names, sizes and times: all datasets' local cache key would see
        os.utime(f / "data" / "khm_Khmr.jsonl", (1_600_000_000, 1_600_000_000))
    src = SourceSpec(dataset="facebook/belebele", config="khm_Khmr", split="test")
    got = {}
    for name, folder in (("a", a), ("b", b)):
        docs, prov = load_source(src, DataContext(dataset_dirs={"facebook/belebele": str(folder)}), where="t")
        got[name] = docs[0]["correct_answer_num"]
        assert prov["kind"] == "local_dataset" and prov["files"][0]["path"].endswith("data/khm_Khmr.jsonl")
    assert got == {"a": "1", "b": "3"}
    # An answer edited in place (same size, same time) is read afresh too.
    _jsonl(a / "data" / "khm_Khmr.jsonl", [{"question": "ទន្លេ?", "correct_answer_num": "2"}])
    os.utime(a / "data" / "khm_Khmr.jsonl", (1_600_000_000, 1_600_000_000))
    docs, _ = load_source(src, DataContext(dataset_dirs={"facebook/belebele": str(a)}), where="t")
    assert docs[0]["correct_answer_num"] == "2"


def test_a_task_including_a_hub_task_can_point_at_a_file_without_dataset_null(tmp_path):
    from lontar.eval.task import REPO_TASKS

    data = _jsonl(tmp_path / "th.jsonl", [{"premise": "ฝนตกหนัก", "choice1": "ถนนเปียก", "choice2": "แดดออก",
                                           "question": "effect", "label": 0}])
    (tmp_path / "xcopa_local.yaml").write_text(
        f"include: {REPO_TASKS / 'xcopa_th.yaml'}\nsource: {{path: {data}}}\n", encoding="utf-8")
    task = load_task(tmp_path / "xcopa_local.yaml")
    assert task.source.path == str(data) and task.source.dataset is None and task.lang == "th"
    assert any(p.endswith("_xcopa.yaml") for p in task.includes)
    data_ = task_docs(task, DataContext())
    assert data_.provenance["source"]["kind"] == "files"
