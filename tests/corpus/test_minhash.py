import random

import numpy as np
import pytest

from lontar.corpus.minhash import MinHasher, NearDedup, s_curve, shingle_hashes


def _jaccard(a, b):
    a, b = set(a.tolist()), set(b.tolist())
    return len(a & b) / len(a | b)


def test_signature_agreement_estimates_jaccard(khmer_sentences):
    hasher = MinHasher(bands=32, rows=8, seed=1)
    text = " ".join(khmer_sentences[:6])
    edited = text.replace(khmer_sentences[2], khmer_sentences[50])
    a, b = shingle_hashes(text, "km", 3), shingle_hashes(edited, "km", 3)
    true = _jaccard(a, b)
    est = float(np.mean(hasher.signature(a) == hasher.signature(b)))
    assert 0.3 < true < 0.95 and abs(est - true) < 0.12


def test_khmer_shingles_are_syllables_not_phrases(khmer_sentences):
    s = khmer_sentences[10]
    assert len(shingle_hashes(s, "km", 2)) > 2 * len(s.split())


def test_s_curve_is_monotone_and_matches_formula():
    curve = s_curve(14, 8)
    assert list(curve.values()) == sorted(curve.values())
    assert curve[0.8] == pytest.approx(1 - (1 - 0.8 ** 8) ** 14, abs=1e-4)


def test_near_duplicates_of_real_khmer_are_caught_and_first_is_kept(khmer_sentences):
    rng = random.Random(0)
    base = [" ".join(khmer_sentences[i * 5: i * 5 + 5]) for i in range(40)]
    dups = []
    for i in range(0, 40, 2):  # a near-copy: one sentence of five replaced by a small edit
        sents = khmer_sentences[i * 5: i * 5 + 5]
        j = rng.randrange(5)
        sents = sents[:j] + [sents[j][: len(sents[j]) // 2]] + sents[j + 1:]
        dups.append((i, " ".join(sents)))
    dedup = NearDedup(MinHasher(bands=20, rows=5, seed=0), n=3)
    assert all(dedup.add(t, "km") is None for t in base)  # distinct documents stay
    caught = [dedup.add(t, "km") for _, t in dups]
    assert sum(c == i for c, (i, _) in zip(caught, dups)) >= 18  # recall >= 0.9, each pointing at its original


def test_corpus_stage_removes_near_duplicates_and_accounts_for_them(tmp_path, khmer_sentences):
    import json

    from lontar.corpus.build import build_corpus
    from tests.corpus.test_build import _config

    docs = [" ".join(khmer_sentences[i * 4: i * 4 + 4]) for i in range(200)]
    near = [d[:-12] + "។" for d in docs[:30]]  # the same document with its last few characters changed
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in docs + near) + "\n", encoding="utf-8")
    card = build_corpus(_config(tmp_path, [{"type": "jsonl", "path": str(path)}], near_dedup={"enabled": True}))
    [src] = card["sources"]
    dedup = src["steps"]["dedup"]
    assert dedup["counts"].get("near duplicates", 0) >= 27
    assert dedup["docs_in"] == dedup["docs_out"] + dedup["counts"].get("near duplicates", 0) + dedup["counts"].get(
        "exact duplicates", 0)
    assert src["read"] == src["kept"] + src["duplicates"] + sum(src["rejected"].values())
    assert 195 <= src["kept"] <= 203  # the originals survive (the rare LSH false positive aside)
    assert "near-dedup" in card["step_descriptions"]["dedup"]
