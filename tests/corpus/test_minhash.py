import random

import numpy as np
import pytest

from lontar.config import NearDedupConfig
from lontar.corpus.minhash import MinHasher, NearDedup, clean_chars, resolve_unit, s_curve, shingle_hashes


def _jaccard(a, b):
    a, b = set(a.tolist()), set(b.tolist())
    return len(a & b) / len(a | b)


@pytest.mark.parametrize("unit", ["char", "syllable"])
def test_signature_agreement_estimates_jaccard(khmer_sentences, unit):
    hasher = MinHasher(bands=32, rows=8, seed=1)
    text = " ".join(khmer_sentences[:6])
    edited = text.replace(khmer_sentences[2], khmer_sentences[50])
    a, b = shingle_hashes(text, "km", 3, unit), shingle_hashes(edited, "km", 3, unit)
    true = _jaccard(a, b)
    est = float(np.mean(hasher.signature(a) == hasher.signature(b)))
    assert 0.3 < true < 0.95 and abs(est - true) < 0.1


def test_khmer_shingles_are_syllables_or_characters_not_phrases(khmer_sentences):
    s = khmer_sentences[10]
    for unit in ("syllable", "char"):
        assert len(shingle_hashes(s, "km", 2, unit)) > 2 * len(s.split())


def test_units_per_language_and_unknown_unit():
    assert resolve_unit("auto", "km") == resolve_unit("auto", "my") == "char"
    assert resolve_unit("auto", "en") == "syllable"  # words for a spaced script
    with pytest.raises(ValueError, match="unknown shingle unit"):
        resolve_unit("phrase", "km")
    with pytest.raises(ValueError):
        NearDedupConfig(unit="phrase")


def test_char_shingles_ignore_case_spaces_punctuation_and_invisibles():
    assert clean_chars("Ab c,\u200bD!") == "abcd"
    assert np.array_equal(shingle_hashes("ខ្មែរ ភាសា។", "km", 3, "char"),
                          shingle_hashes("ខ្មែរ\u200bភាសា", "km", 3, "char"))
    assert np.array_equal(shingle_hashes("The cat, sat", "en", 2, "char"), shingle_hashes("thecatsat", "en", 2, "char"))
    assert len(shingle_hashes("ab", "km", 5, "char")) == 1  # shorter than n: the whole text is one shingle
    assert len(shingle_hashes("។ ។", "km", 5, "char")) == 0


def test_s_curve_is_monotone_and_matches_formula():
    curve = s_curve(28, 4)
    assert list(curve.values()) == sorted(curve.values())
    assert curve[0.5] == pytest.approx(1 - (1 - 0.5 ** 4) ** 28, abs=1e-4)


def test_batch_signatures_equal_one_at_a_time(khmer_sentences):
    hasher = MinHasher(bands=7, rows=3, seed=2)
    shingles = [shingle_hashes(t, "km", 5, "char") for t in khmer_sentences[:300]] + [np.empty(0, dtype=np.uint64)]
    batch = hasher.signatures(shingles, block=500)  # many blocks
    assert batch.shape == (301, 21) and batch.dtype == np.uint32
    assert np.array_equal(batch, np.stack([hasher.signature(s) for s in shingles]))
    assert (batch[-1] == np.iinfo(np.uint32).max).all()  # a document without shingles


def _sig(hasher, bands_from):
    """A signature whose band b equals the band b of the signature bands_from[b]."""
    return np.concatenate([src[b * hasher.rows: (b + 1) * hasher.rows] for b, src in enumerate(bands_from)])


def test_union_find_links_clusters_and_the_earliest_document_survives():
    hasher = MinHasher(bands=4, rows=2, seed=0)
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 2 ** 32, size=8, dtype=np.uint64).astype(np.uint32) for _ in range(2))
    other = lambda: rng.integers(0, 2 ** 32, size=8, dtype=np.uint64).astype(np.uint32)  # noqa: E731
    near = NearDedup(hasher, threshold=0.0)
    assert near.add_signature(a) is None  # 0
    assert near.add_signature(b) is None  # 1
    assert near.add_signature(_sig(hasher, [a, b, other(), other()])) == 0  # 2 links a and b
    assert near.add_signature(b.copy()) == 0  # 3: a copy of b joins the merged cluster, named by its first
    assert near.labels() == [0, 0, 0, 0]
    assert near.candidates == 3


