import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

from lontar.config import load_config
from lontar.corpus.build import build_corpus
from tests.conftest import REPO, write_config

NOVEL_VI = REPO.parent / "shared" / "data" / "seahelm" / "pure_heart_ngoc_phachHoang_vi.txt"


def _config(tmp_path, name, sources, executor):
    data = {"name": name, "output_dir": str(tmp_path / "runs"), "model": {"architecture": {"model_type": "llama"}},
            "corpus": {"sources": sources, "executor": executor, "chunk_docs": 2500, "num_proc": 2,
                       "validation_fraction": 0.05, "near_dedup": {"enabled": True},
                       "mixing": {"enabled": True, "alpha": 0.5}}}
    return load_config(write_config(tmp_path / f"{name}.yaml", data))


def _table(paths):
    return [row for p in paths for row in pq.read_table(p).to_pylist()]


@pytest.mark.skipif(not NOVEL_VI.exists(), reason=f"{NOVEL_VI} missing")
def test_ray_executor_output_equals_local_executor(tmp_path, khmer_sentences, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    km = tmp_path / "km.txt"
    km.write_text("\n".join(khmer_sentences[:5000] + khmer_sentences[:50]) + "\n", encoding="utf-8")
    # Every step on (normalize, LID, quality, PII) over two languages, with real rejects on both sides.
    sources = [{"type": "text", "path": str(km), "lang": "km", "name": "km"},
               {"type": "text", "path": str(NOVEL_VI), "lang": "vi", "name": "vi"}]
    local = _config(tmp_path, "local", sources, "local")
    remote = _config(tmp_path, "ray", sources, "ray")
    card_local, card_ray = build_corpus(local), build_corpus(remote)

    chunks_local = sorted((local.run_dir / "corpus.work").glob("*.parquet"))
    chunks_ray = sorted((remote.run_dir / "corpus.work").glob("*.parquet"))
    assert [p.name for p in chunks_local] == [p.name for p in chunks_ray] and len(chunks_local) == 4
    # Row for row, traces and reasons included. Batch counters ride on the first row of a batch and
    # batches are cut per worker, so only their totals are compared.
    rows_local, rows_ray = _table(chunks_local), _table(chunks_ray)
    totals = [Counter(), Counter()]
    for rows, total in zip((rows_local, rows_ray), totals):
        for r in rows:
            total.update(json.loads(r.pop("counts") or "{}"))
    assert rows_local == rows_ray and totals[0] == totals[1] and totals[0]

    for split in ("train", "validation"):
        a = _table(sorted((local.run_dir / "corpus").glob(f"{split}-*.parquet")))
        b = _table(sorted((remote.run_dir / "corpus").glob(f"{split}-*.parquet")))
        assert a == b and len(a) > 0
    assert card_local["steps"]["lid"]["rejected"] and card_local["steps"]["dedup"]["counts"]
    for key in ("sources", "steps", "languages", "splits", "mixing", "rejected", "duplicates"):
        assert card_local[key] == card_ray[key]
    import ray

    assert not ray.is_initialized()  # the executor stops the local Ray it started
