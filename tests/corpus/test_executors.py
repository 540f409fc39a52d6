import json
import random
from collections import Counter

import pyarrow.parquet as pq
import pytest

from lontar.config import load_config
from lontar.corpus import build
from lontar.corpus.build import build_corpus
from lontar.corpus.minhash import NearDedup
from lontar.corpus.shards import side_records
from lontar.corpus.steps import text_hash
from tests.conftest import REPO, write_config

NOVEL_VI = REPO.parent / "shared" / "data" / "seahelm" / "pure_heart_ngoc_phachHoang_vi.txt"
HEADER = "រក្សាសិទ្ធិគ្រប់យ៉ាងដោយ សារព័ត៌មានគំរូ ២០២៤ សម្រាប់អ្នកអានទាំងអស់"


def _config(tmp_path, name, sources, executor, **corpus):
    data = {"name": name, "output_dir": str(tmp_path / "runs"), "model": {"architecture": {"model_type": "llama"}},
            "corpus": {"sources": sources, "executor": executor, "chunk_docs": 1500, "num_proc": 2,
                       "validation_fraction": 0.05, "near_dedup": {"enabled": True, "rehydrate": True},
                       "boilerplate": {"enabled": True, "min_docs": 5},
                       "mixing": {"enabled": True, "alpha": 0.5}, **corpus}}
    return load_config(write_config(tmp_path / f"{name}.yaml", data))


def _table(paths):
    return [row for p in paths for row in pq.read_table(p).to_pylist()]


def _khmer_docs(sentences):
    """Real sentences as documents: one-line ones, multi-line ones with a shared header (boilerplate),
    exact repeats, and near repeats (a sentence with a character changed)."""
    rng = random.Random(0)
    docs = list(sentences[:3000])
    for i in range(0, 600, 3):
        docs.append("\\n".join([HEADER, sentences[3000 + i], sentences[3001 + i]]))
    docs += sentences[:40]
    for s in sentences[100:160]:
        pos = rng.randrange(len(s))
        docs.append(s[:pos] + s[pos + 1:] if len(s) > 40 else s)
    return docs


def _write_jsonl(path, docs):
    with path.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps({"text": d.replace("\\n", "\n")}, ensure_ascii=False) + "\n")


def _outputs(run_dir):
    corpus = run_dir / "corpus"
    out = {split: _table(sorted(corpus.glob(f"{split}-*.parquet"))) for split in ("train", "validation")}
    out["rejected"] = list(side_records(corpus, "rejected"))
    out["duplicates"] = list(side_records(corpus, "duplicates"))
    return out