def test_verification_rejects_a_chance_band_match():
    hasher = MinHasher(bands=4, rows=2, seed=0)
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2 ** 32, size=8, dtype=np.uint64).astype(np.uint32)
    chance = _sig(hasher, [a] + [rng.integers(0, 2 ** 32, size=8, dtype=np.uint64).astype(np.uint32)] * 3)
    strict = NearDedup(hasher, threshold=0.5)
    assert strict.add_signature(a) is None
    assert strict.add_signature(chance) is None  # one band of four agrees: estimated Jaccard 0.25
    assert (strict.candidates, strict.rejected) == (1, 1) and strict.labels() == [0, 1]
    loose = NearDedup(hasher, threshold=0.0)
    loose.add_signature(a)
    assert loose.add_signature(chance) == 0


def test_near_duplicates_of_real_khmer_are_caught_and_first_is_kept(khmer_sentences):
    rng = random.Random(0)
    base = [" ".join(khmer_sentences[i * 5: i * 5 + 5]) for i in range(40)]
    dups = []
    for i in range(0, 40, 2):  # a near-copy: one sentence of five replaced by a small edit
        sents = khmer_sentences[i * 5: i * 5 + 5]
        j = rng.randrange(5)
        sents = sents[:j] + [sents[j][: len(sents[j]) // 2]] + sents[j + 1:]
        dups.append((i, " ".join(sents)))
    for dedup in (NearDedup.from_config(NearDedupConfig()), NearDedup(MinHasher(20, 5), n=3, unit="syllable")):
        assert all(dedup.add(t, "km") is None for t in base)  # distinct documents stay
        caught = [dedup.add(t, "km") for _, t in dups]
        assert sum(c == i for c, (i, _) in zip(caught, dups)) >= 18  # recall >= 0.9, each pointing at its original


def test_one_typo_in_a_short_sentence_is_caught_by_the_defaults(khmer_sentences):
    """Sentence-length documents: one changed character must not hide a copy (char 5-grams, 28 x 4, >= 0.5)."""
    rng = random.Random(3)
    originals = [s for s in khmer_sentences[:2000] if len(s) >= 40][:200]
    near = NearDedup.from_config(NearDedupConfig())
    for s in originals:
        near.add(s, "km")
    found = 0
    for k, s in enumerate(originals):
        i = rng.randrange(len(s))
        typo = s[:i] + rng.choice("កខគឃងចឆជ") + s[i + 1:]
        found += near.add(typo, "km") is not None
    assert found >= 190


def test_add_many_equals_add(khmer_sentences):
    texts = khmer_sentences[:400] + [t[:-3] for t in khmer_sentences[:100]]
    one, many = NearDedup.from_config(NearDedupConfig()), NearDedup.from_config(NearDedupConfig())
    assert [one.add(t, "km") for t in texts] == many.add_many(texts, ["km"] * len(texts), batch=64)
    assert one.labels() == many.labels() and (one.candidates, one.rejected) == (many.candidates, many.rejected)


def test_describe_names_the_settings_and_the_s_curve():
    line = NearDedup.from_config(NearDedupConfig()).describe()
    assert "28 bands x 4 rows" in line and "5-character" in line and "J=0.5: 0.836" in line
    assert "estimated Jaccard >= 0.5" in line
    assert "not verified" in NearDedup.from_config(NearDedupConfig(threshold=0)).describe()


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


NOVEL_VI = __import__("tests.conftest", fromlist=["REPO"]).REPO.parent / "shared" / "data" / "seahelm" / \
    "pure_heart_ngoc_phachHoang_vi.txt"


@pytest.mark.skipif(not NOVEL_VI.exists(), reason=f"{NOVEL_VI} missing")
def test_default_shingles_survive_typos_in_a_spaced_language():
    """Vietnamese paragraphs of a real novel with one character in 40 mistyped: the default character
    shingles link each to its original, word shingles (unit auto) lose most, and no two different
    paragraphs are linked."""
    lines = [x.strip() for x in NOVEL_VI.read_text(encoding="utf-8").splitlines() if len(x.strip()) > 200][:60]
    rng = random.Random(0)

    def typos(text):
        chars = list(text)
        for _ in range(len(text) // 40):
            i = rng.randrange(len(chars))
            chars[i] = rng.choice("aăâeêioôơuưy")
        return "".join(chars)

    found = {}
    for unit in ("char", "auto"):
        near = NearDedup.from_config(NearDedupConfig(unit=unit))
        originals = near.add_many(lines, ["vi"] * len(lines))
        variants = near.add_many([typos(t) for t in lines], ["vi"] * len(lines))
        assert originals == [None] * len(lines)  # different paragraphs are never linked
        found[unit] = sum(v == i for i, v in enumerate(variants))
    assert NearDedupConfig().unit == "char"
    assert found["char"] >= 0.95 * len(lines) > 0.5 * len(lines) > found["auto"]
