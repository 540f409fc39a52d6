"""Readers keep what they can and set the rest aside with its bytes (issue 20: corrupt parquet, truncated
.gz, truncated Wikipedia XML, a 50 MB line, invalid UTF-8, exact duplicates, reasons by kind)."""

from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import json
import time

import pytest

from lontar.config import SourceConfig
from lontar.corpus.sources import iter_source


def _read(src: SourceConfig, raw_limit: int = 65536):
    items = list(iter_source(src, raw_limit))
    return [i["text"] for ok, i in items if ok], [i for ok, i in items if not ok]


def _src(path, type_="jsonl") -> SourceConfig:
    return SourceConfig(type=type_, path=str(path), lang="km")


def test_a_truncated_gzip_keeps_the_records_before_the_cut(tmp_path, khmer_sentences):
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in khmer_sentences[:300])
    blob = gzip.compress(lines.encode("utf-8"))
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(blob[: len(blob) * 2 // 3])
    good, bad = _read(_src(path))
    assert 0 < len(good) < 300 and good == khmer_sentences[: len(good)]
    assert len(bad) <= 2 and "unreadable from here on" in bad[-1]["reason"]


def test_a_file_named_gz_that_is_not_gzip_is_one_reject(tmp_path):
    path = tmp_path / "a.txt.gz"
    path.write_text("plain text, not gzip\n", encoding="utf-8")
    good, bad = _read(_src(path, "text"))
    assert good == [] and len(bad) == 1 and "BadGzipFile" in bad[0]["reason"]


def test_a_truncated_bz2_text_file(tmp_path, khmer_sentences):
    blob = bz2.compress(("\n".join(khmer_sentences[:300]) + "\n").encode("utf-8"))
    path = tmp_path / "a.txt.bz2"
    path.write_bytes(blob[:-50])
    good, bad = _read(_src(path, "text"))
    assert good == khmer_sentences[: len(good)] and "unreadable" in bad[-1]["reason"]


def test_a_corrupt_parquet_is_one_reject(tmp_path, khmer_sentences):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": khmer_sentences[:50]}), path)
    path.write_bytes(path.read_bytes()[:-30])
    good, bad = _read(_src(path, "parquet"))
    assert good == [] and len(bad) == 1 and "unreadable" in bad[0]["reason"]


def test_a_truncated_wikipedia_dump_keeps_the_pages_before_the_cut(tmp_path):
    page = "<page><title>T{i}</title><ns>0</ns><id>{i}</id><revision><text>ព្រះរាជាណាចក្រ​កម្ពុជា {i}</text></revision></page>"
    xml = "<mediawiki>" + "".join(page.format(i=i) for i in range(1, 30)) + "</mediawiki>"
    path = tmp_path / "kmwiki.xml"
    path.write_text(xml[: len(xml) - 200], encoding="utf-8")
    good, bad = _read(SourceConfig(type="wikipedia", path=str(path), lang="km"))
    assert len(good) >= 25 and "truncated or damaged XML" in bad[-1]["reason"]


def test_a_50_mb_line_is_set_aside_before_parsing_with_its_hash(tmp_path):
    big = ("ក" * (17 << 20)).encode("utf-8")  # 51 MB on one line
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "' + big + b'"}\n{"text": "ok2"}\n')
    t = time.monotonic()
    good, bad = _read(_src(path), raw_limit=1000)
    assert time.monotonic() - t < 20
    assert good == ["ok", "ok2"] and bad[0]["reason"].startswith("record larger than")
    whole = b'{"text": "' + big + b'"}'
    assert bad[0]["raw_sha256"] == hashlib.sha256(whole).hexdigest() and bad[0]["raw_bytes"] == len(whole)
    assert len(bad[0]["raw"].encode("utf-8")) <= 1000


def test_invalid_utf8_keeps_its_bytes_in_base64_and_one_reason_kind(tmp_path):
    lines = [b"good one", b"bad \xff here", b"another \xc3\x28 bad", b"good two"]
    path = tmp_path / "a.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    good, bad = _read(_src(path, "text"))
    assert good == ["good one", "good two"]
    assert {b["reason"] for b in bad} == {"invalid UTF-8"}  # one key, not one per byte offset
    assert [base64.b64decode(b["raw"]) for b in bad] == [lines[1], lines[2]]
    assert all(b["raw_encoding"] == "base64" for b in bad)


def test_exact_duplicates_are_listed_with_the_kept_twin(tmp_path, khmer_sentences):
    from lontar.config import load_config
    from lontar.corpus.build import build_corpus
    from tests.conftest import write_config

    docs = khmer_sentences[:60] + khmer_sentences[:5]
    data = tmp_path / "km.txt"
    data.write_text("\n".join(docs) + "\n", encoding="utf-8")
    cfg = load_config(write_config(tmp_path / "c.yaml", {
        "name": "d", "output_dir": str(tmp_path / "runs"), "model": {"name_or_path": "org/base"},
        "corpus": {"sources": [{"type": "text", "path": str(data), "lang": "km"}],
                   "validation_fraction": 0.2, "lid": {"enabled": False}, "quality": {"enabled": False}}}))
    card = build_corpus(cfg)
    listed = [json.loads(x) for x in (cfg.run_dir / "corpus" / "duplicates" / "duplicates-00000.jsonl")
              .read_text(encoding="utf-8").splitlines()]
    assert len(listed) == card["duplicates"] >= 5
    lines = {f"{data}:{i}" for i in range(61, 66)}
    assert lines <= {d["line"] for d in listed}
    for d in listed:
        if d["line"] in lines:
            n = int(d["line"].rsplit(":", 1)[1]) - 60
            assert d["kind"] == "exact" and d["kept_id"] == d["id"] and d["kept_line"] == f"{data}:{n}"


@pytest.mark.parametrize("limit", [0, 10])
def test_the_raw_limit_is_the_configured_one(tmp_path, limit):
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": 5, "pad": "' + "x" * 100 + '"}\n', encoding="utf-8")
    _, [bad] = _read(_src(path), raw_limit=limit)
    assert len(bad["raw"]) == limit and bad["raw_truncated"] and len(bad["raw_sha256"]) == 64


def test_the_data_card_counts_reasons_by_kind_with_an_example(tmp_path):
    from lontar.config import load_config
    from lontar.corpus.build import build_corpus
    from tests.conftest import write_config

    data = tmp_path / "km.txt"
    good = [f"ព្រះរាជាណាចក្រ​កម្ពុជា {i}".encode() for i in range(40)]
    bad = [b"bad \xff" * (i + 1) for i in range(5)]  # invalid UTF-8 at five different offsets
    data.write_bytes(b"\n".join(good[:20] + bad + good[20:]) + b"\n")
    cfg = load_config(write_config(tmp_path / "c.yaml", {
        "name": "k", "output_dir": str(tmp_path / "runs"), "model": {"name_or_path": "org/base"},
        "corpus": {"sources": [{"type": "text", "path": str(data), "lang": "km"}], "validation_fraction": 0.2,
                   "lid": {"enabled": False}, "quality": {"enabled": False}}}))
    card = build_corpus(cfg)
    assert card["sources"][0]["rejected"] == {"invalid UTF-8": 5}
    assert card["rejected_examples"]["invalid UTF-8"] == "km.txt:21"
    assert "- invalid UTF-8: 5 (e.g. `km.txt:21`)" in (cfg.run_dir / "corpus" / "data_card.md").read_text(encoding="utf-8")
