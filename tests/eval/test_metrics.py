import numpy as np
import pytest

from lontar.eval import metrics as M


def test_exact_match_and_f1_count_syllables_in_khmer_and_ignore_its_full_stop():
    assert M.exact_match("ភ្នំពេញ។", "ភ្នំពេញ", "km") == 1.0
    assert M.answer_units("រាជធានីភ្នំពេញ", "km") == ["រា", "ជ", "ធា", "នី", "ភ្នំ", "ពេ", "ញ"]
    # No spaces in either answer: whitespace words would give 0 overlap, syllables give partial credit.
    assert M.f1("រាជធានីភ្នំពេញ", "ភ្នំពេញ", "km") == pytest.approx(2 * (3 / 7) * 1 / (3 / 7 + 1))
    assert M.exact_match("กรุงเทพฯ", "กรุงเทพ", "th") == 1.0  # ฯ is punctuation, not part of the answer
    assert M.f1("Ha Noi", "Hà Nội", "vi") == 0.0 and M.exact_match("HÀ NỘI.", "Hà Nội", "vi") == 1.0


def test_chrf_and_bleu_are_sacrebleus_own_and_the_syllable_variants_say_so():
    from sacrebleu.metrics import BLEU, CHRF

    hyps, refs = ["the cat sat on a mat", "a dog barks"], ["the cat sat on the mat", "the dog barks loudly"]
    for metric, ref_metric in (("chrf", CHRF(word_order=2)), ("bleu", BLEU())):
        stats = M.corpus_stats(metric, hyps, refs, "en")
        assert M.corpus_score(metric, stats, "en") == pytest.approx(ref_metric.corpus_score(hyps, [refs]).score)
    assert M.syllable_variant("chrf", "en") is None and M.syllable_variant("chrf", "th") == "chrf_syllables"
    km_h, km_r = ["ខ្ញុំស្រឡាញ់ភាសាខ្មែរ"], ["ខ្ញុំចូលចិត្តភាសាខ្មែរ"]
    spaced_h = [" ".join(M.answer_units(km_h[0], "km"))]
    spaced_r = [" ".join(M.answer_units(km_r[0], "km"))]
    # `chrf` is sacrebleu's chrF++ on the text as written (what papers report) ...
    plain = M.corpus_score("chrf", M.corpus_stats("chrf", km_h, km_r, "km"), "km")
    assert plain == pytest.approx(CHRF(word_order=2).corpus_score(km_h, [km_r]).score)
    # ... and `chrf_syllables` is sacrebleu's chrF++ over syllables: a different figure under its own name.
    syl = M.corpus_score("chrf_syllables", M.corpus_stats("chrf_syllables", km_h, km_r, "km"), "km")
    assert syl == pytest.approx(CHRF(word_order=2).corpus_score(spaced_h, [spaced_r]).score)
    assert syl != pytest.approx(plain)


def test_several_references_score_the_best_one_and_sacrebleu_multi_reference():
    from sacrebleu.metrics import BLEU, CHRF

    # TyDiQA-style: two annotators gave different spans; the second is what the model said.
    refs = [["Jakarta Pusat", "Jakarta"], ["Surabaya"]]
    preds = ["Jakarta", "Surabaya"]
    assert [M.exact_match(p, r, "id") for p, r in zip(preds, refs)] == [1.0, 1.0]
    assert M.exact_match("Jakarta", "Jakarta Pusat", "id") == 0.0  # with the first reference only: 0
    assert M.f1("Jakarta Pusat Kota", refs[0], "id") == pytest.approx(0.8)
    streams = [[r[0] for r in refs], [r[1] if len(r) > 1 else None for r in refs]]
    for metric, ref_metric in (("chrf", CHRF(word_order=2)), ("bleu", BLEU())):
        got = M.corpus_score(metric, M.corpus_stats(metric, preds, refs, "id"), "id")
        assert got == pytest.approx(ref_metric.corpus_score(preds, streams).score)
    first_only = M.corpus_score("chrf", M.corpus_stats("chrf", preds, [r[0] for r in refs], "id"), "id")
    assert M.corpus_score("chrf", M.corpus_stats("chrf", preds, refs, "id"), "id") > first_only


def test_bootstrap_is_seeded_and_brackets_the_value():
    values = np.random.default_rng(0).integers(0, 2, 200).astype(float)
    a = M.bootstrap_mean(values, n=500, seed=7)
    assert a == M.bootstrap_mean(values, n=500, seed=7)
    assert a["ci"][0] < a["value"] < a["ci"][1] and a["n"] == 200
    assert 0.05 < a["ci"][1] - a["ci"][0] < 0.2  # about 4 standard errors of a proportion near 0.5
    r = M.bootstrap_ratio([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], n=200, seed=1)
    assert r["value"] == 2.0 and r["ci"] == [2.0, 2.0]
    stats = M.corpus_stats("chrf", ["a b c"] * 5 + ["x y"] * 5, ["a b c"] * 10, "en")
    c = M.bootstrap_corpus("chrf", stats, "en", n=100, seed=1)
    assert c["ci"][0] <= c["value"] <= c["ci"][1]


def test_acc_norm_divides_by_choice_length_in_characters_as_lm_eval():
    # The longer choice has the higher total log-likelihood but the lower per-character one.
    got = M.mc_scores([-4.0, -3.0], ["a", "ab"], gold=0)
    assert got == {"acc": 0.0, "acc_norm": 0.0}
    got = M.mc_scores([-4.0, -3.0], ["abcdefgh", "ab"], gold=0)
    assert got == {"acc": 0.0, "acc_norm": 1.0}
