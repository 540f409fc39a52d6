"""The Khmer benchmark the package ships (the demo's evaluation with no download)."""

import json
from pathlib import Path

from lontar.eval.sources import PACKAGE_DATA
from tests.conftest import REPO, needs_rdlab

ITEMS = PACKAGE_DATA / "km_culture_completion.jsonl"


def test_the_task_file_reads_the_packaged_items():
    import io

    from lontar.eval.show import show
    from lontar.eval.sources import DataContext

    buf = io.StringIO()
    show(["km_culture_completion"], DataContext(), directory=str(REPO / "configs" / "tasks"), n=1, out=buf)
    out = buf.getvalue()
    assert "km_culture_completion" in out and "100 documents" in out and "(gold)" in out
    assert "Permission is hereby granted" in (PACKAGE_DATA / "LICENSE-rdlab-dataset.txt").read_text()


@needs_rdlab
def test_every_item_is_a_real_sentence_cut_in_two_with_distinct_endings():
    from lontar.corpus.sources import rdlab_path, read_rdlab
    from lontar.text.normalize import normalize_text

    sentences = {normalize_text(s).strip() for s in read_rdlab(rdlab_path())}
    items = [json.loads(x) for x in ITEMS.read_text(encoding="utf-8").splitlines()]
    assert len(items) == 100 and len({i["context"] for i in items}) == 100
    for item in items:
        assert len(item["options"]) == len(set(item["options"])) == 4 and 0 <= item["gold"] < 4
        assert item["text"] == item["context"] + item["options"][item["gold"]] and item["text"] in sentences
    assert {i["gold"] for i in items} == {0, 1, 2, 3}


def test_the_demo_config_keeps_the_items_out_of_its_training_corpus():
    from lontar.config import load_config

    d = load_config(REPO / "configs" / "km-tiny.yaml").corpus.decontaminate
    assert d.enabled and d.action == "remove"
    assert [Path(s.path).resolve() for s in d.sources] == [ITEMS.resolve()] and d.sources[0].text_fields == ["text"]
