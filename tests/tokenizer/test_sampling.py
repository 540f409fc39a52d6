"""Language-balanced line sampling: shares follow chars**alpha, a cap scales everything, results are reproducible."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lontar.corpus.shards import SCHEMA
from lontar.tokenizer.sampling import balanced_lines, doc_lines, plan, sample_lines


def _docs() -> list[tuple[str, str]]:
    # km has 9x the characters of lo: 900 lines of 10 chars vs 100 lines of 10 chars
    return [("km", "ក" * 9 + "\n" + "ខ" * 9 + "\n")] * 450 + [("lo", "ກ" * 10)] * 100


def test_plan_shares_follow_alpha() -> None:
    counts = {"km": (900, 9000), "lo": (100, 1000)}
    natural = plan(counts, alpha=1.0)
    assert natural["km"].rate == pytest.approx(1) and natural["lo"].rate == pytest.approx(1)
    flat = plan(counts, alpha=0.0)
    assert flat["km"].target_share == pytest.approx(0.5) and flat["lo"].target_share == pytest.approx(0.5)
    assert flat["lo"].rate == pytest.approx(5) and flat["km"].rate == pytest.approx(0.5 / 0.9)
    capped = plan(counts, alpha=1.0, max_lines=500)
    assert capped["km"].rate == pytest.approx(0.5) and capped["lo"].rate == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no text"):
        plan({"km": (0, 0)}, 1.0)


def test_sample_lines_upsamples_the_small_language_reproducibly() -> None:
    docs = _docs()
    plans = plan({"km": (900, 9000), "lo": (100, 1000)}, alpha=0.0)
    lines = sample_lines(docs, plans, seed=3)
    by_lang = Counter("lo" if line.startswith("ກ") else "km" for line in lines)
    assert by_lang["lo"] == 500 and by_lang["km"] == 500  # equal characters: alpha 0 is uniform
    assert lines == sample_lines(docs, plans, seed=3)
    assert lines != sample_lines(docs, plans, seed=4)


def test_doc_lines_keep_newlines() -> None:
    assert doc_lines("a\nb\n\nc") == ["a\n", "b\n", "\n", "c"]
    assert doc_lines("") == []


def test_balanced_lines_streams_when_nothing_changes(tmp_path: Path) -> None:
    rows = [{"id": str(i), "text": text, "source": "s", "lang": lang} for i, (lang, text) in enumerate(_docs())]
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    lines, plans = balanced_lines([path], alpha=1.0, max_lines=0, seed=0)
    assert set(plans) == {"km", "lo"}
    first = list(lines())
    assert len(first) == 1000 and first == list(lines())  # re-iterable
    lines, plans = balanced_lines([path], alpha=0.5, max_lines=300, seed=0)
    sample = list(lines())
    assert abs(len(sample) - 300) <= 2 and sample == list(lines())
