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



@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_text_source_splits_lines_at_lf_crlf_and_lone_cr(tmp_path, eol):
    # A CR-terminated file (old Mac, some exports) is three documents, not one.
    path = tmp_path / "a.txt"
    path.write_bytes(eol.join("ក ខ គ".encode().split(b" ")) + eol)
    items = list(iter_source(SourceConfig(type="text", path=str(path))))
    assert [r["text"] for _, r in items] == ["ក", "ខ", "គ"]
    assert [r["line"].rsplit(":", 1)[1] for _, r in items] == ["1", "2", "3"]

KM = ["ភ្នំពេញ", "សៀមរាប", "បាត់ដំបង"]


def _write_compressed(path, data: bytes):
    import bz2
    import gzip

    import zstandard

    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    elif path.suffix == ".bz2":
        path.write_bytes(bz2.compress(data))
    elif path.suffix == ".zst":
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2", ".zst"])
def test_jsonl_through_every_compression(tmp_path, suffix):
    path = tmp_path / f"docs.jsonl{suffix}"
    lines = [json.dumps({"body": t}, ensure_ascii=False) for t in KM] + ["{oops"]
    _write_compressed(path, ("\n".join(lines) + "\n").encode())
    items = list(iter_source(SourceConfig(type="jsonl", path=str(path), text_field="body")))
    assert [r["text"] for ok, r in items if ok] == KM
    assert [r["reason"] for ok, r in items if not ok] == ["bad JSON: Expecting property name enclosed in double quotes"]


def test_json_array_csv_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.json").write_text(json.dumps([{"text": KM[0]}, {"text": 5}, {"text": KM[1]}], ensure_ascii=False))
    got = list(iter_source(SourceConfig(type="json", path=str(tmp_path / "a.json"))))
    assert [r["text"] for ok, r in got if ok] == KM[:2] and not got[1][0]
    (tmp_path / "b.csv").write_text("id,text\n1,\"" + KM[0] + ", ក\"\n2," + KM[2] + "\n", encoding="utf-8")
    got = list(iter_source(SourceConfig(type="csv", path=str(tmp_path / "b.csv"))))
    assert [r["text"] for ok, r in got if ok] == [KM[0] + ", ក", KM[2]]
    pq.write_table(pa.table({"content": [KM[0], None, KM[2]]}), tmp_path / "c.parquet")
    got = list(iter_source(SourceConfig(type="parquet", path=str(tmp_path / "c.parquet"), text_field="content")))
    assert [r["text"] for ok, r in got if ok] == [KM[0], KM[2]]
    assert got[1][1]["line"].endswith("c.parquet#1")
    got = list(iter_source(SourceConfig(type="parquet", path=str(tmp_path / "c.parquet"))))
    assert not got[0][0] and "no column 'text'" in got[0][1]["reason"]


def test_hf_dataset_from_a_local_directory_streams(tmp_path):
    data = tmp_path / "my-dataset" / "data"
    data.mkdir(parents=True)
    (data / "train-00000-of-00001.jsonl").write_text(
        "\n".join(json.dumps({"text": t, "url": "x"}, ensure_ascii=False) for t in KM) + "\n", encoding="utf-8")
    (data / "test-00000-of-00001.jsonl").write_text(json.dumps({"text": "test"}) + "\n", encoding="utf-8")
    src = SourceConfig(type="hf", dataset=str(tmp_path / "my-dataset"), split="train", max_docs=2, license="cc-by-4.0")
    items = list(iter_source(src))
    assert [r["text"] for _, r in items] == KM[:2]
    assert items[0][1]["line"].endswith("my-dataset[train]#0") and src.label.startswith("hf:")


