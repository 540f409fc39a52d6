"""Random bytes, JSON and YAML into the readers and the config loader: every outcome is a set-aside record
or a one-line LontarError, never a traceback. Bounded by example counts (a few seconds each)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lontar.config import SourceConfig, load_config
from lontar.corpus.sources import iter_source
from lontar.errors import LontarError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
NAMES = ["a.jsonl", "a.json", "a.csv", "a.tsv", "a.txt", "a.jsonl.gz", "a.txt.bz2", "a.json.xz", "a.parquet",
         "a.xml"]
TYPES = {"jsonl": "jsonl", "json": "json", "csv": "csv", "tsv": "csv", "txt": "text", "parquet": "parquet",
         "xml": "wikipedia"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


def _check_items(src: SourceConfig) -> int:
    n = 0
    for ok, item in iter_source(src, raw_limit=256):
        n += 1
        if ok:
            assert isinstance(item["text"], str)
            item["text"].encode("utf-8")  # storable
        else:
            assert item["reason"] and "\n" not in item["reason"]
            json.dumps(item, ensure_ascii=False).encode("utf-8")  # the reject can be written
    return n


@FUZZ
@given(data=st.binary(max_size=2000), name=st.sampled_from(NAMES))
def test_random_bytes_into_every_reader(data, name):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        kind = TYPES[name.split(".")[1]]
        _check_items(SourceConfig(type=kind, path=str(path), lang="km"))


@FUZZ
@given(rows=st.lists(json_values, max_size=8), field=st.sampled_from(["text", "a.b", "0"]))
def test_random_json_records(rows, field):
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "a.jsonl"
        lines.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        whole = Path(tmp) / "b.json"
        whole.write_text(json.dumps(rows), encoding="utf-8")
        for path, kind in ((lines, "jsonl"), (whole, "json")):
            n = _check_items(SourceConfig(type=kind, path=str(path), lang="km", text_field=field))
            assert n >= (len(rows) if kind == "json" else 1 if rows else 0)


def _load(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
        try:
            load_config(path)
        except LontarError as e:
            assert "\n" not in str(e) and len(str(e)) <= 500


yaml_ish = st.lists(st.sampled_from(list("ab:- []{}&*!|>'\"#,\n\t0123.%@?") + ["name", "model", "train", "lr", "<<",
                                                                          "&a", "*a", "\n  "]),
                    max_size=80).map("".join)


@FUZZ
@given(text=yaml_ish)
def test_random_yaml_text_into_the_config_loader(text):
    _load(text)


@FUZZ
@given(data=st.binary(max_size=500))
def test_random_bytes_into_the_config_loader(data):
    _load(data)


sections = st.dictionaries(st.sampled_from(["name", "model", "train", "corpus", "eval", "publish", "lr", "x"]),
                           json_values, max_size=5)


@FUZZ
@given(tree=sections)
def test_random_yaml_documents_into_the_config_loader(tree):
    _load(yaml.safe_dump(tree, allow_unicode=True))