@pytest.mark.skipif(not NOVEL_VI.exists(), reason=f"{NOVEL_VI} missing")
def test_ray_executor_output_equals_local_executor(tmp_path, khmer_sentences, monkeypatch):
    """Every step and every global stage on (boilerplate, exact and near dedup, rehydration, mixing), two
    languages and three files: the local process pool, the local executor in the driver and Ray tasks
    give the same corpus row for row, whatever the number of partitions."""
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    docs = _khmer_docs(khmer_sentences)
    (tmp_path / "km").mkdir()
    _write_jsonl(tmp_path / "km" / "a.jsonl", docs[: len(docs) // 2])
    _write_jsonl(tmp_path / "km" / "b.jsonl", docs[len(docs) // 2:])
    sources = [{"type": "jsonl", "path": str(tmp_path / "km" / "*.jsonl"), "lang": "km", "name": "km"},
               {"type": "text", "path": str(NOVEL_VI), "lang": "vi", "name": "vi"}]
    monkeypatch.setattr(build, "INLINE_BYTES", 0)  # small input, but the pool all the same
    pool = build_corpus(_config(tmp_path, "pool", sources, "local", partitions=3))
    monkeypatch.setattr(build, "INLINE_BYTES", 1 << 40)
    inline = build_corpus(_config(tmp_path, "inline", sources, "local", num_proc=1, partitions=1))
    remote = build_corpus(_config(tmp_path, "ray", sources, "ray", partitions=8))
    assert pool["execution"]["workers"] == 2 and inline["execution"]["workers"] == 1
    assert pool["execution"]["read_tasks"] == 3

    runs = {name: tmp_path / "runs" / name for name in ("pool", "inline", "ray")}
    chunks = {name: sorted((d.parent / f"{name}/corpus.work").glob("*.parquet")) for name, d in runs.items()}
    assert [p.name for p in chunks["pool"]] == [p.name for p in chunks["ray"]] and len(chunks["pool"]) >= 4
    rows = {name: _table(paths) for name, paths in chunks.items()}
    totals = {name: Counter() for name in rows}
    for name, table in rows.items():
        for r in table:
            totals[name].update(json.loads(r.pop("counts") or "{}"))
    assert rows["pool"] == rows["ray"] == rows["inline"] and totals["pool"] == totals["ray"] and totals["pool"]

    outs = {name: _outputs(d) for name, d in runs.items()}
    assert outs["pool"] == outs["ray"] == outs["inline"]
    assert len(outs["pool"]["train"]) > 1000 and outs["pool"]["validation"]
    kinds = Counter(d["kind"] for d in outs["pool"]["duplicates"])
    assert kinds["exact"] >= 40 and kinds["near"] >= 20
    for key in ("sources", "steps", "languages", "splits", "mixing", "rejected", "duplicates", "rehydration"):
        assert pool[key] == remote[key] == inline[key], key
    assert pool["steps"]["boilerplate"]["counts"]["lines removed"] >= 150
    assert pool["steps"]["lid"]["rejected"] and pool["steps"]["dedup"]["counts"]
    assert int(max(pool["rehydration"]["train_docs_by_copies"], key=int)) >= 2
    import ray

    assert not ray.is_initialized()  # the executor stops the local Ray it started


def test_near_dedup_stages_decide_as_the_streaming_index(tmp_path, khmer_sentences, monkeypatch):
    """The distributed near-dedup removes exactly the documents the streaming LSH index removes (a
    document linked to an earlier exact survivor), names a kept document as the twin, and does not
    depend on the partition count."""
    docs = _khmer_docs(khmer_sentences)
    _write_jsonl(tmp_path / "km.jsonl", docs)
    sources = [{"type": "jsonl", "path": str(tmp_path / "km.jsonl"), "lang": "km", "name": "km"}]
    cards = {}
    for parts in (1, 5):
        name = f"p{parts}"
        cards[name] = build_corpus(_config(tmp_path, name, sources, "local", num_proc=1, partitions=parts,
                                           boilerplate={"enabled": False}, mixing={"enabled": False},
                                           near_dedup={"enabled": True}))
    run = tmp_path / "runs" / "p5"
    kept = [r["text"] for r in _table(sorted((run / "corpus.work").glob("*.parquet"))) if r["reason"] is None]
    seen, survivors = set(), []
    for t in kept:
        if text_hash(t) not in seen:
            seen.add(text_hash(t))
            survivors.append(t)
    cfg = _config(tmp_path, "p5", sources, "local", near_dedup={"enabled": True})
    index = NearDedup.from_config(cfg.corpus.near_dedup)
    expected = {text_hash(t) for t, twin in zip(survivors, index.add_many(survivors, ["km"] * len(survivors)))
                if twin is not None}
    dups = list(side_records(run / "corpus", "duplicates"))
    near = [d for d in dups if d["kind"] == "near"]
    assert {d["id"] for d in near} == expected and len(expected) >= 20
    assert cards["p5"]["execution"]["near_dedup"]["candidates"] == index.candidates
    assert cards["p5"]["execution"]["near_dedup"]["rejected"] == index.rejected
    kept_ids = {r["id"] for split in ("train", "validation") for r in _table(sorted((run / "corpus").glob(f"{split}-*.parquet")))}
    assert {d["kept_id"] for d in near} <= kept_ids
    assert _outputs(tmp_path / "runs" / "p1") == _outputs(run)


def test_rehydration_repeats_each_kept_document_by_its_cluster_size(tmp_path, khmer_sentences):
    """FineWeb-2's table applied to the clusters the duplicates file describes: a kept document stands
    for itself, its exact copies, the near duplicates linked to it and their exact copies."""
    from lontar.corpus.stages import rehydrate_copies

    assert [rehydrate_copies(n) for n in (1, 2, 3, 4, 5, 99, 100, 999, 1000, 5000)] == [1, 2, 3, 3, 5, 5, 8, 8, 1, 1]
    docs = _khmer_docs(khmer_sentences) + khmer_sentences[:10] * 3 + khmer_sentences[200:204] * 6
    _write_jsonl(tmp_path / "km.jsonl", docs)
    sources = [{"type": "jsonl", "path": str(tmp_path / "km.jsonl"), "lang": "km", "name": "km"}]
    card = build_corpus(_config(tmp_path, "r", sources, "local", num_proc=1, mixing={"enabled": False},
                                boilerplate={"enabled": False}))
    run = tmp_path / "runs" / "r"
    dups = list(side_records(run / "corpus", "duplicates"))
    exact_of = Counter(d["kept_id"] for d in dups if d["kind"] == "exact")
    size = Counter()
    for d in dups:
        if d["kind"] == "near":
            size[d["kept_id"]] += 1 + exact_of[d["id"]]
    train = _table(sorted((run / "corpus").glob("train-*.parquet")))
    valid = {r["id"] for r in _table(sorted((run / "corpus").glob("validation-*.parquet")))}
    copies = Counter(r["id"] for r in train)
    for doc_id, n in copies.items():
        assert n == rehydrate_copies(1 + size[doc_id] + exact_of[doc_id]), doc_id
    assert max(copies.values()) >= 5 and not valid & set(copies)
    assert sum(copies.values()) == card["splits"]["train"]["docs"] > len(copies)
    by_copies = card["rehydration"]["train_docs_by_copies"]
    assert sum(by_copies.values()) == len(copies) and by_copies == {str(k): v for k, v in sorted(
        Counter(copies.values()).items())}


def _square(ctx, item):
    import time

    time.sleep(0.05 * (item % 3))  # finish out of order
    return ctx * item * item


@pytest.mark.parametrize("inline", [True, False])
def test_local_executor_keeps_task_order_and_reports_progress(inline):
    from lontar.corpus.executors import LocalExecutor

    seen = []
    out = LocalExecutor(2, inline=inline).map(_square, 2, list(range(7)), lambda done, total: seen.append((done, total)))
    assert out == [2 * i * i for i in range(7)]
    assert [d for d, _ in seen] == list(range(1, 8)) and {t for _, t in seen} == {7}


def test_a_long_stage_logs_how_far_it_is(tmp_path, khmer_sentences, monkeypatch, caplog):
    import logging

    for k in range(3):
        _write_jsonl(tmp_path / f"km{k}.jsonl", khmer_sentences[100 * k: 100 * k + 100])
    sources = [{"type": "jsonl", "path": str(tmp_path / "km*.jsonl"), "lang": "km", "name": "km"}]
    monkeypatch.setattr(build, "PROGRESS_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="lontar.corpus.build"):
        build_corpus(_config(tmp_path, "progress", sources, "local", num_proc=1, near_dedup={"enabled": False},
                             boilerplate={"enabled": False}, mixing={"enabled": False}))
    lines = [r.getMessage() for r in caplog.records]
    assert "corpus: stage read 1/3 tasks done" in " ".join(lines) and any("2/3 tasks done" in x for x in lines)
