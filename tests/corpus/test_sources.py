import json
import os
import pickle

import pytest

from lontar.config import SourceConfig
from lontar.corpus.sources import iter_source, read_rdlab


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_rdlab_reader_refuses_globals(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(["ក", _Evil()]))
    with pytest.raises(pickle.UnpicklingError, match="refusing global"):
        read_rdlab(path)


def test_rdlab_source_reads_real_khmer(khmer_sentences):
    items = list(iter_source(SourceConfig(type="rdlab", max_docs=50)))
    assert len(items) == 50 and all(ok for ok, _ in items)
    texts = [r["text"] for _, r in items]
    assert texts == khmer_sentences[:50]
    assert all(any("\u1780" <= ch <= "\u17ff" for ch in t) for t in texts[:10])


def test_jsonl_bad_records_are_rejected_with_reasons(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"text": "សួស្តី"}).encode(), b"{not json", json.dumps({"body": "x"}).encode(),
             b"\xff\xfe bad utf8", b"", json.dumps({"text": "ពិភពលោក"}, ensure_ascii=False).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    items = list(iter_source(SourceConfig(type="jsonl", path=str(path))))
    good = [r["text"] for ok, r in items if ok]
    bad = {r["line"].rsplit(":", 1)[1]: r["reason"] for ok, r in items if not ok}
    assert good == ["សួស្តី", "ពិភពលោក"]
    assert bad["2"].startswith("bad JSON")
    assert "missing or non-string field 'text'" in bad["3"]
    assert bad["4"].startswith("invalid UTF-8")


def test_text_source_globs_and_max_docs(tmp_path):
    for i in range(2):
        (tmp_path / f"{i}.txt").write_text("ក\nខ\nគ\n", encoding="utf-8")
    items = list(iter_source(SourceConfig(type="text", path=str(tmp_path / "*.txt"), max_docs=4)))
    assert [r["text"] for _, r in items] == ["ក", "ខ", "គ", "ក"]
    assert items[-1][1]["line"].endswith("1.txt:1")
