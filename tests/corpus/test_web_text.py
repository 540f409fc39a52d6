"""A corpus from each of the ten languages with the default steps keeps clean prose and drops web junk.

The prose is the benchmark's (benchmarks/web_text.py): rdlab Khmer, the SEA-HELM files and the
Vietnamese novel in ../shared/data, and the parallel paragraphs in tests/data/prose.
"""

import json
import re
from pathlib import Path

import pytest

from benchmarks.web_text import SEAHELM, clean_prose, junk_docs
from lontar.config import load_config
from lontar.corpus.build import build_corpus
from lontar.langs import LANGS
from tests.conftest import write_config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prose() -> dict[str, list[str]]:
    if not SEAHELM.is_dir():
        pytest.skip(f"SEA-HELM data not at {SEAHELM}")
    found = clean_prose(km_docs=150)
    assert set(found) == set(LANGS)
    return {code: texts[:150] for code, texts in found.items()}


def _build(tmp_path: Path, docs: dict[str, list[str]]):
    sources = []
    for code, texts in docs.items():
        path = tmp_path / f"{code}.jsonl"
        path.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts) + "\n", encoding="utf-8")
        sources.append({"type": "jsonl", "path": str(path), "lang": code, "name": code})
    data = {"name": "web", "output_dir": str(tmp_path / "runs"), "model": {"architecture": {"model_type": "llama"}},
            "corpus": {"sources": sources, "validation_fraction": 0.2}}  # every filter at its default
    cfg = load_config(write_config(tmp_path / "web.yaml", data))
    return cfg, build_corpus(cfg)


def test_ten_languages_keep_their_clean_prose(tmp_path, prose):
    cfg, card = _build(tmp_path, prose)
    for src in card["sources"]:
        assert src["read"] == src["kept"] + src["duplicates"] + sum(src["rejected"].values())
        assert src["kept"] >= 0.95 * src["read"], (src["source"], src["rejected"])


def test_ten_languages_drop_web_junk(tmp_path, prose):
    junk = {code: junk_docs(code, texts[:10]) for code, texts in prose.items()}
    cfg, card = _build(tmp_path, {code: [j["text"] for j in items] for code, items in junk.items()})
    rows = [r for p in sorted((cfg.run_dir / "corpus").glob("*.parquet")) for r in _read(p)]
    markers = re.compile(r"Read More|Next:|Previous:|<[A-Za-z/!][^<>]*>|https?://\S+\s+https?://|cookies|Home \| News")
    assert not [r["text"][:80] for r in rows if markers.search(r["text"])]
    # spam (one phrase forty times) is set aside in every language
    assert not [r["text"][:60] for r in rows if r["text"].count(r["text"][:12]) >= 10]
    for src in card["sources"]:
        assert sum(src["rejected"].values()) >= min(10, len(prose[src["lang"]])), src  # one spam per prose text
        # the prose inside the junk survives; six wrappers of one text clean up to one text (duplicates)
        assert src["kept"] + src["duplicates"] >= 0.9 * 6 * min(10, len(prose[src["lang"]])), src


def _read(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["text"]).to_pylist()
