import dataclasses
import json
from pathlib import Path

import pytest

from lontar.langs import LANGS, Lang, get_lang, load, normalizer_for, script_share

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "seahelm"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared test data not found at {SHARED}")

THAI = "ภาษาไทยเป็นภาษาราชการของประเทศไทย กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย"
LAO = "ພາສາລາວເປັນພາສາທາງການຂອງປະເທດລາວ ນະຄອນຫຼວງວຽງຈັນເປັນເມືອງຫຼວງຂອງລາວ"


def _mmlu_questions(code: str, n: int = 40) -> str:
    lines = (SHARED / f"global_mmlu_lite_{code}_test.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return " ".join(json.loads(line)["prompts"][0]["question"] for line in lines)


def _burmese(n: int = 40) -> str:
    lines = (SHARED / "my_myparaphrase.jsonl").read_text(encoding="utf-8").splitlines()[:n]
    return " ".join(json.loads(line)["prompts"][0]["sentence1"] for line in lines)


def test_registry_has_the_ten_languages_with_their_codes():
    assert set(LANGS) == {"km", "lo", "my", "th", "vi", "id", "ms", "tl", "en", "zh"}
    flores = {c: lang.flores for c, lang in LANGS.items()}
    assert flores == {
        "km": "khm_Khmr", "lo": "lao_Laoo", "my": "mya_Mymr", "th": "tha_Thai", "vi": "vie_Latn",
        "id": "ind_Latn", "ms": "zsm_Latn", "tl": "tgl_Latn", "en": "eng_Latn", "zh": "zho_Hans",
    }
    assert get_lang("ms").belebele == "zsm_Latn"
    assert {c for c, lang in LANGS.items() if not lang.uses_spaces} == {"km", "lo", "my", "th", "zh"}
    for lang in LANGS.values():
        assert len(lang.iso639_3) == 3 and lang.script_ranges
        assert all(lo <= hi for lo, hi in lang.script_ranges)


def test_registry_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_lang("km").uses_spaces = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        LANGS["xx"] = get_lang("km")  # type: ignore[index]


def test_get_lang_accepts_other_codes_and_explains_unknown_ones():
    assert get_lang("khm") is get_lang("KM") is get_lang("khm_Khmr") is LANGS["km"]
    assert get_lang("zsm_Latn").code == "ms"
    assert isinstance(get_lang(LANGS["th"]), Lang)
    with pytest.raises(ValueError, match="unknown language code 'xx'.*km, lo, my, th"):
        get_lang("xx")


def test_normalizer_and_segmenter_references_resolve():
    for lang in LANGS.values():
        for ref in (lang.normalizer, lang.segmenter):
            if ref is not None:
                assert callable(load(ref)), ref
    assert {c for c, lang in LANGS.items() if lang.normalizer} == {"km", "lo", "my", "th", "vi"}
    assert normalizer_for("km")("ខែ្មរ  ") == "ខ្មែរ"
    assert normalizer_for("en")("  cafe\u0301 ") == "café"
    with pytest.raises(ValueError, match="module:function"):
        load("lontar.text.khmer")


def test_script_share_ignores_digits_spaces_and_punctuation():
    assert script_share("ខ្មែរ ២០២៤ 2024 ។ ?!", "km") == 1.0
    assert script_share("", "km") == 0.0 and script_share("123 !?", "th") == 0.0
    assert script_share("ខ្មែរ abc", "km") == pytest.approx(5 / 8)


def test_script_share_on_real_khmer(khmer_sentences):
    text = " ".join(khmer_sentences[:300])
    assert script_share(text, "km") > 0.95
    for other in ("th", "lo", "my", "en", "zh"):
        assert script_share(text, other) < 0.1


def test_script_share_thai_and_lao_do_not_mix():
    assert script_share(THAI, "th") == 1.0 and script_share(THAI, "lo") == 0.0
    assert script_share(LAO, "lo") == 1.0 and script_share(LAO, "th") == 0.0


@needs_shared
def test_script_share_on_real_seahelm_text():
    burmese = _burmese()
    assert script_share(burmese, "my") > 0.95 and script_share(burmese, "km") < 0.1
    for code in ("vi", "id", "ms", "tl", "en"):
        text = _mmlu_questions(code)
        assert script_share(text, code) > 0.95, code
        for other in ("km", "th", "my", "zh"):
            assert script_share(text, other) < 0.1, (code, other)
    chinese = _mmlu_questions("zh")
    assert script_share(chinese, "zh") > 0.9 and script_share(chinese, "en") < 0.1
    # Burmese MMLU questions quote some English terms; still clearly Burmese.
    assert script_share(_mmlu_questions("my"), "my") > 0.9


# -- one registry: no other module keeps language facts ----------------------------------------------
LONTAR = REPO / "lontar"
CODES = frozenset(LANGS)


def _literal_codes(node) -> list[str]:
    """The registry codes written as string literals in a list/tuple/set literal or as dict keys."""
    import ast

    items = node.keys if isinstance(node, ast.Dict) else node.elts
    return [x.value for x in items if isinstance(x, ast.Constant) and x.value in CODES]


def _script_range(node, starts: frozenset[int]) -> bool:
    import ast

    return (isinstance(node, ast.Tuple) and len(node.elts) == 2
            and all(isinstance(x, ast.Constant) and isinstance(x.value, int) for x in node.elts)
            and node.elts[0].value in starts)


def test_no_module_but_the_registry_lists_languages_or_script_ranges():
    """Language lists (two or more codes in one literal, or dict keys) and script ranges live in
    lontar/langs.py only; the text/ modules implement one script each and may name its characters."""
    import ast

    starts = frozenset(lo for lang in LANGS.values() for lo, _ in lang.script_ranges if lo > 0x7F)
    offenders = []
    for path in sorted(LONTAR.rglob("*.py")):
        if path.name == "langs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)) and len(_literal_codes(node)) >= 2:
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} lists {_literal_codes(node)}")
            if _script_range(node, starts) and path.parent.name != "text":
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} holds a script range")
    assert not offenders, "language facts outside lontar/langs.py:\n" + "\n".join(offenders)


