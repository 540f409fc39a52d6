"""benchmarks/corpus_scale.py: its corpus generator, its reading of a build's duplicates into the planted
score, and its per-stage memory peaks (the build itself runs in the benchmark, not here)."""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter

import pytest

pytest.importorskip("psutil")

from benchmarks import corpus_scale  # noqa: E402
from benchmarks.heldout_copies import vietnamese_sentences  # noqa: E402
from benchmarks.planted import Planted, score  # noqa: E402
from tests.conftest import REPO  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


@pytest.fixture
def small_sentences(monkeypatch, khmer_sentences):
    if not (SHARED / "seahelm").exists():
        pytest.skip("../shared/data missing")
    sentences = {"km": [s for s in khmer_sentences if len(s) >= 10][:4000], "vi": vietnamese_sentences(SHARED)}
    monkeypatch.setattr(corpus_scale, "sentences_by_lang", lambda: sentences)
    return sentences


def _docs(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def test_generated_corpus_is_deterministic_and_its_truth_points_at_planted_documents(tmp_path, small_sentences):
    a = corpus_scale.generate(tmp_path / "a", 6000, 1000, 40, seed=3, procs=1)
    b = corpus_scale.generate(tmp_path / "b", 6000, 1000, 40, seed=3, procs=2)
    assert a["sha256"] == b["sha256"] and a["truth_sha256"] == b["truth_sha256"]
    assert corpus_scale.generate(tmp_path / "a", 6000, 1000, 40, seed=3, procs=1)["reused"]
    root = tmp_path / "a" / a["dir"]
    files = {f["file"]: _docs(root / f["file"]) for f in a["files"]}
    assert sorted(files) == [f"{lang}-{i:05d}.jsonl.gz" for lang in ("km", "vi") for i in range(3)]
    assert sum(map(len, files.values())) == 6000

    truth = [json.loads(line) for line in (root / "truth.jsonl").read_text().splitlines()]
    families: dict[int, dict[str, str]] = {}
    for t in truth:
        text = files[t["file"]][t["line"] - 1]
        assert "\n" not in text and len(text) >= 20  # planted documents are one line
        families.setdefault(t["family"], {})[t["role"]] = text
    assert len(families) == 40 and {t["lang"] for t in truth} == {"km", "vi"}
    for roles in families.values():  # an original and at least one variant, each a different text
        assert "original" in roles and len(roles) >= 2
        assert len(set(roles.values())) == len(roles)

    every = [d for docs in files.values() for d in docs]
    multi = [d for d in every if "\n" in d]
    firsts = Counter(d.split("\n")[0] for d in multi)
    assert multi and max(firsts.values()) >= 3  # headers repeated over multi-line documents: boilerplate to find
    assert a["exact_copies"] > 0 and len(every) - len(set(every)) >= a["exact_copies"]


def _write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_near_dup_score_equals_planted_score_on_the_same_clusters(tmp_path):
    """Random clusters written as a build writes them (duplicates/ with line and kept_line, rejected/):
    the benchmark's score equals `planted.score` on the same labels computed directly."""
    rng = random.Random(0)
    n = 400
    keys = [f"km-{i // 100:05d}.jsonl.gz:{i % 100 + 1}" for i in range(n)]
    family = [-1] * n
    role: list[str | None] = [None] * n
    for f, members in enumerate([rng.sample(range(n), rng.randint(2, 4)) for _ in range(30)]):
        for j, i in enumerate(m for m in members if family[m] < 0):
            family[i], role[i] = f, "original" if j == 0 else "char_edit"
    # Predicted clusters: each document joins an earlier one's cluster (its own family's, mostly) or none.
    label = list(range(n))
    for i in range(n):
        earlier = [j for j in range(i) if label[j] == j]
        same = [j for j in earlier if family[i] >= 0 and family[j] == family[i]]
        if same and rng.random() < 0.8:
            label[i] = same[0]
        elif earlier and rng.random() < 0.05:
            label[i] = rng.choice(earlier)
    rejected = {i for i in range(n) if family[i] >= 0 and rng.random() < 0.05 and label[i] == i
                and label.count(i) == 1}
    corpus = tmp_path / "corpus"
    where = [f"/data/x/{k}" for k in keys]
    _write_jsonl(corpus / "duplicates" / "duplicates-00000.jsonl",
                 [{"source": "km", "line": where[i], "kind": "near", "id": f"h{i}", "kept_id": f"h{label[i]}",
                   "kept_line": where[label[i]]} for i in range(n) if label[i] != i])
    _write_jsonl(corpus / "rejected" / "rejected-00000.jsonl",
                 [{"source": "km", "line": where[i], "step": "quality", "reason": "x"} for i in sorted(rejected)])
    truth = tmp_path / "truth.jsonl"
    _write_jsonl(truth, [{"file": keys[i].split(":")[0], "line": int(keys[i].split(":")[1]), "lang": "km",
                          "family": family[i], "role": role[i]} for i in range(n) if family[i] >= 0])

    got = corpus_scale.near_dup_score(corpus, truth)
    planted = Planted([""] * n, family, role, seed=0)
    want = score(planted, [None if i in rejected else label[i] for i in range(n)])
    for k in ("precision", "recall", "f1", "predicted_pairs", "true_pairs", "correct_pairs"):
        assert got[k] == want[k], k
    assert 0 < got["precision"] < 1 and got["planted_docs_rejected"] == len(rejected)
    assert got["by_lang"]["km"]["f1"] == got["f1"] and got["by_lang"]["vi"]["planted_docs"] == 0


def test_stage_peaks_take_the_samples_inside_each_stage():
    mb = corpus_scale.MB
    samples = [(t, (100 + t) * mb, (200 + 10 * t) * mb, 3) for t in range(10)]
    events = [(1.0, "read", "start"), (3.0, "read", "done"), (4.0, "near_dedup", "start"), (6.0, "near_dedup", "done"),
              (7.0, "near_dedup", "start"), (8.0, "near_dedup", "done")]
    stages = corpus_scale._stage_peaks(events, samples)
    assert stages == {"read": {"seconds": 2.0, "driver_peak_rss_mb": 103.0, "total_peak_rss_mb": 230.0},
                      "near_dedup": {"seconds": 3.0, "driver_peak_rss_mb": 108.0, "total_peak_rss_mb": 280.0}}
    assert corpus_scale.STAGE_LINE.search("corpus: stage near_dedup done").groups() == ("near_dedup", "done")
    assert corpus_scale.STAGE_LINE.search("corpus: stage read start (12 tasks)").groups() == ("read", "start")


def test_collect_takes_each_size_from_its_local_two_worker_run(tmp_path, monkeypatch, capsys):
    from benchmarks import common

    monkeypatch.setattr(corpus_scale, "RESULTS", tmp_path)
    monkeypatch.setattr(common, "RESULTS", tmp_path)

    def run(executor, n, docs, driver, rc=0):
        return {"executor": executor, "num_proc": n, "docs": docs, "rc": rc, "wall_s": 1.0, "docs_per_s_per_core": 1.0,
                "driver_peak_rss_mb": driver, "total_peak_rss_mb": driver * 2,
                "stages": {"read": {"seconds": 1.0, "driver_peak_rss_mb": driver, "total_peak_rss_mb": driver * 2}}}

    (tmp_path / "big.json").write_text(json.dumps({"label": "big", "commit": "b", "runs": [
        run("ray", 2, 20, 7.0), run("local", 2, 20, 5.0, rc=1), run("local", 2, 20, 6.0)]}))
    (tmp_path / "small.json").write_text(json.dumps({"commit": "a", "runs": [run("ray", 2, 10, 3.0)]}))
    corpus_scale.collect(["big", "small"], "series")
    data = json.loads((tmp_path / "series.json").read_text())
    assert [(s["docs"], s["executor"], s["driver_peak_rss_mb"]) for s in data["series"]] == [(10, "ray", 3.0),
                                                                                              (20, "local", 6.0)]
    assert "| read | 3 / 6 | 6 / 12 |" in capsys.readouterr().out
    (tmp_path / "bad.json").write_text(json.dumps({"runs": [run("local", 2, 5, 1.0, rc=1)]}))
    with pytest.raises(SystemExit, match="bad.json: no successful run"):
        corpus_scale.collect(["bad"], "series")
