"""The corpus stage on a Ray cluster of two nodes (a head and a worker raylet on this machine, each with
its own resources) builds the same corpus as the local executor, row for row."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from lontar.config import load_config
from lontar.corpus.build import build_corpus
from tests.conftest import REPO, write_config

pytest.importorskip("ray")
pytest.importorskip("psutil")

from benchmarks.ray_cluster import LocalRayCluster  # noqa: E402

HEADER = "ព័ត៌មានថ្មីៗ ពីគេហទំព័ររបស់យើង"  # a site header repeated over many documents
FOOTER = "រក្សាសិទ្ធិគ្រប់យ៉ាង ឆ្នាំ២០២៦"


def _documents(sentences: list[str], seed: int = 0) -> list[str]:
    """Real Khmer sentences in documents of one to four lines, a share framed by a header and a footer,
    with exact copies and one-character edits (near-duplicates) among them."""
    rng = random.Random(seed)
    docs, i = [], 0
    while i < len(sentences):
        k = rng.randint(1, 4)
        lines = sentences[i: i + k]
        i += k
        if k > 1 and rng.random() < 0.3:
            lines = [HEADER, *lines, FOOTER]
        docs.append("\n".join(lines))
    for d in rng.sample(docs, len(docs) // 20):
        docs.insert(rng.randrange(len(docs)), d)  # exact copies
    for d in rng.sample([d for d in docs if len(d) > 60], len(docs) // 20):
        j = rng.randrange(len(d))
        docs.insert(rng.randrange(len(docs)), d[:j] + d[j + 1:])  # near copies
    return docs


def _config(tmp_path, path, out, executor, address=None):
    corpus = {"sources": [{"type": "jsonl", "path": str(path), "lang": "km", "name": "km"}], "executor": executor,
              "chunk_docs": 500, "num_proc": 2, "validation_fraction": 0.05,
              "near_dedup": {"enabled": True}, "boilerplate": {"enabled": True}}
    if address:
        corpus["ray_address"] = address
    data = {"name": "twonode", "output_dir": str(out), "model": {"architecture": {"model_type": "llama"}},
            "corpus": corpus}
    return write_config(tmp_path / f"{executor}.yaml", data)


def _rows(run_dir, pattern):
    return [r for p in sorted((run_dir / "corpus").glob(pattern)) for r in pq.read_table(p).to_pylist()]


def _lines(run_dir, pattern):
    return [json.loads(line) for p in sorted((run_dir / "corpus").glob(pattern))
            for line in p.read_text(encoding="utf-8").splitlines()]


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items()
                if not any(t in k for t in ("seconds", "time", "started", "elapsed"))}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


@pytest.mark.slow
def test_two_node_ray_cluster_builds_the_same_corpus_as_local(tmp_path, monkeypatch):
    from lontar.corpus.sources import rdlab_path, read_rdlab

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    docs = _documents(read_rdlab(rdlab_path())[:3000])
    src = tmp_path / "km.jsonl"
    src.write_text("".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")

    with LocalRayCluster(workers=1, cpus_per_node=1) as cluster:
        nodes = cluster.alive_nodes()
        assert len(nodes) == 2
        assert sorted(k for n in nodes for k in n["resources"] if k in ("head", "worker")) == ["head", "worker"]
        ray_cfg = _config(tmp_path, src, tmp_path / "ray", "ray", cluster.address)
        done = subprocess.run([sys.executable, "-m", "lontar.cli", "corpus", "--config", str(ray_cfg)],
                              cwd=REPO, env=cluster.env(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not cluster.processes()  # stopped, and only its own processes

    local = load_config(_config(tmp_path, src, tmp_path / "local", "local"))
    card_local = build_corpus(local)
    ray_dir = load_config(ray_cfg).run_dir
    card_ray = json.loads((ray_dir / "corpus" / "data_card.json").read_text(encoding="utf-8"))

    for split in ("train", "validation"):
        a, b = _rows(local.run_dir, f"{split}-*.parquet"), _rows(ray_dir, f"{split}-*.parquet")
        assert a == b and a
    dups_local = _lines(local.run_dir, "duplicates/*.jsonl")
    assert dups_local == _lines(ray_dir, "duplicates/*.jsonl")
    assert {d["kind"] for d in dups_local} == {"exact", "near"}
    assert card_local["steps"]["boilerplate"]["counts"]["lines removed"] > 0
    assert _lines(local.run_dir, "rejected/*.jsonl") == _lines(ray_dir, "rejected/*.jsonl")
    ran_local, ran_ray = card_local.pop("execution"), card_ray.pop("execution")
    assert ran_ray["executor"] == "ray" and ran_ray["workers"] == 2 and ran_local["executor"] == "local"
    assert _without_timings(card_local) == _without_timings(card_ray)