def test_every_language_has_the_facts_every_step_reads():
    for code, lang in LANGS.items():
        assert lang.unit in ("word", "syllable", "character"), code
        assert (lang.unit == "word") == lang.uses_spaces == (lang.segmenter is None), code
        assert lang.lid in ("script", "lingua") and (lang.lid == "script") == (not lang.uses_spaces), code
        assert lang.stop_words and lang.sentence_end, code
        assert all(lang.in_script(ch) for ch in lang.digits), code
        assert len(lang.digits) in (0, 10), code
        q = lang.quality_defaults()
        assert q["min_mean_unit_chars"] < lang.unit_chars < q["max_mean_unit_chars"], code


def test_quality_defaults_restate_gophers_thresholds_in_each_unit():
    en, km, zh = (get_lang(c).quality_defaults() for c in ("en", "km", "zh"))
    # English is Gopher's own setting.
    assert en["max_dup_ngram_frac"] == {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    assert en["min_mean_unit_chars"] == 3.0 and en["max_mean_unit_chars"] == 10.0
    # Khmer syllables: n-grams as long as the syllables of five English words; the top n-gram shares
    # stay Gopher's (Khmer's duplicated n-gram shares come from news text, see the next test).
    assert min(km["max_dup_ngram_frac"]) == round(5 * get_lang("km").units_per_en_word)
    assert sorted(km["max_top_ngram_frac"].values()) == sorted(en["max_top_ngram_frac"].values())
    th = get_lang("th").quality_defaults()
    assert sorted(th["max_dup_ngram_frac"].values()) == sorted(en["max_dup_ngram_frac"].values())
    # Chinese characters are about one character long: 1.0 lies inside the range.
    assert zh["min_mean_unit_chars"] < 1.0 < zh["max_mean_unit_chars"]


def test_khmer_repetition_limits_sit_on_its_own_n_gram_sizes():
    km = get_lang("km")
    scaled = [round(n * km.units_per_en_word) for n in range(5, 11)]
    limits = km.quality_defaults()["max_dup_ngram_frac"]
    assert sorted(limits) == scaled and isinstance(limits, dict)
    assert all(limit >= 0.1 for limit in limits.values())


def test_lao_repetition_mark_is_not_a_sentence_end():
    """ໆ doubles the word before it (ດີໆ, "very good"): splitting there cuts a Lao sentence in two."""
    from lontar.langs import get_lang

    assert "\u0ec6" not in get_lang("lo").sentence_end and "." in get_lang("lo").sentence_end
