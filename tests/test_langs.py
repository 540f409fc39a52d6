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
