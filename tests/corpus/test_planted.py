"""The planted near-duplicate generator of benchmarks/corpus_vs_datatrove.py, and its score."""

import random
import unicodedata
from collections import Counter

import pytest

from benchmarks.planted import (OPS, JaccardIndex, _clean, can_reorder, char_edit, deletion, insertion, plant, reorder,
                                score, truncation)


_PLANTED = {}


@pytest.fixture
def base(khmer_sentences):
    return khmer_sentences[:2000]


@pytest.fixture
def planted(base):
    if 7 not in _PLANTED:  # made once for the module
        _PLANTED[7] = plant(base, seed=7, families=60)
    return _PLANTED[7]


def _grams(text, n=5):
    c = _clean(text)
    return {c[i: i + n] for i in range(max(1, len(c) - n + 1))} if c else set()


def test_deterministic_for_a_seed(base, planted):
    again = plant(base, seed=7, families=60)
    assert again.texts == planted.texts and again.family == planted.family and again.role == planted.role
    assert plant(base, seed=8, families=60).texts != planted.texts


def test_base_texts_kept_in_order_and_families_well_formed(base, planted):
    assert [t for t, r in zip(planted.texts, planted.role) if r is None or r == "original"] == list(base)
    families = planted.families()
    assert len(families) == 60
    for members in families.values():
        roles = [planted.role[i] for i in members]
        assert roles.count("original") == 1 and 1 <= len(roles) - 1 <= 3
        assert all(r in OPS for r in roles if r != "original")
        texts = [planted.texts[i] for i in members]
        assert len(set(texts)) == len(texts)  # no exact copies: every variant is a near-duplicate
    s = planted.summary()
    assert s["families"] == s["originals"] == 60
    assert s["variants"] == sum(s[f"variants:{op}"] for op in OPS) == len(planted.planted_indices) - 60
    assert all(s[f"variants:{op}"] > 0 for op in OPS)


def test_originals_are_isolated_from_every_other_base_text(base, planted):
    originals = [planted.texts[i] for i, r in enumerate(planted.role) if r == "original"]
    grams = [_grams(t) for t in base]
    for text in originals[:15]:
        g = _grams(text)
        best = max(len(g & h) / len(g | h) for t, h in zip(base, grams) if t != text)
        assert best < 0.3


def test_prefix_filtered_index_is_exact(base):
    texts = base[:400] + [base[0][:-5], base[1] + "ក", base[2][10:]]
    index = JaccardIndex(texts, n=5, t=0.3)
    grams = [_grams(t) for t in texts]
    for a in [0, 1, 2, *range(3, 400, 37), 400, 401, 402]:
        exact = max(len(grams[a] & h) / len(grams[a] | h) for b, h in enumerate(grams) if b != a)
        found = index.max_similarity(a)
        assert found == pytest.approx(exact) if exact >= 0.3 else found < 0.3


def _starts_with_mark(text):
    return bool(text) and unicodedata.category(text[0]) == "Mn"


def test_operations_stay_within_their_sizes(base):
    rng = random.Random(0)
    texts = [t for t in base if len(t) >= 60][:100]
    unchanged = 0
    for text in texts:
        n = len(text)
        edited = char_edit(rng, text)
        assert abs(len(edited) - n) <= max(1, round(0.05 * n))
        unchanged += edited == text  # an insertion undone by a deletion (plant() draws again)
        grown = insertion(rng, text, texts[0])
        assert 0.05 * n - 2 <= len(grown) - n <= 0.10 * n + 6
        cut = deletion(rng, text)
        assert 0.05 * n - 2 <= n - len(cut) <= 0.10 * n + 6
        short = truncation(rng, text)
        assert text.startswith(short) and 0.70 * n <= len(short) <= 0.95 * n + 1
        for variant in (grown, cut, short):
            assert not _starts_with_mark(variant)
        if can_reorder(text):
            swapped = reorder(rng, text)
            assert swapped != text and Counter(swapped.replace(" ", "")) == Counter(text.replace(" ", ""))
    assert unchanged <= 5


def test_score_counts_pairs_with_a_planted_document_only(planted):
    n = len(planted.texts)
    perfect = [f"f{f}" if f >= 0 else i for i, f in enumerate(planted.family)]
    s = score(planted, perfect)
    assert s["precision"] == s["recall"] == s["f1"] == 1.0
    assert all(v == 1.0 for v in s["recall_original_variant_by_op"].values())
    # base texts clustered together among themselves (the corpus's own near-duplicates): not scored
    base_idx = [i for i in range(n) if planted.family[i] < 0]
    with_base = list(perfect)
    for i in base_idx[:50]:
        with_base[i] = "base cluster"
    assert score(planted, with_base)["f1"] == 1.0
    # nothing clustered: no predicted pairs, recall 0
    none = score(planted, list(range(n)))
    assert none["recall"] == 0.0 and none["precision"] == 1.0 and none["predicted_pairs"] == 0
    # a family joined by an unrelated base text: false positives
    fam0 = planted.families()[0]
    wrong = list(perfect)
    wrong[base_idx[0]] = "f0"
    s = score(planted, wrong)
    assert s["recall"] == 1.0 and s["predicted_pairs"] == s["true_pairs"] + len(fam0)
    # a planted document an earlier step rejected leaves the truth
    dropped = list(perfect)
    dropped[fam0[-1]] = None
    s = score(planted, dropped)
    assert s["f1"] == 1.0 and s["planted_docs_not_clustered"] == 1
    with pytest.raises(ValueError):
        score(planted, perfect[:-1])