def test_hf_dataset_shards_are_read_by_separate_tasks_in_stream_order(tmp_path, khmer_sentences):
    """A streamed dataset of three data files is three read units; reading them one by one gives the
    records of the whole stream, in its order, and the corpus built from them is the same."""
    from lontar.corpus.sources import source_units

    data = tmp_path / "ds" / "data"
    data.mkdir(parents=True)
    texts = khmer_sentences[:90]
    for k in range(3):
        (data / f"train-{k:05d}-of-00003.jsonl").write_text(
            "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts[30 * k: 30 * k + 30]),
            encoding="utf-8")
    src = SourceConfig(type="hf", dataset=str(tmp_path / "ds"), split="train", lang="km", license="cc-by-4.0")
    units = source_units(src)
    assert units == [(0, 3), (1, 3), (2, 3)]
    by_unit = [r["text"] for u in units for ok, r in iter_source(src, unit=u) if ok]
    assert by_unit == [r["text"] for ok, r in iter_source(src) if ok] and sorted(by_unit) == sorted(texts)
    lines = [r["line"] for ok, r in iter_source(src, unit=units[1])]
    assert lines[0].endswith("[train]/shard1of3#0")


# -- one bad record never takes others with it --------------------------------------------------------
def _read(src: SourceConfig) -> tuple[list[str], dict[str, str]]:
    items = list(iter_source(src))
    good = [r["text"] for ok, r in items if ok]
    bad = {r["line"].rsplit(":", 1)[-1].rsplit("#", 1)[-1]: r["reason"] for ok, r in items if not ok}
    return good, bad


def test_lone_surrogate_in_json_rejects_that_record_only(tmp_path):
    path = tmp_path / "a.jsonl"
    # json.loads accepts "\ud800" and returns a str no UTF-8 writer (pyarrow, a jsonl file) can store.
    path.write_text('{"text": "ក"}\n{"text": "bad \\ud800 here"}\n{"text": "ខ"}\n', encoding="utf-8")
    good, bad = _read(SourceConfig(type="jsonl", path=str(path)))
    assert good == ["ក", "ខ"]
    assert bad == {"2": "lone surrogate in 'text'"}  # the kind; where in the text is the reject's detail


def test_deeply_nested_json_rejects_that_record_only(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "ក"}\n' + '{"text": ' + deep + "}\n" + '{"text": "ខ"}\n', encoding="utf-8")
    good, bad = _read(SourceConfig(type="jsonl", path=str(path)))
    assert good == ["ក", "ខ"] and bad == {"2": "bad JSON: nested too deeply"}
    whole = tmp_path / "b.json"
    whole.write_text(deep, encoding="utf-8")
    items = list(iter_source(SourceConfig(type="json", path=str(whole))))
    assert [(ok, r["reason"]) for ok, r in items] == [(False, "bad JSON: nested too deeply")]


def test_csv_unterminated_quote_rejects_one_row_and_reads_the_rest(tmp_path):
    rows = [f'{i},"{KM[i % 3]} {i}"' for i in range(1, 1000)]
    rows[1] = '2,"broken quote never closed'  # physical line 3 of the file
    path = tmp_path / "a.csv"
    path.write_text("id,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    good, bad = _read(SourceConfig(type="csv", path=str(path)))
    assert bad == {"3": "bad CSV: unterminated quote"}
    assert len(good) == 998 and good[0] == f"{KM[1]} 1" and good[-1] == f"{KM[999 % 3]} 999"
    # Quoted fields that span lines on purpose stay one record.
    ok = tmp_path / "b.csv"
    ok.write_text('id,text\n1,"line one\nline two"\n2,ខ\n', encoding="utf-8")
    assert _read(SourceConfig(type="csv", path=str(ok))) == (["line one\nline two", "ខ"], {})


def test_dotted_text_field_everywhere_fields_are_read(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [{"prompts": [{"question": t}]} for t in KM] + [{"prompts": []}]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    good, bad = _read(SourceConfig(type="jsonl", path=str(tmp_path / "a.jsonl"), text_field="prompts.0.question"))
    assert good == KM and bad == {"4": "missing or non-string field 'prompts.0.question'"}
    (tmp_path / "b.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    good, _ = _read(SourceConfig(type="json", path=str(tmp_path / "b.json"), text_field="prompts.0.question"))
    assert good == KM
    pq.write_table(pa.table({"meta": [{"body": t} for t in KM]}), tmp_path / "c.parquet")
    good, _ = _read(SourceConfig(type="parquet", path=str(tmp_path / "c.parquet"), text_field="meta.body"))
    assert good == KM
